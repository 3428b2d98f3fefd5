/**
 * The rollout state machine. Each command (start, resume, abort, finalize) asks the target whether it
 * can apply at all, takes the stack's lock, loads or creates the state, then drives it one action at
 * a time, saving the state after each:
 *
 *   shift to step i (apply) -> wait -> analyse -> pass: step i+1 | fail: rollback | inconclusive: hold, ask again
 *   ... last step (100%) applied -> completed (both versions keep running) -> finalize: remove the baseline
 *
 * A traffic change is recorded as pending before it is applied and confirmed after; an interrupted or
 * failed apply stays pending and is applied again by --resume. A step's analyses are recorded as they
 * happen, so a resume neither repeats an apply nor skips an analysis.
 */
import { decideStep } from "./decision";
import { PlanVersion, RolloutPlan, whyNotRollable } from "./plan";
import { LockHeldError, PendingAction, RolloutState, STATE_FORMAT, StateFileError, StateStore, StepRecord } from "./state";
import { CanaryJudge, Clock, EXIT, Judgement, OUTCOME_EXIT, OutcomeKind, RolloutEvent, StackTarget, VersionStats } from "./types";
import { Weights, allToBaseline, formatSplit, sameWeights, stepWeights } from "./weights";

/** What the engine works with; every piece is replaceable in tests. */
export interface EngineDeps {
    /** Applies weights and removes versions (the Automation API adapter, or a fake). */
    target: StackTarget;
    /** Analyses a step (the analysis module, or a fake). */
    judge: CanaryJudge;
    /** Keeps the state and the lock. */
    store: StateStore;
    /** Time and waiting. */
    clock: Clock;
    /** Receives every event (the CLI renders them). Default: ignore. */
    emit?: (event: RolloutEvent) => void;
    /** Aborted on Ctrl-C / SIGTERM: the engine stops at the next wait, after any apply in flight has finished. */
    signal?: AbortSignal;
}

/** How a command ended. */
export interface RolloutOutcome {
    kind: OutcomeKind;
    /** Process exit code (see EXIT). */
    exitCode: number;
    /** One or two sentences for the person running it. */
    message: string;
    /** The state as saved, when there is one. */
    state?: RolloutState;
}

/** The rollout state machine behind `istio-canary rollout`. */
export class RolloutEngine {
    private readonly emitFn: (event: RolloutEvent) => void;
    /** Stack of the command running now, stamped on its events. */
    private currentStack = "";

    constructor(private readonly deps: EngineDeps) {
        this.emitFn = deps.emit ?? (() => undefined);
    }

