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
 *
 * The first shift of a rollout deploys the whole stack (what the reviewed stack file holds, the
 * canary's pods and subset included); every later shift, every rollback and every abort updates the
 * VirtualService only, so they need nothing but the API server. Before each analysis and each later
 * shift the live VirtualService is read back: if it is not what the rollout applied (someone changed
 * it by hand), the rollout holds; rollbacks and aborts are never held. Every outcome that is not
 * done names, in its message and in `next`, the commands that go on from it.
 */
import * as path from "node:path";
import { decideStep } from "./decision";
import { RollbackCause, LifecycleEvent, RolloutEventListener, RolloutEvidence, RolloutStepRef } from "./events";
import { FileGateAnswerBox, GateAnswerBox, GateAnswerKind } from "./gates";
import { GATING_HOOK_POINTS, HookConfig, HookContext, HookPoint, HookRunner, ProcessHookRunner, killGroup } from "./hooks";
import { PlanVersion, RolloutPlan, whyNotRollable } from "./plan";
import {
    AnalysisRecord,
    GATE_ANALYSES_KEPT,
    GateAnalysisRecord,
    GateRecord,
    HookRunRecord,
    LockHeldError,
    PendingAction,
    RolloutState,
    STATE_FORMAT,
    StateFileError,
    StateStore,
    StepRecord,
    processAlive,
    processIdentity,
} from "./state";
import {
    ApplyScope,
    CanaryJudge,
    Clock,
    EXIT,
    Judgement,
    OUTCOME_EXIT,
    OutcomeKind,
    RolloutEvent,
    StackTarget,
    VersionStats,
    StepPosition,
} from "./types";
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
    /**
     * How a person runs this command for a stack, for the ways forward messages name. Default:
     * `npx istio-canary rollout --stack <stack>` (the CLI adds its --config-dir).
     */
    command?: (stack: string) => string;
    /**
     * Receives the lifecycle events of rollout/events.ts (start, shift, hold, gate-waiting, rollback,
     * complete, finalize), each after the state it reports was saved. Optional; an exception it
     * throws is dropped, so a listener can never stop a shift or a rollback.
     */
    onEvent?: RolloutEventListener;
    /** Runs hooks (rollout.hooks). Default: commands by child_process in the current directory, webhooks by axios. */
    hooks?: HookRunner;
    /** Where `--approve` / `--reject` leave their answers. Default: files beside the stack's state file. */
    answers?: GateAnswerBox;
    /** Milliseconds between two looks for an answer while a gate waits. Default 2000. */
    gatePollMs?: number;
}

/** The flags of the rollout command that messages name. */
type CommandFlag = Exclude<NextCommand, "start"> | "approve" | "reject";

/** A command that goes on from an outcome: a new rollout, or the rollout command with that flag. */
export type NextCommand = "start" | "resume" | "abort" | "finalize";

/** How a command ended. */
export interface RolloutOutcome {
    kind: OutcomeKind;
    /** Process exit code (see EXIT). */
    exitCode: number;
    /** One or two sentences for the person running it. */
    message: string;
    /** The state as saved, when there is one. */
    state?: RolloutState;
    /** The commands the message names as the way on, the first preferred (empty or absent when done). */
    next?: NextCommand[];
}

/** The rollout state machine behind `istio-canary rollout`. */
export class RolloutEngine {
    private readonly emitFn: (event: RolloutEvent) => void;
    /** Stack of the command running now, stamped on its events. */
    private currentStack = "";
    /** The plan of the command running now: its hooks and header route (read from config on every run). */
    private activePlan: RolloutPlan | undefined;
    private readonly hookRunner: HookRunner;

    constructor(private readonly deps: EngineDeps) {
        this.emitFn = deps.emit ?? (() => undefined);
        this.hookRunner = deps.hooks ?? new ProcessHookRunner();
    }

