/**
 * Notification failures in the rollout's state file. A failure is reported while the engine drives
 * the rollout and owns the state object, so it is not written by itself (two writers of one file):
 * this StateStore in front of the engine's keeps the failures and adds them to the history at the
 * engine's next save. What arrives after the last save (at the end of a command) is written by
 * `flushTo` under the stack's lock, into the state as saved. The entries name the target and the
 * milestone, never the URL.
 */
import { HistoryEntry, Lock, LockHeldError, RolloutState, StateFileError, StateStore } from "../rollout/state";
import { NotifyFailure } from "./sender";

/** The history entry of a failure: `notification-failed` with the target's name, never its URL. */
export function failureEntry(f: NotifyFailure): HistoryEntry {
    return {
        at: f.at,
        event: "notification-failed",
        detail: { target: f.target, milestone: f.event, attempts: f.attempts, error: f.error },
    };
}

/** A StateStore that adds the notification failures reported so far to each state it saves. */
export class NotificationRecordingStore implements StateStore {
    private waiting: HistoryEntry[] = [];

    constructor(private readonly inner: StateStore) {}

    /** Keeps a failure for the next save. */
    record(failure: NotifyFailure): void {
        this.waiting.push(failureEntry(failure));
    }

    load(stack: string): RolloutState | undefined {
        return this.inner.load(stack);
    }

    save(state: RolloutState): void {
        if (this.waiting.length > 0) {
            state.history.push(...this.waiting);
            this.waiting = [];
        }
        this.inner.save(state);
    }

    lock(stack: string, command: string): Lock {
        return this.inner.lock(stack, command);
    }

    fileOf(stack: string): string {
        return this.inner.fileOf(stack);
    }

    archive(state: RolloutState): string {
        return this.inner.archive(state);
    }

    /**
     * Writes the failures still waiting into the stack's saved state, under its lock (after the
     * command released it). Returns why they could not be written (another rollout holds the lock, or
     * the state is unreadable), or undefined when they were (or there were none, or no state).
     */
    flushTo(stack: string): string | undefined {
        if (this.waiting.length === 0) {
            return undefined;
        }
        let lock: Lock;
        try {
            lock = this.inner.lock(stack, "record notification failures");
        } catch (e) {
            if (e instanceof LockHeldError || e instanceof StateFileError) {
                return `${this.waiting.length} notification failure(s) not recorded in ${this.inner.fileOf(stack)}: ${e.message}`;
            }
            throw e;
        }
        try {
            const state = this.inner.load(stack);
            if (state !== undefined) {
                this.save(state);
            }
            return undefined;
        } catch (e) {
            if (e instanceof StateFileError) {
                return `${this.waiting.length} notification failure(s) not recorded: ${e.message}`;
            }
            throw e;
        } finally {
            this.waiting = [];
            lock.release();
        }
    }
}
