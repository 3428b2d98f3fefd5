import * as assert from "node:assert/strict";
import { analyze, AnalysisOptions, AnalysisResult } from "../../analysis";
import { RunningIstioExporter, startIstioExporter, TrafficProfile } from "../support/istio-exporter";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";

/**
 * Canaries the analysis once passed although they are bad (issue 10), against a real Prometheus
 * scraping the fake Istio exporter: every one must end inconclusive or fail, with a reason that
 * names the cause. The exporter reports each request twice, as the canary's sidecars
 * (reporter="destination") and as the caller (reporter="source", e.g. the ingress gateway).
 *
 * Timeline: healthy traffic everywhere until Prometheus holds HEALTHY_S seconds of it; then the
 * "dead" canary's pods go away and the "stalled" canary stops getting requests; DEAD_S seconds
 * later every scenario is analysed over WINDOW, which covers both halves.
 */

const HEALTHY_S = 10;
const DEAD_S = 8;
const WINDOW = "16s";
const FRESHNESS = "4s";
const svc = (name: string): string => `${name}.shop.svc.cluster.local`;
const FAST: TrafficProfile = { rps: 300, errorRate: 0.002, latencyMs: 20 };
/** Every request in (10, 25] ms: 15 ms exactly. */
const ONE_BUCKET: TrafficProfile = { rps: 300, errorRate: 0, latencyMs: 15, latencySpread: 0 };
/** 97.5% fast (10 ms median), 2.5% at 245 ms: true p99 245 ms; interpolated inside (100, 250] it reads about 190 ms. */
const STRADDLING: TrafficProfile = { rps: 600, errorRate: 0.002, latencyMs: 10, tail: { share: 0.025, latencyMs: 245 } };

const SCENARIOS: Record<string, Record<string, TrafficProfile>> = {
    [svc("control")]: { v1: FAST, v2: FAST },
    [svc("onebucket-slow")]: { v1: ONE_BUCKET, v2: { ...ONE_BUCKET, latencyMs: 60 } },
    [svc("onebucket-same")]: { v1: ONE_BUCKET, v2: ONE_BUCKET },
    [svc("straddle")]: { v1: STRADDLING, v2: STRADDLING },
    [svc("dead")]: { v1: FAST, v2: FAST },
    [svc("stalled")]: { v1: FAST, v2: FAST },
};

