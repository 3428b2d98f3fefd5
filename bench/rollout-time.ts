import * as fs from "node:fs";
import * as os from "node:os";
import { decide, VersionCounts } from "../analysis/decide";
import { histogramQuantile } from "../analysis/histogram";
import { ANALYSIS_DEFAULTS } from "../analysis/options";
import { DEFAULTS } from "../config/defaults";
import { RolloutEngine } from "../rollout/engine";
import { analysisOptions, JudgeSettings } from "../rollout/judge";
import { RolloutPlan } from "../rollout/plan";
import { CanaryJudge, Judgement } from "../rollout/types";
import { Weights } from "../rollout/weights";
import { RecordingTarget, SnapshotStore, VirtualClock } from "../test/rollout/fakes";
import {
    argo,
    baseline,
    BASE_ERR,
    copyTotals,
    countsOf,
    healthy,
    minusTotals,
    ratioOk,
    Run,
    Scenario,
    SCRAPE_S,
    Side,
    Totals,
    VersionSpec,
    windowCounts,
} from "./realistic";
import { num, printResults, quantile, rngFor, runsAndWrite } from "./sim";

/**
 * `npm run bench:rollout-time [-- --runs N] [-- --write]`: the wall time of a whole rollout, in
 * virtual seconds, simulated end to end through the real engine (rollout/engine.ts with the virtual
 * clock and the recording target of test/rollout/fakes.ts) and the real decision (analysis/decide.ts,
 * with the alpha share and options rollout/judge.ts gives each step), against Flagger's tutorial
 * settings and an Argo Rollouts canary with background analysis on streams of the same seeds.
 *
 * The stream is bench/realistic.ts's (Poisson arrivals one second at a time, log-normal latency in
 * Istio's buckets, independent 5xx); the judge reads the exact counts since the step's shift (what
 * the module's counter deltas reproduce on scraped series, bench/results/realistic.md). The canary's
 * share follows the weights the engine applied. What is not simulated: the analysis's traffic-share
 * and freshness checks (analyze.ts, around decide()), Prometheus, and `pulumi up` itself (the fake
 * apply takes no virtual time; the measured time of a real one is added in a separate column).
 */

/** Total requests per second of both versions. */
const RPS = 20;
/** A bad canary: +5 points of 5xx. */
const BAD_ERR = BASE_ERR + 0.05;
/** A run still undecided after this many seconds counts as undecided. */
const HORIZON_S = 6 * 3600;

/**
 * One real targeted `pulumi up` of a weight shift, and a rollback decision to the API server holding
 * 100/0, as the e2e tier measured them through `istio-canary rollout` on this machine with the
 * compiled policy pack (docs/verification.md, "Measured on the real engine", the run of 2026-12-01
 * 15:59 UTC at load 1.5-1.7, medians of 3; README quotes the same figures). Before the compiled
 * pack: 7.57 s and 7.63 s.
 */
const REAL_SHIFT_S = 6.04;
const REAL_ROLLBACK_S = 5.82;

/** Which stream a run sees: a healthy canary, or one bad (+5 pt) from the first shift to at least `badFrom`% on. */
interface Case {
    label: string;
    badFrom?: number;
}

/** One run's outcome. */
interface Result {
    outcome: "completed" | "rolled-back" | "undecided";
    seconds: number;
    /** Traffic changes applied (shifts, promotion, rollback). */
    shifts: number;
    rollbacks: number;
}

/** The simulated mesh of one run: both versions' traffic, second by second, at the canary share in force. */
class Mesh {
    t = 0;
    share = 0;
    readonly run: Run;
    private readonly canarySpec: VersionSpec;

    constructor(
        rand: () => number,
        private readonly badFrom: number | undefined,
    ) {
        this.canarySpec = { ...healthy };
        this.run = { canary: new Side(this.canarySpec, rand), baseline: new Side(baseline, rand), snapshots: [] };
        this.snapshot();
    }

    /** Sets the canary's weight (percent); a bad case turns bad once the weight reaches `badFrom`. */
    route(weight: number): void {
        this.share = weight / 100;
        if (this.badFrom !== undefined && weight >= this.badFrom) this.canarySpec.errorRate = BAD_ERR;
    }

    /** Simulates traffic up to second `until`. */
    advanceTo(until: number): void {
        while (this.t < until) {
            this.t++;
            this.run.canary.second(this.t, RPS * this.share, 1);
            this.run.baseline.second(this.t, RPS * (1 - this.share), 1);
            if (this.t % SCRAPE_S === 0) this.snapshot();
        }
    }

