import {
    Bucket,
    countAtOrBelow,
    histogramQuantile,
    interpolatedCdf,
    largestBoundaryAtMost,
    medianBoundary,
    smallestBoundaryAtLeast,
    totalCount,
} from "./histogram";
import { bernoulliMixtureTest } from "./sequential";
import { AnalysisThresholds, SequentialTest, Verdict } from "./types";

/**
 * The decision: from the counts of canary and baseline over the window to a verdict. Pure function,
 * no I/O, shared by the module (counts from Prometheus) and the benchmark (simulated counts).
 *
 * Four failing tests, each an anytime-valid e-value compared with 1/(share of alpha):
 * - errors-vs-baseline: among all 5xx of both versions, is the canary's share credibly above its
 *   share of requests? Conditioning on the 5xx events removes the unknown baseline rate and any
 *   load change shared by both versions (the count-data test of Lindon et al., KDD 2022); the
 *   canary's share of requests is taken from the request counts, thousands of requests that pin it
 *   down far more tightly than the few 5xx being tested.
 * - latency-vs-baseline: the same on "slow" requests, those above the baseline's median bucket
 *   boundary (a sign test on the histogram). When every baseline request falls into one bucket
 *   there is no median boundary: the test then counts requests above that bucket's upper boundary
 *   (so a canary slower than the whole bucket still fails), and the analysis never passes, since a
 *   slowdown inside the bucket cannot be seen.
 * - errors-vs-limit: is the canary's 5xx ratio credibly above maxErrorRate?
 * - p99-vs-limit: do credibly more than 1% of canary requests exceed the smallest bucket boundary
 *   >= maxP99Ms (so its p99 is credibly above the limit)?
 * Three passing tests, each compared with 1/beta, give the positive evidence a pass needs:
 * - errors-not-worse: is the canary's 5xx ratio credibly below baseline ratio + errorRateMargin?
 * - latency-not-worse: is the canary's share of slow requests credibly below what a canary
 *   latencyMargin slower than the baseline would show?
 * - p99-within-limit: do credibly at most 1% of canary requests exceed the largest bucket boundary
 *   <= maxP99Ms? Only a boundary can be shown: the p99 interpolated inside a bucket is a guess (a
 *   canary whose true p99 is 245 ms reads 190 ms inside (100, 250]), so when the limit falls inside
 *   a bucket, the pass is shown at that bucket's lower boundary.
 */

/** Counts of one version over the window. */
export interface VersionCounts {
    /** Requests. */
    requests: number;
    /** 5xx responses. */
    errors: number;
    /** Normalised cumulative latency buckets, or null when there was no histogram. */
    buckets: readonly Bucket[] | null;
    /**
     * Variance factor of the 5xx counts (>= 1): how much more the version's 5xx vary from one scrape
     * interval to the next than independent errors would (errors in bursts, a rate that swings);
     * default 1. See {@link errorDispersion}: the 5xx tests count errors and requests divided by it.
     */
    errorDispersion?: number;
}

/** Limits and error rates of a decision. */
export interface DecisionSettings extends AnalysisThresholds {
    /** Scale of the prior of the mixture tests; default DEFAULT_PRIOR_SCALE of sequential.ts. */
    priorScale?: number;
}

/** Version names used in the sentences of a decision. */
export interface DecisionNames {
    /** Canary version, e.g. "v2". */
    canary: string;
    /** Baseline version, e.g. "v1". */
    baseline: string;
}

/** A verdict with its reasons and every test statistic. */
export interface Decision {
    /** pass, fail or inconclusive. */
    verdict: Verdict;
    /** One sentence per finding; never empty. */
    reasons: string[];
    /** Every test run. */
    tests: SequentialTest[];
    /** Canary share of the requests of both versions, or null. */
    canaryShareOfRequests: number | null;
    /** Boundary (ms) above which requests count as slow in the latency comparison, or null. */
    latencyComparisonMs: number | null;
    /** Boundary (ms) used to test the p99 limit, or null. */
    p99LimitBoundaryMs: number | null;
    /** Boundary (ms) at which a pass of the p99 limit is shown (the largest <= maxP99Ms), or null. */
    p99PassBoundaryMs: number | null;
}

/**
 * How alpha (the false-rollback rate) is split between the failing tests: a canary that is no
 * worse than the baseline and within the limits is failed with probability at most
 * alpha * (sum of the shares) = alpha. The comparisons with the baseline get most of it because they
 * are what catches a regression early; the absolute limits are guard rails for large violations.
 */
