import * as assert from "node:assert/strict";
import { bernoulliMixtureTest, sprtExpectedSampleSize } from "../../analysis/sequential";
import { prng } from "./fixtures";

describe("bernoulliMixtureTest (anytime-valid one-sided test on counts)", () => {
    it("keeps the chance of ever rejecting a true null below alpha over 100 looks, where a repeated z-test does not", () => {
        const alpha = 0.05;
        const p0 = 0.1;
        const runs = 1000;
        let ours = 0;
        let naive = 0;
        for (let run = 0; run < runs; run++) {
            const rand = prng(run + 1);
            let k = 0;
            let n = 0;
            let oursRejected = false;
            let naiveRejected = false;
            for (let look = 0; look < 100; look++) {
                for (let i = 0; i < 10; i++) {
                    n++;
                    if (rand() < p0) k++;
                }
                if (
                    !oursRejected &&
                    bernoulliMixtureTest({ successes: k, trials: n, nullProbability: p0, side: "greater" }).eValue >= 1 / alpha
                )
                    oursRejected = true;
                if ((k - n * p0) / Math.sqrt(n * p0 * (1 - p0)) > 1.645) naiveRejected = true;
            }
            if (oursRejected) ours++;
            if (naiveRejected) naive++;
        }
        assert.ok(ours / runs <= alpha, `ours rejected a true null in ${ours}/${runs} runs`);
        assert.ok(naive / runs > alpha, `the repeated z-test rejected in only ${naive}/${runs} runs`);
    });

    it("rejects p <= 0.1 after 30 successes in 100 trials", () => {
        const r = bernoulliMixtureTest({ successes: 30, trials: 100, nullProbability: 0.1, side: "greater" });
        assert.ok(r.eValue >= 20, `e-value ${r.eValue}`);
    });

    it("does not reject p <= 0.1 when the observed share is 0.1", () => {
        const r = bernoulliMixtureTest({ successes: 100, trials: 1000, nullProbability: 0.1, side: "greater" });
        assert.ok(r.eValue < 1, `e-value ${r.eValue}`);
    });

    it("supports p < 0.015 (side less) after 0 errors in 600 requests, not after 0 in 60", () => {
        assert.ok(bernoulliMixtureTest({ successes: 0, trials: 600, nullProbability: 0.015, side: "less" }).eValue >= 5);
        assert.ok(bernoulliMixtureTest({ successes: 0, trials: 60, nullProbability: 0.015, side: "less" }).eValue < 5);
    });

    it("is exactly 1 before any trial", () => {
        assert.equal(bernoulliMixtureTest({ successes: 0, trials: 0, nullProbability: 0.3, side: "greater" }).eValue, 1);
    });

    it("gives less evidence against a null boundary further from the data", () => {
        const e = (p0: number): number =>
            bernoulliMixtureTest({ successes: 20, trials: 100, nullProbability: p0, side: "greater" }).logEValue;
        assert.ok(e(0.05) > e(0.1) && e(0.1) > e(0.15));
    });

    it("keeps a finite log e-value when the e-value overflows", () => {
        const r = bernoulliMixtureTest({ successes: 100_000, trials: 100_000, nullProbability: 0.01, side: "greater" });
        assert.equal(r.eValue, Infinity);
        assert.ok(Number.isFinite(r.logEValue) && r.logEValue > 1000);
    });

    it("rejects inputs out of range, naming them", () => {
        assert.throws(
            () => bernoulliMixtureTest({ successes: 5, trials: 3, nullProbability: 0.1, side: "greater" }),
            /successes must be between 0 and trials \(3\), got 5/,
        );
        assert.throws(
            () => bernoulliMixtureTest({ successes: 0, trials: 3, nullProbability: 1, side: "greater" }),
            /nullProbability must be strictly between 0 and 1, got 1/,
        );
    });
});

describe("sprtExpectedSampleSize (Wald's approximation)", () => {
    it("needs about 292 requests to tell 1.5% from 0.5% 5xx at alpha 0.05, beta 0.2", () => {
        // ((1-b) ln((1-b)/a) + b ln(b/(1-a))) / (p1 ln(p1/p0) + (1-p1) ln((1-p1)/(1-p0))) = 1.9065 / 0.006529
        assert.equal(Math.round(sprtExpectedSampleSize(0.005, 0.015, 0.05, 0.2, "p1")), 292);
    });

    it("is positive when the data come from p0", () => {
        const n = sprtExpectedSampleSize(0.005, 0.015, 0.05, 0.2, "p0");
        assert.ok(n > 0 && n < 1000, `${n}`);
    });
});
