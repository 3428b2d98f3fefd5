import * as assert from "node:assert/strict";
import { ALPHA_SHARES, decide, VersionCounts } from "../../analysis/decide";
import { Bucket } from "../../analysis/histogram";
import { SETTINGS } from "./fixtures";

/** A histogram of n requests with the given cumulative shares at 10, 25, 50, 100, 250 ms. */
function hist(n: number, shares: [number, number, number, number, number]): Bucket[] {
    const les = [10, 25, 50, 100, 250];
    return [...les.map((le, i) => ({ le, count: Math.round(n * shares[i]) })), { le: Infinity, count: n }];
}
const FAST: [number, number, number, number, number] = [0.2, 0.6, 0.95, 1, 1];
const version = (requests: number, errors: number, shares = FAST): VersionCounts => ({ requests, errors, buckets: hist(requests, shares) });
const rejectedFails = (d: ReturnType<typeof decide>): string[] =>
    d.tests.filter((t) => t.purpose === "fail" && t.rejected).map((t) => t.name);

describe("decide (the verdict from counts)", () => {
    it("splits alpha completely between the failing tests", () => {
        assert.equal(
            Object.values(ALPHA_SHARES).reduce((a, b) => a + b, 0),
            1,
        );
    });

    it("rolls back a canary with 5.5% 5xx against a 0.5% baseline", () => {
        const d = decide(version(1000, 55), version(9000, 45), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.ok(rejectedFails(d).includes("errors-vs-baseline"));
    });

    it("passes a canary with the baseline's 0.5% 5xx and latency once there is enough evidence", () => {
        const d = decide(version(2000, 10), version(18000, 90), SETTINGS);
        assert.equal(d.verdict, "pass", d.reasons.join("\n"));
        assert.equal(d.reasons.length, 3);
    });

    it("stays inconclusive on the same healthy ratios with too little evidence for a pass", () => {
        const d = decide(version(100, 0), version(900, 4), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.match(
            d.reasons.join("\n"),
            /not yet enough evidence that the canary 5xx ratio 0\.00% stays below baseline 0\.44% \+ margin 1\.00% = 1\.44%/,
        );
    });

    it("never passes below min-requests, even with perfect numbers", () => {
        const d = decide(version(49, 0), version(100000, 0), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.deepEqual(d.reasons, ["canary has only 49 requests in the window, fewer than min-requests 50: too few for a pass"]);
    });

    it("fails below min-requests when the evidence is overwhelming (min-requests guards passes, not fails)", () => {
        const d = decide(version(40, 40), version(1000, 0), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.match(d.reasons[0], /^canary has only 40 requests, fewer than min-requests 50, but the evidence against it is overwhelming/);
        assert.ok(rejectedFails(d).includes("errors-vs-limit"));
    });

    it("stays inconclusive below min-requests on a signal that is not overwhelming", () => {
        // 2 of 40 canary requests fail (5%) against 0.5% of the baseline: suggestive, not overwhelming.
        const d = decide(version(40, 2), version(1000, 5), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.deepEqual(rejectedFails(d), []);
    });

    it("tests a fail below min-requests against the largest traffic share the counts credibly allow", () => {
        const d = decide(version(30, 6), version(270, 1), SETTINGS);
        const t = d.tests.find((x) => x.name === "errors-vs-baseline");
        assert.ok(
            t !== undefined && t.nullProbability > 0.15,
            `null probability ${t?.nullProbability} should bound the 10% share from above`,
        );
    });

    it("is inconclusive without baseline traffic", () => {
        const d = decide(version(1000, 0), { requests: 0, errors: 0, buckets: null }, SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.match(d.reasons[0], /baseline has no requests in the window/);
    });

    it("rolls back a canary that is credibly slower (median 25 ms -> 50 ms)", () => {
        const d = decide(version(1000, 0, [0.05, 0.2, 0.6, 0.97, 1]), version(9000, 0), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.deepEqual(rejectedFails(d), ["latency-vs-baseline"]);
        assert.equal(d.latencyComparisonMs, 25);
    });

    it("rolls back a canary whose p99 is credibly above the limit", () => {
        // 5% above 250 ms; the baseline has the same median but a p99 within the limit.
        const shares: [number, number, number, number, number] = [0.2, 0.6, 0.9, 0.93, 0.95];
        const d = decide(version(2000, 0, shares), version(18000, 0, [0.2, 0.6, 0.9, 0.995, 1]), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.deepEqual(rejectedFails(d), ["p99-vs-limit"]);
        assert.equal(d.p99LimitBoundaryMs, 250);
    });

    it("does not roll back for a p99 above the limit that the baseline shares (an incident of both), nor passes it", () => {
        // Before issue 13 this failed the canary: both versions equally slow is not the canary's doing.
        const shares: [number, number, number, number, number] = [0.2, 0.6, 0.9, 0.93, 0.95];
        const d = decide(version(2000, 0, shares), version(18000, 0, shares), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.deepEqual(rejectedFails(d), []);
    });

    it("stays inconclusive when the p99 lies between the limit and the next bucket boundary", () => {
        // p99 in (100, 250]: 100 + 150 * (0.99 - 0.975) / (0.995 - 0.975) = 212.5 ms, but only 0.5% above 250 ms.
        const shares: [number, number, number, number, number] = [0.2, 0.6, 0.95, 0.975, 0.995];
        const d = decide(version(5000, 0, shares), version(45000, 0, shares), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.match(d.reasons.join("\n"), /p99 212\.5 ms is not below max-p99-ms 200 ms \(nor credibly above 250 ms yet\)/);
    });

    it("never passes a canary whose 5xx ratio equals a baseline above the limit, nor fails it for what both share", () => {
        // Before issue 13 the late look failed on errors-vs-limit: a shared incident counted against the canary.
        for (const [c, b] of [
            [version(200, 4), version(1800, 36)],
            [version(20000, 400), version(180000, 3600)],
        ]) {
            const d = decide(c, b, SETTINGS);
            assert.equal(d.verdict, "inconclusive");
            assert.deepEqual(rejectedFails(d), []);
            assert.match(
                d.reasons.join("\n"),
                /not yet enough evidence that the canary 5xx ratio 2\.00% .* stays below max-error-rate 1\.00%/,
            );
        }
    });

    it("fails a canary above the limit and above a baseline that is itself above the limit", () => {
        const d = decide(version(20000, 1000), version(180000, 3600), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.ok(rejectedFails(d).includes("errors-vs-limit"));
    });

    it("passes only on credible evidence below max-error-rate, not on the observed ratio", () => {
        // 0.8% observed against a 1% limit with 0.5% baseline: below the limit, but not credibly yet.
        const d = decide(version(1500, 12), version(13500, 68), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.ok(d.tests.some((t) => t.name === "errors-within-limit" && !t.rejected));
        const later = decide(version(15000, 60), version(135000, 675), SETTINGS);
        assert.equal(later.verdict, "pass", later.reasons.join("\n"));
    });

    it("counts 5xx divided by the variance factor, so bursty errors need more evidence", () => {
        const plain = decide(version(2000, 30), version(18000, 90), SETTINGS);
        assert.equal(plain.verdict, "fail");
        const bursty = decide(version(2000, 30), { ...version(18000, 90), errorDispersion: 5 }, SETTINGS);
        assert.equal(bursty.verdict, "inconclusive");
        const t = bursty.tests.find((x) => x.name === "errors-vs-baseline");
        assert.equal(t?.successes, 6);
    });
});

describe("decide where the histogram cannot tell", () => {
    /** n requests, all in (10, 25] ms (le 10: 0, le 25: n). */
    const oneBucket = (n: number): VersionCounts => ({ requests: n, errors: 0, buckets: hist(n, [0, 1, 1, 1, 1]) });

    it("never passes when every baseline request falls into one bucket, saying the latency comparison cannot be made", () => {
        const d = decide(oneBucket(5000), oneBucket(45000), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.deepEqual(d.reasons, [
            "the latency comparison with baseline cannot be made: every baseline request falls into one histogram bucket (10, 25] ms, " +
                "so a slowdown inside it cannot be seen (canary was checked only for requests slower than 25 ms); no pass without the comparison",
        ]);
        assert.equal(d.latencyComparisonMs, 25);
    });

    it("fails a canary slower than the whole bucket that holds every baseline request", () => {
        const d = decide(version(5000, 0, [0, 0, 0.5, 1, 1]), oneBucket(45000), SETTINGS);
        assert.equal(d.verdict, "fail");
        assert.deepEqual(rejectedFails(d), ["latency-vs-baseline"]);
        assert.match(d.reasons[0], /\(the upper boundary of the one bucket \(10, 25\] ms that holds every baseline request\)/);
    });

    it("does not pass a p99 interpolated below the limit when the limit falls inside its bucket (100, 250]", () => {
        // 2.5% of requests in (100, 250]: interpolated p99 100 + 150 * 0.6 = 190 ms, the true one may be 245 ms.
        const shares: [number, number, number, number, number] = [0.2, 0.6, 0.95, 0.975, 1];
        const d = decide(version(5000, 0, shares), version(45000, 0, shares), SETTINGS);
        assert.equal(d.verdict, "inconclusive");
        assert.equal(d.p99PassBoundaryMs, 100);
        assert.match(
            d.reasons.join("\n"),
            /^canary p99 cannot be shown below max-p99-ms 200 ms: the limit falls inside the histogram bucket \(100, 250\] ms, where the interpolated p99 \(190 ms\) is a guess, so a pass needs credible evidence that at most 1% of canary requests take longer than 100 ms, and 2\.50% \(125\/5000\) do/,
        );
    });

    it("passes the p99 limit only with credible evidence at a boundary at or below it", () => {
        const d = decide(version(2000, 10), version(18000, 90), SETTINGS);
        const t = d.tests.find((x) => x.name === "p99-within-limit");
        assert.ok(t !== undefined && t.rejected && t.purpose === "pass");
        assert.deepEqual([t.successes, t.trials, t.nullProbability, t.side], [0, 2000, 0.01, "less"]);
    });
});

describe("decide's evidence", () => {
    it("reports each test's level and threshold without binary noise", () => {
        const d = decide(version(1000, 5), version(9000, 45), SETTINGS, { canary: '"v2"', baseline: '"v1"' });
        const t = d.tests.find((x) => x.name === "errors-vs-baseline");
        assert.ok(t !== undefined);
        assert.deepEqual([t.level, t.threshold], [0.02, 50]);
        assert.match(
            t.summary,
            /^canary "v2" 5xx ratio 0\.50% is not credibly higher than baseline "v1" 0\.50% \(e-value \d\.\d\d < 50\.00\)$/,
        );
    });
});

describe("decide with histograms that bucket differently", () => {
    it("compares latency only on the boundaries both versions have", () => {
        const canary: VersionCounts = {
            requests: 1000,
            errors: 0,
            buckets: [
                { le: 25, count: 600 },
                { le: 100, count: 1000 },
                { le: Infinity, count: 1000 },
            ],
        };
        const d = decide(canary, version(9000, 0), SETTINGS);
        assert.equal(d.latencyComparisonMs, 25);
        assert.notEqual(d.verdict, "fail");
    });
});
