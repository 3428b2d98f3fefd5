/**
 * What a rollout report shows, computed from a rollout state file: the traffic split over time, the
 * numbers of both versions at every look (analysis), each sequential test's e-value against its
 * threshold at every look, the events of the timeline, and one sentence saying why the rollout ended
 * as it did. Pure: from a RolloutState (already checked against its schema) to plain data that the
 * HTML page and the markdown summary render.
 *
 * Times are seconds since the rollout started (`t`), with the ISO timestamp beside them (`at`).
 * Counts are what the analysis read at that look: cumulative over the step so far (each look covers
 * the whole step since its traffic shift), so they restart at every shift.
 */
import { RolloutState, StepRecord } from "../rollout/state";
import { Verdict } from "../rollout/types";
import { Weights, formatSplit } from "../rollout/weights";

/** One version's numbers at one look. */
export interface VersionPoint {
    /** Version name. */
    version: string;
    /** Requests over the step so far. */
    requests: number;
    /** 5xx responses over the step so far. */
    errors: number;
    /** errors / requests, or null without requests. */
    errorRate: number | null;
    /** p99 latency in ms, or null without data. */
    p99Ms: number | null;
}

/** One sequential test's evidence at one look. */
export interface TestPoint {
    /** The test's name, e.g. `errors-vs-baseline`. */
    name: string;
    /** fail: rejecting rolls back; pass: rejecting is needed to promote; hold: rejecting makes the look inconclusive. */
    purpose: "fail" | "pass" | "hold";
    /**
     * log10 of the e-value; null when the e-value is infinite (the state file holds Infinity as null).
     * Derived from the natural log the analysis records, so tiny and huge e-values keep their digits.
     */
    log10E: number | null;
    /** log10 of the threshold (1 / the test's level) the e-value must reach to reject. */
    log10Threshold: number;
    /** Whether the e-value reached the threshold. */
    rejected: boolean;
    /** The analysis's sentence for this test. */
    summary: string;
}

/** What the rollout did after a look. */
export type LookDecision = "promote" | "hold" | "rollback";

/** One analysis of a step. */
export interface Look {
    /** Seconds since the rollout started. */
    t: number;
    /** ISO timestamp. */
    at: string;
    /** Step index (0-based). */
    step: number;
    /** The step's canary weight. */
    canaryWeight: number;
    /** Seconds since the step's traffic shift: the window analysed. */
    sinceSeconds: number;
    verdict: Verdict;
    decision: LookDecision;
    baseline: VersionPoint;
    canary: VersionPoint;
    /** The analysis's reasons, one sentence each. */
    reasons: string[];
    /** The sequential tests of this look; empty when the state kept no test statistics (a judge without them). */
    tests: TestPoint[];
}

/** One confirmed traffic split and when it took effect. */
export interface SplitPoint {
    t: number;
    at: string;
    /** Canary weight in percent. */
    canary: number;
    /** Baseline weight in percent. */
    baseline: number;
    /** What set it: `start` (the stack's split before the rollout), or the action that applied it. */
    cause: "start" | "shift" | "rollback" | "abort";
}

/**
 * Kinds of events on the timeline. `hook` and `gate` are the hooks and approval gates of the rollout
 * engine: every history entry whose event starts with `hook` or `gate` becomes one (a hook's end, not
 * its start; a gate's waiting and answer, not the analyses while it waits), with its details.
 */
export type MarkerKind =
    | "start"
    | "resumed"
    | "shift"
    | "promote"
    | "hold"
    | "rollback"
    | "abort"
    | "finalize"
    | "completed"
    | "apply-failed"
    | "drift"
    | "interrupted"
    | "hook"
    | "gate";

/** One event on the timeline. */
export interface Marker {
    t: number;
    at: string;
    kind: MarkerKind;
    /** A few words for the chart, e.g. `shift to 25%`. */
    label: string;
    /** The whole story of the event, for the table. */
    detail: string;
}

/** One run of a hook as the report shows it, from the state's `hooks` list (state format 2). */
export interface HookRun {
    /** The hook's name. */
    hook: string;
    /** Where it ran: pre-rollout, pre-step, post-step, rollback or complete. */
    point: string;
    /** Step index of a pre-step or post-step hook. */
    step?: number;
    /** command or webhook. */
    kind?: string;
    /** succeeded, failed, timed-out, interrupted or running. */
    status: string;
    startedAt: string;
    finishedAt?: string;
    durationMs?: number;
    /** A command's exit code (null when a signal ended it). */
    exitCode?: number | null;
    /** A webhook's HTTP status. */
    httpStatus?: number;
    /** What a failure did: continued, held or rolled-back. */
    then?: string;
    /** The tail of its output. */
    output?: string;
    /** Why it could not run or what failed. */
    error?: string;
}

