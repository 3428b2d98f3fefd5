import { decide, DecisionNames, VersionCounts } from "./decide";
import { Bucket, histogramQuantile, normalizeBuckets, totalCount } from "./histogram";
import { resolveAnalysisOptions, ResolvedAnalysisOptions } from "./options";
import { errorDispersion, intervalsFromCounters } from "./counters";
import { InstantSample, queryRange, queryVector, redactUrl } from "./prometheus";
import {
    isServerErrorCode,
    isValidResponseCode,
    latencyBucketsQuery,
    REQUESTS_METRIC,
    requestCountersQuery,
    requestsByCodeQuery,
    sourceViewQuery,
    totalRequestsQuery,
} from "./promql";
import { checkTrafficShares, crossCheckSourceView, TrafficFindings } from "./traffic";
import { AnalysisOptions, AnalysisQueries, AnalysisResult, AnalysisStatistics, SourceViewStats, VersionStats } from "./types";

/** What the queries of one version gave: counts, or the problems that prevented them. */
interface VersionReading {
    counts: VersionCounts;
    problems: string[];
    notes: string[];
}

/**
 * Runs a query, turning any failure into a sentence naming the query and what went wrong. `labels`
 * are the labels its aggregation keeps (`sum by (...)`): a series with any other label is an answer
 * Prometheus never gives for it (a proxy or recording rule in between), and is refused.
 */
async function ask(
    o: ResolvedAnalysisOptions,
    what: string,
    query: string,
    labels: readonly string[],
): Promise<{ samples: InstantSample[] } | { problem: string }> {
    let samples: InstantSample[];
    try {
        samples = await queryVector(o.prometheusUrl, query, { time: o.time, timeoutMs: o.timeoutMs });
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        return { problem: `Prometheus query for ${what} failed at ${redactUrl(o.prometheusUrl)}: ${message}` };
    }
    for (const s of samples) {
        const other = Object.keys(s.labels).filter((k) => !labels.includes(k));
        if (other.length > 0) {
            const by = labels.length === 0 ? "sum(...)" : `sum by (${labels.join(", ")})`;
            return {
                problem:
                    `Prometheus answered a series with other labels than ${labels.length === 0 ? "none" : labels.join(", ")} for ${what}: ` +
                    `${JSON.stringify(s.labels)} (${other.join(", ")}); a ${by} query never has them: is a proxy or recording rule changing the answer?`,
            };
        }
    }
    return { samples };
}

/** The problem with a series' response_code (missing, empty, not a status code), or undefined. */
function responseCodeProblem(code: string | undefined, value: number, who: string): string | undefined {
    if (value <= 0) return undefined;
    if (code === undefined) {
        // Such requests could be 5xx or not: counting them as successes could pass a failing canary.
        return (
            `Prometheus answered ${value} requests without a response_code label for ${who}: their 5xx cannot be counted ` +
            `(is the response_code label removed from ${REQUESTS_METRIC}?)`
        );
    }
    if (code === "") {
        return (
            `Prometheus answered ${value} requests with an empty response_code for ${who}: their 5xx cannot be counted ` +
            `(Prometheus never answers an empty label value; a proxy or recording rule in between?)`
        );
    }
    if (!isValidResponseCode(code)) {
        return `Prometheus answered ${value} requests with response_code ${JSON.stringify(code)} for ${who}: not an HTTP status code, their 5xx cannot be counted`;
    }
    return undefined;
}

/** Reads the requests and latency of one version. */
async function readVersion(
    o: ResolvedAnalysisOptions,
    role: "canary" | "baseline",
    queries: { requests: string; latency: string },
): Promise<VersionReading> {
    const version = role === "canary" ? o.canary : o.baseline;
    const who = `${role} ${JSON.stringify(version)}`;
    const [requests, latency] = await Promise.all([
        ask(o, `${who} requests`, queries.requests, ["response_code"]),
        ask(o, `${who} latency`, queries.latency, ["le"]),
    ]);
    const problems: string[] = [];
    const notes: string[] = [];
    let total = 0;
    let errors = 0;
    if ("problem" in requests) {
        problems.push(requests.problem);
    } else {
        if (requests.samples.length === 0) {
            notes.push(
                `Prometheus has no ${REQUESTS_METRIC} series for ${who} of ${role === "canary" ? o.canaryService : o.baselineService} (reporter ${o.reporter}) in the last ${o.window}`,
            );
        }
        for (const s of requests.samples) {
            if (s.value < 0) {
                problems.push(`Prometheus answered a negative request count (${s.value}) for ${who}`);
                continue;
            }
            const codeProblem = responseCodeProblem(s.labels.response_code, s.value, who);
            if (codeProblem !== undefined) {
                problems.push(codeProblem);
                continue;
            }
            total += s.value;
            if (isServerErrorCode(s.labels.response_code)) errors += s.value;
        }
    }
    let buckets: Bucket[] | null = null;
    if ("problem" in latency) {
        problems.push(latency.problem);
    } else if (latency.samples.length > 0) {
        const raw: Bucket[] = [];
        for (const s of latency.samples) {
            const le = s.labels.le;
            const bound = le === "+Inf" ? Infinity : le === undefined || le.trim() === "" ? NaN : Number(le);
            raw.push({ le: bound, count: s.value });
        }
        const normalized = normalizeBuckets(raw);
        if ("problem" in normalized) problems.push(`Prometheus answered a malformed latency histogram for ${who}: ${normalized.problem}`);
        else buckets = normalized.buckets;
    }
    const requestsCount = Math.round(total);
    return { counts: { requests: requestsCount, errors: Math.min(requestsCount, Math.round(errors)), buckets }, problems, notes };
}

