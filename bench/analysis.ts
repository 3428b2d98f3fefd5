import * as os from "node:os";
import { ALPHA_SHARES, decide, DecisionSettings, VersionCounts } from "../analysis/decide";
import { Bucket, histogramQuantile, ISTIO_DURATION_BUCKETS_MS, medianBoundary } from "../analysis/histogram";
import { ANALYSIS_DEFAULTS } from "../analysis/options";
import { SequentialTest } from "../analysis/types";
import { bernoulliMixtureTest, sprtExpectedSampleSize } from "../analysis/sequential";
import {
    bucketIndex,
    cumulative,
    normal,
    normalCdf,
    num,
    pct2,
    pctCell,
    poisson,
    printResults,
    quantile,
    rngFor,
    shareWithCi,
} from "./sim";

/**
 * `npm run bench:analysis [-- --runs N] [-- --write] [-- --diagnose]`: time to a decision of our
 * analysis against a Flagger-style rule, on the same simulated request streams (no Prometheus).
 * Every run also records which failing test rolled our analysis back; `--diagnose` adds a
 * calibration of each failing test on the healthy streams (see {@link calibrate}).
 *
 * Traffic: 20 req/s, 10% to the canary (Poisson arrivals each second, each request routed on its own).
 * Baseline: 0.5% 5xx, latency log-normal with median 20 ms and sigma 0.5 (p99 ~ 64 ms; ~86 ms as
 * read from Istio's buckets). Scenarios change the canary only. Both rules see the same streams.
 */

/** One simulated scenario: the canary's 5xx ratio and latency median. */
interface Scenario {
    name: string;
    canaryErrorRate: number;
    canaryMedianMs: number;
    /** Which outcome is right. */
    good: "promote" | "rollback";
}

const RATE_PER_S = 20;
const CANARY_SHARE = 0.1;
const BASELINE_ERROR_RATE = 0.005;
const BASELINE_MEDIAN_MS = 20;
const LATENCY_SIGMA = 0.5;
/** Our analysis is re-run on cumulative counts this often (simulated seconds). */
const OUR_INTERVAL_S = 15;
/** Flagger's default analysis interval and the window its queries use. */
const FLAGGER_INTERVAL_S = 60;
/** Flagger tutorial: threshold 5 failed checks -> rollback. */
const FLAGGER_THRESHOLD = 5;
/** Flagger tutorial: stepWeight 10 up to maxWeight 50 -> five successful checks to reach promotion. */
const FLAGGER_PROMOTE_AFTER = 5;
/** Runs that decide nothing within this time count as undecided. */
const HORIZON_S = 1800;

const SCENARIOS: Scenario[] = [
    { name: "healthy (same as baseline)", canaryErrorRate: BASELINE_ERROR_RATE, canaryMedianMs: BASELINE_MEDIAN_MS, good: "promote" },
    { name: "+1 pt 5xx (1.5%)", canaryErrorRate: BASELINE_ERROR_RATE + 0.01, canaryMedianMs: BASELINE_MEDIAN_MS, good: "rollback" },
    { name: "+5 pt 5xx (5.5%)", canaryErrorRate: BASELINE_ERROR_RATE + 0.05, canaryMedianMs: BASELINE_MEDIAN_MS, good: "rollback" },
    { name: "+50% latency", canaryErrorRate: BASELINE_ERROR_RATE, canaryMedianMs: BASELINE_MEDIAN_MS * 1.5, good: "rollback" },
];

const SETTINGS: DecisionSettings = {
    maxErrorRate: ANALYSIS_DEFAULTS.maxErrorRate,
    maxP99Ms: ANALYSIS_DEFAULTS.maxP99Ms,
    minRequests: ANALYSIS_DEFAULTS.minRequests,
    alpha: ANALYSIS_DEFAULTS.alpha,
    beta: ANALYSIS_DEFAULTS.beta,
    errorRateMargin: ANALYSIS_DEFAULTS.errorRateMargin,
    latencyMargin: ANALYSIS_DEFAULTS.latencyMargin,
};

/** Running totals of one version: requests, 5xx and per-bucket (non-cumulative) counts. */
interface Totals {
    requests: number;
    errors: number;
    perBucket: number[];
}

