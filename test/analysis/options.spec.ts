import * as assert from "node:assert/strict";
import {
    AnalysisOptions,
    InvalidAnalysisOptionsError,
    analyze,
    parsePromDuration,
    resolveAnalysisOptions,
    validateAnalysisOptions,
} from "../../analysis";

const VALID: AnalysisOptions = {
    prometheusUrl: "http://prometheus.istio-system:9090",
    service: "reviews.default.svc.cluster.local",
    baseline: "v1",
    canary: "v2",
};

describe("analysis options", () => {
    it("accepts valid options and applies the documented defaults", () => {
        assert.deepEqual(validateAnalysisOptions(VALID), []);
        const r = resolveAnalysisOptions(VALID);
        assert.deepEqual(
            [
                r.window,
                r.windowSeconds,
                r.maxErrorRate,
                r.maxP99Ms,
                r.minRequests,
                r.reporter,
                r.alpha,
                r.beta,
                r.timeoutMs,
                r.errorRateMargin,
                r.latencyMargin,
            ],
            ["1m", 60, 0.01, 200, 50, "destination", 0.02, 0.2, 10000, 0.01, 0.25],
        );
    });

    it("keeps explicit edge values instead of replacing them with the defaults", () => {
        // No valid option is falsy (every number must be > 0, every string non-empty), so `||` and `??`
        // resolve alike here; this checks that the smallest and largest allowed values survive.
        const r = resolveAnalysisOptions({
            ...VALID,
            minRequests: 1,
            alpha: 0.5,
            beta: 0.5,
            timeoutMs: 1,
            latencyMargin: 10,
            window: "1s",
        });
        assert.equal(r.minRequests, 1);
        assert.equal(r.alpha, 0.5);
        assert.deepEqual([r.beta, r.timeoutMs, r.latencyMargin, r.window, r.windowSeconds], [0.5, 1, 10, "1s", 1]);
    });

    it("names the option, the value and what is allowed for each problem", () => {
        assert.deepEqual(
            validateAnalysisOptions({
                ...VALID,
                prometheusUrl: "ftp://x",
                window: "1.5m",
                maxErrorRate: 1,
                maxP99Ms: -1,
                minRequests: 0,
                reporter: "sidecar",
                alpha: 0.6,
                timeoutMs: 0,
            }),
            [
                'prometheusUrl: "ftp://x" is not allowed; expected an http:// or https:// URL with a host, e.g. http://prometheus.istio-system:9090',
                'window: "1.5m" is not allowed; expected a PromQL duration such as 30s, 1m, 95s or 1h30m (integers, units ms s m h d w y)',
                "maxErrorRate: 1 is not allowed; expected a ratio greater than 0 and less than 1, e.g. 0.01 for 1%",
                "maxP99Ms: -1 is not allowed; expected a latency in milliseconds greater than 0, e.g. 200",
                "minRequests: 0 is not allowed; expected a whole number of requests >= 1, e.g. 50",
                'reporter: "sidecar" is not allowed; expected one of destination, source, waypoint',
                "alpha: 0.6 is not allowed; expected a probability greater than 0 and at most 0.5, e.g. 0.02",
                "timeoutMs: 0 is not allowed; expected whole milliseconds from 1 to 600000, e.g. 10000",
            ],
        );
    });

    it("defaults the traffic checks (no expected share, a 30 s freshness window) and refuses bad values, naming them", () => {
        const r = resolveAnalysisOptions(VALID);
        assert.deepEqual([r.expectedCanaryShare, r.freshnessWindow, r.freshnessSeconds], [null, "30s", 30]);
        assert.deepEqual(resolveAnalysisOptions({ ...VALID, expectedCanaryShare: 0.1, freshnessWindow: "1m" }).freshnessSeconds, 60);
        assert.deepEqual(validateAnalysisOptions({ ...VALID, expectedCanaryShare: 1, freshnessWindow: "soon" }), [
            'freshnessWindow: "soon" is not allowed; expected a PromQL duration such as 30s, 1m, 95s or 1h30m (integers, units ms s m h d w y)',
            "expectedCanaryShare: 1 is not allowed; expected the canary's share of the weights of canary and baseline, greater than 0 and less than 1, e.g. 0.1 for 10/90",
        ]);
        assert.deepEqual(validateAnalysisOptions({ ...VALID, expectedCanaryShare: 0 }).length, 1);
    });

    it("uses display names (CLI flags, config keys) when given", () => {
        assert.deepEqual(validateAnalysisOptions({ ...VALID, canary: "" }, { canary: "--canary" }), [
            '--canary: "" is not allowed; the destination_version label value must not be empty',
        ]);
    });

    it("refuses the same version as canary and baseline", () => {
        assert.deepEqual(validateAnalysisOptions({ ...VALID, canary: "v1" }), [
            'canary: "v1" is not allowed; the canary version must differ from the baseline version (baseline)',
        ]);
    });

    it("refuses control characters in label values but accepts quotes (they are escaped)", () => {
        assert.deepEqual(validateAnalysisOptions({ ...VALID, canary: "v2\nx" }), [
            'canary: "v2\\nx" is not allowed; the destination_version label value must not contain control characters (newline, tab, ...)',
        ]);
        assert.deepEqual(validateAnalysisOptions({ ...VALID, canary: 'v2"} or vector(1)' }), []);
    });

    it("parses PromQL durations as Prometheus does", () => {
        assert.equal(parsePromDuration("95s"), 95);
        assert.equal(parsePromDuration("1h30m"), 5400);
        assert.equal(parsePromDuration("500ms"), 0.5);
        assert.equal(parsePromDuration("1m1h"), undefined);
        assert.equal(parsePromDuration(""), undefined);
    });

    it("makes analyze reject invalid options before querying anything", async () => {
        await assert.rejects(analyze({ ...VALID, prometheusUrl: "not a url" }), (e: unknown) => {
            assert.ok(e instanceof InvalidAnalysisOptionsError);
            assert.deepEqual(e.problems, [
                'prometheusUrl: "not a url" is not allowed; expected an http:// or https:// URL with a host, e.g. http://prometheus.istio-system:9090',
            ]);
            return true;
        });
    });
});