/** Summary statistics of one version for the result. */
function versionStats(version: string, counts: VersionCounts): VersionStats {
    const buckets = counts.buckets ?? [];
    return {
        version,
        requests: counts.requests,
        errors: counts.errors,
        errorRate: counts.requests > 0 ? counts.errors / counts.requests : null,
        p99Ms: counts.buckets === null ? null : histogramQuantile(0.99, counts.buckets),
        p50Ms: counts.buckets === null ? null : histogramQuantile(0.5, counts.buckets),
        latencyRequests: totalCount(buckets),
        latencyBuckets: buckets.map((x) => ({ le: x.le === Infinity ? "+Inf" : String(x.le), count: x.count })),
    };
}

/** What the second round of queries (the traffic checks) read. */
interface TrafficReading {
    recent: { canary: number; baseline: number } | null;
    source: SourceViewStats | null;
    /** The baseline's 5xx variance factor. */
    dispersion: number;
    problems: string[];
}

/** Seconds before the window the baseline's counters are read from for the variance factor. */
const DISPERSION_HISTORY_S = 300;

/** The baseline's 5xx variance factor from its counters at the scrape interval, or the problem. */
async function readDispersion(o: ResolvedAnalysisOptions, query: string): Promise<number | { problem: string }> {
    const end = o.time;
    const start = new Date(end.getTime() - (o.windowSeconds + DISPERSION_HISTORY_S) * 1000);
    try {
        const series = await queryRange(o.prometheusUrl, query, {
            start,
            end,
            stepSeconds: o.scrapeIntervalSeconds,
            timeoutMs: o.timeoutMs,
        });
        return errorDispersion(
            intervalsFromCounters(series.map((s) => ({ errors: isServerErrorCode(s.labels.response_code), points: s.points }))),
        );
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        return {
            problem: `Prometheus range query for the baseline's counters (the 5xx variance factor) failed at ${redactUrl(o.prometheusUrl)}: ${message}`,
        };
    }
}

/** The single value of a `sum(...)` answer (0 for an empty one: no series, no requests). */
function single(answer: { samples: InstantSample[] }): number {
    return Math.round(answer.samples.reduce((a, s) => a + s.value, 0));
}