const newTotals = (): Totals => ({ requests: 0, errors: 0, perBucket: new Array<number>(ISTIO_DURATION_BUCKETS_MS.length + 1).fill(0) });
const copyTotals = (t: Totals): Totals => ({ requests: t.requests, errors: t.errors, perBucket: [...t.perBucket] });

const toCounts = (t: Totals): VersionCounts => ({ requests: t.requests, errors: t.errors, buckets: cumulative(t.perBucket) });

function minus(a: Totals, b: Totals): Totals {
    return { requests: a.requests - b.requests, errors: a.errors - b.errors, perBucket: a.perBucket.map((n, i) => n - b.perBucket[i]) };
}

/** Adds one second of traffic of one version. */
function simulateSecond(rand: () => number, t: Totals, rate: number, errorRate: number, medianMs: number): void {
    const n = poisson(rand, rate);
    const mu = Math.log(medianMs);
    for (let i = 0; i < n; i++) {
        t.requests++;
        if (rand() < errorRate) t.errors++;
        t.perBucket[bucketIndex(Math.exp(mu + LATENCY_SIGMA * normal(rand)))]++;
    }
}

/** A decision of one rule in one run. */
interface Outcome {
    decision: "promote" | "rollback" | "undecided";
    seconds: number;
    canaryRequests: number;
    /** Ours only, on a rollback: the failing tests that rejected, e.g. ["errors-vs-baseline"]. */
    failedTests?: string[];
    /** Ours only, on a rollback: the counts and statistics of that look, for the diagnosis. */
    detail?: string;
}

/** The comparison tests' null is the canary's traffic share, estimated from the counts: this is the e-value with the true share instead. */
function eValueAtTrueShare(t: SequentialTest): number | null {
    if (t.name !== "errors-vs-baseline" && t.name !== "latency-vs-baseline") return null;
    return bernoulliMixtureTest({ successes: t.successes, trials: t.trials, nullProbability: CANARY_SHARE, side: t.side }).eValue;
}

function atTrueShare(t: SequentialTest): string {
    const e = eValueAtTrueShare(t);
    return e === null ? "" : ` (${e.toFixed(1)} at the true ${CANARY_SHARE * 100}% share)`;
}

/** Simulates one run and applies both rules to the same stream. */
function runOnce(s: Scenario, rand: () => number): { ours: Outcome; flagger: Outcome } {
    const canary = newTotals();
    const baseline = newTotals();
    let ours: Outcome | undefined;
    let flagger: Outcome | undefined;
    let lastCheck = { canary: newTotals(), baseline: newTotals() };
    let failedChecks = 0;
    let passedChecks = 0;
    for (let sec = 1; sec <= HORIZON_S && (ours === undefined || flagger === undefined); sec++) {
        simulateSecond(rand, canary, RATE_PER_S * CANARY_SHARE, s.canaryErrorRate, s.canaryMedianMs);
        simulateSecond(rand, baseline, RATE_PER_S * (1 - CANARY_SHARE), BASELINE_ERROR_RATE, BASELINE_MEDIAN_MS);
        if (ours === undefined && sec % OUR_INTERVAL_S === 0) {
            const d = decide(toCounts(canary), toCounts(baseline), SETTINGS);
            if (d.verdict === "pass") {
                ours = { decision: "promote", seconds: sec, canaryRequests: canary.requests };
            } else if (d.verdict === "fail") {
                const failed = d.tests.filter((t) => t.purpose === "fail" && t.rejected);
                const detail =
                    `${sec} s: canary ${canary.errors}/${canary.requests} 5xx, baseline ${baseline.errors}/${baseline.requests}; ` +
                    failed
                        .map(
                            (t) =>
                                `${t.name} ${t.successes} of ${t.trials} at null ${t.nullProbability.toFixed(4)}, e-value ${t.eValue.toFixed(1)} >= ${t.threshold}${atTrueShare(t)}`,
                        )
                        .join("; ");
                ours = {
                    decision: "rollback",
                    seconds: sec,
                    canaryRequests: canary.requests,
                    failedTests: failed.map((t) => t.name),
                    detail,
                };
            }
        }
        if (flagger === undefined && sec % FLAGGER_INTERVAL_S === 0) {
            const minute = minus(canary, lastCheck.canary);
            lastCheck = { canary: copyTotals(canary), baseline: copyTotals(baseline) };
            const successRate = minute.requests > 0 ? (100 * (minute.requests - minute.errors)) / minute.requests : NaN;
            const p99 = histogramQuantile(0.99, cumulative(minute.perBucket));
            // NaN (no traffic) fails the check, as in Flagger.
            const ok = successRate >= 99 && p99 !== null && p99 <= SETTINGS.maxP99Ms;
            if (ok) passedChecks++;
            else failedChecks++;
            if (failedChecks >= FLAGGER_THRESHOLD) flagger = { decision: "rollback", seconds: sec, canaryRequests: canary.requests };
            else if (passedChecks >= FLAGGER_PROMOTE_AFTER)
                flagger = { decision: "promote", seconds: sec, canaryRequests: canary.requests };
        }
    }
    const undecided: Outcome = { decision: "undecided", seconds: HORIZON_S, canaryRequests: canary.requests };
    return { ours: ours ?? undecided, flagger: flagger ?? undecided };
}

