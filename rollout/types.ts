/**
 * The narrow interfaces the rollout engine is driven through: the stack it changes, the judge that
 * analyses a step, the clock it waits on, and the events it reports. The engine knows nothing of
 * Pulumi or Prometheus; rollout/automation.ts and rollout/judge.ts adapt the real ones.
 */
import { EXIT as SHARED_EXIT } from "../cli/exit-codes";
import type { Verdict as AnalysisVerdict, VersionStats as AnalysisVersionStats } from "../analysis/types";
import type { HookPoint, HookStatus } from "./hooks";
import { Weights } from "./weights";

/**
 * What an apply updates: `virtual-service` only the app's VirtualService (a targeted `pulumi up`, which
 * needs nothing but the Kubernetes API server), `stack` every resource of the stack (a full `pulumi up`,
 * which also loads every Helm chart from its repository).
 */
export type ApplyScope = "virtual-service" | "stack";

/** Applies traffic changes to one stack (in production: edit Pulumi.<stack>.yaml, then `pulumi up`). */
export interface StackTarget {
    /**
     * Sets these weights (every listed version) in the stack's config and applies them to `scope`
     * (default `stack`). Rejects when the apply fails; the config may already hold the new weights then.
     */
    applyWeights(weights: Weights, scope?: ApplyScope): Promise<void>;
    /** Removes a version from the stack's `versions` and applies it. Rejects when the apply fails. */
    removeVersion(name: string): Promise<void>;
    /** The weights the stack's config holds now, by version name; used to detect edits made while a rollout was stopped. */
    currentWeights(): Promise<Weights>;
    /**
     * The weights the live VirtualService routes by now (read from the cluster, e.g. after a refresh of
     * that one resource), or undefined when the stack has no VirtualService. Optional: without it the
     * engine cannot detect drift. Asked before every shift after the first; never before a rollback or
     * an abort, which must not be held up.
     */
    liveWeights?(): Promise<Weights | undefined>;
    /** The file the target edits (Pulumi.<stack>.yaml), named in messages. Optional. */
    readonly configFile?: string;
    /**
     * Why no change can be applied at all right now (the Pulumi CLI is missing, say), or undefined when
     * it can. Optional. The engine asks before it takes the lock or writes any state, and refuses with
     * this message, so a run that could never apply leaves nothing behind.
     */
    preflight?(): Promise<string | undefined>;
}

/** The analysis verdict for a step: the analysis module's own. */
export type Verdict = AnalysisVerdict;

/**
 * Per-version request statistics of an analysis: the fields of the analysis module's VersionStats
 * that events carry (its histograms stay in the state file's evidence).
 */
export type VersionStats = Pick<AnalysisVersionStats, "version" | "requests" | "errors" | "errorRate" | "p99Ms">;

/** What a judge answers: the verdict and its evidence (structurally a subset of the analysis module's AnalysisResult). */
export interface Judgement {
    /** pass, fail or inconclusive. */
    verdict: Verdict;
    /** The canary's statistics. */
    canary: VersionStats;
    /** The baseline's statistics. */
    baseline: VersionStats;
    /** Why the verdict is what it is, one sentence each. */
    reasons: string[];
    /** Further evidence (test statistics, thresholds, queries), stored with the decision as given. */
    evidence?: unknown;
}

/** Analyses the canary against the baseline over the time since the step's traffic shift. */
export interface CanaryJudge {
    /** Judges the step; must resolve (an unreachable Prometheus is an inconclusive verdict, not a rejection). */
    judge(input: {
        baseline: string;
        canary: string;
        sinceSeconds: number;
        /** The split the rollout applied for this step, so the analysis can check the canary gets its share. */
        weights?: Weights;
        /** Which analysed step this is, so the judge can split the rollout's alpha between the steps. */
        step?: StepPosition;
    }): Promise<Judgement>;
}

/** The position of an analysed step: index (0-based) among `of` analysed steps (those below 100). */
export interface StepPosition {
    index: number;
    of: number;
}