/** Reads the freshness window and the callers' view (the second round of queries). */
async function readTraffic(o: ResolvedAnalysisOptions, queries: AnalysisQueries): Promise<TrafficReading> {
    const problems: string[] = [];
    const canaryWho = `canary ${JSON.stringify(o.canary)}`;
    const baselineWho = `baseline ${JSON.stringify(o.baseline)}`;
    const none = Promise.resolve(undefined);
    const [rc, rb, src, phi] = await Promise.all([
        queries.canaryRecentRequests === null
            ? none
            : ask(o, `${canaryWho} requests over the last ${o.freshnessWindow}`, queries.canaryRecentRequests, []),
        queries.baselineRecentRequests === null
            ? none
            : ask(o, `${baselineWho} requests over the last ${o.freshnessWindow}`, queries.baselineRecentRequests, []),
        queries.sourceRequests === null
            ? none
            : ask(o, `the callers' (reporter="source") requests to ${o.service}`, queries.sourceRequests, [
                  "destination_version",
                  "response_code",
              ]),
        readDispersion(o, queries.baselineCounters),
    ]);
    let recent: TrafficReading["recent"] = null;
    for (const a of [rc, rb, src]) if (a !== undefined && "problem" in a) problems.push(a.problem);
    if (rc !== undefined && rb !== undefined && !("problem" in rc) && !("problem" in rb)) {
        for (const [a, w] of [
            [rc, canaryWho],
            [rb, baselineWho],
        ] as const) {
            if (a.samples.some((s) => s.value < 0)) problems.push(`Prometheus answered a negative recent request count for ${w}`);
        }
        recent = { canary: single(rc), baseline: single(rb) };
    }
    let source: SourceViewStats | null = null;
    if (src !== undefined && !("problem" in src)) {
        const v: SourceViewStats = {
            canaryRequests: 0,
            canaryErrors: 0,
            baselineRequests: 0,
            baselineErrors: 0,
            unattributedRequests: 0,
            unattributedErrors: 0,
        };
        for (const s of src.samples) {
            const version = s.labels.destination_version;
            const code = s.labels.response_code;
            const where = `callers' requests to ${version === undefined ? "no destination_version" : JSON.stringify(version)}`;
            if (s.value < 0) {
                problems.push(`Prometheus answered a negative request count (${s.value}) for the ${where}`);
                continue;
            }
            const codeProblem = responseCodeProblem(code, s.value, `the ${where}`);
            if (codeProblem !== undefined) {
                problems.push(codeProblem);
                continue;
            }
            const n = Math.round(s.value);
            const e = isServerErrorCode(code) ? n : 0;
            if (version === o.canary) {
                v.canaryRequests += n;
                v.canaryErrors += e;
            } else if (version === o.baseline) {
                v.baselineRequests += n;
                v.baselineErrors += e;
            } else if (version === undefined || version === "" || version === "unknown") {
                v.unattributedRequests += n;
                v.unattributedErrors += e;
            }
            // Other versions of the service (a third one, say) are theirs.
        }
        source = v;
    }
    if (typeof phi !== "number") problems.push(phi.problem);
    return { recent, source, dispersion: typeof phi === "number" ? phi : 1, problems };
}

/** Statistics of a result without a decision. */
function emptyStatistics(o: ResolvedAnalysisOptions): AnalysisStatistics {
    return {
        canaryShareOfRequests: null,
        latencyComparisonMs: null,
        p99LimitBoundaryMs: null,
        p99PassBoundaryMs: null,
        tests: [],
        expectedCanaryShare: o.expectedCanaryShare,
        freshnessWindow: null,
        recentCanaryRequests: null,
        recentBaselineRequests: null,
        sourceView: null,
        errorDispersion: 1,
    };
}

/**
 * Analyses a canary against its baseline on Prometheus, in two rounds of parallel instant queries
 * at one evaluation instant:
 * 1. Istio's request counter and latency histogram of both versions over the window; decide.ts's
 *    sequential tests decide on them.
 * 2. The traffic checks of traffic.ts: both versions' requests over the freshness window (when the
 *    window is longer), and, with reporter "destination", the callers' view (reporter "source").
 *    Their findings turn a pass into inconclusive; they never fail a canary.
 *
 * Never throws for Prometheus problems: unreachable, HTTP errors, a missed total deadline,
 * malformed answers, partial answers (warnings), NaN or infinite values, and answers Prometheus
 * itself never gives (a series twice, other labels than the query keeps, an empty response_code,
 * samples not stamped with the evaluation instant) all give an inconclusive verdict whose reasons
 * name the failing query and what went wrong.
 *
 * @throws InvalidAnalysisOptionsError when the options are invalid (check them first with
 * validateAnalysisOptions).
 */
