/**
 * The step decision: from one analysis verdict, and how much evidence and time the step has had,
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
    /** Inconclusive analyses of this step so far, this one included (for the reason). */
    inconclusive: number;
    /** Canary requests the analysis counted since the step's shift. */
    canaryRequests: number;
    /** Canary requests a step may gather without a verdict (rollout.maxStepRequests). */
    maxStepRequests: number;
    /** Seconds a step may last without a verdict (rollout.maxStepSeconds). */
    maxStepSeconds: number;
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
 * A pass promotes, a fail rolls back, and an inconclusive analysis holds until the step has
 * gathered maxStepRequests canary requests or lasted maxStepSeconds without a verdict, then rolls
 * back: a step that never gathers enough evidence is not promoted. The tolerance is measured in
 * evidence (canary requests) and time, not in looks: how many looks a healthy canary needs depends
 * on its traffic and on how often the rollout looks, the evidence it needs does not. Pure.
 */
export function decideStep(input: StepDecisionInput): StepDecisionResult {
    switch (input.verdict) {
        case "pass":
            return { decision: "promote", reason: `analysis passed after ${input.sinceSeconds}s at ${input.split}` };
        case "fail":
            return { decision: "rollback", reason: `analysis failed at ${input.split}: ${input.reasons.join("; ")}` };
        case "inconclusive":
            if (input.canaryRequests >= input.maxStepRequests || input.sinceSeconds >= input.maxStepSeconds) {
                const which =
                    input.canaryRequests >= input.maxStepRequests
                        ? `${input.canaryRequests} canary requests (tolerance ${input.maxStepRequests})`
                        : `${input.sinceSeconds}s (tolerance ${input.maxStepSeconds}s)`;
                return {
                    decision: "rollback",
                    reason:
                        `no verdict at ${input.split} after ${which}, ${input.inconclusive} inconclusive analyses; ` +
                        `last: ${input.reasons.join("; ")}`,
                };
            }
            return { decision: "hold" };
    }
}
