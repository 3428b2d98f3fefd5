/**
 * The CanaryJudge backed by the analysis module (analysis/, issue 4): one `analyze` call per
 * judgement, over the time since the step's traffic shift.
 *
 * Window: the analysis's sequential tests are valid however often they are repeated on counts that
 * keep growing, so each analysis of a step covers the whole step so far (`window` = seconds since
 * the shift, e.g. "95s"), never a sliding window. There is no config cap on it: a cap would
 * turn later looks into sliding windows and void the tests' error guarantees. It is capped at the
 * analysis's 30-day maximum only.
 */
import { AnalysisOptions, AnalysisResult, analyze, validateAnalysisOptions } from "../analysis";
import { CanaryJudge, Judgement } from "./types";

/** Longest window the analysis accepts (30 days). */
const MAX_WINDOW_SECONDS = 30 * 24 * 3600;

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
    /** HTTP timeout per Prometheus query in ms; default: the analysis's (10 s). */
    timeoutMs?: number;
}

/** The analysis options for one judgement. */
export function analysisOptions(
    settings: JudgeSettings,
    input: { baseline: string; canary: string; sinceSeconds: number },
): AnalysisOptions {
    const seconds = Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.ceil(input.sinceSeconds)));
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
    };
}

/**
 * Problems with the settings, named by their config keys, before anything runs (empty when valid).
 * The analysis would otherwise reject them at the first step, after a traffic shift.
 */
export function checkJudgeSettings(settings: JudgeSettings, baseline: string, canary: string): string[] {
    return validateAnalysisOptions(analysisOptions(settings, { baseline, canary, sinceSeconds: 60 }), {
        prometheusUrl: "istio-canary:rollout.prometheusUrl",
        maxErrorRate: "istio-canary:rollout.maxErrorRate",
        maxP99Ms: "istio-canary:rollout.maxP99Ms",
        minRequests: "istio-canary:rollout.minRequests",
        reporter: "istio-canary:rollout.reporter",
        service: "service (from istio-canary:app)",
        baseline: "baseline (istio-canary:versions[0].name)",
        canary: "canary (istio-canary:versions[1].name)",
    });
}

/** An AnalysisResult as the engine stores it: verdict, both versions, reasons, and the rest as evidence. */
export function toJudgement(result: AnalysisResult): Judgement {
    const { verdict, canary, baseline, reasons, ...evidence } = result;
    return { verdict, canary, baseline, reasons, evidence };
}

/** A judge that runs the analysis module against Prometheus. */
export function analysisJudge(settings: JudgeSettings, run: (o: AnalysisOptions) => Promise<AnalysisResult> = analyze): CanaryJudge {
    return {
        judge: async (input) => toJudgement(await run(analysisOptions(settings, input))),
    };
}
