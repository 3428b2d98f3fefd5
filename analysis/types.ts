/**
 * Public types of the canary analysis. The rollout command depends on these: fields may be added,
 * never removed or renamed.
 */

/** Outcome of one analysis: promote (pass), roll back (fail), or keep waiting / hold (inconclusive). */
export type Verdict = "pass" | "fail" | "inconclusive";

/** What to analyse and how strictly. Every optional field states its default. */
export interface AnalysisOptions {
    /** Prometheus base URL, http or https, e.g. "http://prometheus.istio-system:9090" (a path prefix is kept). */
    prometheusUrl: string;
    /** Value of Istio's `destination_service` label, e.g. "reviews.default.svc.cluster.local". */
    service: string;
    /** `destination_version` of the stable version the canary is compared with, e.g. "v1". */
    baseline: string;
    /** `destination_version` of the canary, e.g. "v2". Must differ from `baseline`. */
    canary: string;
    /**
     * PromQL duration the counts are taken over, e.g. "1m", "95s"; default "1m". The rollout passes
     * the time since the step's traffic shift, so the counts are cumulative over the step and the
     * sequential tests can be re-run on them as often as wanted.
     */
    window?: string;
    /** Absolute limit on the canary's 5xx ratio (exclusive); default 0.01 (1%). */
    maxErrorRate?: number;
    /** Absolute limit on the canary's p99 latency in ms (exclusive); default 200. */
    maxP99Ms?: number;
    /**
     * Canary requests needed before any verdict but inconclusive; default 50 (below ~50 requests a
     * single 5xx moves the ratio by 2 points, which says nothing). Never a pass below it.
     */
    minRequests?: number;
    /** Istio `reporter` label to read: "destination" (default), "source" or "waypoint". */
    reporter?: string;
    /**
     * False-rollback rate: the chance that a canary no worse than the baseline (and within the
     * limits) is failed, however often the analysis is repeated; default 0.02. Split between the
     * four failing tests (see ALPHA_SHARES).
     */
    alpha?: number;
    /**
     * Missed-regression rate: the chance that a canary worse than the baseline by at least a margin
     * (errorRateMargin, latencyMargin) is passed; default 0.2, the conventional 80% power.
     */
    beta?: number;
    /**
     * Total deadline of each Prometheus query in ms, from the connection to the last byte of the
     * answer (a body that trickles in counts as late); default 10000. The queries run in two rounds
     * of parallel queries (the counts, then the traffic checks), so one analysis takes at most about
     * twice this.
     */
    timeoutMs?: number;
    /**
     * Smallest increase of the 5xx ratio over the baseline that must not pass (absolute, as a
     * ratio); default 0.01, i.e. one percentage point. A pass needs evidence the canary is below
     * baseline + margin.
     */
    errorRateMargin?: number;
    /**
     * Smallest latency slowdown that must not pass, as a fraction (0.25 = 25% slower than the
     * baseline); default 0.25.
     */
    latencyMargin?: number;
    /** Instant at which the queries are evaluated; default now. */
    time?: Date;
    /**
     * Prometheus's scrape interval of Istio's metrics in seconds; default 15. The baseline's counters
     * are read at this interval over the window and the 5 minutes before it, to measure how bursty
     * its 5xx are (the variance factor the 5xx tests divide their counts by).
     */
    scrapeIntervalSeconds?: number;
    /**
     * Share of the requests of canary and baseline that the applied traffic weights send to the
     * canary: canary weight / (canary weight + baseline weight), e.g. 0.1 at 10/90; default unknown.
     * When given, a canary share credibly below half of it, or a baseline share credibly below half
     * of its own (1 - this), makes the analysis inconclusive: the traffic does not follow the
     * weights, so the counts do not describe the split being judged. The freshness check compares
     * the most recent requests with it (without it, with the share over the whole window).
     */
    expectedCanaryShare?: number;
    /**
     * PromQL duration of the most recent stretch of the window whose requests must still show the
     * canary serving (freshness check), e.g. "30s"; default "30s". It must hold at least two scrapes
     * of Istio's metrics (Prometheus's increase() needs two samples), so raise it when the scrape
     * interval is longer than 15 s. The check is skipped when the window is not longer than this.
     */
    freshnessWindow?: string;
    /**
     * Each version has a Service of its own, `<name>-<version>` beside the app's Service `<name>` in
     * `service` (the Gateway API layout: HTTPRoute backendRefs address Services, not subsets), so a
     * version's requests carry its own `destination_service`; default false (one Service, versions
     * told apart by `destination_version`).
     */
    perVersionServices?: boolean;
}