/** Time as the engine sees it; tests substitute a virtual clock so waits take no real time. */
export interface Clock {
    /** Milliseconds since the epoch. */
    now(): number;
    /** Resolves after `ms`; rejects with an AbortError as soon as `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * The kinds of traffic change the engine applies. `prepare`: before pre-rollout hooks, a full apply
 * of the stack with the canary at 0% (deployed, reachable through its header route, no user traffic).
 */
export type ActionKind = "shift" | "rollback" | "abort" | "finalize" | "prepare";

/** Fields every event carries. */
interface EventBase {
    /** ISO timestamp. */
    at: string;
    /** Stack name. */
    stack: string;
}

/** A rollout (new or resumed), abort or finalize begins. */
export interface StartEvent extends EventBase {
    type: "start";
    /** What was asked. */
    mode: "start" | "resume" | "abort" | "finalize";
    baseline: string;
    canary: string;
    /** Canary weight of each step. */
    steps: number[];
    /** Index of the step the run begins at (0-based). */
    step: number;
    waitSeconds: number;
    analysisIntervalSeconds: number;
    maxStepRequests: number;
    maxStepSeconds: number;
}

/** A traffic change is being applied. */
export interface ApplyEvent extends EventBase {
    type: "apply";
    action: ActionKind;
    /** Step index for a shift. */
    step?: number;
    /** Weights being applied (shift, rollback, abort). */
    weights?: Weights;
    /** Version being removed (finalize). */
    remove?: string;
}

/** A traffic change was applied. */
export interface AppliedEvent extends Omit<ApplyEvent, "type"> {
    type: "applied";
    /** How long the apply took. */
    durationMs: number;
}

/** A traffic change failed to apply; the state keeps it pending for --resume. */
export interface ApplyFailedEvent extends Omit<ApplyEvent, "type"> {
    type: "apply-failed";
    /** The apply's error message. */
    error: string;
}

/** The engine waits (after a shift, or between inconclusive analyses). */
export interface WaitEvent extends EventBase {
    type: "wait";
    step: number;
    /** settle: after the traffic shift, before the first analysis; retry: after an inconclusive analysis. */
    reason: "settle" | "retry";
    /** Seconds to wait. */
    seconds: number;
    /** Total seconds of this wait when it began (differs from `seconds` after a resume). */
    totalSeconds: number;
}

/** An analysis of a step and the decision it led to. */
export interface AnalysisEvent extends EventBase {
    type: "analysis";
    step: number;
    /** Weights in force during the step. */
    weights: Weights;
    /** Seconds since the step's traffic shift: the window analysed. */
    sinceSeconds: number;
    verdict: Verdict;
    baseline: VersionStats;
    canary: VersionStats;
    reasons: string[];
    /** promote: next step; hold: ask again later; rollback: all traffic to the baseline. */
    decision: "promote" | "hold" | "rollback";
    /** Inconclusive analyses in this step so far. */
    inconclusive: number;
    /** The step's tolerance without a verdict: canary requests and seconds. */
    maxStepRequests: number;
    maxStepSeconds: number;
    /** Set for an analysis made while a gate waits for approval: only a fail changes anything (a rollback). */
    waiting?: "approval";
}

/** A hook started or finished (rollout/hooks.ts); a finished one carries its result. */
export interface HookEvent extends EventBase {
    type: "hook";
    phase: "started" | "finished";
    /** The hook's name. */
    hook: string;
    /** Where it runs (its config's `at`; this event's `at` is the time). */
    point: HookPoint;
    /** Step index of a pre-step or post-step hook. */
    step?: number;
    kind: "command" | "webhook";
    /** How it ended (finished). */
    status?: HookStatus;
    exitCode?: number | null;
    signal?: string | null;
    httpStatus?: number;
    durationMs?: number;
    /** The tail of its output (finished). */
    output?: string;
    error?: string;
    /** What its failure did. */
    then?: "continued" | "held" | "rolled-back";
}

/** A gate began or went on waiting (after a resume), or was answered. */
export interface GateEvent extends EventBase {
    type: "gate";
    status: "waiting" | "approved" | "rejected";
    /** The step whose shift waits. */
    step: number;
    canaryWeight: number;
    /** What it waits for, one sentence. */
    waitingFor: string;
    /** The command that approves, and the one that rejects (rolls back). */
    approve: string;
    reject: string;
    /** Who answered. */
    by?: string;
}

/** The run ended. */
export interface EndEvent extends EventBase {
    type: "end";
    outcome: OutcomeKind;
    exitCode: number;
    message: string;
}

/** Everything the engine reports, one event per action or decision. */
export type RolloutEvent =
    StartEvent | ApplyEvent | AppliedEvent | ApplyFailedEvent | WaitEvent | AnalysisEvent | HookEvent | GateEvent | EndEvent;

/** How a run ended. `held`: the live traffic split is not what the rollout applied; nothing was changed. */
export type OutcomeKind =
    | "completed"
    | "rolled-back"
    | "aborted"
    | "finalized"
    | "apply-failed"
    | "interrupted"
    | "refused"
    | "held"
    /** `--approve` / `--reject` left its answer for the rollout that is waiting (in another process). */
    | "answered";

/**
 * Exit codes of `istio-canary rollout`, named for what they mean to a rollout; the values are the
 * shared table of every command (cli/exit-codes.ts).
 */
export const EXIT = {
    /** Completed, finalized or aborted as asked. */
    ok: SHARED_EXIT.ok,
    /** The canary was rolled back (failed analysis or too many inconclusive ones). */
    rolledBack: SHARED_EXIT.failed,
    /** Bad flags or config. */
    usage: SHARED_EXIT.usage,
    /** A `pulumi up` failed; the state is saved and --resume retries it. */
    applyFailed: SHARED_EXIT.incomplete,
    /** Refused or held, nothing changed: the target cannot apply (no Pulumi CLI), lock held, nothing to resume, finalize before completion, one version only, an invalid state file, the live split changed by hand, ... */
    refused: SHARED_EXIT.refused,
    /** Interrupted (SIGINT/SIGTERM) between actions; the state is saved and --resume continues. */
    interrupted: SHARED_EXIT.interrupted,
} as const;

/** Exit code of each outcome. */
export const OUTCOME_EXIT: Record<OutcomeKind, number> = {
    completed: EXIT.ok,
    finalized: EXIT.ok,
    aborted: EXIT.ok,
    "rolled-back": EXIT.rolledBack,
    "apply-failed": EXIT.applyFailed,
    refused: EXIT.refused,
    held: EXIT.refused,
    interrupted: EXIT.interrupted,
    answered: EXIT.ok,
};
