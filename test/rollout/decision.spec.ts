import * as assert from "node:assert/strict";
import { StepDecisionInput, decideStep } from "../../rollout/decision";

const base: Omit<StepDecisionInput, "verdict" | "inconclusive"> = {
    maxInconclusive: 2,
    split: "v1=90 v2=10",
    sinceSeconds: 75,
    reasons: ["r1", "r2"],
};

describe("decideStep (promote, hold or roll back after one analysis)", () => {
    const table: [string, Pick<StepDecisionInput, "verdict" | "inconclusive">, { decision: string; reason?: string }][] = [
        [
            "a pass promotes",
            { verdict: "pass", inconclusive: 0 },
            { decision: "promote", reason: "analysis passed after 75s at v1=90 v2=10" },
        ],
        [
            "a pass promotes even after inconclusive looks",
            { verdict: "pass", inconclusive: 2 },
            { decision: "promote", reason: "analysis passed after 75s at v1=90 v2=10" },
        ],
        [
            "a fail rolls back",
            { verdict: "fail", inconclusive: 0 },
            { decision: "rollback", reason: "analysis failed at v1=90 v2=10: r1; r2" },
        ],
        ["an inconclusive look within the tolerance holds", { verdict: "inconclusive", inconclusive: 1 }, { decision: "hold" }],
        ["an inconclusive look at the tolerance still holds", { verdict: "inconclusive", inconclusive: 2 }, { decision: "hold" }],
        [
            "an inconclusive look beyond the tolerance rolls back",
            { verdict: "inconclusive", inconclusive: 3 },
            { decision: "rollback", reason: "3 inconclusive analyses at v1=90 v2=10 (tolerance 2); last: r1; r2" },
        ],
    ];
    for (const [what, input, expected] of table) {
        it(what, () => {
            assert.deepEqual(decideStep({ ...base, ...input }), expected);
        });
    }

    it("with a tolerance of 0 rolls back at the first inconclusive look", () => {
        assert.equal(decideStep({ ...base, maxInconclusive: 0, verdict: "inconclusive", inconclusive: 1 }).decision, "rollback");
    });
});