/** A step that waited for approval, from the state's `gates` list (state format 2). */
export interface GateWait {
    /** Index of the step whose shift waited. */
    step: number;
    /** waiting, approved or rejected. */
    status: string;
    /** When the wait began. */
    since: string;
    answeredAt?: string;
    /** Who answered. */
    by?: string;
    /** Analyses made while it waited. */
    analysisCount?: number;
}

/** Per-test series across every look that ran the test (the tests a look ran depend on its counts). */
export interface TestSeries {
    name: string;
    purpose: "fail" | "pass" | "hold";
    /** One point per look that ran the test: its index in `looks`, and the test's evidence. */
    points: { look: number; t: number; log10E: number | null; log10Threshold: number; rejected: boolean }[];
}

/** Everything a report shows. */
export interface ReportModel {
    stack: string;
    baseline: { name: string; image?: string };
    canary: { name: string; image?: string };
    status: RolloutState["status"];
    /** One sentence: why the rollout ended as it did, or where it stands. */
    headline: string;
    /** The plan as the rollout recorded it. */
    plan: RolloutState["plan"];
    startedAt: string;
    /** When it ended (its outcome), or the last update of a rollout still in progress. */
    endedAt: string;
    /** Seconds from start to endedAt. */
    durationSeconds: number;
    split: SplitPoint[];
    looks: Look[];
    tests: TestSeries[];
    markers: Marker[];
    /** The absolute limits the analysis applied (from its recorded thresholds), when recorded. */
    limits: { maxErrorRate?: number; maxP99Ms?: number };
    /** Every hook run the state records (none before the engine ran hooks). */
    hooks: HookRun[];
    /** Every approval gate the state records. */
    gates: GateWait[];
    /** How each step ended. */
    steps: { step: number; canaryWeight: number; appliedAt?: string; looks: number; decision?: "promote" | "rollback"; reason?: string }[];
}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
    return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** log10 given for an e-value of 0: below that of the smallest positive double, and finite so JSON keeps it. */
export const ZERO_LOG10 = -324;

const PURPOSES = ["fail", "pass", "hold"] as const;

/**
 * log10 of an e-value from what the state file keeps: the natural log when finite, else the e-value
 * itself; null for an infinite e-value (JSON turns Infinity into null), ZERO_LOG10 for an e-value of 0.
 */
export function log10EValue(eValue: unknown, logEValue: unknown): number | null {
    const ln = num(logEValue);
    if (ln !== undefined) {
        return ln / Math.LN10;
    }
    const e = num(eValue);
    if (e !== undefined) {
        return e > 0 ? Math.log10(e) : ZERO_LOG10;
    }
    return null;
}

/**
 * An e-value from its log10 as people read it: `0.0392`, `125`, `4.5e+27`, `1.8e-6`, `infinite`, `0`.
 */
export function formatEValue(log10: number | null): string {
    if (log10 === null) {
        return "infinite";
    }
    if (log10 <= ZERO_LOG10) {
        return "0";
    }
    if (log10 >= -3 && log10 < 5) {
        return String(Number((10 ** log10).toPrecision(3)));
    }
    let exponent = Math.floor(log10);
    let mantissa = Number((10 ** (log10 - exponent)).toFixed(1));
    if (mantissa >= 10) {
        mantissa = 1;
        exponent += 1;
    }
    return `${mantissa.toFixed(1)}e${exponent < 0 ? "-" : "+"}${Math.abs(exponent)}`;
}

/** The sequential tests an analysis recorded in its evidence (`evidence.statistics.tests`); empty when there are none. */
export function testsOf(evidence: unknown): TestPoint[] {
    const stats = isObject(evidence) ? evidence.statistics : undefined;
    const tests = isObject(stats) && Array.isArray(stats.tests) ? stats.tests : [];
    const out: TestPoint[] = [];
    for (const t of tests) {
        if (!isObject(t) || typeof t.name !== "string") {
            continue;
        }
        const purpose = PURPOSES.find((p) => p === t.purpose);
        const threshold = num(t.threshold);
        if (purpose === undefined || threshold === undefined || threshold <= 0) {
            continue;
        }
        out.push({
            name: t.name,
            purpose,
            log10E: log10EValue(t.eValue, t.logEValue),
            log10Threshold: Math.log10(threshold),
            rejected: t.rejected === true,
            summary: typeof t.summary === "string" ? t.summary : "",
        });
    }
    return out;
}