export async function analyze(options: AnalysisOptions): Promise<AnalysisResult> {
    const o = resolveAnalysisOptions(options);
    const canarySel = { reporter: o.reporter, service: o.canaryService, version: o.canary };
    const baselineSel = { reporter: o.reporter, service: o.baselineService, version: o.baseline };
    const fresh = o.freshnessSeconds < o.windowSeconds;
    const queries: AnalysisQueries = {
        canaryRequests: requestsByCodeQuery(canarySel, o.window),
        canaryLatency: latencyBucketsQuery(canarySel, o.window),
        baselineRequests: requestsByCodeQuery(baselineSel, o.window),
        baselineLatency: latencyBucketsQuery(baselineSel, o.window),
        canaryRecentRequests: fresh ? totalRequestsQuery(canarySel, o.freshnessWindow) : null,
        baselineRecentRequests: fresh ? totalRequestsQuery(baselineSel, o.freshnessWindow) : null,
        sourceRequests: o.reporter === "destination" ? sourceViewQuery([o.baselineService, o.canaryService], o.window) : null,
        baselineCounters: requestCountersQuery(baselineSel),
    };
    const [canary, baseline] = await Promise.all([
        readVersion(o, "canary", { requests: queries.canaryRequests, latency: queries.canaryLatency }),
        readVersion(o, "baseline", { requests: queries.baselineRequests, latency: queries.baselineLatency }),
    ]);
    const thresholds = {
        maxErrorRate: o.maxErrorRate,
        maxP99Ms: o.maxP99Ms,
        minRequests: o.minRequests,
        alpha: o.alpha,
        beta: o.beta,
        errorRateMargin: o.errorRateMargin,
        latencyMargin: o.latencyMargin,
    };
    const stats = { canary: versionStats(o.canary, canary.counts), baseline: versionStats(o.baseline, baseline.counts) };
    const common = {
        service: o.service,
        reporter: o.reporter,
        window: o.window,
        windowSeconds: o.windowSeconds,
        prometheusUrl: redactUrl(o.prometheusUrl),
        evaluatedAt: o.time.toISOString(),
        thresholds,
        queries,
    };
    const noVerdict = (queryErrors: string[]): AnalysisResult => ({
        verdict: "inconclusive",
        ...stats,
        reasons: [...queryErrors, "no verdict without complete data: a failed query is never a pass"],
        statistics: emptyStatistics(o),
        ...common,
        queryErrors,
    });
    // The traffic checks are asked only once the counts are complete: without counts there is no verdict anyway.
    if (canary.problems.length > 0 || baseline.problems.length > 0) return noVerdict([...canary.problems, ...baseline.problems]);
    const traffic = await readTraffic(o, queries);
    if (traffic.problems.length > 0) return noVerdict(traffic.problems);

    const names: DecisionNames = { canary: JSON.stringify(o.canary), baseline: JSON.stringify(o.baseline) };
    let d;
    let findings: TrafficFindings;
    try {
        baseline.counts.errorDispersion = traffic.dispersion;
        d = decide(canary.counts, baseline.counts, thresholds, names);
        const shares = checkTrafficShares(
            {
                canaryRequests: canary.counts.requests,
                baselineRequests: baseline.counts.requests,
                expectedCanaryShare: o.expectedCanaryShare,
                recent: traffic.recent === null ? null : { ...traffic.recent, window: o.freshnessWindow },
            },
            names,
        );
        const cross =
            traffic.source === null
                ? { blockers: [], notes: [], tests: [] }
                : crossCheckSourceView(traffic.source, canary.counts, baseline.counts, thresholds, o.service, names);
        findings = {
            blockers: [...shares.blockers, ...cross.blockers],
            notes: [...shares.notes, ...cross.notes],
            tests: [...shares.tests, ...cross.tests],
        };
    } catch (e) {
        // Data no test expected must not escape as an exception: no verdict, never a pass.
        return {
            verdict: "inconclusive",
            ...stats,
            reasons: [`the answers could not be analysed: ${e instanceof Error ? e.message : String(e)}`],
            statistics: emptyStatistics(o),
            ...common,
            queryErrors: [],
        };
    }
    const notes = d.verdict === "pass" ? [] : [...canary.notes, ...baseline.notes];
    let verdict = d.verdict;
    let reasons: string[];
    if (verdict === "pass" && findings.blockers.length > 0) {
        verdict = "inconclusive";
        reasons = [
            ...findings.blockers,
            "the counts alone would pass, but not while the traffic checks above fail: no pass on counts that may not describe the canary",
        ];
    } else if (verdict === "inconclusive") {
        reasons = [...findings.blockers, ...d.reasons, ...notes];
    } else {
        reasons = [...d.reasons, ...findings.blockers, ...notes];
    }
    reasons.push(...findings.notes);
    return {
        verdict,
        ...stats,
        reasons,
        statistics: {
            canaryShareOfRequests: d.canaryShareOfRequests,
            latencyComparisonMs: d.latencyComparisonMs,
            p99LimitBoundaryMs: d.p99LimitBoundaryMs,
            p99PassBoundaryMs: d.p99PassBoundaryMs,
            tests: [...d.tests, ...findings.tests],
            expectedCanaryShare: o.expectedCanaryShare,
            freshnessWindow: traffic.recent === null ? null : o.freshnessWindow,
            recentCanaryRequests: traffic.recent?.canary ?? null,
            recentBaselineRequests: traffic.recent?.baseline ?? null,
            sourceView: traffic.source,
            errorDispersion: traffic.dispersion,
        },
        ...common,
        queryErrors: [],
    };
}
