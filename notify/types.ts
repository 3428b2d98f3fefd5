/**
 * What notifications are made of: the targets of the stack's `rollout.notifications` block, and the
 * milestones they are told about (the engine's lifecycle events of rollout/events.ts, plus a
 * rollback that could not be applied). No I/O here.
 */
import { ROLLOUT_EVENT_TYPES, LifecycleEvent, RolloutEventBase, RolloutEventType } from "../rollout/events";

/** The milestones a target can subscribe to: the lifecycle events, in the order a rollout reaches them. */
export const NOTIFY_EVENTS: readonly RolloutEventType[] = ROLLOUT_EVENT_TYPES;

/** The body formats: a generic JSON document, Slack's (text + Block Kit blocks), Microsoft Teams' (an Adaptive Card). */
export const NOTIFY_FORMATS = ["json", "slack", "teams"] as const;
/** A target's body format. */
export type NotifyFormat = (typeof NOTIFY_FORMATS)[number];

/**
 * A URL stored as a Pulumi secret (`pulumi config set --secret --path ...`): until the stack's
 * secrets provider decrypts it, only where it is in the stack's config is known.
 */
export interface SecretUrl {
    /** The config path of the value, e.g. `rollout.notifications[0].url`. */
    secret: string;
}

/** One entry of `rollout.notifications`, validated, with its defaults. */
export interface NotificationTarget {
    /** Names the target in every message (its URL never appears). Unique within the stack. */
    name: string;
    /** Where the body is POSTed: a plain http(s) URL, or a secret one. */
    url: string | SecretUrl;
    /** Body format. Default `json`. */
    format: NotifyFormat;
    /** Milestones sent to this target. Default: all of NOTIFY_EVENTS. */
    events: RolloutEventType[];
    /** Seconds each attempt may take. Default 5. */
    timeoutSeconds: number;
    /** Attempts after the first failed one. Default 3. */
    retries: number;
}

/**
 * A rollback (or an abort) whose apply failed: traffic is NOT back on the baseline. Not a lifecycle
 * event (nothing changed); the rollout command notices it in the engine's output and sends it to
 * every target that subscribes to `rollback`.
 */
export interface RollbackFailedEvent extends Omit<RolloutEventBase, "type"> {
    type: "rollback-failed";
    /** The split the rollback was applying. */
    applying: Record<string, number>;
    /** The apply's error, shortened. */
    error: string;
    /** The command that finishes the rollback. */
    retry: string;
}

/** What a target is told. */
export type Milestone = LifecycleEvent | RollbackFailedEvent;

/** The subscription a milestone belongs to. */
export function subscriptionOf(m: Milestone): RolloutEventType {
    return m.type === "rollback-failed" ? "rollback" : m.type;
}
