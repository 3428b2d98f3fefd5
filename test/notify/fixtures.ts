/** Milestones and targets for the notification tests. */
import type { LifecycleEvent } from "../../rollout/events";
import { NOTIFY_EVENTS, NotificationTarget } from "../../notify/types";

/** A rollback after a failed analysis at step 2/4, with its evidence. */
export const ROLLBACK: LifecycleEvent = {
    type: "rollback",
    at: "2025-01-01T12:03:00.000Z",
    stack: "dev",
    baseline: "v1",
    canary: "v2",
    split: { v1: 100, v2: 0 },
    step: { index: 1, total: 4, canaryWeight: 25 },
    cause: "analysis",
    reason: "canary 5xx ratio 10.00% exceeds 1.00% after 60s at v1 75% / v2 25%",
    evidence: {
        verdict: "fail",
        sinceSeconds: 60,
        baseline: { version: "v1", requests: 1080, errors: 1, errorRate: 1 / 1080, p99Ms: 45 },
        canary: { version: "v2", requests: 120, errors: 12, errorRate: 0.1, p99Ms: 48 },
        reasons: ["canary 5xx ratio 10.00% exceeds 1.00%", "errors <b>&</b> more"],
    },
};

/** A target with the defaults, POSTing `format` to `url`. */
export function target(
    name: string,
    url: string,
    format: NotificationTarget["format"] = "json",
    over: Partial<NotificationTarget> = {},
): NotificationTarget {
    return { name, url, format, events: [...NOTIFY_EVENTS], timeoutSeconds: 5, retries: 3, ...over };
}