/** Summary of one rule on one scenario. */
interface Row {
    promoted: number;
    rolledBack: number;
    undecided: number;
    medianRequests: number;
    p95Requests: number;
    medianSeconds: number;
    p95Seconds: number;
    meanRequests: number;
    meanSeconds: number;
    medianRollbackSeconds: number;
    p95RollbackSeconds: number;
}

function summarize(outcomes: Outcome[]): Row {
    const decided = outcomes.filter((o) => o.decision !== "undecided");
    const req = decided.map((o) => o.canaryRequests).sort((a, b) => a - b);
    const sec = decided.map((o) => o.seconds).sort((a, b) => a - b);
    const rollbackSec = outcomes
        .filter((o) => o.decision === "rollback")
        .map((o) => o.seconds)
        .sort((a, b) => a - b);
    const share = (d: Outcome["decision"]): number => outcomes.filter((o) => o.decision === d).length / outcomes.length;
    return {
        promoted: share("promote"),
        rolledBack: share("rollback"),
        undecided: share("undecided"),
        medianRequests: quantile(req, 0.5),
        p95Requests: quantile(req, 0.95),
        medianSeconds: quantile(sec, 0.5),
        p95Seconds: quantile(sec, 0.95),
        meanRequests: req.length === 0 ? NaN : req.reduce((a, b) => a + b, 0) / req.length,
        meanSeconds: sec.length === 0 ? NaN : sec.reduce((a, b) => a + b, 0) / sec.length,
        medianRollbackSeconds: quantile(rollbackSec, 0.5),
        p95RollbackSeconds: quantile(rollbackSec, 0.95),
    };
}

/** Exact bucket probabilities of the log-normal latency, as a cumulative histogram of "counts" x1e6. */
function expectedBuckets(medianMs: number): Bucket[] {
    const out: Bucket[] = ISTIO_DURATION_BUCKETS_MS.map((le) => ({
        le,
        count: Math.round(1e6 * normalCdf(Math.log(le / medianMs) / LATENCY_SIGMA)),
    }));
    out.push({ le: Infinity, count: 1e6 });
    return out;
}

/** The SPRT lower bound for a scenario: Bernoulli p0 (baseline) vs p1, expected canary requests. */
function sprtBound(s: Scenario): { requests: number; what: string } {
    const { alpha, beta } = SETTINGS;
    if (s.canaryMedianMs !== BASELINE_MEDIAN_MS) {
        const tau = medianBoundary(expectedBuckets(BASELINE_MEDIAN_MS)) ?? 25;
        const q0 = 1 - normalCdf(Math.log(tau / BASELINE_MEDIAN_MS) / LATENCY_SIGMA);
        const q1 = 1 - normalCdf(Math.log(tau / s.canaryMedianMs) / LATENCY_SIGMA);
        return {
            requests: sprtExpectedSampleSize(q0, q1, alpha, beta, "p1"),
            what: `share of requests > ${tau} ms, ${(q0 * 100).toFixed(1)}% vs ${(q1 * 100).toFixed(1)}%`,
        };
    }
    if (s.good === "promote") {
        const p1 = BASELINE_ERROR_RATE + SETTINGS.errorRateMargin;
        return {
            requests: sprtExpectedSampleSize(BASELINE_ERROR_RATE, p1, alpha, beta, "p0"),
            what: `5xx ${(BASELINE_ERROR_RATE * 100).toFixed(1)}% vs the ${(p1 * 100).toFixed(1)}% margin, under ${(BASELINE_ERROR_RATE * 100).toFixed(1)}%`,
        };
    }
    return {
        requests: sprtExpectedSampleSize(BASELINE_ERROR_RATE, s.canaryErrorRate, alpha, beta, "p1"),
        what: `5xx ${(BASELINE_ERROR_RATE * 100).toFixed(1)}% vs ${(s.canaryErrorRate * 100).toFixed(1)}%`,
    };
}

