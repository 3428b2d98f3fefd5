import * as os from "node:os";
import { ALPHA_SHARES, decide, DecisionSettings, VersionCounts } from "../analysis/decide";
import { stepAlphaShare } from "../rollout/judge";
import {
    BASE_ERR,
    bucketCdf,
    countsOf,
    CURRENT,
    FIRST_STEP,
    isLook,
    kl,
    minusTotals,
    newTotals,
    PRESHIFT_S,
    ours,
    Outcome,
    Protocol,
    readCounts,
    Rule,
    Run,
    Scenario,
    SCENARIOS,
    SETTINGS,
    simulateStep,
} from "./realistic";
import { normalCdf, num, pctCell, printResults, quantile, rngFor, runsAndWrite, shareWithCi } from "./sim";
import { ISTIO_DURATION_BUCKETS_MS, normalizeBuckets } from "../analysis/histogram";
import { DEFAULT_PRIOR_SCALE } from "../analysis/sequential";

/**
 * `npm run bench:tradeoff [-- --runs N] [-- --write]`: where the canary requests of a decision go,
 * and what each way of spending fewer would cost. Issue 13 set two speed targets on the headline
 * scenario (20 req/s, 10% to the canary, baseline 0.5% 5xx): roll back +5 points of 5xx within 1.5x
 * the one-sided SPRT that knows both rates, and promote a healthy canary within 1.2x its SPRT bound.
 * This benchmark is the trade-off curve for both: every row runs on the same streams as
 * bench/realistic.ts (its simulator, its seeds), with the module's own decide() for every "ours" row
 * and the false rollbacks each variant costs beside its speed.
 *
 * The reference rules are not products: they know what no canary analysis can know (the baseline's
 * 5xx ratio, or the canary's), and show how much of the gap each piece of knowledge is worth.
 * - "SPRT knowing both rates": the one-sided SPRT of 5.5% against 0.5% on the canary's requests alone.
 * - "SPRT knowing the alternative, not the baseline": the same comparison the module makes (the
 *   canary's share of all 5xx against its share of the requests, which needs no baseline ratio),
 *   but against the one alternative share the true rates give instead of a mixture over all of them.
 * Both are simulated at the same looks as ours, so their figures include the overshoot of a
 * boundary crossed between looks, which Wald's formula leaves out.
 */

/** The first analysed step's level of errors-vs-baseline under the current defaults. */
const STEP_ALPHA = SETTINGS.alpha * stepAlphaShare(FIRST_STEP);
const LEVEL = STEP_ALPHA * ALPHA_SHARES["errors-vs-baseline"];
/** The level of issue 13's fair bound: errors-vs-baseline's share of the whole alpha. */
const FAIR_LEVEL = SETTINGS.alpha * ALPHA_SHARES["errors-vs-baseline"];

const scenario = (key: string): Scenario => {
    const s = SCENARIOS.find((x) => x.key === key);
    if (s === undefined) throw new Error(`bench:tradeoff: no scenario ${key} in bench/realistic.ts`);
    return s;
};

/** The exact counts of one version since the shift. */
function since(run: Run, which: "canary" | "baseline"): { requests: number; errors: number } {
    const d = minusTotals(run[which].totals, run.snapshots[0][which]);
    return { requests: d.requests, errors: d.errors };
}

/** Whether a reference rule looks at second `t`: at the rollout's first look, then every `everyS` seconds. */
const looksAt = (t: number, everyS: number): boolean => isLook({ firstLookS: CURRENT.firstLookS, intervalS: everyS }, t);

/** The one-sided SPRT of canary 5xx ratio p1 against p0 on the canary's requests alone, rolling back at 1/level. */
function sprtKnowingRates(p0: number, p1: number, level: number, everyS: number, run: Run): Rule {
    const up = Math.log(p1 / p0);
    const down = Math.log((1 - p1) / (1 - p0));
    return {
        label: "",
        at: (t) => {
            if (!looksAt(t, everyS)) return undefined;
            const c = since(run, "canary");
            const llr = c.errors * up + (c.requests - c.errors) * down;
            return llr >= Math.log(1 / level) ? "rollback" : undefined;
        },
    };
}

/**
 * The module's comparison with the baseline (the canary's share of 5xx against its share of the
 * requests) as a simple SPRT against the alternative share the true rates give: the best a test
 * that does not know the baseline's ratio can do on this comparison.
 */