    /**
     * Starts a new rollout of the plan's canary (versions[1]) from the first step. A rollout that is
     * in progress is continued with resume, except one that never got a traffic change applied (it
     * failed or was killed before its first apply): that one is replaced, since there is nothing of
     * it to keep but its record, which is archived.
     */
    start(plan: RolloutPlan): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "start", async () => {
            this.activePlan = plan;
            const why = whyNotRollable(plan);
            if (why !== undefined) {
                return this.refuse(plan.stack, `cannot start: ${why}`);
            }
            const [baseline, canary] = plan.versions;
            const previous = this.deps.store.load(plan.stack);
            let replaces: string | undefined;
            if (previous !== undefined) {
                const samePair = previous.baseline.name === baseline.name && previous.canary.name === canary.name;
                if (neverApplied(previous)) {
                    replaces = "in-progress, nothing applied";
                } else if (previous.status === "in-progress" || previous.pending !== null) {
                    return this.refuse(
                        plan.stack,
                        `a rollout of ${previous.canary.name} on stack ${plan.stack} is in progress (${where(previous)}); ` +
                            `continue it with ${this.cmd(plan.stack, "resume")} or send all traffic to ${previous.baseline.name} with ${this.cmd(plan.stack, "abort")}`,
                        previous,
                        ["resume", "abort"],
                    );
                } else if (previous.status === "completed" && samePair) {
                    return this.refuse(
                        plan.stack,
                        `the rollout of ${canary.name} on stack ${plan.stack} already completed (${previous.outcome?.at ?? previous.updatedAt}); ` +
                            `remove ${baseline.name} with ${this.cmd(plan.stack, "finalize")}, or send all traffic back to it with ${this.cmd(plan.stack, "abort")}`,
                        previous,
                        ["finalize", "abort"],
                    );
                }
            }
            // What the stack file holds now; after a replaced rollout that may be the split it was applying.
            const state = this.newState(plan, baseline, canary, await this.deps.target.currentWeights());
            const archived = previous === undefined ? undefined : this.deps.store.archive(previous);
            this.note(state, "rollout-started", { steps: plan.steps, from: state.from, previousRolloutKeptIn: archived, replaces });
            this.deps.store.save(state);
            this.emitStart(state, "start");
            this.lifecycle(state, { type: "start", mode: "start", steps: [...state.plan.steps] });
            return this.drive(state);
        });
    }

    /** Continues an interrupted rollout from its last completed action. */
    resume(plan: RolloutPlan): Promise<RolloutOutcome> {
        return this.locked(plan.stack, "resume", async () => {
            this.activePlan = plan;
            const state = this.deps.store.load(plan.stack);
            if (state === undefined) {
                return this.refuse(
                    plan.stack,
                    `there is no rollout of stack ${plan.stack} to resume (no ${this.deps.store.fileOf(plan.stack)}); start one with ${this.cmd(plan.stack)}`,
                    undefined,
                    ["start"],
                );
            }
            if (state.status !== "in-progress" && state.pending === null && state.hooksDue === undefined) {
                const next: NextCommand[] = state.status === "completed" ? ["finalize", "abort"] : ["start"];
                const how =
                    state.status === "completed"
                        ? `remove ${state.baseline.name} with ${this.cmd(plan.stack, "finalize")}, or send all traffic back to it with ${this.cmd(plan.stack, "abort")}`
                        : `a new rollout starts with ${this.cmd(plan.stack)}`;
                return this.refuse(
                    plan.stack,
                    `the rollout of ${state.canary.name} on stack ${plan.stack} is ${state.status}${state.outcome !== undefined ? ` (${state.outcome.reason})` : ""}; there is nothing to resume: ${how}`,
                    state,
                    next,
                );
            }
            const mismatch = this.configMismatch(plan, state) ?? (await this.weightsMismatch(state));
            if (mismatch !== undefined) {
                return this.refuse(plan.stack, `cannot resume: ${mismatch.message}`, state, mismatch.next);
            }
            this.recoverHookRuns(state);
            this.note(state, "resumed", { at: where(state) });
            this.deps.store.save(state);
            this.emitStart(state, "resume");
            this.lifecycle(state, { type: "start", mode: "resume", steps: [...state.plan.steps] });
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
                        `put ${state.baseline.name} first again and run ${this.cmd(plan.stack, "abort")}, or move ${this.deps.store.fileOf(plan.stack)} aside to abort to ${baseline.name}`,
                    state,
                    ["abort"],
                );
            }
            if (state === undefined || !active) {
                const archived = state === undefined ? undefined : this.deps.store.archive(state);
                state = this.newState(plan, baseline, plan.versions[1], await this.deps.target.currentWeights());
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
                    `cannot finalize: there is no rollout of stack ${plan.stack}; finalize removes the baseline only after a completed rollout (start one with ${this.cmd(plan.stack)})`,
                    undefined,
                    ["start"],
                );
            }
            const retry = state.pending?.kind === "finalize";
            if (state.status !== "completed" || (state.pending !== null && !retry)) {
                const next: NextCommand[] = state.status === "in-progress" || state.pending !== null ? ["resume", "abort"] : ["start"];
                return this.refuse(
                    plan.stack,
                    `cannot finalize: the rollout of ${state.canary.name} on stack ${plan.stack} is ${state.status} (${where(state)}), not completed; ` +
                        `finalize removes ${state.baseline.name} only after the canary reached 100%` +
                        (next[0] === "resume"
                            ? `: continue it with ${this.cmd(plan.stack, "resume")}`
                            : `; a new rollout starts with ${this.cmd(plan.stack)}`),
                    state,
                    next,
                );
            }
            const mismatch = this.configMismatch(plan, state) ?? (await this.weightsMismatch(state));
            if (mismatch !== undefined) {
                return this.refuse(plan.stack, `cannot finalize: ${mismatch.message}`, state, mismatch.next);
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

    /** Runs actions until the rollout ends, stops on a failed apply, is held by drift, or is interrupted. */
    private async drive(state: RolloutState): Promise<RolloutOutcome> {
        for (;;) {
            if (this.deps.signal?.aborted) {
                return this.interrupted(state);
            }
            if (state.pending !== null) {
                const stopped = (await this.checkDrift(state, state.pending)) ?? (await this.applyPending(state, state.pending));
                if (stopped !== undefined) {
                    return stopped;
                }
                continue;
            }
            if (state.status !== "in-progress") {
                const stopped = await this.runDueHooks(state);
                if (stopped !== undefined) {
                    return stopped;
                }
                return this.finished(state);
            }
            const step = state.steps[state.current];
            if (step === undefined) {
                // Post-step hooks of the step before, pre-rollout hooks, the gate, pre-step hooks.
                const stopped = await this.beforeShift(state);
                if (stopped === "again") {
                    continue;
                }
                if (stopped !== undefined) {
                    return stopped;
                }
            }
            if (step === undefined || step.appliedAt === undefined) {
                this.beginShift(state);
                continue;
            }
            if (state.current === state.plan.steps.length - 1) {
                const stopped = await this.runHooks(state, "post-step", state.current);
                if (stopped === "again") {
                    continue;
                }
                if (stopped !== undefined) {
                    return stopped;
                }
                // The last step is 100%: the baseline has no traffic left to compare with, so the
                // previous step's analysis was the last; the rollout is complete.
                state.status = "completed";
                state.outcome = {
                    at: this.iso(),
                    reason: `${state.canary.name} gets 100% of traffic; ${state.baseline.name} keeps running until --finalize removes it`,
                };
                if (this.hooksAt("complete").length > 0) {
                    state.hooksDue = "complete";
                }
                this.note(state, "completed");
                this.deps.store.save(state);
                this.lifecycle(state, {
                    type: "complete",
                    reason: state.outcome.reason,
                    step: this.stepRef(state, state.current),
                    evidence: lastEvidence(state, state.current - 1),
                });
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

    /**
     * Before a shift that follows one the rollout applied: holds when the live VirtualService routes
     * neither the split last applied nor the one being applied (an earlier attempt may have reached
     * the cluster). Rollbacks, aborts, finalize and the first shift are never held.
     */
    private async checkDrift(state: RolloutState, pending: PendingAction): Promise<RolloutOutcome | undefined> {
        if (pending.kind !== "shift" || state.applied === null) {
            return undefined;
        }
        const to = formatSplit(pending.weights ?? {});
        return this.holdOnDrift(
            state,
            [state.applied, pending.weights ?? {}],
            `before the shift to ${to}`,
            `the shift to ${to} was not applied`,
        );
    }

    /**
     * Reads the live VirtualService (when the target can) and holds, saving a `drift` entry, when it
     * routes none of `acceptable`: someone changed it outside the rollout. A read that fails stops
     * the run like a failed apply. Undefined when the live split is one of `acceptable`.
     */
    private async holdOnDrift(
        state: RolloutState,
        acceptable: Weights[],
        when: string,
        notDone: string,
    ): Promise<RolloutOutcome | undefined> {
        const read = this.deps.target.liveWeights?.bind(this.deps.target);
        const applied = state.applied;
        if (read === undefined || applied === null) {
            return undefined;
        }
        let live: Weights | undefined;
        try {
            live = await read();
        } catch (e) {
            const error = errorText(e);
            this.note(state, "live-read-failed", { error });
            this.deps.store.save(state);
            return this.outcome(
                "apply-failed",
                state,
                `could not read the live VirtualService ${when}: ${error}. Nothing was changed; the rollout last applied ${formatSplit(applied)}. ` +
                    `Fix the cause, then run ${this.cmd(state.stack, "resume")}, or send all traffic to ${state.baseline.name} with ${this.cmd(state.stack, "abort")}`,
                ["resume", "abort"],
            );
        }
        if (live !== undefined && acceptable.some((w) => sameWeights(live, w))) {
            return undefined;
        }
        const seen =
            live === undefined ? "the live VirtualService is gone from the stack" : `the live VirtualService routes ${formatSplit(live)}`;
        this.note(state, "drift", { live: live ?? null, applied });
        this.deps.store.save(state);
        return this.held(
            state,
            "drift",
            `holding at ${where(state)}: ${seen}, but the rollout last applied ${formatSplit(applied)}; ` +
                `someone changed it outside the rollout (kubectl edit, another tool), so ${notDone}. ` +
                `To keep traffic off ${state.canary.name}, run ${this.cmd(state.stack, "abort")}. ` +
                `To go on, put the VirtualService back to ${formatSplit(applied)} (the split ${this.deps.target.configFile ?? "the stack file"} holds, so a \`pulumi up\` of the stack applies it), then run ${this.cmd(state.stack, "resume")}`,
            ["abort", "resume"],
        );
    }

    /** The `held` outcome, after a `hold` lifecycle event saying why. */
    private held(state: RolloutState, cause: "drift" | "hook", message: string, next: NextCommand[]): RolloutOutcome {
        this.lifecycle(state, {
            type: "hold",
            cause,
            stopped: true,
            message,
            step: state.current < state.plan.steps.length ? this.stepRef(state, state.current) : undefined,
        });
        return this.outcome("held", state, message, next);
    }

    /** The lifecycle event of a confirmed traffic change. */
    private lifecycleOfApplied(state: RolloutState, pending: PendingAction, from: Weights | null): void {
        switch (pending.kind) {
            case "shift":
                if (pending.step !== undefined) {
                    this.lifecycle(state, {
                        type: "shift",
                        step: this.stepRef(state, pending.step),
                        from,
                        evidence: lastEvidence(state, pending.step - 1),
                    });
                }
                return;
            case "rollback":
            case "abort": {
                const cause: RollbackCause = pending.kind === "abort" ? "abort" : (pending.cause ?? "analysis");
                this.lifecycle(state, {
                    type: "rollback",
                    cause,
                    reason: state.outcome?.reason ?? pending.reason ?? pending.kind,
                    step: state.current < state.plan.steps.length ? this.stepRef(state, state.current) : undefined,
                    evidence: cause === "analysis" ? (lastEvidence(state, state.current) ?? gateEvidence(state)) : undefined,
                });
                return;
            }
            case "finalize":
                this.lifecycle(state, { type: "finalize", removed: pending.remove ?? state.baseline.name });
                return;
            case "prepare":
                return;
        }
    }

    /** Applies the pending action; on success confirms it, on failure keeps it pending and returns the outcome. */
    private async applyPending(state: RolloutState, pending: PendingAction): Promise<RolloutOutcome | undefined> {
        const what = { action: pending.kind, step: pending.step, weights: pending.weights, remove: pending.remove };
        // Only the first shift of a rollout deploys the whole stack; see the module comment.
        const scope: ApplyScope =
            (pending.kind === "shift" && state.applied === null) || pending.kind === "prepare" ? "stack" : "virtual-service";
        this.emit({ type: "apply", ...what });
        this.note(state, "apply-started", { ...what, scope: pending.kind === "finalize" ? "stack" : scope, attempt: pending.failures + 1 });
        this.deps.store.save(state);
        const began = this.deps.clock.now();
        try {
            if (pending.kind === "finalize") {
                await this.deps.target.removeVersion(pending.remove ?? state.baseline.name);
            } else {
                await this.deps.target.applyWeights(pending.weights ?? {}, scope);
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
            // The error itself is in the apply-failed event (and the state's history).
            return this.applyFailed(state, pending);
        }
        const durationMs = this.deps.clock.now() - began;
        const at = this.iso();
        const previous = state.applied === null ? null : { ...state.applied };
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
            if (this.hooksAt("rollback").length > 0) {
                // They run after this save: the rollback comes first, and never waits for a hook.
                state.hooksDue = "rollback";
            }
        } else if (pending.kind === "abort") {
            state.status = "aborted";
            state.outcome = { at, reason: pending.reason ?? "aborted" };
        }
        if ((pending.kind === "abort" || pending.kind === "finalize") && state.hooksDue !== undefined) {
            // The rollout moved on (an abort or finalize after it ended): the hooks it still owed are dropped.
            this.note(state, "hooks-dropped", { at: state.hooksDue, because: pending.kind });
            delete state.hooksDue;
        }
        this.note(state, "applied", { ...what, durationMs });
        this.deps.store.save(state);
        this.emit({ type: "applied", ...what, durationMs });
        this.lifecycleOfApplied(state, pending, previous);
        return undefined;
    }

    /**
     * The outcome of a failed apply: what the cluster still routes, what the stack file now holds
     * (the adapter writes it before `pulumi up`, so it may already hold the new split), and the
     * command that finishes the action.
     */
    private async applyFailed(state: RolloutState, pending: PendingAction): Promise<RolloutOutcome> {
        const stack = state.stack;
        const configFile = this.deps.target.configFile;
        const file = configFile !== undefined ? `The stack file ${configFile}` : "The stack file";
        let inFile: Weights | undefined;
        try {
            inFile = await this.deps.target.currentWeights();
        } catch {
            inFile = undefined;
        }
        const routed = state.applied ?? state.from;
        const routedText =
            state.applied !== null
                ? formatSplit(state.applied)
                : `what it routed before${state.from !== undefined ? ` (the stack file had ${formatSplit(state.from)})` : ""}`;
        const parts = [`applying ${describeAction(pending)} failed.`];
        if (pending.kind === "rollback" || pending.kind === "abort") {
            parts.push(`Traffic is NOT yet back on ${state.baseline.name}: the cluster still routes ${routedText}.`);
        }
        if (pending.kind === "finalize") {
            const removed = inFile !== undefined && !((pending.remove ?? state.baseline.name) in inFile);
            if (removed) {
                parts.push(
                    `${file} was already edited: ${pending.remove ?? state.baseline.name} is no longer in its versions; leave it so.`,
                );
            }
        } else if (inFile !== undefined && pending.weights !== undefined) {
            if (sameWeights(inFile, pending.weights) && !(routed !== undefined && sameWeights(routed, pending.weights))) {
                parts.push(
                    `${file} was already edited: it now says ${formatSplit(inFile)}, the split being applied; leave it so (or commit it), ` +
                        `the next run applies it.`,
                );
            } else {
                parts.push(`${file} says ${formatSplit(inFile)}.`);
            }
        }
        parts.push(`The state is saved in ${this.deps.store.fileOf(stack)}.`);
        let next: NextCommand[];
        switch (pending.kind) {
            case "shift":
                next = ["resume", "abort"];
                parts.push(
                    `Fix the cause, then run ${this.cmd(stack, "resume")} to retry the shift, or ${this.cmd(stack, "abort")} to send all traffic to ${state.baseline.name}`,
                );
                break;
            case "rollback":
                next = ["resume", "abort"];
                parts.push(`Fix the cause, then run ${this.cmd(stack, "resume")} to finish the rollback (or ${this.cmd(stack, "abort")})`);
                break;
            case "abort":
                next = ["abort"];
                parts.push(`Fix the cause, then run ${this.cmd(stack, "abort")} again to finish the abort`);
                break;
            case "finalize":
                next = ["finalize"];
                parts.push(`Fix the cause, then run ${this.cmd(stack, "finalize")} again to finish the removal`);
                break;
            case "prepare":
                next = ["resume", "abort"];
                parts.push(
                    `Fix the cause, then run ${this.cmd(stack, "resume")} to deploy the canary at 0% and run the pre-rollout hooks, or ${this.cmd(stack, "abort")}`,
                );
                break;
        }
        return this.outcome("apply-failed", state, parts.join(" "), next);
    }

    /**
     * Waits for the step to settle, then analyses until the step passes, fails or runs out of
     * tolerance; returns an outcome only when interrupted or held by drift. Waits are measured from the recorded
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
            // An analysis judges the split the rollout applied, or none: not one changed by hand meanwhile.
            const held = await this.holdOnDrift(state, [step.weights], `before analysing ${where(state)}`, "the step was not analysed");
            if (held !== undefined) {
                return held;
            }
            // Whole seconds since the shift, rounded down: the window never reaches back before the shift.
            const sinceSeconds = Math.max(1, Math.floor((this.deps.clock.now() - shiftAt) / 1000));
            const result = await this.judge(state, sinceSeconds, step.weights, { index, of: plan.steps.length - 1 });
            const at = this.iso();
            step.analyses.push({ at, sinceSeconds, verdict: result.verdict, result });
            const inconclusive = step.analyses.filter((a) => a.verdict === "inconclusive").length;
            const { decision, reason } = decideStep({
                verdict: result.verdict,
                inconclusive,
                canaryRequests: result.canary.requests,
                maxStepRequests: plan.maxStepRequests,
                maxStepSeconds: plan.maxStepSeconds,
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
                maxStepRequests: plan.maxStepRequests,
                maxStepSeconds: plan.maxStepSeconds,
            });
            if (decision === "hold") {
                this.lifecycle(state, {
                    type: "hold",
                    cause: "inconclusive",
                    stopped: false,
                    message:
                        `inconclusive analysis ${inconclusive} at ${formatSplit(step.weights)} (the step rolls back after ${plan.maxStepRequests} canary requests or ${plan.maxStepSeconds}s without a verdict); ` +
                        `asking again in ${plan.analysisIntervalSeconds}s`,
                    step: this.stepRef(state, index),
                    evidence: evidenceOf(step.analyses[step.analyses.length - 1]),
                });
            }
            if (decision !== "hold") {
                return undefined;
            }
            if (!(await this.wait(state, index, "retry", plan.analysisIntervalSeconds * 1000, plan.analysisIntervalSeconds))) {
                return this.interrupted(state);
            }
        }
    }

    /** Asks the judge; a judge that throws (a bug, not a Prometheus problem) counts as inconclusive. */
    private async judge(state: RolloutState, sinceSeconds: number, weights: Weights, step: StepPosition): Promise<Judgement> {
        try {
            return await this.deps.judge.judge({ baseline: state.baseline.name, canary: state.canary.name, sinceSeconds, weights, step });
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

    // ---- hooks and gates -------------------------------------------------------------------

    /** The configured hooks of one point, in config order. */
    private hooksAt(point: HookPoint): HookConfig[] {
        return (this.activePlan?.hooks ?? []).filter((h) => h.at === point);
    }

    /**
     * What comes before the shift to the current step, each once: the post-step hooks of the step
     * before, then (first step only) the canary's deployment at 0% and the pre-rollout hooks, then
     * the gate, then the pre-step hooks. `again` when it set a pending action for drive to apply.
     */
    private async beforeShift(state: RolloutState): Promise<RolloutOutcome | "again" | undefined> {
        const index = state.current;
        if (index > 0) {
            const stopped = await this.runHooks(state, "post-step", index - 1);
            if (stopped !== undefined) {
                return stopped;
            }
        }
        if (index === 0 && this.hooksAt("pre-rollout").length > 0) {
            if (state.applied === null) {
                // Deploy what the stack file holds with the canary at 0%: reachable through its
                // header route, no user traffic; later shifts then update the VirtualService only.
                state.pending = {
                    kind: "prepare",
                    weights: stepWeights(state.baseline.name, state.canary.name, 0),
                    startedAt: this.iso(),
                    failures: 0,
                };
                this.note(state, "prepare-requested", { weights: state.pending.weights });
                this.deps.store.save(state);
                return "again";
            }
            const stopped = await this.runHooks(state, "pre-rollout", undefined);
            if (stopped !== undefined) {
                return stopped;
            }
        }
        if ((state.plan.approve ?? []).includes(index)) {
            const stopped = await this.awaitGate(state, index);
            if (stopped !== undefined) {
                return stopped;
            }
        }
        return this.runHooks(state, "pre-step", index);
    }

    /** True when this hook needs no (further) run at this point and step. */
    private hookDone(state: RolloutState, hook: HookConfig, point: HookPoint, step: number | undefined): boolean {
        return (state.hooks ?? []).some(
            (r) =>
                r.hook === hook.name &&
                r.at === point &&
                r.step === step &&
                (r.status === "succeeded" ||
                    r.then === "continued" ||
                    (!GATING_HOOK_POINTS.includes(point) && (r.status === "failed" || r.status === "timed-out"))),
        );
    }

    /**
     * Runs the hooks of a point that have not run yet, in order. A failure at a gating point does
     * what its onFailure says: `again` after setting a rollback pending, the `held` outcome, or
     * nothing (continue); at rollback and complete it is only recorded. Interrupted: the outcome.
     */
    private async runHooks(state: RolloutState, point: HookPoint, step: number | undefined): Promise<RolloutOutcome | "again" | undefined> {
        for (const hook of this.hooksAt(point)) {
            if (this.hookDone(state, hook, point, step)) {
                continue;
            }
            const record = await this.runHook(state, hook, point, step);
            if (record.status === "interrupted") {
                this.hookFinished(state, record);
                return this.interrupted(state);
            }
            if (record.status === "succeeded" || !GATING_HOOK_POINTS.includes(point)) {
                this.hookFinished(state, record);
                continue;
            }
            const what = `hook ${hook.name} (${point}${step !== undefined ? ` of step ${step + 1}/${state.plan.steps.length}` : ""}) ${describeHookRun(record)}`;
            if (hook.onFailure === "continue") {
                record.then = "continued";
                this.hookFinished(state, record);
                continue;
            }
            if (hook.onFailure === "hold") {
                record.then = "held";
                this.hookFinished(state, record);
                return this.held(
                    state,
                    "hook",
                    `holding at ${where(state)}: ${what}; nothing was changed. ` +
                        `Fix the cause, then run ${this.cmd(state.stack, "resume")} to run it again, or send all traffic to ${state.baseline.name} with ${this.cmd(state.stack, "abort")}`,
                    ["resume", "abort"],
                );
            }
            record.then = "rolled-back";
            state.pending = {
                kind: "rollback",
                weights: allToBaseline(state.baseline.name, [state.canary.name]),
                reason: what,
                cause: "hook",
                startedAt: this.iso(),
                failures: 0,
            };
            this.hookFinished(state, record);
            return "again";
        }
        return undefined;
    }

    /** Saves a finished run (with what its failure did) and reports it. */
    private hookFinished(state: RolloutState, record: HookRunRecord): void {
        this.note(state, "hook-finished", {
            hook: record.hook,
            at: record.at,
            step: record.step,
            status: record.status,
            then: record.then,
        });
        this.deps.store.save(state);
        this.emit({
            type: "hook",
            phase: "finished",
            hook: record.hook,
            point: record.at,
            step: record.step,
            kind: record.kind,
            status: record.status === "running" ? undefined : record.status,
            exitCode: record.exitCode,
            signal: record.signal,
            httpStatus: record.httpStatus,
            durationMs: record.durationMs,
            output: record.output,
            error: record.error,
            then: record.then,
        });
    }

    /** Runs one hook, recorded as `running` before it starts and with its result after (saved by the caller). */
    private async runHook(state: RolloutState, hook: HookConfig, point: HookPoint, step: number | undefined): Promise<HookRunRecord> {
        const kind = hook.command !== undefined ? "command" : "webhook";
        const record: HookRunRecord = { hook: hook.name, at: point, step, kind, status: "running", startedAt: this.iso() };
        state.hooks = [...(state.hooks ?? []), record];
        this.note(state, "hook-started", { hook: hook.name, at: point, step });
        this.deps.store.save(state);
        this.emit({ type: "hook", phase: "started", hook: hook.name, point, step, kind });
        const context: HookContext = {
            hook: hook.name,
            at: point,
            stack: state.stack,
            baseline: state.baseline.name,
            canary: state.canary.name,
            split: { ...(state.applied ?? state.from ?? {}) },
            ...(step !== undefined ? { step: this.stepRef(state, step) } : {}),
            ...(this.activePlan?.headerRoute !== undefined ? { headerRoute: { ...this.activePlan.headerRoute } } : {}),
        };
        const result = await this.hookRunner.run(hook, context, {
            signal: this.deps.signal,
            onStart: (pid) => {
                // Saved at once: a rollout killed now leaves the pid for --resume to stop.
                record.pid = pid;
                const startTime = processIdentity(pid).startTime;
                if (startTime !== undefined) {
                    record.pidStartTime = startTime;
                }
                this.deps.store.save(state);
            },
        });
        Object.assign(record, stripUndefined({ ...result }), { finishedAt: this.iso() });
        return record;
    }

    /**
     * On --resume: a run still `running` was cut short when the rollout was killed. Its process
     * group, if still there (same pid and start time), is killed; the run is marked `interrupted`,
     * and the hook runs again when the rollout reaches it.
     */
    private recoverHookRuns(state: RolloutState): void {
        for (const run of state.hooks ?? []) {
            if (run.status !== "running") {
                continue;
            }
            let left = "it was no longer running";
            if (run.pid !== undefined && processAlive(run.pid)) {
                const now = processIdentity(run.pid).startTime;
                if (run.pidStartTime === undefined || now === undefined || now === run.pidStartTime) {
                    killGroup(run.pid, "SIGKILL");
                    left = `its process group ${run.pid} was still running and was killed`;
                }
            }
            run.status = "interrupted";
            run.finishedAt = this.iso();
            run.error = `the rollout was stopped while the hook ran; ${left}; it runs again`;
            this.note(state, "hook-interrupted", { hook: run.hook, at: run.at, step: run.step, pid: run.pid });
        }
    }

    /** The rollback or complete hooks a terminal rollout still owes (after its rollback or completion was saved). */
    private async runDueHooks(state: RolloutState): Promise<RolloutOutcome | undefined> {
        const due = state.hooksDue;
        if (due === undefined) {
            return undefined;
        }
        const stopped = await this.runHooks(state, due, undefined);
        if (stopped !== undefined && stopped !== "again") {
            return stopped;
        }
        delete state.hooksDue;
        this.deps.store.save(state);
        return undefined;
    }

    /**
     * Waits, durably, until the gate before step `index` is answered. The gate is saved when the
     * wait begins; a resumed rollout goes on waiting for the same gate. While it waits it looks for
     * an answer every gatePollMs and, when the canary has traffic (a step before this one was
     * applied), analyses the last waitSeconds of traffic every analysisIntervalSeconds: a fail sets
     * a rollback pending (`again`), pass and inconclusive are recorded and change nothing. A reject
     * sets a rollback pending too; an approval returns undefined.
     */
    private async awaitGate(state: RolloutState, index: number): Promise<RolloutOutcome | "again" | undefined> {
        const gates = (state.gates ??= []);
        let gate = gates.find((g) => g.step === index);
        if (gate?.status === "approved") {
            return undefined;
        }
        if (gate === undefined) {
            gate = { step: index, status: "waiting", since: this.iso(), analyses: [], analysisCount: 0 };
            gates.push(gate);
            this.note(state, "gate-waiting", { step: index });
            this.deps.store.save(state);
        }
        const total = state.plan.steps.length;
        const to = formatSplit(stepWeights(state.baseline.name, state.canary.name, state.plan.steps[index]));
        const previous = index > 0 ? state.steps[index - 1] : undefined;
        const analysing = previous?.appliedAt !== undefined && previous.canaryWeight > 0;
        const waitingFor =
            `approval of step ${index + 1}/${total}, the shift to ${to}` +
            (analysing
                ? `; meanwhile ${formatSplit(previous.weights)} is analysed every ${state.plan.analysisIntervalSeconds}s and a failure rolls back`
                : "");
        const approve = this.cmd(state.stack, "approve");
        const reject = this.cmd(state.stack, "reject");
        this.emit({ type: "gate", status: "waiting", step: index, canaryWeight: state.plan.steps[index], waitingFor, approve, reject });
        this.lifecycle(state, { type: "gate-waiting", step: this.stepRef(state, index), waitingFor, approve, reject });
        const answers = this.answerBox(state.stack);
        const pollMs = this.deps.gatePollMs ?? 2000;
        const intervalMs = state.plan.analysisIntervalSeconds * 1000;
        const lastAt = gate.analyses[gate.analyses.length - 1]?.at ?? gate.since;
        let nextAnalysis = Date.parse(lastAt) + intervalMs;
        for (;;) {
            const taken = answers.take(state.stack);
            if (taken !== undefined && "invalid" in taken) {
                this.note(state, "gate-answer-ignored", { step: index, why: taken.invalid });
                this.deps.store.save(state);
            } else if (taken !== undefined && (taken.step !== gate.step || taken.since !== gate.since)) {
                this.note(state, "gate-answer-ignored", {
                    step: index,
                    why: `it answers the gate of step ${taken.step + 1} since ${taken.since}`,
                });
                this.deps.store.save(state);
            } else if (taken !== undefined) {
                const approved = taken.answer === "approve";
                gate.status = approved ? "approved" : "rejected";
                gate.answeredAt = this.iso();
                gate.by = taken.by;
                if (!approved) {
                    state.pending = {
                        kind: "rollback",
                        weights: allToBaseline(state.baseline.name, [state.canary.name]),
                        reason: `step ${index + 1}/${total} (${to}) was rejected by ${taken.by} (--reject)`,
                        cause: "rejected",
                        startedAt: this.iso(),
                        failures: 0,
                    };
                }
                this.note(state, approved ? "gate-approved" : "gate-rejected", { step: index, by: taken.by });
                this.deps.store.save(state);
                this.emit({
                    type: "gate",
                    status: gate.status,
                    step: index,
                    canaryWeight: state.plan.steps[index],
                    waitingFor,
                    approve,
                    reject,
                    by: taken.by,
                });
                return approved ? undefined : "again";
            }
            if (analysing && this.deps.clock.now() >= nextAnalysis) {
                const stopped = await this.analyseWhileWaiting(state, gate, previous);
                if (stopped !== undefined) {
                    return stopped;
                }
                nextAnalysis = this.deps.clock.now() + intervalMs;
            }
            const sleep = analysing ? Math.max(0, Math.min(pollMs, nextAnalysis - this.deps.clock.now())) : pollMs;
            try {
                await this.deps.clock.sleep(sleep, this.deps.signal);
            } catch (e) {
                if (!this.deps.signal?.aborted) {
                    throw e;
                }
            }
            if (this.deps.signal?.aborted) {
                return this.interrupted(state);
            }
        }
    }

    /** One analysis while a gate waits: the last waitSeconds (at least one interval) of the step before the gate. */
    private async analyseWhileWaiting(
        state: RolloutState,
        gate: GateRecord,
        previous: StepRecord,
    ): Promise<RolloutOutcome | "again" | undefined> {
        const held = await this.holdOnDrift(
            state,
            [previous.weights],
            `before analysing ${formatSplit(previous.weights)} while waiting for approval`,
            "it was not analysed",
        );
        if (held !== undefined) {
            return held;
        }
        const plan = state.plan;
        const shiftAt = Date.parse(previous.appliedAt ?? this.iso());
        // The analysis of the step before the gate goes on over all its traffic since its shift: the
        // same sequential tests, watched longer. They are valid at any stopping time, so watching a gate
        // all night spends no more than that step's share of alpha; re-testing fresh windows would
        // spend it again at every look and roll back healthy canaries that wait long enough.
        const sinceSeconds = Math.max(1, Math.floor((this.deps.clock.now() - shiftAt) / 1000));
        const result = await this.judge(state, sinceSeconds, previous.weights, { index: state.current - 1, of: plan.steps.length - 1 });
        const at = this.iso();
        gate.analyses.push({
            at,
            sinceSeconds,
            verdict: result.verdict,
            baseline: counts(result.baseline),
            canary: counts(result.canary),
            reasons: [...result.reasons],
        });
        gate.analyses = gate.analyses.slice(-GATE_ANALYSES_KEPT);
        gate.analysisCount += 1;
        const failed = result.verdict === "fail";
        if (failed) {
            state.pending = {
                kind: "rollback",
                weights: allToBaseline(state.baseline.name, [state.canary.name]),
                reason: `analysis failed at ${formatSplit(previous.weights)} while waiting for approval of step ${gate.step + 1}: ${result.reasons.join("; ")}`,
                cause: "analysis",
                startedAt: at,
                failures: 0,
            };
        }
        this.note(state, "gate-analysis", { step: gate.step, sinceSeconds, verdict: result.verdict });
        this.deps.store.save(state);
        this.emit({
            type: "analysis",
            step: state.current - 1,
            weights: previous.weights,
            sinceSeconds,
            verdict: result.verdict,
            baseline: summary(result.baseline),
            canary: summary(result.canary),
            reasons: result.reasons,
            decision: failed ? "rollback" : "hold",
            inconclusive: 0,
            maxStepRequests: plan.maxStepRequests,
            maxStepSeconds: plan.maxStepSeconds,
            waiting: "approval",
        });
        return failed ? "again" : undefined;
    }

    /** Where answers to this stack's gates are left. */
    private answerBox(stack: string): GateAnswerBox {
        return this.deps.answers ?? new FileGateAnswerBox(path.dirname(this.deps.store.fileOf(stack)));
    }

    /**
     * `--approve` / `--reject`: answers the gate the stack's rollout waits at. The answer is left for
     * the waiting rollout; when no rollout is running (it was stopped while it waited), this command
     * continues the rollout itself, as --resume would, and the answer is taken at once.
     */
    async answer(plan: RolloutPlan, answer: GateAnswerKind, by: string): Promise<RolloutOutcome> {
        this.currentStack = plan.stack;
        let state: RolloutState | undefined;
        try {
            state = this.deps.store.load(plan.stack);
        } catch (e) {
            if (e instanceof StateFileError) {
                return this.refuse(plan.stack, `${e.message}; nothing was answered`);
            }
            throw e;
        }
        const flag = answer === "approve" ? "--approve" : "--reject";
        const gate = state?.gates?.find((g) => g.status === "waiting");
        if (state === undefined || state.status !== "in-progress" || state.pending !== null || gate === undefined) {
            const what =
                state === undefined
                    ? `there is no rollout of stack ${plan.stack}`
                    : `the rollout of ${state.canary.name} on stack ${plan.stack} is ${state.status} (${where(state)})`;
            return this.refuse(
                plan.stack,
                `nothing waits for approval: ${what}; ${flag} answers a rollout that waits at a step with approve: true`,
                state,
                state?.status === "in-progress" ? ["resume", "abort"] : undefined,
            );
        }
        const box = this.answerBox(plan.stack);
        box.put({ stack: plan.stack, step: gate.step, since: gate.since, answer, by, at: this.iso() });
        const step = `step ${gate.step + 1}/${state.plan.steps.length} (${state.plan.steps[gate.step]}%)`;
        let lock;
        try {
            lock = this.deps.store.lock(plan.stack, answer);
        } catch (e) {
            if (e instanceof LockHeldError) {
                const message =
                    `${answer === "approve" ? "approved" : "rejected"} ${step} of the rollout of ${state.canary.name} on stack ${plan.stack}; ` +
                    `the waiting rollout (pid ${e.holder.pid} on ${e.holder.hostname}) takes the answer within ${Math.ceil((this.deps.gatePollMs ?? 2000) / 1000)}s ` +
                    `and ${answer === "approve" ? "shifts" : "rolls back"} (answer kept in ${box.fileOf(plan.stack)})`;
                return this.outcome("answered", state, message, []);
            }
            throw e;
        }
        // Nobody is waiting: this command goes on with the rollout.
        lock.release();
        return this.resume(plan);
    }

    // ---- checks ----------------------------------------------------------------------------

    /** Why the stack's current versions do not fit the saved rollout, and what to run, or undefined when they do. */
    private configMismatch(plan: RolloutPlan, state: RolloutState): { message: string; next: NextCommand[] } | undefined {
        const names = plan.versions.map((v) => v.name);
        const expected = [state.baseline.name, state.canary.name];
        const ok =
            (names.length === 2 && names[0] === expected[0] && names[1] === expected[1]) ||
            // a finalize whose apply failed after the stack file was written
            (state.pending?.kind === "finalize" && names.length === 1 && names[0] === state.canary.name);
        if (ok) {
            return undefined;
        }
        const next: NextCommand[] = neverApplied(state) ? ["resume", "start"] : ["resume", "abort"];
        return {
            message:
                `the stack's versions are now [${names.join(", ")}], but the rollout in ${this.deps.store.fileOf(state.stack)} moves traffic from ` +
                `${expected[0]} to ${expected[1]}; restore the versions [${expected.join(", ")}] and run ${this.cmd(state.stack, "resume")}, ` +
                (next[1] === "start"
                    ? `or start a new rollout with ${this.cmd(state.stack)} (this one never applied a traffic change)`
                    : `or, with ${expected[0]} first, send all traffic to it with ${this.cmd(state.stack, "abort")}`),
            next,
        };
    }

    /**
     * Why the stack's current weights are not what the rollout applied, was applying, or (before its
     * first apply) found when it started, and what to run; undefined when they are.
     */
    private async weightsMismatch(state: RolloutState): Promise<{ message: string; next: NextCommand[] } | undefined> {
        const current = await this.deps.target.currentWeights();
        const acceptable: Weights[] = [];
        if (state.applied !== null) {
            acceptable.push(state.applied);
        } else if (state.from !== undefined) {
            acceptable.push(state.from);
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
        const last =
            state.applied !== null
                ? `the rollout last applied ${formatSplit(state.applied)}`
                : `the rollout has applied nothing yet (${state.from !== undefined ? `the stack had ${formatSplit(state.from)} when it started` : "its start split was not recorded"})`;
        const restore = state.applied ?? state.from;
        const next: NextCommand[] = neverApplied(state) ? ["start", "abort", "resume"] : ["abort", "resume"];
        return {
            message:
                `the stack's weights are ${formatSplit(current)}, but ${last}; someone changed them while it was stopped. ` +
                (next[0] === "start" ? `Start the rollout again with ${this.cmd(state.stack)}, or ` : "") +
                `send all traffic to ${state.baseline.name} with ${this.cmd(state.stack, "abort")}` +
                (restore !== undefined
                    ? `, or restore ${formatSplit(restore)} in the stack file and run ${this.cmd(state.stack, "resume")}`
                    : ""),
            next,
        };
    }

    // ---- plumbing --------------------------------------------------------------------------

    /** `npx istio-canary rollout --stack dev --resume`, in backquotes: a command the person can copy. */
    private cmd(stack: string, flag?: CommandFlag): string {
        const base = this.deps.command?.(stack) ?? `npx istio-canary rollout --stack ${stack}`;
        return `\`${flag === undefined ? base : `${base} --${flag}`}\``;
    }

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
                return this.refuse(stack, e.message, undefined, ["resume", "abort"]);
            }
            if (e instanceof StateFileError) {
                // Nothing was written: the state directory itself is unusable.
                return this.refuse(stack, `${e.message}; nothing was changed, run the command again once it is fixed`);
            }
            throw e;
        }
        try {
            return await body();
        } catch (e) {
            if (e instanceof StateFileError) {
                return this.refuse(
                    stack,
                    `${e.message}. Then check what the stack routes and send all traffic to the baseline with ${this.cmd(stack, "abort")}, ` +
                        `or start a new rollout with ${this.cmd(stack)}`,
                    undefined,
                    ["abort", "start"],
                );
            }
            throw e;
        } finally {
            lock.release();
        }
    }

    private newState(plan: RolloutPlan, baseline: PlanVersion, canary: PlanVersion, from: Weights): RolloutState {
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
                maxStepRequests: plan.maxStepRequests,
                maxStepSeconds: plan.maxStepSeconds,
                ...gatedSteps(plan),
            },
            status: "in-progress",
            current: 0,
            steps: [],
            applied: null,
            from: { ...from },
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
        return this.outcome(kind, state, message, kind === "completed" ? ["finalize"] : []);
    }

    private interrupted(state: RolloutState): RolloutOutcome {
        this.note(state, "interrupted", { at: where(state) });
        this.deps.store.save(state);
        return this.outcome(
            "interrupted",
            state,
            `interrupted at ${where(state)}; the state is saved in ${this.deps.store.fileOf(state.stack)}; continue with ${this.cmd(state.stack, "resume")}`,
            ["resume"],
        );
    }

    private refuse(stack: string, message: string, state?: RolloutState, next?: NextCommand[]): RolloutOutcome {
        const outcome: RolloutOutcome = { kind: "refused", exitCode: EXIT.refused, message, state, next };
        this.emitFn({ type: "end", at: this.iso(), stack, outcome: "refused", exitCode: EXIT.refused, message });
        return outcome;
    }

    private outcome(kind: OutcomeKind, state: RolloutState, message: string, next?: NextCommand[]): RolloutOutcome {
        const exitCode = OUTCOME_EXIT[kind];
        this.emitFn({ type: "end", at: this.iso(), stack: state.stack, outcome: kind, exitCode, message });
        return { kind, exitCode, message, state, next };
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
            maxStepRequests: state.plan.maxStepRequests,
            maxStepSeconds: state.plan.maxStepSeconds,
        });
    }

    /** Gives a lifecycle event (rollout/events.ts) to `onEvent`, stamped with the time, stack, versions and split. */
    private lifecycle(
        state: RolloutState,
        event: DistributiveOmit<LifecycleEvent, "at" | "stack" | "baseline" | "canary" | "split">,
    ): void {
        const listener = this.deps.onEvent;
        if (listener === undefined) {
            return;
        }
        const full = {
            at: this.iso(),
            stack: state.stack,
            baseline: state.baseline.name,
            canary: state.canary.name,
            split: { ...(state.applied ?? state.from ?? {}) },
            ...stripUndefined(event as Record<string, unknown>),
        } as LifecycleEvent;
        try {
            listener(full);
        } catch {
            // A listener must never stop a shift or a rollback (see rollout/events.ts).
        }
    }

    /** The step reference of events. */
    private stepRef(state: RolloutState, index: number): RolloutStepRef {
        return { index, total: state.plan.steps.length, canaryWeight: state.plan.steps[index] };
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
    const gate = state.gates?.find((g) => g.step === state.current && g.status === "waiting");
    if (step === undefined && gate !== undefined) {
        return `waiting for approval of step ${state.current + 1}/${total} (${state.plan.steps[state.current]}%)`;
    }
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
        case "prepare":
            return `the deployment of the canary at 0% (${formatSplit(action.weights ?? {})}) for the pre-rollout hooks`;
    }
}