const FAIL_TESTS = Object.keys(ALPHA_SHARES) as (keyof typeof ALPHA_SHARES)[];

/** Per failing test: in how many runs it ever rejected, with the estimated traffic share (as the module) and with the true one. */
interface Calibration {
    runs: number;
    looks: number;
    estimated: Record<string, number>;
    trueShare: Record<string, number>;
    /** Latency comparison boundary (ms) -> looks that used it. */
    boundaries: Map<number | null, number>;
}

/**
 * Calibration of each failing test on the healthy streams (a canary identical to its baseline, so
 * every rejection is a false one): the same runs as the table, but every test is looked at every
 * OUR_INTERVAL_S from min-requests on to the 30-minute horizon, without stopping at a pass, and
 * each test's rejections are counted on their own. A valid test rejects in at most its level
 * (its share of alpha) of the runs. The two comparisons with the baseline are also run with the
 * true traffic share as null probability instead of the share estimated from the request counts,
 * to measure what that approximation does.
 */
function calibrate(runs: number, seed: number): Calibration {
    const s = SCENARIOS[0];
    const estimated: Record<string, number> = {};
    const trueShare: Record<string, number> = {};
    const boundaries = new Map<number | null, number>();
    let looks = 0;
    for (let run = 0; run < runs; run++) {
        const rand = rngFor(seed, run);
        const canary = newTotals();
        const baseline = newTotals();
        const ever = new Set<string>();
        const everTrue = new Set<string>();
        for (let sec = 1; sec <= HORIZON_S; sec++) {
            simulateSecond(rand, canary, RATE_PER_S * CANARY_SHARE, s.canaryErrorRate, s.canaryMedianMs);
            simulateSecond(rand, baseline, RATE_PER_S * (1 - CANARY_SHARE), BASELINE_ERROR_RATE, BASELINE_MEDIAN_MS);
            if (sec % OUR_INTERVAL_S !== 0 || canary.requests < SETTINGS.minRequests) continue;
            const d = decide(toCounts(canary), toCounts(baseline), SETTINGS);
            looks++;
            boundaries.set(d.latencyComparisonMs, (boundaries.get(d.latencyComparisonMs) ?? 0) + 1);
            for (const t of d.tests) {
                if (t.purpose !== "fail") continue;
                if (t.rejected) ever.add(t.name);
                const e = eValueAtTrueShare(t);
                if (e === null ? t.rejected : Math.log(e) >= Math.log(t.threshold)) everTrue.add(t.name);
            }
        }
        for (const n of ever) estimated[n] = (estimated[n] ?? 0) + 1;
        for (const n of everTrue) trueShare[n] = (trueShare[n] ?? 0) + 1;
    }
    return { runs, looks, estimated, trueShare, boundaries };
}