function sprtKnowingAlternative(s: Scenario, level: number, everyS: number, run: Run): Rule {
    const share = s.weight;
    const canaryErrors = share * s.canary.errorRate;
    const alternative = canaryErrors / (canaryErrors + (1 - share) * s.baseline.errorRate);
    return {
        label: "",
        at: (t) => {
            if (!looksAt(t, everyS)) return undefined;
            const c = since(run, "canary");
            const b = since(run, "baseline");
            const events = c.errors + b.errors;
            if (events === 0 || c.requests === 0) return undefined;
            const p0 = c.requests / (c.requests + b.requests);
            const llr = c.errors * Math.log(alternative / p0) + (events - c.errors) * Math.log((1 - alternative) / (1 - p0));
            return llr >= Math.log(1 / level) ? "rollback" : undefined;
        },
    };
}

/**
 * decide() with the baseline's counts pooled with its 5 minutes before the shift: the baseline's ratio
 * "known" from its history. Valid only while the baseline's ratio does not change during the step.
 */
function oursPoolingHistory(s: Scenario, run: Run): Rule {
    const settings: DecisionSettings = { ...SETTINGS, alpha: STEP_ALPHA };
    const counting = s.counting === "exact" ? "exact" : "delta";
    return {
        label: "",
        at: (t) => {
            if (!looksAt(t, CURRENT.intervalS)) return undefined;
            const canary = readCounts(run.canary, counting, 0, t, run.snapshots[0].canary);
            const baseline: VersionCounts =
                counting === "exact" ? countsOf(run.baseline.totals) : readCounts(run.baseline, "delta", -PRESHIFT_S, t, newTotals(), true);
            const d = decide(canary, baseline, settings);
            return d.verdict === "pass" ? "promote" : d.verdict === "fail" ? "rollback" : undefined;
        },
    };
}

/** A protocol like the current one with another look interval. */
const lookingEvery = (everyS: number): Protocol => ({ ...CURRENT, intervalS: everyS });
/** The current protocol with the step's alpha given in full (the settings carry it). */
const WHOLE: Protocol = { ...CURRENT, alphaShare: () => 1 };

interface Variant {
    label: string;
    /** Built per run; undefined where the variant is not run on that scenario. */
    rule: (s: Scenario, run: Run) => Rule | undefined;
}

/** Summary of one variant's outcomes on one scenario. */
interface Summary {
    n: number;
    rolledBack: number;
    promoted: number;
    requests: number[];
}

