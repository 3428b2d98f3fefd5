/**
 * Canary analysis on Prometheus: canary against baseline on Istio's standard metrics, decided by
 * anytime-valid sequential tests. Free of Pulumi; the rollout command calls `analyze` between steps.
 */
export { analyze } from "./analyze";
export { ALPHA_SHARES, decide } from "./decide";
export type { Decision, DecisionNames, DecisionSettings, VersionCounts } from "./decide";
export {
    ISTIO_DURATION_BUCKETS_MS,
    countAtOrBelow,
    histogramQuantile,
    interpolatedCdf,
    largestBoundaryAtMost,
    medianBoundary,
    normalizeBuckets,
    smallestBoundaryAtLeast,
    totalCount,
} from "./histogram";
export type { Bucket } from "./histogram";
export {
    ANALYSIS_DEFAULTS,
    InvalidAnalysisOptionsError,
    REPORTERS,
    parsePromDuration,
    resolveAnalysisOptions,
    validateAnalysisOptions,
} from "./options";
export type { OptionNames, ResolvedAnalysisOptions } from "./options";
export { PrometheusError, parseVectorAnswer, queryVector, redactUrl } from "./prometheus";
export type { InstantQueryOptions, InstantSample } from "./prometheus";
export {
    DURATION_BUCKET_METRIC,
    REQUESTS_METRIC,
    escapeLabelValue,
    isServerErrorCode,
    isValidResponseCode,
    labelMatchers,
    latencyBucketsQuery,
    requestsByCodeQuery,
    sourceViewQuery,
    totalRequestsQuery,
} from "./promql";
export type { SeriesSelector } from "./promql";
export { SHARE_TOLERANCE, TRAFFIC_CHECK_LEVEL, checkTrafficShares, crossCheckSourceView } from "./traffic";
export type { ShareInput, TrafficFindings } from "./traffic";
export { DEFAULT_PRIOR_SCALE, bernoulliMixtureTest, sprtExpectedSampleSize } from "./sequential";
export type { BernoulliTestInput, BernoulliTestResult, Side } from "./sequential";
export type {
    AnalysisOptions,
    AnalysisQueries,
    AnalysisResult,
    AnalysisStatistics,
    AnalysisThresholds,
    ReportedBucket,
    SequentialTest,
    SequentialTestName,
    SourceViewStats,
    Verdict,
    VersionStats,
} from "./types";