function main(argv: string[]): number {
    let runs = 1000;
    // The committed results are rewritten only when asked (--write): a run to look must not dirty the tree.
    let write = false;
    let diagnose = false;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--runs") {
            const v = Number(argv[++i]);
            if (!Number.isInteger(v) || v < 1) {
                process.stderr.write(`--runs: ${JSON.stringify(argv[i])} is not allowed; expected a whole number >= 1\n`);
                return 2;
            }
            runs = v;
        } else if (argv[i] === "--write") {
            write = true;
        } else if (argv[i] === "--diagnose") {
            diagnose = true;
        } else {
            process.stderr.write(`unknown argument ${JSON.stringify(argv[i])}; allowed: --runs N, --write, --diagnose\n`);
            return 2;
        }
    }
    const seed = 20240404;
    const started = Date.now();
    const lines: string[] = [];
    lines.push(
        "| Scenario | Rule | Promoted | Rolled back | Undecided (30 min) | Canary requests to a decision, median / p95 (mean) | Seconds to a decision, median / p95 (mean) | Seconds to a rollback, median / p95 |",
    );
    lines.push("|---|---|---:|---:|---:|---:|---:|---:|");
    const wrong: string[] = [
        "| Scenario | Rule | Wrong decision | Runs (share, 95% Wilson interval) | Our failing test that rolled back |",
        "|---|---|---|---:|---|",
    ];
    const falseRollbacks: string[] = [];
    for (const [index, s] of SCENARIOS.entries()) {
        if (process.stderr.isTTY) {
            process.stderr.write(`bench: scenario ${index + 1}/${SCENARIOS.length}: ${s.name} (${runs} runs)...\n`);
        }
        const ours: Outcome[] = [];
        const flagger: Outcome[] = [];
        for (let run = 0; run < runs; run++) {
            const r = runOnce(s, rngFor(seed, run));
            ours.push(r.ours);
            flagger.push(r.flagger);
        }
        for (const [rule, outcomes] of [
            ["ours (every 15 s)", ours],
            ["Flagger-style (60 s, 5 checks)", flagger],
        ] as const) {
            const bad = s.good === "promote" ? "rollback" : "promote";
            const wrongOnes = outcomes.filter((o) => o.decision === bad);
            const byTest = new Map<string, number>();
            for (const o of wrongOnes) {
                if (o.failedTests !== undefined) byTest.set(o.failedTests.join(" + "), (byTest.get(o.failedTests.join(" + ")) ?? 0) + 1);
            }
            const cause = [...byTest].map(([name, n]) => `${name}: ${n}`).join(", ");
            wrong.push(
                `| ${s.name} | ${rule} | ${bad === "rollback" ? "rolled back (false rollback)" : "promoted (missed regression)"} | ${shareWithCi(wrongOnes.length, runs)} | ${cause} |`,
            );
            if (s.good === "promote" && outcomes === ours) {
                ours.forEach((o, run) => {
                    if (o.decision === "rollback") falseRollbacks.push(`- run ${run}, ${o.detail}`);
                });
            }
            const row = summarize(outcomes);
            lines.push(
                `| ${s.name} | ${rule} | ${pctCell(row.promoted)} | ${pctCell(row.rolledBack)} | ${pctCell(row.undecided)} | ` +
                    `${num(row.medianRequests)} / ${num(row.p95Requests)} (${num(row.meanRequests)}) | ${num(row.medianSeconds)} / ${num(row.p95Seconds)} (${num(row.meanSeconds)}) | ${num(row.medianRollbackSeconds)} / ${num(row.p95RollbackSeconds)} |`,
            );
        }
        const bound = sprtBound(s);
        const seconds = bound.requests / (RATE_PER_S * CANARY_SHARE);
        lines.push(
            `| ${s.name} | SPRT lower bound (${bound.what}) | | | | ${num(bound.requests)} (expected) | ${num(seconds)} (expected) | ${s.good === "rollback" ? `${num(seconds)} (expected)` : ""} |`,
        );
    }
    const diagnosis: string[] = [];
    if (diagnose) {
        const c = calibrate(runs, seed);
        diagnosis.push(
            "",
            "## Calibration of each failing test (`--diagnose`)",
            "",
            `The healthy streams of the table (same seeds), each failing test looked at every ${OUR_INTERVAL_S} s from min-requests on to the ` +
                `${HORIZON_S / 60}-minute horizon without stopping at a pass (${c.looks} looks in ${c.runs} runs): the runs in which the test ever ` +
                "rejected, so every rejection is a false one. A valid test stays below its level. The two comparisons with the baseline are " +
                `also run with the true traffic share (${CANARY_SHARE * 100}%) as their null probability instead of the share estimated from the request counts.`,
            "",
            "| Test | Level | Ever rejected, traffic share estimated from the counts (as the module) | Ever rejected, true traffic share |",
            "|---|---:|---:|---:|",
        );
        for (const name of FAIL_TESTS) {
            const level = SETTINGS.alpha * ALPHA_SHARES[name];
            const est = c.estimated[name] ?? 0;
            const tru = c.trueShare[name] ?? 0;
            diagnosis.push(
                `| ${name} | ${pct2(level)} | ${shareWithCi(est, c.runs)} | ${name.endsWith("-vs-baseline") ? shareWithCi(tru, c.runs) : "(no share involved)"} |`,
            );
        }
        const bounds = [...c.boundaries]
            .sort((a, b) => b[1] - a[1])
            .map(([ms, n]) => `${ms === null ? "none" : `${ms} ms`} at ${pct2(n / c.looks)} of looks`);
        diagnosis.push(
            "",
            `Latency comparison boundary (the baseline's median bucket boundary, chosen from its data): ${bounds.join(", ")}.`,
        );
    }
    const elapsed = (Date.now() - started) / 1000;
    const shown = argv.filter((a) => a !== "--write");
    const cpu = os.cpus()[0]?.model ?? "unknown CPU";
    const md = [
        "# Canary analysis benchmark",
        "",
        `Command: \`npm run bench:analysis${shown.length > 0 ? ` -- ${shown.join(" ")}` : ""}\` (${runs} runs per scenario, seed ${seed}, ${elapsed.toFixed(0)} s).`,
        `Machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()} ${os.release()}. Date: ${new Date().toISOString().slice(0, 10)}.`,
        "",
        `Streams: ${RATE_PER_S} req/s, ${CANARY_SHARE * 100}% to the canary (Poisson arrivals, ~${RATE_PER_S * CANARY_SHARE} canary req/s); baseline ` +
            `${BASELINE_ERROR_RATE * 100}% 5xx, latency log-normal (median ${BASELINE_MEDIAN_MS} ms, sigma ${LATENCY_SIGMA}) binned into Istio's buckets. ` +
            "Each run applies both rules to the same stream; scenarios share seeds.",
        "",
        `- **ours**: \`decide()\` from analysis/decide.ts (the module's own decision) every ${OUR_INTERVAL_S} s on the counts since the start, ` +
            `defaults (alpha ${SETTINGS.alpha}, beta ${SETTINGS.beta}, max-error-rate ${SETTINGS.maxErrorRate}, max-p99-ms ${SETTINGS.maxP99Ms}, ` +
            `min-requests ${SETTINGS.minRequests}, error margin ${SETTINGS.errorRateMargin}, latency margin ${SETTINGS.latencyMargin}); alpha shares ${JSON.stringify(ALPHA_SHARES)}.`,
        `- **Flagger-style**: a check every ${FLAGGER_INTERVAL_S} s on the last minute: success rate >= 99% and p99 <= ${SETTINGS.maxP99Ms} ms (no traffic fails); ` +
            `rollback at the ${FLAGGER_THRESHOLD}th failed check (failed checks are not reset by passing ones, as in Flagger), ` +
            `promotion after ${FLAGGER_PROMOTE_AFTER} passed checks (the tutorial's stepWeight 10 to maxWeight 50 needs five).`,
        `- **SPRT lower bound**: Wald's expected sample size of a simple-vs-simple SPRT that knows both rates exactly, at alpha ${SETTINGS.alpha} ` +
            `and beta ${SETTINGS.beta}, in canary requests and seconds at ${RATE_PER_S * CANARY_SHARE} canary req/s. For the healthy canary it is the ` +
            'SPRT accepting "no worse than +1 point of 5xx"; for +50% latency the SPRT on the share of requests above the baseline\'s median bucket boundary.',
        '- "To a decision": over the runs that decided either way within 30 simulated minutes; "to a rollback": over the runs rolled back ' +
            "(on the healthy scenario those are the false rollbacks).",
        "",
        ...lines,
        "",
        "## Wrong decisions, with 95% intervals",
        "",
        "The share of runs that ended in the wrong decision, with its Wilson score interval (the benchmark's own sampling error: " +
            "two rules whose intervals overlap widely are not shown to differ). For ours, the failing test(s) whose rejection rolled the canary back.",
        "",
        ...wrong,
        "",
        `Our false rollbacks on the healthy scenario (look time, counts, the rejecting test's statistic, and its e-value had the null used the true ${CANARY_SHARE * 100}% traffic share):`,
        "",
        ...(falseRollbacks.length > 0 ? falseRollbacks : ["- none"]),
        ...diagnosis,
        "",
    ].join("\n");
    printResults(md, "analysis.md", write);
    return 0;
}

process.exitCode = main(process.argv.slice(2));