function limitsOf(evidence: unknown): { maxErrorRate?: number; maxP99Ms?: number } {
    const th = isObject(evidence) && isObject(evidence.thresholds) ? evidence.thresholds : {};
    const maxErrorRate = num(th.maxErrorRate);
    const maxP99Ms = num(th.maxP99Ms);
    return { ...(maxErrorRate !== undefined ? { maxErrorRate } : {}), ...(maxP99Ms !== undefined ? { maxP99Ms } : {}) };
}

function point(s: { version: string; requests: number; errors: number; errorRate: number | null; p99Ms: number | null }): VersionPoint {
    return { version: s.version, requests: s.requests, errors: s.errors, errorRate: s.errorRate, p99Ms: s.p99Ms };
}

function str(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
}

/** The hook runs the state records (its `hooks` list, checked by the state's schema), as the report shows them. */
export function hookRunsOf(state: RolloutState): HookRun[] {
    return (state.hooks ?? []).map((h) => {
        const fields: Partial<HookRun> = {
            step: h.step,
            kind: h.kind,
            finishedAt: h.finishedAt,
            durationMs: h.durationMs,
            exitCode: h.exitCode,
            httpStatus: h.httpStatus,
            then: h.then,
            output: h.output,
            error: h.error,
        };
        const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
        return { hook: h.hook, point: h.at, status: h.status, startedAt: h.startedAt, ...defined };
    });
}

/** A hook run's result in a few words: `exit 0`, `HTTP 500`, `killed by a signal`, or empty. */
export function hookResultText(h: HookRun): string {
    if (h.httpStatus !== undefined) {
        return `HTTP ${h.httpStatus}`;
    }
    if (h.exitCode !== undefined) {
        return h.exitCode === null ? "killed by a signal" : `exit ${h.exitCode}`;
    }
    return "";
}

/** The approval gates the state records (its `gates` list, checked by the state's schema). */
export function gatesOf(state: RolloutState): GateWait[] {
    return (state.gates ?? []).map((g) => {
        const fields: Partial<GateWait> = { answeredAt: g.answeredAt, by: g.by, analysisCount: g.analysisCount };
        return {
            step: g.step,
            status: g.status,
            since: g.since,
            ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
        };
    });
}

/** The decision after look `j` of a step: the step's decision for its last look once decided, a hold before. */
function decisionOf(step: StepRecord, j: number): LookDecision {
    return j === step.analyses.length - 1 && step.decision !== undefined ? step.decision.decision : "hold";
}

/** `1m 05s`, `42s`, `1h 02m`. */
export function formatDuration(seconds: number): string {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) {
        return `${s}s`;
    }
    if (s < 3600) {
        return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
    }
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A few words about a history entry's details, for the timeline table. */
function detailText(detail: Record<string, unknown> | undefined): string {
    if (detail === undefined) {
        return "";
    }
    return Object.entries(detail)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => {
            if (isObject(v) && Object.values(v).every((w) => typeof w === "number")) {
                return `${k}: ${formatSplit(v as Weights)}`;
            }
            return `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`;
        })
        .join("; ");
}