function summarise(outcomes: Outcome[], decision: "promote" | "rollback"): Summary {
    const decided = outcomes.filter((o) => o.decision === decision);
    return {
        n: outcomes.length,
        rolledBack: outcomes.filter((o) => o.decision === "rollback").length,
        promoted: outcomes.filter((o) => o.decision === "promote").length,
        requests: decided.map((o) => o.canaryRequests).sort((a, b) => a - b),
    };
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

/** Runs every variant on `runs` streams of scenario `s` (the same streams for all). */
function runAll(s: Scenario, runs: number, variants: readonly Variant[], seed: number): (Outcome[] | undefined)[] {
    const out: (Outcome[] | undefined)[] = variants.map(() => undefined);
    for (let i = 0; i < runs; i++) {
        const used: number[] = [];
        const outcomes = simulateStep(s, rngFor(seed, i), (run) => {
            const rules: Rule[] = [];
            variants.forEach((v, j) => {
                const r = v.rule(s, run);
                if (r === undefined) return;
                used.push(j);
                rules.push(r);
            });
            return rules;
        });
        outcomes.forEach((o, k) => {
            const j = used[k];
            out[j] ??= [];
            out[j]?.push(o);
        });
    }
    return out;
}

/** Canary requests of a Wald boundary: log(1/level) / KL per canary request. */
const waldRequests = (level: number, klPerRequest: number): number => Math.log(1 / level) / klPerRequest;

/** The latency pass test's null and truth for a healthy canary, read from decide() on the expected histograms. */
function latencyPassBound(s: Scenario, beta: number): { tau: number; requests: number } {
    const big = 1e7;
    const hist = (medianMs: number, sigma: number, n: number) => {
        const raw = [
            ...bucketCdf({ medianMs, sigma }).map((p, i) => ({ le: ISTIO_DURATION_BUCKETS_MS[i], count: p * n })),
            { le: Infinity, count: n },
        ];
        const b = normalizeBuckets(raw);
        if ("problem" in b) throw new Error(`bench:tradeoff: ${b.problem}`);
        return b.buckets;
    };
    const canary = { requests: big * s.weight, errors: 0, buckets: hist(s.canary.medianMs, s.canary.sigma, big * s.weight) };
    const base = { requests: big, errors: 0, buckets: hist(s.baseline.medianMs, s.baseline.sigma, big) };
    const d = decide(canary, base, SETTINGS);
    const test = d.tests.find((t) => t.name === "latency-not-worse");
    if (test === undefined || d.latencyComparisonMs === null) throw new Error("bench:tradeoff: decide() ran no latency-not-worse test");
    const slow = 1 - normalCdf(Math.log(d.latencyComparisonMs / s.canary.medianMs) / s.canary.sigma);
    return { tau: d.latencyComparisonMs, requests: waldRequests(beta, kl(slow, test.nullProbability)) };
}

function main(argv: string[]): number {
    const args = runsAndWrite(argv, 10000, 10);
    if ("problem" in args) {
        process.stderr.write(`${args.problem}\n`);
        return 2;
    }
    const { runs, write } = args;
    const seed = 20261201;
    const started = Date.now();
    const plus5 = scenario("plus5");
    const healthy = scenario("healthy");
    const incident = scenario("shared-incident");
    // A dependency both versions call degrades at the shift and stays so: 5xx x4 in both, no spike.
    // What pooling the baseline's history gets wrong (its 5 minutes before are at the old ratio).
    const degraded: Scenario = {
        ...incident,
        key: "shared-degradation",
        name: "healthy, both versions' 5xx x4 from the shift on",
        incident: { from: 0, to: Number.MAX_SAFE_INTEGER, rateMult: 1, errorMult: 4 },
    };
    const p1 = plus5.canary.errorRate;

    // ---- part 1: rolling back +5 points ----
    const bounds = (s: Scenario) => s.key === "plus5";
    const rollbackVariants: { variant: Variant; onHealthy: boolean; onIncident: boolean }[] = [
        {
            variant: {
                label: `SPRT knowing both rates (0.5% vs 5.5%), looks every 15 s, at the first step's ${LEVEL}`,
                rule: (s, run) => (bounds(s) ? sprtKnowingRates(BASE_ERR, p1, LEVEL, 15, run) : undefined),
            },
            onHealthy: false,
            onIncident: false,
        },
        {
            variant: {
                label: `SPRT knowing both rates, looks every 15 s, at errors-vs-baseline's level ${FAIR_LEVEL} (the fair bound's)`,
                rule: (s, run) => (bounds(s) ? sprtKnowingRates(BASE_ERR, p1, FAIR_LEVEL, 15, run) : undefined),
            },
            onHealthy: false,
            onIncident: false,
        },
        {
            variant: {
                label: `SPRT knowing both rates, looks every 1 s, at ${FAIR_LEVEL}`,
                rule: (s, run) => (bounds(s) ? sprtKnowingRates(BASE_ERR, p1, FAIR_LEVEL, 1, run) : undefined),
            },
            onHealthy: false,
            onIncident: false,
        },
        {
            variant: {
                label: `SPRT knowing the alternative, not the baseline, looks every 1 s, at ${LEVEL}`,
                rule: (s, run) => (bounds(s) ? sprtKnowingAlternative(s, LEVEL, 1, run) : undefined),
            },
            onHealthy: false,
            onIncident: false,
        },
        {
            variant: {
                label: `SPRT knowing the alternative, not the baseline, looks every 15 s, at ${LEVEL}`,
                rule: (s, run) => (bounds(s) ? sprtKnowingAlternative(s, LEVEL, 15, run) : undefined),
            },
            onHealthy: false,
            onIncident: false,
        },
        {
            variant: { label: "**ours, current defaults** (looks every 15 s)", rule: (s, run) => ours(CURRENT, s, run) },
            onHealthy: true,
            onIncident: true,
        },
        {
            variant: { label: "ours, looks every 5 s (needs a 5 s scrape)", rule: (s, run) => ours(lookingEvery(5), s, run) },
            onHealthy: true,
            onIncident: false,
        },
        {
            variant: { label: "ours, looks every 1 s (needs a 1 s scrape)", rule: (s, run) => ours(lookingEvery(1), s, run) },
            onHealthy: false,
            onIncident: false,
        },
        ...[2, 4, 8, 16].map((f) => ({
            variant: {
                label: `ours, the step spends alpha ${Number((STEP_ALPHA * f).toPrecision(3))} (${f}x its share ${STEP_ALPHA})`,
                rule: (s: Scenario, run: Run) => ours(WHOLE, s, run, FIRST_STEP, { ...SETTINGS, alpha: STEP_ALPHA * f }),
            },
            onHealthy: true,
            onIncident: true,
        })),
        ...[1, 2.5].map((scale) => ({
            variant: {
                label: `ours, the mixture's prior scale ${scale} (default ${DEFAULT_PRIOR_SCALE})`,
                rule: (s: Scenario, run: Run) => ours(CURRENT, s, run, FIRST_STEP, { ...SETTINGS, priorScale: scale }),
            },
            onHealthy: true,
            onIncident: false,
        })),
        {
            variant: { label: "ours, baseline pooled with its 5 minutes before the shift", rule: (s, run) => oursPoolingHistory(s, run) },
            onHealthy: true,
            onIncident: true,
        },
    ];
    const CURRENT_ROW = rollbackVariants.findIndex((v) => v.variant.label.startsWith("**ours, current defaults**"));
    const log = (what: string): void => {
        if (process.stderr.isTTY) process.stderr.write(`bench: ${what}...\n`);
    };
    const incidentRuns = Math.max(10, Math.round(runs / 5));
    log(`+5 pt (${runs} runs)`);
    const onPlus5 = runAll(
        plus5,
        runs,
        rollbackVariants.map((v) => v.variant),
        seed,
    );
    log(`healthy (${runs} runs)`);
    const healthyRollbackVariants = rollbackVariants.map((v) => ({ ...v.variant, rule: v.onHealthy ? v.variant.rule : () => undefined }));
    // ---- part 2: promoting a healthy canary, by maxErrorRate ----
    const limits = [0.01, 0.015, 0.02, 0.05];
    const limitVariants: Variant[] = limits.slice(1).map((limit) => ({
        label: `maxErrorRate ${limit * 100}%`,
        rule: (s, run) => ours(CURRENT, s, run, FIRST_STEP, { ...SETTINGS, maxErrorRate: limit }),
    }));
    const onHealthy = runAll(healthy, runs, [...healthyRollbackVariants, ...limitVariants], seed);
    log(`shared incident (${incidentRuns} runs)`);
    const incidentVariants = rollbackVariants.map((v) => ({ ...v.variant, rule: v.onIncident ? v.variant.rule : () => undefined }));
    const onIncident = runAll(incident, incidentRuns, incidentVariants, seed);
    log(`shared degradation (${incidentRuns} runs)`);
    const onDegraded = runAll(degraded, incidentRuns, incidentVariants, seed);

    const fair = waldRequests(FAIR_LEVEL, kl(p1, BASE_ERR));
    const target = 1.5 * fair;
    const canaryRate = plus5.rps * plus5.weight;
    const errorsPerCanaryRequest = (plus5.weight * p1 + (1 - plus5.weight) * BASE_ERR) / plus5.weight;
    const altShare = (plus5.weight * p1) / (plus5.weight * p1 + (1 - plus5.weight) * BASE_ERR);
    const klConditional = errorsPerCanaryRequest * kl(altShare, plus5.weight);
    const rollbackRows: string[] = [
        "| Rule | Rolled back | Canary requests to the rollback, median / p95 (mean) | Mean / the fair bound | Healthy canaries rolled back (95% Wilson) | Healthy: mean canary requests to the promotion | Healthy, shared incident, rolled back (95% Wilson) | Healthy, both versions' 5xx x4 from the shift, rolled back (95% Wilson) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        `| Wald: one-sided SPRT knowing both rates at errors-vs-baseline's level ${FAIR_LEVEL} (**the fair bound** of issue 13) | | ${num(fair)} (expected) | 1.00 | | | | |`,
        `| Wald: the same at the first step's level ${LEVEL} (half the rollout's alpha) | | ${num(waldRequests(LEVEL, kl(p1, BASE_ERR)))} (expected) | ${(waldRequests(LEVEL, kl(p1, BASE_ERR)) / fair).toFixed(2)} | | | | |`,
        `| Wald: SPRT knowing the alternative, not the baseline (the module's comparison), at ${LEVEL} | | ${num(waldRequests(LEVEL, klConditional))} (expected) | ${(waldRequests(LEVEL, klConditional) / fair).toFixed(2)} | | | | |`,
    ];
    rollbackVariants.forEach((v, j) => {
        const a = summarise(onPlus5[j] ?? [], "rollback");
        const h = onHealthy[j];
        const inc = onIncident[j];
        const deg = onDegraded[j];
        const wrong = (o: Outcome[] | undefined): string =>
            o === undefined ? "" : shareWithCi(o.filter((x) => x.decision === "rollback").length, o.length);
        rollbackRows.push(
            `| ${v.variant.label} | ${pctCell(a.rolledBack / a.n)} | ${num(quantile(a.requests, 0.5))} / ${num(quantile(a.requests, 0.95))} (${num(mean(a.requests))}) | ` +
                `${(mean(a.requests) / fair).toFixed(2)} | ${wrong(h)} | ${h === undefined ? "" : num(mean(summarise(h, "promote").requests))} | ${wrong(inc)} | ${wrong(deg)} |`,
        );
    });

    // Healthy: the bound of each pass requirement, and ours by maxErrorRate.
    const beta = SETTINGS.beta;
    const notWorse = waldRequests(beta, kl(BASE_ERR, BASE_ERR + SETTINGS.errorRateMargin));
    const latency = latencyPassBound(healthy, beta);
    const promotionRows: string[] = [
        "| maxErrorRate | Promoted (95% Wilson) | Canary requests to the promotion, median / p95 (mean) | errors-within-limit's bound | The slowest requirement's bound | Mean / that bound |",
        "|---|---:|---:|---:|---:|---:|",
    ];
    limits.forEach((limit, k) => {
        // The default limit is the "ours, current defaults" row's runs.
        const o = (k === 0 ? onHealthy[CURRENT_ROW] : onHealthy[rollbackVariants.length + k - 1]) ?? [];
        const a = summarise(o, "promote");
        const within = waldRequests(beta, kl(BASE_ERR, limit));
        const slowest = Math.max(notWorse, within, latency.requests);
        promotionRows.push(
            `| ${limit * 100}%${limit === SETTINGS.maxErrorRate ? " (default)" : ""} | ${shareWithCi(a.promoted, a.n)} | ${num(quantile(a.requests, 0.5))} / ${num(quantile(a.requests, 0.95))} (${num(mean(a.requests))}) | ` +
                `${num(within)} | ${num(slowest)} | ${(mean(a.requests) / slowest).toFixed(2)} |`,
        );
    });

    const elapsed = (Date.now() - started) / 1000;
    const shown = argv.filter((a) => a !== "--write");
    const md = [
        "# Trade-off: canary requests against guarantees",
        "",
        `Command: \`nice npm run bench:tradeoff${shown.length > 0 ? ` -- ${shown.join(" ")}` : ""}\` (seed ${seed}, ${elapsed.toFixed(0)} s).`,
        `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores (shared), Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}.`,
        "",
        `Streams: bench/realistic.ts's headline scenarios (${plus5.rps} req/s, ${plus5.weight * 100}% to the canary, baseline ${BASE_ERR * 100}% 5xx, exact counts), ${runs} runs each,`,
        `its shared incident (5x traffic and 4x 5xx in both versions from 90 to 150 s, 15 s scrape, counter deltas) and the same stream with both versions'`,
        `5xx four times as frequent from the shift on (a dependency both call degrading), ${incidentRuns} runs each; the same seeds as bench:realistic,`,
        'every row on the same streams. "ours" is analysis/decide.ts under the rollout\'s protocol (first look 1 s after the shift; the first of',
        `three analysed steps, which spends half of alpha ${SETTINGS.alpha}); the reference rules know what no analysis can and are bounds, not products.`,
        "",
        `## Rolling back +5 points of 5xx (target: a mean within 1.5x the fair bound, ${num(target)} canary requests)`,
        "",
        ...rollbackRows,
        "",
        `At ${canaryRate} canary req/s, 30 canary requests are 15 s.`,
        "",
        "## Promoting a healthy canary, by the absolute limit (target: a mean within 1.2x its SPRT bound)",
        "",
        `A pass needs every requirement at beta ${beta}; each requirement's bound is Wald's log(1/beta) / KL for a test that knows both rates:`,
        `errors-not-worse (below the baseline + ${SETTINGS.errorRateMargin * 100} point) ${num(notWorse)}, latency-not-worse (the share above ${latency.tau} ms) ${num(latency.requests)},`,
        "errors-within-limit as in the table (p99-within-limit is far faster at this latency). No rule that needs them all can beat the slowest.",
        "",
        ...promotionRows,
        "",
    ].join("\n");
    printResults(md, "tradeoff.md", write);
    return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