    totals(): { canary: Totals; baseline: Totals } {
        return { canary: copyTotals(this.run.canary.totals), baseline: copyTotals(this.run.baseline.totals) };
    }

    private snapshot(): void {
        this.run.snapshots.push(this.totals());
    }
}

/** The seconds of the virtual clock since the run began. */
const secondsOf = (clock: VirtualClock, t0: number): number => Math.floor((clock.now() - t0) / 1000);

/** A recording target whose applied weights become the mesh's split, the counts marked at each shift. */
class MeshTarget extends RecordingTarget {
    /** Totals and second of the last applied shift. */
    shiftMark: { t: number; totals: { canary: Totals; baseline: Totals } } | undefined;

    constructor(
        private readonly mesh: Mesh,
        private readonly clock: VirtualClock,
        private readonly t0: number,
    ) {
        super({ v1: 100, v2: 0 });
    }

    async applyWeights(weights: Weights, scope?: "virtual-service" | "stack"): Promise<void> {
        this.mesh.advanceTo(secondsOf(this.clock, this.t0));
        await super.applyWeights(weights, scope);
        this.mesh.route(this.weights.v2 ?? 0);
        this.shiftMark = { t: this.mesh.t, totals: this.mesh.totals() };
    }
}

const JUDGE_SETTINGS: JudgeSettings = {
    prometheusUrl: "http://127.0.0.1:9090",
    service: "bench.default.svc.cluster.local",
    maxErrorRate: DEFAULTS.rollout.maxErrorRate,
    maxP99Ms: DEFAULTS.rollout.maxP99Ms,
    minRequests: DEFAULTS.rollout.minRequests,
    reporter: DEFAULTS.rollout.reporter,
};

/** A judge that builds the analysis input from the mesh's traffic since the step's shift and calls decide(). */
class SimulatedJudge implements CanaryJudge {
    constructor(
        private readonly mesh: Mesh,
        private readonly target: MeshTarget,
        private readonly clock: VirtualClock,
        private readonly t0: number,
    ) {}

    async judge(input: Parameters<CanaryJudge["judge"]>[0]): Promise<Judgement> {
        const now = secondsOf(this.clock, this.t0);
        this.mesh.advanceTo(now);
        const mark = this.target.shiftMark;
        if (mark === undefined || Math.abs(now - input.sinceSeconds - mark.t) > 1) {
            throw new Error(`bench: the engine's window (${input.sinceSeconds} s before ${now} s) is not the last shift (${mark?.t} s)`);
        }
        const since = this.mesh.totals();
        const canary = countsOf(minusTotals(since.canary, mark.totals.canary));
        const base = countsOf(minusTotals(since.baseline, mark.totals.baseline));
        const o = analysisOptions(JUDGE_SETTINGS, input);
        const d = decide(canary, base, {
            maxErrorRate: o.maxErrorRate ?? ANALYSIS_DEFAULTS.maxErrorRate,
            maxP99Ms: o.maxP99Ms ?? ANALYSIS_DEFAULTS.maxP99Ms,
            minRequests: o.minRequests ?? ANALYSIS_DEFAULTS.minRequests,
            alpha: o.alpha ?? ANALYSIS_DEFAULTS.alpha,
            beta: ANALYSIS_DEFAULTS.beta,
            errorRateMargin: ANALYSIS_DEFAULTS.errorRateMargin,
            latencyMargin: ANALYSIS_DEFAULTS.latencyMargin,
        });
        const stats = (version: string, c: VersionCounts) => ({
            version,
            requests: c.requests,
            errors: c.errors,
            errorRate: c.requests === 0 ? null : c.errors / c.requests,
            p99Ms: c.buckets === null ? null : histogramQuantile(0.99, c.buckets),
        });
        return { verdict: d.verdict, canary: stats(input.canary, canary), baseline: stats(input.baseline, base), reasons: d.reasons };
    }
}

const PLAN: RolloutPlan = {
    stack: "bench",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 3 },
        { name: "v2", image: "myapp:v2", replicas: 2 },
    ],
    steps: [...DEFAULTS.rollout.steps],
    waitSeconds: DEFAULTS.rollout.waitSeconds,
    analysisIntervalSeconds: DEFAULTS.rollout.analysisIntervalSeconds,
    maxStepRequests: DEFAULTS.rollout.maxStepRequests,
    maxStepSeconds: DEFAULTS.rollout.maxStepSeconds,
};