/** The markers of the history entries (applies, failures, drift, interruptions, resumes, hooks, gates). */
function historyMarkers(state: RolloutState, t: (at: string) => number): Marker[] {
    const canary = state.canary.name;
    const out: Marker[] = [];
    for (const h of state.history) {
        const detail = h.detail;
        const d = detail ?? {};
        const weights = isObject(d.weights) ? (d.weights as Weights) : undefined;
        const base = { t: t(h.at), at: h.at, detail: detailText(detail) };
        const action = typeof d.action === "string" ? d.action : undefined;
        if (h.event === "rollout-started") {
            out.push({ ...base, kind: "start", label: "start" });
        } else if (h.event === "resumed") {
            out.push({ ...base, kind: "resumed", label: "resumed" });
        } else if (h.event === "applied" && action === "shift") {
            out.push({ ...base, kind: "shift", label: `shift to ${weights?.[canary] ?? "?"}%` });
        } else if (h.event === "applied" && (action === "rollback" || action === "abort")) {
            out.push({
                ...base,
                kind: action,
                label: `${action === "rollback" ? "rolled back" : "aborted"}: ${state.baseline.name} ${weights?.[state.baseline.name] ?? 100}%`,
            });
        } else if (h.event === "applied" && action === "finalize") {
            out.push({ ...base, kind: "finalize", label: `removed ${typeof d.remove === "string" ? d.remove : state.baseline.name}` });
        } else if (h.event === "apply-failed") {
            out.push({ ...base, kind: "apply-failed", label: `${action ?? "apply"} failed` });
        } else if (h.event === "drift" || h.event === "live-read-failed") {
            out.push({ ...base, kind: "drift", label: h.event === "drift" ? "held: split changed by hand" : "live read failed" });
        } else if (h.event === "interrupted") {
            out.push({ ...base, kind: "interrupted", label: "interrupted" });
        } else if (h.event === "completed") {
            out.push({ ...base, kind: "completed", label: "completed" });
        } else if (h.event === "hook-started" || h.event === "gate-analysis") {
            // A hook's start is shown by its end (with its duration); a gate's analyses are counted on the gate.
            continue;
        } else if (h.event.startsWith("hook")) {
            const status = str(d.status) ?? h.event.replace(/^hook-?/, "");
            out.push({ ...base, kind: "hook", label: `hook ${str(d.hook) ?? str(d.name) ?? "?"}: ${status}` });
        } else if (h.event.startsWith("gate")) {
            const by = str(d.by);
            out.push({ ...base, kind: "gate", label: `gate ${h.event.replace(/^gate-?/, "")}${by !== undefined ? ` by ${by}` : ""}` });
        }
    }
    return out;
}

/** The split points: the stack's split at the start (when recorded), then every confirmed apply that changed weights. */
function splitPoints(state: RolloutState, t: (at: string) => number): SplitPoint[] {
    const b = state.baseline.name;
    const c = state.canary.name;
    const out: SplitPoint[] = [];
    if (state.from !== undefined) {
        out.push({ t: 0, at: state.startedAt, canary: state.from[c] ?? 0, baseline: state.from[b] ?? 0, cause: "start" });
    }
    for (const h of state.history) {
        const d = h.detail ?? {};
        const action = d.action;
        if (h.event !== "applied" || !isObject(d.weights) || (action !== "shift" && action !== "rollback" && action !== "abort")) {
            continue;
        }
        const w = d.weights as Weights;
        out.push({ t: t(h.at), at: h.at, canary: w[c] ?? 0, baseline: w[b] ?? 0, cause: action });
    }
    return out;
}

/** Text as the end of a sentence: trimmed, with one final period. */
function sentence(text: string): string {
    const trimmed = text.trim().replace(/[.;:,]+$/, "");
    return `${trimmed}.`;
}

/** The one sentence at the top of the report: how the rollout ended and why, or where it stands. */
export function headline(state: RolloutState): string {
    const c = state.canary.name;
    const b = state.baseline.name;
    const decided = state.steps.filter((s) => s.decision !== undefined);
    const passed = decided.filter((s) => s.decision?.decision === "promote").map((s) => `${s.canaryWeight}%`);
    const looks = state.steps.reduce((n, s) => n + s.analyses.length, 0);
    const took = formatDuration((Date.parse(state.outcome?.at ?? state.updatedAt) - Date.parse(state.startedAt)) / 1000);
    const reason = state.outcome?.reason ?? "";
    switch (state.status) {
        case "completed":
        case "finalized": {
            const done =
                state.status === "finalized"
                    ? `${c} reached 100% and ${b} was removed`
                    : `${c} reached 100% (${b} keeps running until --finalize)`;
            return `Completed: ${done}, after the analysis passed at every analysed step (${passed.join(", ")}; ${looks} look${looks === 1 ? "" : "s"} in ${took}).`;
        }
        case "rolled-back": {
            const last = decided[decided.length - 1];
            const look = last?.decision?.decision === "rollback" ? last.analyses[last.analyses.length - 1] : undefined;
            if (last === undefined || look === undefined) {
                return `Rolled back to ${b} after ${took}: ${sentence(reason)}`;
            }
            const first = sentence(look.result.reasons[0] ?? "no reason recorded");
            if (look.verdict === "fail") {
                return `Rolled back at ${last.canaryWeight}% to ${b} after ${took}, because the analysis failed: ${first}`;
            }
            const inconclusive = last.analyses.filter((a) => a.verdict === "inconclusive").length;
            return (
                `Rolled back at ${last.canaryWeight}% to ${b} after ${took}, because ${inconclusive} analyses were inconclusive ` +
                `(no verdict within ${state.plan.maxStepRequests} canary requests or ${state.plan.maxStepSeconds}s); the last said: ${first}`
            );
        }
        case "aborted":
            return `Aborted after ${took}: all traffic went back to ${b}; ${sentence(reason)}`;
        case "in-progress": {
            const total = state.plan.steps.length;
            const step = state.steps[state.current];
            const where =
                state.pending !== null
                    ? `a ${state.pending.kind} is pending${state.pending.failures > 0 ? ` after ${state.pending.failures} failed attempt${state.pending.failures === 1 ? "" : "s"}` : ""}`
                    : step?.appliedAt === undefined
                      ? "its shift is not applied yet"
                      : `${step.analyses.length} look${step.analyses.length === 1 ? "" : "s"} so far, the last ${step.analyses[step.analyses.length - 1]?.verdict ?? "not yet made"}`;
            return `In progress at step ${state.current + 1}/${total} (${state.plan.steps[state.current]}% to ${c}): ${where}; continue it with --resume or stop it with --abort.`;
        }
    }
}