export const ALPHA_SHARES: Readonly<Record<"errors-vs-baseline" | "latency-vs-baseline" | "errors-vs-limit" | "p99-vs-limit", number>> = {
    "errors-vs-baseline": 0.4,
    "latency-vs-baseline": 0.4,
    "errors-vs-limit": 0.1,
    "p99-vs-limit": 0.1,
};

/** The tail a p99 leaves above it. */
const P99_TAIL = 0.01;
/** Keeps a null probability strictly inside (0, 1). */
const EDGE = 1e-9;

/** A ratio as a percentage with two decimals. */
function pct(x: number | null): string {
    return x === null ? "n/a" : `${(x * 100).toFixed(2)}%`;
}

/** An e-value for a sentence. */
function fmtE(e: number): string {
    if (!Number.isFinite(e)) return "> 1e300";
    if (e >= 1000 || (e > 0 && e < 0.01)) return e.toExponential(1);
    return e.toFixed(2);
}

/** A latency in ms for a sentence. */
function ms(x: number | null): string {
    return x === null ? "n/a" : `${Number.isInteger(x) ? x : x.toFixed(1)} ms`;
}

/** A ratio or null when the denominator is 0. */
function ratio(a: number, b: number): number | null {
    return b > 0 ? a / b : null;
}

/** The 5xx counts as the tests see them: divided by the variance factor (quasi-likelihood). */
function effective(n: number, dispersion: number): number {
    return n / dispersion;
}

/** z of a one-sided 1e-4 tail: the confidence of the traffic-share bound a fail below min-requests is tested against. */
const SHARE_BOUND_Z = 3.719;

/**
 * An upper confidence bound (Wilson score, one-sided 1e-4) on the canary's share of the requests:
 * below min-requests the share estimated from a few dozen canary requests is loose, so a fail there
 * is tested against the largest share the counts credibly allow, not the estimate.
 */
export function shareUpperBound(canaryRequests: number, totalRequests: number): number {
    const n = totalRequests;
    const p = canaryRequests / n;
    const z = SHARE_BOUND_Z;
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    return Math.min(1, centre + half);
}

/** What a test is run on: the reported fields known beforehand, and how to state its result. */
export interface TestSpec extends Pick<
    SequentialTest,
    "name" | "purpose" | "nullHypothesis" | "successes" | "trials" | "nullProbability" | "side" | "level"
> {
    /** The sentence stating the result (becomes the test's summary). */
    describe: (eValue: number, threshold: number, rejected: boolean) => string;
}

/** Runs one test: the e-value of its counts against the (clamped) null probability, compared with 1/level. */
export function runTest(spec: TestSpec, priorScale: number | undefined): SequentialTest {
    const nullProbability = Math.min(1 - EDGE, Math.max(EDGE, spec.nullProbability));
    const { eValue, logEValue } = bernoulliMixtureTest({
        successes: spec.successes,
        trials: spec.trials,
        nullProbability,
        side: spec.side,
        priorScale,
    });
    // Round away binary noise (0.05 * 0.4 = 0.020000000000000004) so thresholds read 50, not 49.99999999999999.
    const level = Number(spec.level.toPrecision(12));
    const threshold = Number((1 / level).toPrecision(12));
    const rejected = logEValue >= Math.log(threshold);
    return {
        name: spec.name,
        purpose: spec.purpose,
        nullHypothesis: spec.nullHypothesis,
        successes: spec.successes,
        trials: spec.trials,
        nullProbability,
        side: spec.side,
        eValue,
        logEValue,
        level,
        threshold,
        rejected,
        summary: spec.describe(eValue, threshold, rejected),
    };
}

/**
 * Decides pass, fail or inconclusive from the counts of canary and baseline (see the module comment
 * for the tests). Order: below minRequests canary requests -> inconclusive (never pass); any failing
 * test rejected -> fail; all of {baseline traffic, errors-not-worse, latency-not-worse (which needs
 * a baseline histogram spread over more than one bucket), 5xx ratio below maxErrorRate, p99 below
 * maxP99Ms, p99-within-limit} -> pass; otherwise inconclusive, naming what is missing.
 */
