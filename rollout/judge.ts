/**
 * The CanaryJudge backed by the analysis module (analysis/, issue 4): one `analyze` call per
 * judgement, over the time since the step's traffic shift.
 *
 * Window: the analysis's sequential tests are valid however often they are repeated on counts that
 * keep growing, so each analysis of a step covers the whole step so far (`window` = seconds since
 * the shift, e.g. "95s"), never a sliding window. There is no config cap on it: a cap would
 * turn later looks into sliding windows and void the tests' error guarantees. It is capped at the
 * analysis's 30-day maximum only.
 *
 * Weights: when the engine passes the weights it applied for the step, the judge gives the analysis
 * the canary's expected share of the traffic, so a canary that gets much less than its weight (pods
 * not serving, traffic that bypasses the route) is never passed on old or foreign counts.
 *
 * Alpha across the steps: the false-rollback rate alpha (the analysis's default, 2%) is the
 * rollout's, not each step's: analysed step i of n gets alpha * 2^-(i+1), the last one what is left
 * (1/2, 1/4, 1/4 of alpha for the default steps 10, 25, 50; 1/2, 1/4, 1/8, 1/8 for four). The shares
 * sum to 1, so a healthy canary is rolled back with probability at most alpha over the whole rollout
 * (a union bound over the steps). The first step gets the most because a bad canary is bad from the
 * start: most regressions are caught there, and there the alpha buys the most speed.
 *
 * Deadline: every judgement ends within `deadlineMs`. The analysis bounds each query by its own
 * total deadline; this one bounds everything else (a bug, a lookup that hangs), so a step can never
 * hang forever. A judgement past its deadline is inconclusive, never a pass.
 */
import { MAX_WINDOW_SECONDS } from "../analysis/options";
import { AnalysisOptions, AnalysisResult, ANALYSIS_DEFAULTS, analyze, validateAnalysisOptions } from "../analysis";
import { CanaryJudge, Judgement, StepPosition } from "./types";
import { Weights } from "./weights";

/** Analysis settings of a rollout, from the stack's `rollout` config. */
export interface JudgeSettings {
    /** Prometheus base URL (rollout.prometheusUrl). */
    prometheusUrl: string;
    /** Istio `destination_service` of the app: `<app.name>.<app.namespace>.svc.cluster.local`. */
    service: string;
    /** rollout.maxErrorRate. */
    maxErrorRate: number;
    /** rollout.maxP99Ms. */
    maxP99Ms: number;
    /** rollout.minRequests. */
    minRequests: number;
    /** rollout.reporter. */
    reporter: string;
    /** Each version has a Service of its own (routing.api gateway-api); default false. */
    perVersionServices?: boolean;
    /**
     * The stack keeps users the canary served on it (routing.stickyCanary); default false. The weights
     * then do not give the canary's share of requests (sticky users add to it, step by step), so the
     * judge passes no expected share: the share tests would hold a healthy canary for the baseline's
     * shrinking share. The freshness check still compares against the window's own share.
     */
    stickyCanary?: boolean;
    /** Prometheus's scrape interval of Istio's metrics in seconds (rollout.analysisIntervalSeconds); default the analysis's (15). */
    scrapeIntervalSeconds?: number;
    /** Total deadline per Prometheus query in ms; default: the analysis's (10 s). */
    timeoutMs?: number;
    /**
     * Total deadline of one judgement in ms; default twice the query deadline plus 5 s (the analysis
     * runs two rounds of parallel queries, each bounded by the query deadline).
     */
    deadlineMs?: number;
}

/** What the judge is asked: the engine's input, and the weights applied for the step when it passes them. */
export interface JudgeInput {
    /** Baseline version. */
    baseline: string;
    /** Canary version. */
    canary: string;
    /** Seconds since the step's traffic shift: the window analysed. */
    sinceSeconds: number;
    /** The weights the rollout applied for the step, by version; optional. */
    weights?: Weights;
    /** Which analysed step this is; without it the step gets the whole alpha. */
    step?: StepPosition;
}

/** A {@link CanaryJudge} that also takes the applied weights. */
export interface AnalysisJudge extends CanaryJudge {
    /** Judges the step; resolves within the judge's deadline. */
    judge(input: JudgeInput): Promise<Judgement>;
}

/** The judge's deadline in ms for these settings. */
export function judgeDeadlineMs(settings: JudgeSettings): number {
    return settings.deadlineMs ?? 2 * (settings.timeoutMs ?? ANALYSIS_DEFAULTS.timeoutMs) + 5000;
}

/**
 * The canary's expected share of the requests of canary and baseline under these weights, or
 * undefined when the weights do not give one strictly between 0 and 1 (then nothing is compared).
 */