/**
 * True for a rollout in progress that never got a traffic change confirmed (it failed or was killed
 * before its first apply) and has no rollback or abort pending: nothing of it is live, so a new start
 * may replace it.
 */
export function neverApplied(state: RolloutState): boolean {
    return (
        state.status === "in-progress" &&
        state.applied === null &&
        state.steps.every((s) => s.appliedAt === undefined) &&
        (state.pending === null || state.pending.kind === "shift" || state.pending.kind === "prepare")
    );
}

/** The evidence of one recorded analysis, or undefined. */
function evidenceOf(a: AnalysisRecord | undefined): RolloutEvidence | undefined {
    if (a === undefined) {
        return undefined;
    }
    return {
        verdict: a.verdict,
        sinceSeconds: a.sinceSeconds,
        baseline: summary(a.result.baseline),
        canary: summary(a.result.canary),
        reasons: [...a.result.reasons],
    };
}

/** The evidence of the last analysis of step `index`, when it has one. */
function lastEvidence(state: RolloutState, index: number): RolloutEvidence | undefined {
    const analyses = state.steps[index]?.analyses ?? [];
    return evidenceOf(analyses[analyses.length - 1]);
}

/** The steps of the plan whose shift waits for approval, as the state's plan.approve (absent when none). */
function gatedSteps(plan: RolloutPlan): { approve?: number[] } {
    const gated = plan.steps.map((w, i) => ((plan.approve ?? []).includes(w) ? i : -1)).filter((i) => i >= 0);
    return gated.length > 0 ? { approve: gated } : {};
}

/** The evidence of the last analysis made while a gate waited, when there is one. */
function gateEvidence(state: RolloutState): RolloutEvidence | undefined {
    const gate = (state.gates ?? []).find((g) => g.step === state.current);
    const a = gate?.analyses[gate.analyses.length - 1];
    if (a === undefined) {
        return undefined;
    }
    const v = (version: string, c: GateAnalysisRecord["canary"]): VersionStats => ({ version, ...c });
    return {
        verdict: a.verdict,
        sinceSeconds: a.sinceSeconds,
        baseline: v(state.baseline.name, a.baseline),
        canary: v(state.canary.name, a.canary),
        reasons: [...a.reasons],
    };
}

/** The counts of one version (without its name), as a gate's analyses keep them. */
function counts(s: VersionStats): GateAnalysisRecord["canary"] {
    return { requests: s.requests, errors: s.errors, errorRate: s.errorRate, p99Ms: s.p99Ms };
}

/** `failed: exited with status 3`, `timed-out: killed after its timeout of 5s`, `failed: answered HTTP 500`. */
export function describeHookRun(run: Pick<HookRunRecord, "status" | "error" | "exitCode" | "httpStatus">): string {
    return `${run.status}${run.error !== undefined ? `: ${run.error}` : ""}`;
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