/** One cumulative latency bucket as reported: requests with duration <= le ms ("+Inf" for the last). */
export interface ReportedBucket {
    /** Upper bound in ms as Prometheus writes it ("+Inf" for the last bucket). */
    le: string;
    /** Requests at or below `le` over the window (rounded). */
    count: number;
}

/** Counts and summary statistics of one version over the window. */
export interface VersionStats {
    /** The `destination_version` label value. */
    version: string;
    /** Requests over the window (Prometheus `increase`, rounded). */
    requests: number;
    /** 5xx responses over the window (rounded). */
    errors: number;
    /** errors / requests, or null without requests. */
    errorRate: number | null;
    /** p99 latency in ms from the histogram buckets (as `histogram_quantile`), or null without data. */
    p99Ms: number | null;
    /** p50 latency in ms from the histogram buckets, or null without data. */
    p50Ms: number | null;
    /** Requests counted by the latency histogram (its +Inf bucket). */
    latencyRequests: number;
    /** The cumulative latency buckets over the window; empty when the histogram had no series. */
    latencyBuckets: ReportedBucket[];
}

/** Names of the sequential tests the decision runs (the decision's and the traffic checks'). */
export type SequentialTestName =
    | "errors-vs-baseline"
    | "latency-vs-baseline"
    | "errors-vs-limit"
    | "p99-vs-limit"
    | "errors-not-worse"
    | "errors-within-limit"
    | "latency-not-worse"
    | "p99-within-limit"
    | "canary-share-vs-weight"
    | "baseline-share-vs-weight"
    | "recent-canary-share";

/** Evidence of one anytime-valid one-sided test (an e-value against its null hypothesis). */
export interface SequentialTest {
    /** Which test. */
    name: SequentialTestName;
    /**
     * "fail": rejecting the null rolls the canary back; "pass": rejecting it is needed to promote;
     * "hold": rejecting it makes the analysis inconclusive (a traffic check: the counts do not
     * describe the canary as deployed).
     */
    purpose: "fail" | "pass" | "hold";
    /** The null hypothesis in words. */
    nullHypothesis: string;
    /** Events counted (e.g. canary 5xx). */
    successes: number;
    /** Trials counted (e.g. all 5xx of both versions, or canary requests). */
    trials: number;
    /** Boundary of the null hypothesis on the event probability. */
    nullProbability: number;
    /** Side of the alternatives. */
    side: "greater" | "less";
    /** The e-value (Infinity serialises as null in JSON; see logEValue). */
    eValue: number;
    /** Natural log of the e-value. */
    logEValue: number;
    /** Error rate this test spends: a share of alpha (fail tests) or beta (pass tests). */
    level: number;
    /** 1 / level: the e-value at which the null is rejected. */
    threshold: number;
    /** Whether the e-value reached the threshold. */
    rejected: boolean;
    /** One sentence that states the result with its numbers. */
    summary: string;
}

/** The limits and error rates a verdict was reached with (defaults applied). */
export interface AnalysisThresholds {
    /** See {@link AnalysisOptions.maxErrorRate}. */
    maxErrorRate: number;
    /** See {@link AnalysisOptions.maxP99Ms}. */
    maxP99Ms: number;
    /** See {@link AnalysisOptions.minRequests}. */
    minRequests: number;
    /** See {@link AnalysisOptions.alpha}. */
    alpha: number;
    /** See {@link AnalysisOptions.beta}. */
    beta: number;
    /** See {@link AnalysisOptions.errorRateMargin}. */
    errorRateMargin: number;
    /** See {@link AnalysisOptions.latencyMargin}. */
    latencyMargin: number;
}