export function expectedCanaryShare(weights: Weights | undefined, baseline: string, canary: string): number | undefined {
    if (weights === undefined) return undefined;
    const c = weights[canary];
    const b = weights[baseline];
    if (typeof c !== "number" || typeof b !== "number" || !(c >= 0 && b >= 0) || c + b <= 0) return undefined;
    const share = c / (c + b);
    return share > 0 && share < 1 ? share : undefined;
}

/**
 * The share of the rollout's alpha that analysed step `index` (0-based) of `of` spends: 2^-(index+1),
 * the last step 2^-(of-1), so the shares of all steps sum to 1 (see the module comment). Pure.
 */
export function stepAlphaShare(step: StepPosition | undefined): number {
    if (step === undefined || step.of <= 1) return 1;
    const i = Math.min(Math.max(0, Math.floor(step.index)), step.of - 1);
    return i === step.of - 1 ? Math.pow(2, -(step.of - 1)) : Math.pow(2, -(i + 1));
}

/** The analysis options for one judgement. */
export function analysisOptions(settings: JudgeSettings, input: JudgeInput): AnalysisOptions {
    const seconds = Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.ceil(input.sinceSeconds)));
    const share = settings.stickyCanary === true ? undefined : expectedCanaryShare(input.weights, input.baseline, input.canary);
    return {
        prometheusUrl: settings.prometheusUrl,
        service: settings.service,
        baseline: input.baseline,
        canary: input.canary,
        window: `${seconds}s`,
        maxErrorRate: settings.maxErrorRate,
        maxP99Ms: settings.maxP99Ms,
        minRequests: settings.minRequests,
        reporter: settings.reporter,
        timeoutMs: settings.timeoutMs,
        alpha: ANALYSIS_DEFAULTS.alpha * stepAlphaShare(input.step),
        ...(settings.scrapeIntervalSeconds === undefined ? {} : { scrapeIntervalSeconds: settings.scrapeIntervalSeconds }),
        ...(settings.perVersionServices === true ? { perVersionServices: true } : {}),
        ...(share === undefined ? {} : { expectedCanaryShare: share }),
    };
}

/**
 * Problems with the settings, named by their config keys, before anything runs (empty when valid).
 * The analysis would otherwise reject them at the first step, after a traffic shift.
 */
export function checkJudgeSettings(settings: JudgeSettings, baseline: string, canary: string): string[] {
    const d = settings.deadlineMs;
    const deadline =
        d === undefined || (Number.isInteger(d) && d >= 1)
            ? []
            : [`deadlineMs: ${String(d)} is not allowed; expected whole milliseconds >= 1, e.g. 25000`];
    return [
        ...deadline,
        ...validateAnalysisOptions(analysisOptions(settings, { baseline, canary, sinceSeconds: 60 }), {
            prometheusUrl: "istio-canary:rollout.prometheusUrl",
            maxErrorRate: "istio-canary:rollout.maxErrorRate",
            maxP99Ms: "istio-canary:rollout.maxP99Ms",
            minRequests: "istio-canary:rollout.minRequests",
            reporter: "istio-canary:rollout.reporter",
            service: "service (from istio-canary:app)",
            baseline: "baseline (istio-canary:versions[0].name)",
            canary: "canary (istio-canary:versions[1].name)",
        }),
    ];
}

/** An AnalysisResult as the engine stores it: verdict, both versions, reasons, and the rest as evidence. */
export function toJudgement(result: AnalysisResult): Judgement {
    const { verdict, canary, baseline, reasons, ...evidence } = result;
    return { verdict, canary, baseline, reasons, evidence };
}

/** The inconclusive judgement of an analysis that missed the judge's deadline. */
function lateJudgement(input: JudgeInput, deadlineMs: number): Judgement {
    const empty = (version: string) => ({ version, requests: 0, errors: 0, errorRate: null, p99Ms: null });
    return {
        verdict: "inconclusive",
        baseline: empty(input.baseline),
        canary: empty(input.canary),
        reasons: [`the analysis did not finish within ${deadlineMs} ms (the judge's deadline): no verdict, never a pass`],
    };
}

/** A judge that runs the analysis module against Prometheus, each judgement within its deadline. */
export function analysisJudge(settings: JudgeSettings, run: (o: AnalysisOptions) => Promise<AnalysisResult> = analyze): AnalysisJudge {
    const deadlineMs = judgeDeadlineMs(settings);
    return {
        judge: async (input) => {
            let timer: NodeJS.Timeout | undefined;
            const late = new Promise<Judgement>((resolve) => {
                timer = setTimeout(() => resolve(lateJudgement(input, deadlineMs)), deadlineMs);
            });
            try {
                return await Promise.race([run(analysisOptions(settings, input)).then(toJudgement), late]);
            } finally {
                clearTimeout(timer);
            }
        },
    };
}
