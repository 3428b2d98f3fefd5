/**
 * The points of a rollout that matter to someone who is not watching it: a short, stable list for
 * listeners such as notifications (notify/), given to the engine as `onEvent` in its options.
 *
 * Not to be confused with the output events of rollout/types.ts (`RolloutEvent`, given to the engine as
 * `emit`): those describe every apply, wait and analysis for the command's own text and --json
 * output and may grow with it; these are the lifecycle points only, and change only additively
 * (new optional fields, never a renamed or removed one).
 *
 *   start         a rollout begins or is resumed
 *   shift         a step's traffic split was applied (the cluster routes it now)
 *   hold          the rollout holds: an inconclusive analysis (it asks again), a live split changed by hand,
 *                 or a failed hook configured to hold (both stop the run until a person acts)
 *   gate-waiting  the rollout waits for `--approve` / `--reject` before a step
 *   rollback      all traffic is back on the baseline (a failed analysis, a failed hook, a rejected gate, an --abort)
 *   complete      the canary gets 100%; the baseline keeps running until finalize
 *   finalize      the baseline was removed from the stack
 *
 * Every event is emitted after what it reports was saved in the state file. A listener must not
 * throw and must not block: the engine calls it synchronously and ignores what it returns; an
 * exception it throws is caught and dropped so it can never stop a shift or a rollback.
 */
import type { Verdict, VersionStats } from "./types";
import type { Weights } from "./weights";

/** Every lifecycle event type, in the order a rollout meets them. */
export const ROLLOUT_EVENT_TYPES = ["start", "shift", "hold", "gate-waiting", "rollback", "complete", "finalize"] as const;

/** One of ROLLOUT_EVENT_TYPES. */
export type RolloutEventType = (typeof ROLLOUT_EVENT_TYPES)[number];

/** The step an event is about. */
export interface RolloutStepRef {
    /** 0-based index in the plan's steps. */
    index: number;
    /** Number of steps of the plan. */
    total: number;
    /** The canary's weight at that step. */
    canaryWeight: number;
}

/** The analysis that led to the event: its verdict, window and per-version numbers. */
export interface RolloutEvidence {
    verdict: Verdict;
    /** Seconds of traffic the analysis covered. */
    sinceSeconds: number;
    baseline: VersionStats;
    canary: VersionStats;
    /** Why the verdict is what it is, one sentence each. */
    reasons: string[];
}

/** Fields every lifecycle event carries. */
export interface RolloutEventBase {
    type: RolloutEventType;
    /** ISO timestamp. */
    at: string;
    stack: string;
    /** Baseline version name. */
    baseline: string;
    /** Canary version name. */
    canary: string;
    /** The split the cluster routes once the event happened (as the rollout last applied it; before its first apply, what the stack file held). */
    split: Weights;
    /** The step concerned, when there is one. */
    step?: RolloutStepRef;
    /** The analysis behind the event, when there is one. */
    evidence?: RolloutEvidence;
}

/** A rollout begins (`start`) or an interrupted one continues (`resume`). */
export interface RolloutStartedEvent extends RolloutEventBase {
    type: "start";
    mode: "start" | "resume";
    /** The canary weight of each step. */
    steps: number[];
}

/** A step's split was applied. */
export interface RolloutShiftEvent extends RolloutEventBase {
    type: "shift";
    step: RolloutStepRef;
    /** The split before the shift, or null for a rollout's first apply. */
    from: Weights | null;
}

/** Why a rollout holds. */
export type HoldCause = "inconclusive" | "drift" | "hook";

/** The rollout holds. */
export interface RolloutHoldEvent extends RolloutEventBase {
    type: "hold";
    cause: HoldCause;
    /** One or two sentences: what holds it and what goes on from it. */
    message: string;
    /** True when the run stopped and waits for a person (drift, a hook); false when it asks the analysis again by itself. */
    stopped: boolean;
}

/** The rollout waits for an answer before a step. */
export interface RolloutGateWaitingEvent extends RolloutEventBase {
    type: "gate-waiting";
    /** The step that needs approval before its shift. */
    step: RolloutStepRef;
    /** What it waits for, one sentence. */
    waitingFor: string;
    /** The command that approves. */
    approve: string;
    /** The command that rejects (rolls back). */
    reject: string;
}

/** Why traffic went back to the baseline. */
export type RollbackCause = "analysis" | "hook" | "rejected" | "abort";

/** All traffic is back on the baseline. */
export interface RolloutRollbackEvent extends RolloutEventBase {
    type: "rollback";
    cause: RollbackCause;
    /** The recorded reason. */
    reason: string;
}

/** The canary gets 100% of traffic. */
export interface RolloutCompleteEvent extends RolloutEventBase {
    type: "complete";
    /** The recorded reason. */
    reason: string;
}

/** The baseline was removed; the canary is the only version. */
export interface RolloutFinalizeEvent extends RolloutEventBase {
    type: "finalize";
    /** The version removed. */
    removed: string;
}

/** A lifecycle event of a rollout. */
export type LifecycleEvent =
    | RolloutStartedEvent
    | RolloutShiftEvent
    | RolloutHoldEvent
    | RolloutGateWaitingEvent
    | RolloutRollbackEvent
    | RolloutCompleteEvent
    | RolloutFinalizeEvent;

/** Receives lifecycle events; see the module comment for what it must not do. */
export type RolloutEventListener = (event: LifecycleEvent) => void;
