/**
 * The step decision: from one analysis verdict, and how many inconclusive ones the step has had,
 * to promote, hold or roll back. Pure; the engine applies what it returns (as Flagger's
 * nextStepWeight is apart from advanceCanary).
 */
import { Verdict } from "./types";

/** What the rollout does after an analysis. */
export type StepDecision = "promote" | "hold" | "rollback";

/** What one decision needs to know. */
export interface StepDecisionInput {
    /** The verdict of the analysis just made. */
    verdict: Verdict;
    /** Inconclusive analyses of this step so far, this one included. */
    inconclusive: number;
    /** Inconclusive analyses tolerated in one step (rollout.maxInconclusive). */
    maxInconclusive: number;
    /** The split of the step, e.g. "v1=90 v2=10", for the reason. */
    split: string;
    /** Seconds since the step's shift, for the reason. */
    sinceSeconds: number;
    /** The analysis's reasons. */
    reasons: readonly string[];
}

/** A decision and, except for hold, the sentence recorded with it. */
export interface StepDecisionResult {
    /** promote, hold or rollback. */
    decision: StepDecision;
    /** Why (absent for hold). */
    reason?: string;
}

/**
 * A pass promotes, a fail rolls back, and an inconclusive analysis holds until more than
 * maxInconclusive of them have been seen in the step, then rolls back: a step that never gathers
 * evidence is not promoted. Pure.
 */
export function decideStep(input: StepDecisionInput): StepDecisionResult {
    switch (input.verdict) {
        case "pass":
            return { decision: "promote", reason: `analysis passed after ${input.sinceSeconds}s at ${input.split}` };
        case "fail":
            return { decision: "rollback", reason: `analysis failed at ${input.split}: ${input.reasons.join("; ")}` };
        case "inconclusive":
            if (input.inconclusive > input.maxInconclusive) {
                return {
                    decision: "rollback",
                    reason:
                        `${input.inconclusive} inconclusive analyses at ${input.split} (tolerance ${input.maxInconclusive}); ` +
                        `last: ${input.reasons.join("; ")}`,
                };
            }
            return { decision: "hold" };
    }
}