/** Ours: the real engine and decision on the default plan. */
async function oursRollout(rand: () => number, c: Case): Promise<Result> {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const mesh = new Mesh(rand, c.badFrom);
    const target = new MeshTarget(mesh, clock, t0);
    const store = new SnapshotStore();
    try {
        const engine = new RolloutEngine({ target, judge: new SimulatedJudge(mesh, target, clock, t0), store, clock });
        const outcome = await engine.start(PLAN);
        const seconds = (clock.now() - t0) / 1000;
        const applies = target.calls.filter((x) => x.kind === "apply" && x.ok);
        const rollbacks = outcome.kind === "rolled-back" ? 1 : 0;
        if (outcome.kind !== "completed" && outcome.kind !== "rolled-back") {
            throw new Error(`bench: the engine ended ${outcome.kind}: ${outcome.message}`);
        }
        return { outcome: outcome.kind, seconds, shifts: applies.length - rollbacks, rollbacks };
    } finally {
        fs.rmSync(store.dir, { recursive: true, force: true });
    }
}

/** The Scenario the realistic rules read (exact counts). */
const EXACT: Scenario = {
    key: "rollout-time",
    name: "",
    right: "promote",
    rps: RPS,
    weight: 0.1,
    counting: "exact",
    canary: healthy,
    baseline,
    runs: 0,
};

/**
 * Flagger's tutorial: stepWeight 10, maxWeight 50, interval 1m, threshold 5. Each check (bench/realistic.ts's
 * ratioOk on the last minute) that passes moves the weight up 10; the check that passes at 50% promotes;
 * the 5th failed check rolls back. Promotion itself (the primary's rollout) is not counted.
 */
function flaggerRollout(rand: () => number, c: Case): Result {
    const mesh = new Mesh(rand, c.badFrom);
    let weight = 10;
    let shifts = 1;
    let failed = 0;
    mesh.route(weight);
    for (let t = 60; t <= HORIZON_S; t += 60) {
        mesh.advanceTo(t);
        if (!ratioOk(windowCounts(EXACT, mesh.run, "canary", t, 60))) {
            failed++;
            if (failed >= 5) return { outcome: "rolled-back", seconds: t, shifts, rollbacks: 1 };
        } else if (weight >= 50) {
            return { outcome: "completed", seconds: t, shifts: shifts + 1, rollbacks: 0 };
        } else {
            weight += 10;
            shifts++;
            mesh.route(weight);
        }
    }
    return { outcome: "undecided", seconds: HORIZON_S, shifts, rollbacks: 0 };
}

/** Argo Rollouts: setWeight 20, 40, 60, 80, each followed by a 10 m pause; background analysis from setWeight 40 (startingStep 2). */
const ARGO_WEIGHTS = [20, 40, 60, 80];
const ARGO_PAUSE_S = 600;

/** The Argo canary, its background analysis bench/realistic.ts's argo() rule (interval 5m, count 5, failureLimit 3). */
function argoRollout(rand: () => number, c: Case): Result {
    const mesh = new Mesh(rand, c.badFrom);
    const analysis = argo(EXACT, mesh.run);
    let analysing = false;
    let done = false;
    const end = ARGO_WEIGHTS.length * ARGO_PAUSE_S;
    for (let t = 0; t <= end; t++) {
        mesh.advanceTo(t);
        if (t % ARGO_PAUSE_S === 0) {
            const i = t / ARGO_PAUSE_S;
            if (i === ARGO_WEIGHTS.length) return { outcome: "completed", seconds: t, shifts: ARGO_WEIGHTS.length + 1, rollbacks: 0 };
            mesh.route(ARGO_WEIGHTS[i]);
            if (i === 1) analysing = true;
        }
        if (analysing && !done) {
            const d = analysis.at(t);
            if (d === "rollback") return { outcome: "rolled-back", seconds: t, shifts: Math.floor(t / ARGO_PAUSE_S) + 1, rollbacks: 1 };
            if (d === "promote") done = true;
        }
    }
    return { outcome: "undecided", seconds: end, shifts: ARGO_WEIGHTS.length, rollbacks: 0 };
}

function summarise(rule: string, c: Case, results: Result[], pulumi: boolean): string {
    const n = results.length;
    const count = (o: Result["outcome"]) => results.filter((r) => r.outcome === o).length;
    const secs = results.map((r) => r.seconds).sort((a, b) => a - b);
    const real = results.map((r) => r.seconds + r.shifts * REAL_SHIFT_S + r.rollbacks * REAL_ROLLBACK_S).sort((a, b) => a - b);
    const cell = (xs: number[]) => `${num(quantile(xs, 0.5))} / ${num(quantile(xs, 0.95))}`;
    return (
        `| ${c.label} | ${rule} | ${count("completed")} / ${count("rolled-back")} / ${count("undecided")} of ${n} | ` +
        `${cell(secs)} | ${pulumi ? cell(real) : "n/a (an in-cluster controller applies)"} |`
    );
}