    /** Starts a new rollout of the plan's canary (versions[1]) from the first step. */
    start(plan: RolloutPlan): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "start", async () => {
            const why = whyNotRollable(plan);
            if (why !== undefined) {
                return this.refuse(plan.stack, `cannot start: ${why}`);
            }
            const [baseline, canary] = plan.versions;
            const previous = this.deps.store.load(plan.stack);
            if (previous !== undefined) {
                const samePair = previous.baseline.name === baseline.name && previous.canary.name === canary.name;
                if (previous.status === "in-progress" || previous.pending !== null) {
                    return this.refuse(
                        plan.stack,
                        `a rollout of ${previous.canary.name} on stack ${plan.stack} is in progress (${where(previous)}); ` +
                            `continue it with --resume or send all traffic to ${previous.baseline.name} with --abort`,
                        previous,
                    );
                }
                if (previous.status === "completed" && samePair) {
                    return this.refuse(
                        plan.stack,
                        `the rollout of ${canary.name} on stack ${plan.stack} already completed (${previous.outcome?.at ?? previous.updatedAt}); ` +
                            `remove ${baseline.name} with --finalize, or send all traffic back to it with --abort`,
                        previous,
                    );
                }
            }
            const state = this.newState(plan, baseline, canary);
            const archived = previous === undefined ? undefined : this.deps.store.archive(previous);
            this.note(state, "rollout-started", { steps: plan.steps, previousRolloutKeptIn: archived });
            this.deps.store.save(state);
            this.emitStart(state, "start");
            return this.drive(state);
        });
    }

    /** Continues an interrupted rollout from its last completed action. */
    resume(plan: RolloutPlan): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "resume", async () => {
            const state = this.deps.store.load(plan.stack);
            if (state === undefined) {
                return this.refuse(
                    plan.stack,
                    `there is no rollout of stack ${plan.stack} to resume (no ${this.deps.store.fileOf(plan.stack)}); start one without --resume`,
                );
            }
            if (state.status !== "in-progress" && state.pending === null) {
                return this.refuse(
                    plan.stack,
                    `the rollout of ${state.canary.name} on stack ${plan.stack} is ${state.status}${state.outcome !== undefined ? ` (${state.outcome.reason})` : ""}; there is nothing to resume`,
                    state,
                );
            }
            const mismatch = (await this.configMismatch(plan, state)) ?? (await this.weightsMismatch(state));
            if (mismatch !== undefined) {
                return this.refuse(plan.stack, `cannot resume: ${mismatch}`, state);
            }
            this.note(state, "resumed", { at: where(state) });
            this.deps.store.save(state);
            this.emitStart(state, "resume");
            return this.drive(state);
        });
    }

    /** Routes all traffic to the baseline (versions[0]) at once, whether or not a rollout is in progress. */
    abort(plan: RolloutPlan, reason = "aborted by request (--abort)"): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "abort", async () => {
            if (plan.versions.length < 2) {
                return this.refuse(
                    plan.stack,
                    `nothing to abort: stack ${plan.stack} has ${plan.versions.length === 1 ? `only ${plan.versions[0].name}` : "no versions"}, which already gets all traffic`,
                );
            }
            const baseline = plan.versions[0];
            const others = plan.versions.slice(1).map((v) => v.name);
            let state = this.deps.store.load(plan.stack);
            const active =
                state !== undefined && (state.status === "in-progress" || state.status === "completed" || state.pending !== null);
            if (state !== undefined && active && state.baseline.name !== baseline.name) {
                return this.refuse(
                    plan.stack,
                    `cannot abort: the rollout state says the baseline is ${state.baseline.name}, but the first entry of istio-canary:versions is ${baseline.name}; ` +
                        `fix the stack's versions or delete ${this.deps.store.fileOf(plan.stack)}`,
                    state,
                );
            }
            if (state === undefined || !active) {
                const archived = state === undefined ? undefined : this.deps.store.archive(state);
                state = this.newState(plan, baseline, plan.versions[1]);
                if (archived !== undefined) {
                    this.note(state, "previous-rollout-kept", { file: archived });
                }
            }
            state.pending = { kind: "abort", weights: allToBaseline(baseline.name, others), reason, startedAt: this.iso(), failures: 0 };
            this.note(state, "abort-requested", { reason, weights: state.pending.weights });
            this.deps.store.save(state);
            this.emitStart(state, "abort");
            return this.drive(state);
        });
    }

    /** Removes the baseline from the stack's versions after a completed rollout. */
    finalize(plan: RolloutPlan): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "finalize", async () => {
            const state = this.deps.store.load(plan.stack);
            if (state === undefined) {
                return this.refuse(
                    plan.stack,
                    `cannot finalize: there is no rollout of stack ${plan.stack}; finalize removes the baseline only after a completed rollout`,
                );
            }
            const retry = state.pending?.kind === "finalize";
            if (state.status !== "completed" || (state.pending !== null && !retry)) {
                return this.refuse(
                    plan.stack,
                    `cannot finalize: the rollout of ${state.canary.name} on stack ${plan.stack} is ${state.status} (${where(state)}), not completed; ` +
                        `finalize removes ${state.baseline.name} only after the canary reached 100%`,
                    state,
                );
            }
            const mismatch = (await this.configMismatch(plan, state)) ?? (await this.weightsMismatch(state));
            if (mismatch !== undefined) {
                return this.refuse(plan.stack, `cannot finalize: ${mismatch}`, state);
            }
            if (!retry) {
                state.pending = { kind: "finalize", remove: state.baseline.name, startedAt: this.iso(), failures: 0 };
                this.note(state, "finalize-requested", { remove: state.baseline.name });
                this.deps.store.save(state);
            }
            this.emitStart(state, "finalize");
            return this.drive(state);
        });
    }

    // ---- the machine ------------------------------------------------------------------------

    /** Runs actions until the rollout ends, stops on a failed apply, or is interrupted. */
    private async drive(state: RolloutState): Promise<RolloutOutcome> {
        for (;;) {
            if (this.deps.signal?.aborted) {
                return this.interrupted(state);
            }
            if (state.pending !== null) {
                const failed = await this.applyPending(state, state.pending);
                if (failed !== undefined) {
                    return failed;
                }
                continue;
            }
            if (state.status !== "in-progress") {
                return this.finished(state);
            }
            const step = state.steps[state.current];
            if (step === undefined || step.appliedAt === undefined) {
                this.beginShift(state);
                continue;
            }
            if (state.current === state.plan.steps.length - 1) {
                // The last step is 100%: the baseline has no traffic left to compare with, so the
                // previous step's analysis was the last; the rollout is complete.
                state.status = "completed";
                state.outcome = {
                    at: this.iso(),
                    reason: `${state.canary.name} gets 100% of traffic; ${state.baseline.name} keeps running until --finalize removes it`,
                };
                this.note(state, "completed");
                this.deps.store.save(state);
                continue;
            }
            const stopped = await this.analyseStep(state, step);
            if (stopped !== undefined) {
                return stopped;
            }
        }
    }

    /** Records the shift to the current step as pending (and its step record) and saves. */
    private beginShift(state: RolloutState): void {
        const canaryWeight = state.plan.steps[state.current];
        const weights = stepWeights(state.baseline.name, state.canary.name, canaryWeight);
        const record: StepRecord = { canaryWeight, weights, analyses: [] };
        state.steps[state.current] = record;
        state.pending = { kind: "shift", step: state.current, weights, startedAt: this.iso(), failures: 0 };
        this.deps.store.save(state);
    }

    /** Applies the pending action; on success confirms it, on failure keeps it pending and returns the outcome. */
    private async applyPending(state: RolloutState, pending: PendingAction): Promise<RolloutOutcome | undefined> {
        const what = { action: pending.kind, step: pending.step, weights: pending.weights, remove: pending.remove };
        this.emit({ type: "apply", ...what });
        this.note(state, "apply-started", { ...what, attempt: pending.failures + 1 });
        this.deps.store.save(state);
        const began = this.deps.clock.now();
        try {
            if (pending.kind === "finalize") {
                await this.deps.target.removeVersion(pending.remove ?? state.baseline.name);
            } else {
                await this.deps.target.applyWeights(pending.weights ?? {});
            }
        } catch (e) {
            const error = errorText(e);
            pending.failures += 1;
            this.note(state, "apply-failed", { ...what, error });
            this.deps.store.save(state);
            this.emit({ type: "apply-failed", ...what, error });
            if (this.deps.signal?.aborted) {
                // Ctrl-C / SIGTERM cancelled the apply: still pending, resumable like any interruption.
                return this.interrupted(state);
            }
            return this.outcome(
                "apply-failed",
                state,
                // The error itself is in the apply-failed event (and the state's history).
                `applying ${describeAction(pending)} failed. ` +
                    (pending.kind === "rollback" || pending.kind === "abort" ? `Traffic is NOT yet back on ${state.baseline.name}. ` : "") +
                    `The state is saved in ${this.deps.store.fileOf(state.stack)}; fix the cause, then run again with --resume` +
                    (pending.kind === "finalize" ? " or --finalize" : pending.kind === "abort" ? " or --abort" : ""),
            );
        }
        const durationMs = this.deps.clock.now() - began;
        const at = this.iso();
        state.pending = null;
        if (pending.kind === "finalize") {
            const remaining = { ...(state.applied ?? {}) };
            delete remaining[pending.remove ?? state.baseline.name];
            state.applied = remaining;
            state.status = "finalized";
            state.outcome = { at, reason: `${pending.remove ?? state.baseline.name} removed; ${state.canary.name} is the only version` };
        } else {
            state.applied = { ...(pending.weights ?? {}) };
        }
        if (pending.kind === "shift" && pending.step !== undefined) {
            state.steps[pending.step].appliedAt = at;
        } else if (pending.kind === "rollback") {
            state.status = "rolled-back";
            state.outcome = { at, reason: pending.reason ?? "rolled back" };
        } else if (pending.kind === "abort") {
            state.status = "aborted";
            state.outcome = { at, reason: pending.reason ?? "aborted" };
        }
        this.note(state, "applied", { ...what, durationMs });
        this.deps.store.save(state);
        this.emit({ type: "applied", ...what, durationMs });
        return undefined;
    }

    /**
     * Waits for the step to settle, then analyses until the step passes, fails or runs out of
     * tolerance; returns an outcome only when interrupted. Waits are measured from the recorded
     * shift and the last recorded analysis, so a resume waits only what is left.
     */
    private async analyseStep(state: RolloutState, step: StepRecord): Promise<RolloutOutcome | undefined> {
        const plan = state.plan;
        const index = state.current;
        const shiftAt = Date.parse(step.appliedAt ?? this.iso());
        const last = step.analyses[step.analyses.length - 1];
        const firstWait =
            last === undefined
                ? plan.waitSeconds * 1000 - (this.deps.clock.now() - shiftAt)
                : plan.analysisIntervalSeconds * 1000 - (this.deps.clock.now() - Date.parse(last.at));
        if (firstWait > 0) {
            const reason = last === undefined ? "settle" : "retry";
            const total = last === undefined ? plan.waitSeconds : plan.analysisIntervalSeconds;
            if (!(await this.wait(state, index, reason, firstWait, total))) {
                return this.interrupted(state);
            }
        }
        for (;;) {
            // Whole seconds since the shift, rounded down: the window never reaches back before the shift.
            const sinceSeconds = Math.max(1, Math.floor((this.deps.clock.now() - shiftAt) / 1000));
            const result = await this.judge(state, sinceSeconds);
            const at = this.iso();
            step.analyses.push({ at, sinceSeconds, verdict: result.verdict, result });
            const inconclusive = step.analyses.filter((a) => a.verdict === "inconclusive").length;
            const { decision, reason } = decideStep({
                verdict: result.verdict,
                inconclusive,
                maxInconclusive: plan.maxInconclusive,
                split: formatSplit(step.weights),
                sinceSeconds,
                reasons: result.reasons,
            });
            if (decision !== "hold") {
                step.decision = { at, decision, reason: reason ?? "" };
            }
            if (decision === "promote") {
                state.current += 1;
            }
            if (decision === "rollback") {
                state.pending = {
                    kind: "rollback",
                    weights: allToBaseline(state.baseline.name, [state.canary.name]),
                    reason: step.decision?.reason,
                    startedAt: at,
                    failures: 0,
                };
            }
            this.note(state, "analysis", { step: index, sinceSeconds, verdict: result.verdict, decision });
            this.deps.store.save(state);
            this.emit({
                type: "analysis",
                step: index,
                weights: step.weights,
                sinceSeconds,
                verdict: result.verdict,
                // The event carries the summary; the state file keeps the judge's whole answer.
                baseline: summary(result.baseline),
                canary: summary(result.canary),
                reasons: result.reasons,
                decision,
                inconclusive,
                maxInconclusive: plan.maxInconclusive,
            });
            if (decision !== "hold") {
                return undefined;
            }
            if (!(await this.wait(state, index, "retry", plan.analysisIntervalSeconds * 1000, plan.analysisIntervalSeconds))) {
                return this.interrupted(state);
            }
        }
    }

    /** Asks the judge; a judge that throws (a bug, not a Prometheus problem) counts as inconclusive. */
    private async judge(state: RolloutState, sinceSeconds: number): Promise<Judgement> {
        try {
            return await this.deps.judge.judge({ baseline: state.baseline.name, canary: state.canary.name, sinceSeconds });
        } catch (e) {
            const empty = (version: string) => ({ version, requests: 0, errors: 0, errorRate: null, p99Ms: null });
            return {
                verdict: "inconclusive",
                baseline: empty(state.baseline.name),
                canary: empty(state.canary.name),
                reasons: [`the analysis threw an error: ${errorText(e)}`],
            };
        }
    }

    /** Sleeps, reporting the wait; false when interrupted. */
    private async wait(state: RolloutState, step: number, reason: "settle" | "retry", ms: number, totalSeconds: number): Promise<boolean> {
        this.emit({ type: "wait", step, reason, seconds: Math.ceil(ms / 1000), totalSeconds });
        try {
            await this.deps.clock.sleep(ms, this.deps.signal);
            return !this.deps.signal?.aborted;
        } catch (e) {
            if (this.deps.signal?.aborted) {
                return false;
            }
            throw e;
        }
    }

    // ---- checks ----------------------------------------------------------------------------

    /** Why the stack's current versions do not fit the saved rollout, or undefined when they do. */
    private async configMismatch(plan: RolloutPlan, state: RolloutState): Promise<string | undefined> {
        const names = plan.versions.map((v) => v.name);
        const expected = [state.baseline.name, state.canary.name];
        const ok =
            (names.length === 2 && names[0] === expected[0] && names[1] === expected[1]) ||
            // a finalize whose apply failed after the stack file was written
            (state.pending?.kind === "finalize" && names.length === 1 && names[0] === state.canary.name);
        if (ok) {
            return undefined;
        }
        return (
            `the stack's versions are now [${names.join(", ")}], but the rollout in ${this.deps.store.fileOf(state.stack)} moves traffic from ` +
            `${expected[0]} to ${expected[1]}; restore the versions, or delete the state file to start over`
        );
    }

    /** Why the stack's current weights are not what the rollout applied (or was applying), or undefined. */
    private async weightsMismatch(state: RolloutState): Promise<string | undefined> {
        const current = await this.deps.target.currentWeights();
        const acceptable: Weights[] = [];
        if (state.applied !== null) {
            acceptable.push(state.applied);
        }
        if (state.pending?.weights !== undefined) {
            acceptable.push(state.pending.weights);
        }
        if (state.pending?.kind === "finalize" && state.applied !== null) {
            const after = { ...state.applied };
            delete after[state.pending.remove ?? state.baseline.name];
            acceptable.push(after);
        }
        if (acceptable.length === 0 || acceptable.some((w) => sameWeights(w, current))) {
            return undefined;
        }
        return (
            `the stack's weights are ${formatSplit(current)}, but the rollout last applied ${formatSplit(state.applied ?? {})}; ` +
            `someone changed them while it was stopped. Restore them, use --abort, or delete ${this.deps.store.fileOf(state.stack)} to start over`
        );
    }

    // ---- plumbing --------------------------------------------------------------------------

    /** Runs a command under the stack's lock, after the target's preflight; refuses when either says no. */
    private async locked(stack: string, command: string, body: () => Promise<RolloutOutcome>): Promise<RolloutOutcome> {
        this.currentStack = stack;
        // Before the lock and any state: a run that cannot apply anything must not leave a pending action behind.
        const unready = await this.deps.target.preflight?.();
        if (unready !== undefined) {
            return this.refuse(stack, unready);
        }
        let lock;
        try {
            lock = this.deps.store.lock(stack, command);
        } catch (e) {
            if (e instanceof LockHeldError) {
                return this.refuse(stack, e.message);
            }
            throw e;
        }
        try {
            return await body();
        } catch (e) {
            if (e instanceof StateFileError) {
                return this.refuse(stack, e.message);
            }
            throw e;
        } finally {
            lock.release();
        }
    }

    private newState(plan: RolloutPlan, baseline: PlanVersion, canary: PlanVersion): RolloutState {
        const now = this.iso();
        return {
            format: STATE_FORMAT,
            stack: plan.stack,
            baseline: { name: baseline.name, image: baseline.image },
            canary: { name: canary.name, image: canary.image },
            plan: {
                steps: [...plan.steps],
                waitSeconds: plan.waitSeconds,
                analysisIntervalSeconds: plan.analysisIntervalSeconds,
                maxInconclusive: plan.maxInconclusive,
            },
            status: "in-progress",
            current: 0,
            steps: [],
            applied: null,
            pending: null,
            history: [],
            startedAt: now,
            updatedAt: now,
        };
    }

    private finished(state: RolloutState): RolloutOutcome {
        const kind: OutcomeKind =
            state.status === "completed"
                ? "completed"
                : state.status === "finalized"
                  ? "finalized"
                  : state.status === "aborted"
                    ? "aborted"
                    : "rolled-back";
        const reason = state.outcome?.reason ?? state.status;
        const message =
            kind === "completed"
                ? `rollout complete: ${reason}`
                : kind === "rolled-back"
                  ? `rolled back to ${state.baseline.name}: ${reason}`
                  : kind === "aborted"
                    ? `aborted: all traffic on ${state.baseline.name} (${reason})`
                    : `finalized: ${reason}`;
        return this.outcome(kind, state, message);
    }

    private interrupted(state: RolloutState): RolloutOutcome {
        this.note(state, "interrupted", { at: where(state) });
        this.deps.store.save(state);
        return this.outcome(
            "interrupted",
            state,
            `interrupted at ${where(state)}; the state is saved in ${this.deps.store.fileOf(state.stack)}; continue with --resume`,
        );
    }

    private refuse(stack: string, message: string, state?: RolloutState): RolloutOutcome {
        const outcome: RolloutOutcome = { kind: "refused", exitCode: EXIT.refused, message, state };
        this.emitFn({ type: "end", at: this.iso(), stack, outcome: "refused", exitCode: EXIT.refused, message });
        return outcome;
    }

    private outcome(kind: OutcomeKind, state: RolloutState, message: string): RolloutOutcome {
        const exitCode = OUTCOME_EXIT[kind];
        this.emitFn({ type: "end", at: this.iso(), stack: state.stack, outcome: kind, exitCode, message });
        return { kind, exitCode, message, state };
    }

    private emitStart(state: RolloutState, mode: "start" | "resume" | "abort" | "finalize"): void {
        this.emit({
            type: "start",
            mode,
            baseline: state.baseline.name,
            canary: state.canary.name,
            steps: state.plan.steps,
            step: state.current,
            waitSeconds: state.plan.waitSeconds,
            analysisIntervalSeconds: state.plan.analysisIntervalSeconds,
            maxInconclusive: state.plan.maxInconclusive,
        });
    }

    /** Emits an event stamped with the time and the stack. */
    private emit(event: DistributiveOmit<RolloutEvent, "at" | "stack">): void {
        this.emitFn({ ...event, at: this.iso(), stack: this.currentStack } as RolloutEvent);
    }

    private note(state: RolloutState, event: string, detail?: Record<string, unknown>): void {
        const at = this.iso();
        state.history.push(detail === undefined ? { at, event } : { at, event, detail: stripUndefined(detail) });
        state.updatedAt = at;
    }

    private iso(): string {
        return new Date(this.deps.clock.now()).toISOString();
    }
}

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** `step 2/4 (25%)`, or the status when there is no current step. */
export function where(state: RolloutState): string {
    const total = state.plan.steps.length;
    if (state.pending !== null && state.pending.kind !== "shift") {
        return `${describeAction(state.pending)} pending`;
    }
    if (state.current >= total) {
        return state.status;
    }
    const step = state.steps[state.current];
    const phase =
        step?.appliedAt === undefined ? "not yet applied" : `${step.analyses.length} analys${step.analyses.length === 1 ? "is" : "es"}`;
    return `step ${state.current + 1}/${total} at ${state.plan.steps[state.current]}%, ${phase}`;
}

/** `the shift to v1 75% / v2 25%`, `the rollback to v1 100% / v2 0%`, `the removal of v1`. */
export function describeAction(action: PendingAction): string {
    switch (action.kind) {
        case "shift":
            return `the shift to ${formatSplit(action.weights ?? {})}`;
        case "rollback":
            return `the rollback to ${formatSplit(action.weights ?? {})}`;
        case "abort":
            return `the abort to ${formatSplit(action.weights ?? {})}`;
        case "finalize":
            return `the removal of ${action.remove ?? "the baseline"}`;
    }
}

/** The fields of VersionStats only (the analysis adds histograms, which stay in the state file). */
function summary(s: VersionStats): VersionStats {
    return { version: s.version, requests: s.requests, errors: s.errors, errorRate: s.errorRate, p99Ms: s.p99Ms };
}

function errorText(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}

function stripUndefined(detail: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(detail).filter(([, v]) => v !== undefined));
}