/** The report of a rollout state. Pure. */
export function reportModel(state: RolloutState): ReportModel {
    const t0 = Date.parse(state.startedAt);
    const t = (at: string): number => Math.round((Date.parse(at) - t0) / 100) / 10;
    const looks: Look[] = [];
    const decisionMarkers: Marker[] = [];
    let limits: ReportModel["limits"] = {};
    state.steps.forEach((step, i) => {
        step.analyses.forEach((a, j) => {
            const decision = decisionOf(step, j);
            looks.push({
                t: t(a.at),
                at: a.at,
                step: i,
                canaryWeight: step.canaryWeight,
                sinceSeconds: a.sinceSeconds,
                verdict: a.verdict,
                decision,
                baseline: point(a.result.baseline),
                canary: point(a.result.canary),
                reasons: [...a.result.reasons],
                tests: testsOf(a.result.evidence),
            });
            const l = limitsOf(a.result.evidence);
            if (l.maxErrorRate !== undefined || l.maxP99Ms !== undefined) {
                limits = l;
            }
            const detail =
                decision === "hold"
                    ? `${a.verdict} after ${a.sinceSeconds}s: ${a.result.reasons.join("; ")}`
                    : (step.decision?.reason ?? "");
            decisionMarkers.push({
                t: t(a.at),
                at: a.at,
                kind: decision,
                label:
                    decision === "promote"
                        ? `pass at ${step.canaryWeight}%`
                        : decision === "hold"
                          ? `hold (${a.verdict})`
                          : `${a.verdict}: roll back`,
                detail,
            });
        });
    });
    const tests = new Map<string, TestSeries>();
    looks.forEach((look, index) => {
        for (const test of look.tests) {
            const series = tests.get(test.name) ?? { name: test.name, purpose: test.purpose, points: [] };
            series.points.push({
                look: index,
                t: look.t,
                log10E: test.log10E,
                log10Threshold: test.log10Threshold,
                rejected: test.rejected,
            });
            tests.set(test.name, series);
        }
    });
    // At the same instant a look's decision comes before the apply it led to.
    const markers = [...decisionMarkers.map((m) => ({ m, order: 0 })), ...historyMarkers(state, t).map((m) => ({ m, order: 1 }))]
        .sort((a, b) => a.m.at.localeCompare(b.m.at) || a.order - b.order)
        .map((x) => x.m);
    const endedAt = state.outcome?.at ?? state.updatedAt;
    return {
        stack: state.stack,
        baseline: { ...state.baseline },
        canary: { ...state.canary },
        status: state.status,
        headline: headline(state),
        plan: { ...state.plan, steps: [...state.plan.steps] },
        startedAt: state.startedAt,
        endedAt,
        durationSeconds: t(endedAt),
        split: splitPoints(state, t),
        looks,
        tests: [...tests.values()],
        markers,
        limits,
        hooks: hookRunsOf(state),
        gates: gatesOf(state),
        steps: state.steps.map((s, i) => ({
            step: i,
            canaryWeight: s.canaryWeight,
            ...(s.appliedAt !== undefined ? { appliedAt: s.appliedAt } : {}),
            looks: s.analyses.length,
            ...(s.decision !== undefined ? { decision: s.decision.decision, reason: s.decision.reason } : {}),
        })),
    };
}