/** Statistics behind a verdict. */
export interface AnalysisStatistics {
    /** Canary share of all requests of both versions (the traffic split the comparison conditions on), or null. */
    canaryShareOfRequests: number | null;
    /** Latency boundary (ms) the latency comparison counts "slow" requests above: the baseline's median bucket boundary. */
    latencyComparisonMs: number | null;
    /** Latency boundary (ms) used to test the p99 limit: the smallest bucket boundary >= maxP99Ms. */
    p99LimitBoundaryMs: number | null;
    /**
     * Latency boundary (ms) a pass of the p99 limit is shown at: the largest bucket boundary <= maxP99Ms
     * (at most 1% of canary requests credibly above it), or null when there is none.
     */
    p99PassBoundaryMs: number | null;
    /** Every test that was run: failing, passing and traffic checks ("hold"). */
    tests: SequentialTest[];
    /** See {@link AnalysisOptions.expectedCanaryShare}; null when not given. */
    expectedCanaryShare: number | null;
    /** The freshness window as a PromQL duration, or null when the freshness check did not run. */
    freshnessWindow: string | null;
    /** Canary requests over the freshness window, or null when the check did not run. */
    recentCanaryRequests: number | null;
    /** Baseline requests over the freshness window, or null when the check did not run. */
    recentBaselineRequests: number | null;
    /** The callers' view (reporter="source") of the window, or null when it was not read. */
    sourceView: SourceViewStats | null;
    /**
     * Variance factor of the 5xx counts (>= 1), measured on the baseline's scrape intervals over the
     * window and the 5 minutes before: the 5xx tests count errors and requests divided by it.
     */
    errorDispersion: number;
}

/**
 * What the callers (reporter="source": the ingress gateway, client sidecars) recorded for the service
 * over the window. With reporter="destination", requests that never reached a canary pod (a subset
 * without healthy endpoints answers 503 "UH" at the caller) are recorded only here, under
 * destination_version "unknown".
 */
export interface SourceViewStats {
    /** Requests recorded under the canary's version. */
    canaryRequests: number;
    /** 5xx recorded under the canary's version. */
    canaryErrors: number;
    /** Requests recorded under the baseline's version. */
    baselineRequests: number;
    /** 5xx recorded under the baseline's version. */
    baselineErrors: number;
    /** Requests recorded without a known version (destination_version "unknown" or none). */
    unattributedRequests: number;
    /** 5xx recorded without a known version. */
    unattributedErrors: number;
}

/** PromQL queries sent to Prometheus, for the record and for reproducing a verdict by hand. */
export interface AnalysisQueries {
    /** Canary requests by response code. */
    canaryRequests: string;
    /** Canary latency buckets by le. */
    canaryLatency: string;
    /** Baseline requests by response code. */
    baselineRequests: string;
    /** Baseline latency buckets by le. */
    baselineLatency: string;
    /** Canary requests over the freshness window; null when the check did not run. */
    canaryRecentRequests: string | null;
    /** Baseline requests over the freshness window; null when the check did not run. */
    baselineRecentRequests: string | null;
    /** The callers' requests to the service by version and response code; null unless reporter is "destination". */
    sourceRequests: string | null;
    /** The baseline's request counters by response code, a range query at the scrape interval (the variance factor). */
    baselineCounters: string;
}

/** Verdict of one analysis with all its evidence. */
export interface AnalysisResult {
    /** pass, fail or inconclusive. */
    verdict: Verdict;
    /** Canary counts and statistics. */
    canary: VersionStats;
    /** Baseline counts and statistics. */
    baseline: VersionStats;
    /** Why: one sentence per finding, with numbers. Never empty. */
    reasons: string[];
    /** Queried `destination_service`. */
    service: string;
    /** Queried `reporter`. */
    reporter: string;
    /** PromQL window the counts cover. */
    window: string;
    /** The window in seconds. */
    windowSeconds: number;
    /** Prometheus base URL (user info removed). */
    prometheusUrl: string;
    /** Evaluation instant of every query, ISO 8601. */
    evaluatedAt: string;
    /** Limits and error rates applied. */
    thresholds: AnalysisThresholds;
    /** Test statistics. */
    statistics: AnalysisStatistics;
    /** Queries sent. */
    queries: AnalysisQueries;
    /**
     * What went wrong talking to Prometheus, or answers it would never give (each also in reasons);
     * empty when every query answered usably.
     */
    queryErrors: string[];
}
