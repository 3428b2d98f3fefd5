import * as assert from "node:assert/strict";
import { StepDecisionInput, decideStep } from "../../rollout/decision";

const base: Omit<StepDecisionInput, "verdict" | "inconclusive"> = {
    canaryRequests: 400,
    maxStepRequests: 1000,
    maxStepSeconds: 600,
    split: "v1=90 v2=10",
    sinceSeconds: 75,
    reasons: ["r1", "r2"],
};

describe("decideStep (promote, hold or roll back after one analysis)", () => {
    const table: [
        string,
        Partial<StepDecisionInput> & Pick<StepDecisionInput, "verdict" | "inconclusive">,
        { decision: string; reason?: string },
    ][] = [
        [
            "a pass promotes",
            { verdict: "pass", inconclusive: 0 },
            { decision: "promote", reason: "analysis passed after 75s at v1=90 v2=10" },
        ],
        [
            "a pass promotes even after many inconclusive looks",
            { verdict: "pass", inconclusive: 40 },
            { decision: "promote", reason: "analysis passed after 75s at v1=90 v2=10" },
        ],
        [
            "a fail rolls back",
            { verdict: "fail", inconclusive: 0 },
            { decision: "rollback", reason: "analysis failed at v1=90 v2=10: r1; r2" },
        ],
        ["an inconclusive look within both tolerances holds", { verdict: "inconclusive", inconclusive: 1 }, { decision: "hold" }],
        [
            "any number of inconclusive looks holds while the step has neither the requests nor the time of its tolerance",
            { verdict: "inconclusive", inconclusive: 500, canaryRequests: 999, sinceSeconds: 599 },
            { decision: "hold" },
        ],
        [
            "an inconclusive look once the step gathered maxStepRequests canary requests rolls back",
            { verdict: "inconclusive", inconclusive: 3, canaryRequests: 1000 },
            {
                decision: "rollback",
                reason: "no verdict at v1=90 v2=10 after 1000 canary requests (tolerance 1000), 3 inconclusive analyses; last: r1; r2",
            },
        ],
        [
            "an inconclusive look once the step lasted maxStepSeconds rolls back, even without canary requests",
            { verdict: "inconclusive", inconclusive: 9, canaryRequests: 0, sinceSeconds: 600 },
            {
                decision: "rollback",
                reason: "no verdict at v1=90 v2=10 after 600s (tolerance 600s), 9 inconclusive analyses; last: r1; r2",
            },
        ],
    ];
    for (const [what, input, expected] of table) {
        it(what, () => {
            assert.deepEqual(decideStep({ ...base, ...input }), expected);
        });
    }
});