describe("analysis never passes a bad canary (real Prometheus)", function () {
    let exporter: RunningIstioExporter | undefined;
    let prom: RunningPrometheus | undefined;
    let time: Date;
    const options = (service: string, extra: Partial<AnalysisOptions> = {}): AnalysisOptions => ({
        prometheusUrl: prom?.url ?? "http://127.0.0.1:1",
        service: svc(service),
        baseline: "v1",
        canary: "v2",
        window: WINDOW,
        freshnessWindow: FRESHNESS,
        time,
        ...extra,
    });
    const text = (r: AnalysisResult): string => r.reasons.join("\n");

    before(async function () {
        this.timeout(90_000);
        exporter = await startIstioExporter({ services: SCENARIOS, reporters: ["destination", "source"] });
        prom = await startPrometheus({ targets: [exporter.target] });
        const p = prom;
        await p.waitFor(
            `${HEALTHY_S} s of scraped healthy samples`,
            async () => {
                const r = await p.query(
                    `count_over_time(istio_requests_total{reporter="destination",destination_service="${svc("dead")}",destination_version="v2",response_code="200"}[1m])`,
                );
                return r.length === 1 && r[0].value >= HEALTHY_S;
            },
            60_000,
        );
        exporter.set(svc("dead"), "v2", { ...FAST, down: true });
        exporter.set(svc("stalled"), "v2", { ...FAST, rps: 0 });
        await new Promise((r) => setTimeout(r, DEAD_S * 1000));
        time = new Date();
    });

    after(async function () {
        this.timeout(20_000);
        try {
            await prom?.stop();
        } finally {
            await exporter?.stop();
        }
    });

    it("passes the healthy control with every check on (weights 50/50, freshness window, callers' view)", async () => {
        const r = await analyze(options("control", { expectedCanaryShare: 0.5 }));
        assert.equal(r.verdict, "pass", text(r));
        assert.ok(
            r.statistics.sourceView !== null && r.statistics.sourceView.canaryRequests > 1000,
            JSON.stringify(r.statistics.sourceView),
        );
        assert.ok(r.statistics.recentCanaryRequests !== null && r.statistics.recentCanaryRequests > 300);
        assert.deepEqual(
            r.statistics.tests.filter((t) => t.purpose === "hold").map((t) => [t.name, t.rejected]),
            [
                ["canary-share-vs-weight", false],
                ["baseline-share-vs-weight", false],
                ["recent-canary-share", false],
            ],
        );
    });

    it("fails a canary 4x slower than a baseline whose latencies all fall into one bucket, saying the comparison is limited", async () => {
        const r = await analyze(options("onebucket-slow"));
        assert.equal(r.verdict, "fail", text(r));
        assert.match(
            text(r),
            /canary "v2" is credibly slower than baseline "v1": 100\.00% of canary requests vs 0\.00% of baseline requests took longer than 25 ms \(the upper boundary of the one bucket \(10, 25\] ms that holds every baseline request\)/,
        );
    });

    it("does not pass a canary when every baseline latency falls into one bucket: the latency comparison cannot be made", async () => {
        const r = await analyze(options("onebucket-same"));
        assert.equal(r.verdict, "inconclusive", text(r));
        assert.match(
            text(r),
            /the latency comparison with baseline "v1" cannot be made: every baseline "v1" request falls into one histogram bucket \(10, 25\] ms, so a slowdown inside it cannot be seen \(canary "v2" was checked only for requests slower than 25 ms\); no pass without the comparison/,
        );
    });

    it("does not pass a canary whose true p99 is 245 ms against a 200 ms limit inside the (100, 250] bucket", async () => {
        const r = await analyze(options("straddle"));
        assert.equal(r.verdict, "inconclusive", text(r));
        assert.ok(r.canary.p99Ms !== null && r.canary.p99Ms < 200, `interpolated p99 ${r.canary.p99Ms} (the reading that used to pass)`);
        assert.equal(r.statistics.p99PassBoundaryMs, 100);
        assert.match(
            text(r),
            /canary "v2" p99 cannot be shown below max-p99-ms 200 ms: the limit falls inside the histogram bucket \(100, 250\] ms, where the interpolated p99 \(1\d\d\.\d ms\) is a guess, so a pass needs credible evidence that at most 1% of canary requests take longer than 100 ms, and 2\.\d\d% \(\d+\/\d+\) do/,
        );
    });

    it("does not pass a canary whose pods stopped serving halfway: its series are not fresh and the callers saw its 503s", async () => {
        const r = await analyze(options("dead", { expectedCanaryShare: 0.5 }));
        assert.notEqual(r.verdict, "pass", text(r));
        assert.ok(r.canary.requests > 1000, `the old counts are there: ${r.canary.requests}`);
        assert.equal(r.statistics.recentCanaryRequests, 0);
        assert.match(
            text(r),
            /canary "v2"'s series are not fresh: over the last 4s it had 0 of \d+ requests \(0\.00%\), credibly less than half of the share the applied weights give it, 50\.00%/,
        );
        assert.match(
            text(r),
            /callers \(reporter="source"\) recorded \d+ 5xx under destination_version "unknown" \(requests that reached no pod: a subset without healthy endpoints answers 503 at the caller\), which the destination reporter does not count for canary "v2"/,
        );
    });

    it("does not pass a canary whose pods stopped serving halfway when the weights are not known either", async () => {
        const r = await analyze(options("dead"));
        assert.notEqual(r.verdict, "pass", text(r));
        assert.match(
            text(r),
            /canary "v2"'s series are not fresh: over the last 4s it had 0 of \d+ requests .* its share over the whole window/,
        );
    });

    it("does not pass a canary that stopped getting requests halfway (its counters flat, no 503s anywhere)", async () => {
        const r = await analyze(options("stalled", { expectedCanaryShare: 0.5 }));
        assert.notEqual(r.verdict, "pass", text(r));
        assert.match(text(r), /canary "v2"'s series are not fresh: over the last 4s it had 0 of \d+ requests/);
    });
});
