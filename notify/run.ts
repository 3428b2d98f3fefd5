/**
 * Notifications for one rollout command, wired the way cli/rollout.ts uses them: the engine's
 * lifecycle events (`onEvent`) and its output events (`onOutput`, for a rollback that failed to
 * apply) go to a Notifier that never holds the engine up; failures are reported as they come and
 * recorded in the state through `store`; `finish` waits a bounded time for what is still being sent
 * and records what was given up.
 */
import type { LifecycleEvent } from "../rollout/events";
import { StateStore } from "../rollout/state";
import type { RolloutEvent as OutputEvent } from "../rollout/types";
import type { Weights } from "../rollout/weights";
import { NotificationRecordingStore } from "./record";
import { NotifierOptions, NotifyFailure, Notifier } from "./sender";
import { NotificationTarget, RollbackFailedEvent } from "./types";

/** How long a command waits at its end for notifications still being sent. */
export const NOTIFY_EXIT_WAIT_MS = 10_000;

/** Options of a command's notifications. */
export interface RolloutNotificationsOptions {
    stack: string;
    targets: NotificationTarget[];
    /** The plain URL, or the secret decrypted (notify/secrets.ts). */
    resolveUrl: (target: NotificationTarget) => Promise<string>;
    /** The engine's state store; failures are recorded through the one this wraps it in. */
    store: StateStore;
    /** Shows a failure to the person (text) or the machine (--json). */
    report: (failure: NotifyFailure) => void;
    /** Baseline and canary, and the split before the command, for a failed rollback the lifecycle events have not described. */
    baseline: string;
    canary: string;
    split: Weights;
    /** The command that finishes a failed rollback (`... --resume`) or abort (`... --abort`). */
    retryCommand: (flag: "resume" | "abort") => string;
    /** Passed to the Notifier (tests: post, clock, backoff). */
    notifier?: Partial<Pick<NotifierOptions, "post" | "clock" | "backoffMs" | "maxQueue">>;
    /** Bound of the wait in `finish`. Default NOTIFY_EXIT_WAIT_MS. */
    exitWaitMs?: number;
}

/** One command's notifications. */
export class RolloutNotifications {
    /** The engine's store, recording notification failures in the state's history. */
    readonly store: NotificationRecordingStore;
    private readonly notifier: Notifier;
    private readonly resolved = new Map<string, Promise<string>>();
    private last: { baseline: string; canary: string; split: Weights };

    constructor(private readonly opts: RolloutNotificationsOptions) {
        this.store = new NotificationRecordingStore(opts.store);
        this.last = { baseline: opts.baseline, canary: opts.canary, split: { ...opts.split } };
        this.notifier = new Notifier({
            ...opts.notifier,
            targets: opts.targets,
            resolveUrl: (t) => this.url(t),
            onFailure: (f) => {
                this.store.record(f);
                opts.report(f);
            },
        });
    }

    /** The engine's `onEvent`: queues the milestone and returns at once. */
    readonly onEvent = (event: LifecycleEvent): void => {
        this.last = { baseline: event.baseline, canary: event.canary, split: { ...event.split } };
        this.notifier.notify(event);
    };

    /** Every output event of the engine: a rollback or abort that failed to apply becomes a `rollback-failed` milestone. */
    readonly onOutput = (event: OutputEvent): void => {
        if (event.type !== "apply-failed" || (event.action !== "rollback" && event.action !== "abort")) {
            return;
        }
        const failed: RollbackFailedEvent = {
            type: "rollback-failed",
            at: event.at,
            stack: event.stack,
            ...this.last,
            applying: { ...(event.weights ?? {}) },
            error: event.error.length > 500 ? `${event.error.slice(0, 497)}...` : event.error,
            retry: this.opts.retryCommand(event.action === "abort" ? "abort" : "resume"),
        };
        this.notifier.notify(failed);
    };

    /**
     * Decrypts every secret URL now (a new rollout checks them before it changes anything); resolves
     * with the problems, one per target whose URL cannot be had.
     */
    async check(): Promise<string[]> {
        const problems: string[] = [];
        for (const t of this.opts.targets) {
            try {
                await this.url(t);
            } catch (e) {
                problems.push(e instanceof Error ? e.message : String(e));
            }
        }
        return problems;
    }

    /** At the end of the command: waits (bounded) for the sends still going on, then records what failed. Returns a problem to show, if any. */
    async finish(): Promise<string | undefined> {
        await this.notifier.drain(this.opts.exitWaitMs ?? NOTIFY_EXIT_WAIT_MS);
        return this.store.flushTo(this.opts.stack);
    }

    private url(t: NotificationTarget): Promise<string> {
        let p = this.resolved.get(t.name);
        if (p === undefined) {
            p = this.opts.resolveUrl(t);
            this.resolved.set(t.name, p);
            // a rejection is handled by whoever awaits it; keep it from being reported as unhandled
            p.catch(() => undefined);
        }
        return p;
    }
}
