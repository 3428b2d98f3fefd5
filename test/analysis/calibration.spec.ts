import * as assert from "node:assert/strict";
import { ALPHA_SHARES, decide } from "../../analysis/decide";
import { bernoulliMixtureTest } from "../../analysis/sequential";
import { prng, SETTINGS } from "./fixtures";

/**
 * The comparisons with the baseline take the canary's traffic share from the request counts, not
 * from a known split. These simulations check that this approximation does not inflate the
 * false-rollback rate: on a canary identical to its baseline, each comparison, looked at again and
 * again on cumulative counts, rejects in at most its share of alpha of the runs. (The benchmark's
 * `--diagnose` measures the same on its streams.)
 */

interface Counts {
    requests: number;
    errors: number;
    slow: number;
}

/**
 * Runs `runs` canaries identical to their baseline: each request goes to the canary with
 * probability `share`, fails with `errorRate` and is slower than 25 ms with `slowRate`, whichever
 * version serves it. After every `perLook` requests decide() looks at the cumulative counts.
 *
 * @returns per comparison, the runs in which it ever rejected, as decide() runs it (share from the
 * counts) and with the true share as the null probability.
 */
function falseRejections(runs: number, looks: number, perLook: number, share: number, errorRate: number, slowRate: number) {
    const out = { errors: 0, latency: 0, errorsTrueShare: 0, latencyTrueShare: 0 };
    for (let run = 0; run < runs; run++) {
        const rand = prng(7919 * (run + 1));
        const c: Counts = { requests: 0, errors: 0, slow: 0 };
        const b: Counts = { requests: 0, errors: 0, slow: 0 };
        const ever = new Set<string>();
        for (let look = 0; look < looks; look++) {
            for (let i = 0; i < perLook; i++) {
                const v = rand() < share ? c : b;
                v.requests++;
                if (rand() < errorRate) v.errors++;
                if (rand() < slowRate) v.slow++;
            }
            if (c.requests < SETTINGS.minRequests) continue;
            const buckets = (v: Counts) => [
                { le: 25, count: v.requests - v.slow },
                { le: 50, count: v.requests },
                { le: Infinity, count: v.requests },
            ];
            const d = decide({ ...c, buckets: buckets(c) }, { ...b, buckets: buckets(b) }, SETTINGS);
            for (const t of d.tests) {
                if (t.name !== "errors-vs-baseline" && t.name !== "latency-vs-baseline") continue;
                if (t.rejected) ever.add(t.name);
                const atTrue = bernoulliMixtureTest({ successes: t.successes, trials: t.trials, nullProbability: share, side: "greater" });
                if (atTrue.logEValue >= Math.log(t.threshold)) ever.add(`${t.name} true`);
            }
        }
        if (ever.has("errors-vs-baseline")) out.errors++;
        if (ever.has("latency-vs-baseline")) out.latency++;
        if (ever.has("errors-vs-baseline true")) out.errorsTrueShare++;
        if (ever.has("latency-vs-baseline true")) out.latencyTrueShare++;
    }
    return out;
}

describe("decide's comparisons with the baseline, traffic share estimated from the counts", () => {
    it("reject a canary identical to its baseline in at most their share of alpha over 80 looks, and no more often than with the true share", function () {
        this.timeout(120_000);
        const runs = 500;
        // 5% 5xx and a third of the requests slow: many events per look, where an estimated share matters most.
        const r = falseRejections(runs, 80, 150, 0.1, 0.05, 1 / 3);
        const limit = (name: keyof typeof ALPHA_SHARES) => SETTINGS.alpha * ALPHA_SHARES[name] * runs;
        assert.ok(
            r.errors <= limit("errors-vs-baseline"),
            `errors-vs-baseline rejected ${r.errors}/${runs} runs (limit ${limit("errors-vs-baseline")})`,
        );
        assert.ok(
            r.latency <= limit("latency-vs-baseline"),
            `latency-vs-baseline rejected ${r.latency}/${runs} runs (limit ${limit("latency-vs-baseline")})`,
        );
        // Conditioning on the realised split removes the routing noise, so it is not worse than knowing the split.
        assert.ok(r.errors <= r.errorsTrueShare, `estimated share ${r.errors} vs true share ${r.errorsTrueShare}`);
        assert.ok(r.latency <= r.latencyTrueShare, `estimated share ${r.latency} vs true share ${r.latencyTrueShare}`);
    });
});