async function main(argv: string[]): Promise<number> {
    const args = runsAndWrite(argv, 200, 1);
    if ("problem" in args) {
        process.stderr.write(`${args.problem}\n`);
        return 2;
    }
    const { runs, write } = args;
    const seed = 20261201;
    const started = Date.now();
    const analysed = PLAN.steps.filter((w) => w < 100);
    const cases: Case[] = [{ label: "healthy" }, ...analysed.map((w) => ({ label: `+5 pt 5xx from ${w}% on`, badFrom: w }))];
    const rows = [
        "| Canary | Rule | Completed / rolled back / undecided | Virtual seconds, median / p95 | With a real `pulumi up` per change, median / p95 |",
        "|---|---|---:|---:|---:|",
    ];
    for (const c of cases) {
        if (process.stderr.isTTY) process.stderr.write(`bench: ${c.label} (${runs} runs)...\n`);
        const ours: Result[] = [];
        const fl: Result[] = [];
        const ar: Result[] = [];
        for (let i = 0; i < runs; i++) {
            // Common random numbers: every rule's stream is drawn from the same seed of run i.
            ours.push(await oursRollout(rngFor(seed, i), c));
            fl.push(flaggerRollout(rngFor(seed, i), c));
            ar.push(argoRollout(rngFor(seed, i), c));
        }
        rows.push(summarise(`ours (engine + decide(), steps ${PLAN.steps.join(", ")})`, c, ours, true));
        rows.push(summarise("Flagger tutorial (1 m, threshold 5, step 10 to 50)", c, fl, false));
        rows.push(summarise("Argo (20/40/60/80, pause 10 m, analysis 5 m from 40%)", c, ar, false));
    }
    const elapsed = (Date.now() - started) / 1000;
    const shown = argv.filter((a) => a !== "--write");
    const md = [
        "# A whole rollout's wall time",
        "",
        `Command: \`nice npm run bench:rollout-time${shown.length > 0 ? ` -- ${shown.join(" ")}` : ""}\` (seed ${seed}, ${runs} runs per canary, ${elapsed.toFixed(0)} s).`,
        `Machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores (shared), Node ${process.version}. Date: ${new Date().toISOString().slice(0, 10)}.`,
        "",
        `Traffic: ${RPS} req/s in total, baseline ${BASE_ERR * 100}% 5xx; a bad canary has ${BAD_ERR * 100}% from the first time the rule routes at least the`,
        "named weight to it (before that it is healthy). Counts are exact (bench/rollout-time.ts's module comment).",
        "",
        `- **ours**: rollout/engine.ts on the default plan (steps ${PLAN.steps.join(", ")}, waitSeconds ${PLAN.waitSeconds}, analysisIntervalSeconds ${PLAN.analysisIntervalSeconds},`,
        `  maxStepRequests ${PLAN.maxStepRequests}, maxStepSeconds ${PLAN.maxStepSeconds}), a virtual clock, a recording target, and a judge calling`,
        "  analysis/decide.ts with rollout/judge.ts's per-step alpha. The step at 100% is not analysed: a canary bad only from 100% on completes, with every rule.",
        "- **Flagger tutorial**: interval 1m, threshold 5, stepWeight 10, maxWeight 50; the check is bench/realistic.ts's (success rate >= 99% and p99 <= 200 ms over the",
        "  last minute); a passed check moves the weight up 10, the one passed at 50% promotes, the 5th failed check rolls back.",
        "- **Argo**: canary steps setWeight 20, pause 10m, setWeight 40, pause 10m, 60, pause 10m, 80, pause 10m (the shape of the background-analysis example of",
        "  Argo Rollouts' analysis docs; a pause of 1 m would end the rollout before a 5 m analysis measures anything), background analysis from setWeight 40",
        "  (startingStep 2) with bench/realistic.ts's Argo-style template (interval 5m, count 5, failureLimit 3, same conditions).",
        `- **With a real \`pulumi up\`**: each applied change plus ${REAL_SHIFT_S} s per shift and ${REAL_ROLLBACK_S} s per rollback, the medians the e2e tier measured`,
        '  through `istio-canary rollout` on this machine under load (docs/verification.md, "Measured on the real engine"). Flagger and Argo apply in the cluster.',
        "",
        ...rows,
        "",
    ].join("\n");
    printResults(md, "rollout-time.md", write);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (e: unknown) => {
            process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
            process.exitCode = 1;
        },
    );
}