export function decide(canary: VersionCounts, baseline: VersionCounts, s: DecisionSettings, names?: DecisionNames): Decision {
    const c = names === undefined ? "canary" : `canary ${names.canary}`;
    const b = names === undefined ? "baseline" : `baseline ${names.baseline}`;
    const tests: SequentialTest[] = [];
    const add = (spec: TestSpec): SequentialTest => {
        const t = runTest(spec, s.priorScale);
        tests.push(t);
        return t;
    };
    const cRate = ratio(canary.errors, canary.requests);
    const bRate = ratio(baseline.errors, baseline.requests);
    const cBuckets = canary.buckets;
    const bBuckets = baseline.buckets;
    const cTotal = cBuckets === null ? 0 : totalCount(cBuckets);
    const bTotal = bBuckets === null ? 0 : totalCount(bBuckets);
    const cP99 = cBuckets === null ? null : histogramQuantile(0.99, cBuckets);
    const canaryShare = canary.requests > 0 && baseline.requests > 0 ? canary.requests / (canary.requests + baseline.requests) : null;
    // Below min-requests only a fail is possible, and only on overwhelming evidence: the comparisons
    // are tested against the largest traffic share the request counts credibly allow.
    const few = canary.requests < s.minRequests;
    const testShare =
        canaryShare === null ? null : few ? shareUpperBound(canary.requests, canary.requests + baseline.requests) : canaryShare;
    const phi = Math.max(1, canary.errorDispersion ?? 1, baseline.errorDispersion ?? 1);
    const phiText = phi > 1 ? `, counted with the 5xx variance factor ${phi.toFixed(2)}` : "";
    // Only boundaries both histograms have can be compared (different Istio versions may bucket differently).
    const shared = cBuckets === null || bBuckets === null ? [] : bBuckets.filter((x) => cBuckets.some((y) => y.le === x.le));
    const tauMedian = bTotal > 0 && cTotal > 0 ? medianBoundary(shared) : null;
    // Every baseline request in one (shared) bucket: no boundary splits it, so no comparison inside it.
    let oneBucket: { lower: number; upper: number } | null = null;
    if (tauMedian === null && bTotal > 0 && cTotal > 0) {
        const i = shared.findIndex((x) => x.count === bTotal);
        if (i >= 0) oneBucket = { lower: i === 0 ? 0 : shared[i - 1].le, upper: shared[i].le };
    }
    const bucketText = (x: { lower: number; upper: number }): string =>
        `(${x.lower}, ${x.upper === Infinity ? "+Inf" : x.upper}]${x.upper === Infinity ? "" : " ms"}`;
    const tau = tauMedian ?? (oneBucket !== null && oneBucket.upper !== Infinity ? oneBucket.upper : null);
    const tauWhy =
        tauMedian !== null || oneBucket === null
            ? "the baseline's median bucket boundary"
            : `the upper boundary of the one bucket ${bucketText(oneBucket)} that holds every baseline request`;
    const tauLimit = cBuckets !== null && cTotal > 0 ? smallestBoundaryAtLeast(s.maxP99Ms, cBuckets) : null;
    const tauPass = cBuckets !== null && cTotal > 0 ? largestBoundaryAtMost(s.maxP99Ms, cBuckets) : null;

    // Failing tests.
    if (canaryShare !== null && testShare !== null) {
        const events = canary.errors + baseline.errors;
        add({
            name: "errors-vs-baseline",
            purpose: "fail",
            nullHypothesis: `the ${c} 5xx ratio is at most the ${b} 5xx ratio`,
            successes: effective(canary.errors, phi),
            trials: effective(events, phi),
            nullProbability: testShare,
            side: "greater",
            level: s.alpha * ALPHA_SHARES["errors-vs-baseline"],
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} 5xx ratio ${pct(cRate)} (${canary.errors}/${canary.requests}) is credibly higher than ${b} ${pct(bRate)} (${baseline.errors}/${baseline.requests}): ` +
                      `the canary has ${canary.errors} of ${events} 5xx with ${pct(canaryShare)} of the requests${few ? ` (tested at ${pct(testShare)}, the most its share credibly is)` : ""}${phiText}, e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `${c} 5xx ratio ${pct(cRate)} is not credibly higher than ${b} ${pct(bRate)} (e-value ${fmtE(e)} < ${fmtE(thr)})`,
        });
    }
    let cSlow = 0;
    let bSlow = 0;
    if (tau !== null && cBuckets !== null && bBuckets !== null) {
        cSlow = cTotal - countAtOrBelow(tau, cBuckets);
        bSlow = bTotal - countAtOrBelow(tau, bBuckets);
        const share = few ? shareUpperBound(cTotal, cTotal + bTotal) : cTotal / (cTotal + bTotal);
        add({
            name: "latency-vs-baseline",
            purpose: "fail",
            nullHypothesis: `the share of ${c} requests slower than ${tau} ms is at most the ${b} share`,
            successes: cSlow,
            trials: cSlow + bSlow,
            nullProbability: share,
            side: "greater",
            level: s.alpha * ALPHA_SHARES["latency-vs-baseline"],
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} is credibly slower than ${b}: ${pct(cSlow / cTotal)} of canary requests vs ${pct(bSlow / bTotal)} of baseline requests took longer than ${tau} ms ` +
                      `(${tauWhy}), e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `${c} is not credibly slower than ${b} (${pct(cSlow / cTotal)} vs ${pct(bSlow / bTotal)} of requests above ${tau} ms, e-value ${fmtE(e)} < ${fmtE(thr)})`,
        });
    }
    // An incident both versions share (the baseline itself at or above the limit) is not the canary's
    // doing: the limit then fails only a canary credibly above the baseline's ratio too.
    const errorLimit = bRate !== null && bRate > s.maxErrorRate ? bRate : s.maxErrorRate;
    const errorLimitText =
        errorLimit > s.maxErrorRate
            ? `max-error-rate ${pct(s.maxErrorRate)} or ${b}'s own ${pct(bRate)}, whichever is higher (both versions above the limit is not the canary's doing)`
            : `max-error-rate ${pct(s.maxErrorRate)}`;
    if (canary.requests > 0) {
        add({
            name: "errors-vs-limit",
            purpose: "fail",
            nullHypothesis: `the ${c} 5xx ratio is at most ${errorLimitText}`,
            successes: effective(canary.errors, phi),
            trials: effective(canary.requests, phi),
            nullProbability: errorLimit,
            side: "greater",
            level: s.alpha * ALPHA_SHARES["errors-vs-limit"],
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} 5xx ratio ${pct(cRate)} (${canary.errors}/${canary.requests}) is credibly above ${errorLimitText}${phiText}: e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `${c} 5xx ratio ${pct(cRate)} is not credibly above ${errorLimitText} (e-value ${fmtE(e)} < ${fmtE(thr)})`,
        });
    }
    if (tauLimit !== null && cBuckets !== null) {
        const above = cTotal - countAtOrBelow(tauLimit, cBuckets);
        // As for the 5xx limit: a baseline just as slow is an incident both share, not the canary's doing.
        const bAboveShare =
            bBuckets !== null && bTotal > 0 && bBuckets.some((x) => x.le === tauLimit)
                ? (bTotal - countAtOrBelow(tauLimit, bBuckets)) / bTotal
                : 0;
        const tail = Math.max(P99_TAIL, bAboveShare);
        add({
            name: "p99-vs-limit",
            purpose: "fail",
            nullHypothesis:
                tail > P99_TAIL
                    ? `at most ${pct(tail)} of ${c} requests (the ${b}'s own share, above 1%) take longer than ${tauLimit} ms`
                    : `at most 1% of ${c} requests take longer than ${tauLimit} ms`,
            successes: above,
            trials: cTotal,
            nullProbability: tail,
            side: "greater",
            level: s.alpha * ALPHA_SHARES["p99-vs-limit"],
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} p99 ${ms(cP99)} is credibly above the limit ${s.maxP99Ms} ms: ${pct(above / cTotal)} of canary requests (${above}/${cTotal}) took longer than ${tauLimit} ms, ` +
                      `more than ${tail > P99_TAIL ? `the ${b}'s ${pct(tail)}` : "1%"}, e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `${c} p99 is not credibly above ${tauLimit} ms (${above}/${cTotal} requests above it, e-value ${fmtE(e)} < ${fmtE(thr)})`,
        });
    }

    // Passing tests.
    let errorsNotWorse: SequentialTest | undefined;
    if (canaryShare !== null && bRate !== null) {
        const bound = bRate + s.errorRateMargin;
        errorsNotWorse = add({
            name: "errors-not-worse",
            purpose: "pass",
            nullHypothesis: `the ${c} 5xx ratio is at least the ${b} ratio + ${pct(s.errorRateMargin)} (${pct(bound)})`,
            successes: effective(canary.errors, phi),
            trials: effective(canary.requests, phi),
            nullProbability: bound,
            side: "less",
            level: s.beta,
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} 5xx ratio ${pct(cRate)} is credibly below ${b} ${pct(bRate)} + margin ${pct(s.errorRateMargin)} = ${pct(bound)}: e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `not yet enough evidence that the ${c} 5xx ratio ${pct(cRate)} stays below ${b} ${pct(bRate)} + margin ${pct(s.errorRateMargin)} = ${pct(bound)} ` +
                      `(e-value ${fmtE(e)} of ${fmtE(thr)} needed, ${canary.requests} canary requests so far)`,
        });
    }
    let errorsWithinLimit: SequentialTest | undefined;
    if (canary.requests > 0) {
        errorsWithinLimit = add({
            name: "errors-within-limit",
            purpose: "pass",
            nullHypothesis: `the ${c} 5xx ratio is at least max-error-rate ${pct(s.maxErrorRate)}`,
            successes: effective(canary.errors, phi),
            trials: effective(canary.requests, phi),
            nullProbability: s.maxErrorRate,
            side: "less",
            level: s.beta,
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} 5xx ratio ${pct(cRate)} (${canary.errors}/${canary.requests}) is credibly below max-error-rate ${pct(s.maxErrorRate)}${phiText}: e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `not yet enough evidence that the ${c} 5xx ratio ${pct(cRate)} (${canary.errors}/${canary.requests}) stays below max-error-rate ${pct(s.maxErrorRate)}` +
                      `${phiText} (e-value ${fmtE(e)} of ${fmtE(thr)} needed)`,
        });
    }
    let latencyNotWorse: SequentialTest | undefined;
    if (tauMedian !== null && tau !== null && bBuckets !== null) {
        const slowed = interpolatedCdf(tau / (1 + s.latencyMargin), shared);
        const bound = slowed === null ? 1 : 1 - slowed;
        const slower = `${Math.round(s.latencyMargin * 100)}%`;
        latencyNotWorse = add({
            name: "latency-not-worse",
            purpose: "pass",
            nullHypothesis: `the ${c} is at least ${slower} slower than the ${b}, so at least ${pct(bound)} of its requests take longer than ${tau} ms`,
            successes: cSlow,
            trials: cTotal,
            nullProbability: bound,
            side: "less",
            level: s.beta,
            describe: (e, thr, rejected) =>
                rejected
                    ? `${c} is credibly less than ${slower} slower than ${b}: ${pct(cSlow / cTotal)} of canary requests took longer than ${tau} ms, ` +
                      `below the ${pct(bound)} a ${slower} slowdown would give, e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `not yet enough evidence that the ${c} is less than ${slower} slower than ${b} (${pct(cSlow / cTotal)} of canary requests above ${tau} ms ` +
                      `vs ${pct(bound)} for a ${slower} slowdown, e-value ${fmtE(e)} of ${fmtE(thr)} needed)`,
        });
    }

    let p99Pass: SequentialTest | undefined;
    let p99Above = 0;
    if (tauPass !== null && cBuckets !== null) {
        const above = cTotal - countAtOrBelow(tauPass, cBuckets);
        p99Above = above;
        p99Pass = add({
            name: "p99-within-limit",
            purpose: "pass",
            nullHypothesis: `more than 1% of ${c} requests take longer than ${tauPass} ms`,
            successes: above,
            trials: cTotal,
            nullProbability: P99_TAIL,
            side: "less",
            level: s.beta,
            describe: (e, thr, rejected) =>
                rejected
                    ? `credibly at most 1% of ${c} requests take longer than ${tauPass} ms (${above}/${cTotal} = ${pct(above / cTotal)}), ` +
                      `so its p99 is at most ${tauPass} ms <= max-p99-ms ${s.maxP99Ms} ms: e-value ${fmtE(e)} >= ${fmtE(thr)}`
                    : `not yet enough evidence that at most 1% of ${c} requests take longer than ${tauPass} ms ` +
                      `(${above}/${cTotal} = ${pct(above / cTotal)} do, e-value ${fmtE(e)} of ${fmtE(thr)} needed)`,
        });
    }

    const result = (verdict: Verdict, reasons: string[]): Decision => ({
        verdict,
        reasons,
        tests,
        canaryShareOfRequests: canaryShare,
        latencyComparisonMs: tau,
        p99LimitBoundaryMs: tauLimit,
        p99PassBoundaryMs: tauPass,
    });
    const failed = tests.filter((t) => t.purpose === "fail" && t.rejected);

    if (few && failed.length > 0) {
        return result("fail", [
            `${c} has only ${canary.requests} requests, fewer than min-requests ${s.minRequests}, but the evidence against it is overwhelming ` +
                `(anytime-valid, the comparisons tested against the largest traffic share the counts credibly allow; min-requests guards passes):`,
            ...failed.map((t) => t.summary),
        ]);
    }
    if (few) {
        return result("inconclusive", [
            canary.requests === 0
                ? `${c} has no requests in the window: nothing to judge (min-requests ${s.minRequests})`
                : `${c} has only ${canary.requests} requests in the window, fewer than min-requests ${s.minRequests}: too few for a pass`,
        ]);
    }
    if (failed.length > 0)
        return result(
            "fail",
            failed.map((t) => t.summary),
        );

    const missing: string[] = [];
    const evidence: string[] = [];
    if (baseline.requests === 0) missing.push(`${b} has no requests in the window: nothing to compare the canary with`);
    if (errorsNotWorse !== undefined) (errorsNotWorse.rejected ? evidence : missing).push(errorsNotWorse.summary);
    if (bBuckets === null || bTotal === 0) {
        if (baseline.requests > 0) missing.push(`${b} has no latency histogram in the window: the canary's latency cannot be compared`);
    } else if (latencyNotWorse !== undefined) {
        (latencyNotWorse.rejected ? evidence : missing).push(latencyNotWorse.summary);
    } else if (oneBucket !== null) {
        missing.push(
            `the latency comparison with ${b} cannot be made: every ${b} request falls into one histogram bucket ${bucketText(oneBucket)}, ` +
                `so a slowdown inside it cannot be seen` +
                (oneBucket.upper === Infinity ? "" : ` (${c} was checked only for requests slower than ${oneBucket.upper} ms)`) +
                `; no pass without the comparison`,
        );
    } else if (cTotal > 0) {
        missing.push(`the latency comparison with ${b} cannot be made: the histograms share no bucket boundary; no pass without it`);
    }
    if (errorsWithinLimit !== undefined && !errorsWithinLimit.rejected) missing.push(errorsWithinLimit.summary);
    if (cP99 === null) {
        missing.push(`${c} has no latency histogram in the window: its p99 is unknown`);
    } else if (cP99 >= s.maxP99Ms) {
        missing.push(
            `${c} p99 ${ms(cP99)} is not below max-p99-ms ${s.maxP99Ms} ms` +
                (tauLimit === null
                    ? ` (no bucket boundary at or above ${s.maxP99Ms} ms to test it against)`
                    : ` (nor credibly above ${tauLimit} ms yet)`),
        );
    } else if (p99Pass === undefined || tauPass === null) {
        missing.push(
            `${c} p99 ${ms(cP99)} cannot be shown below max-p99-ms ${s.maxP99Ms} ms: its histogram has no bucket boundary at or below the limit`,
        );
    } else if (!p99Pass.rejected) {
        const bucket = `(${tauPass}, ${tauLimit ?? "+Inf"}]${tauLimit === null ? "" : " ms"}`;
        if (tauPass < s.maxP99Ms && cP99 > tauPass) {
            missing.push(
                `${c} p99 cannot be shown below max-p99-ms ${s.maxP99Ms} ms: the limit falls inside the histogram bucket ${bucket}, ` +
                    `where the interpolated p99 (${ms(cP99)}) is a guess, so a pass needs credible evidence that at most 1% of canary requests ` +
                    `take longer than ${tauPass} ms, and ${pct(p99Above / cTotal)} (${p99Above}/${cTotal}) do: ${p99Pass.summary}`,
            );
        } else if (tauPass < s.maxP99Ms) {
            missing.push(
                `${p99Pass.summary}; ${tauPass} ms is the largest bucket boundary at or below max-p99-ms ${s.maxP99Ms} ms, which falls inside the bucket ${bucket}`,
            );
        } else {
            missing.push(p99Pass.summary);
        }
    }
    if (missing.length > 0) return result("inconclusive", missing);
    evidence.push(`${c} is within the limits: ${errorsWithinLimit?.summary ?? ""}; ${p99Pass?.summary ?? ""}`);
    return result("pass", evidence);
}
