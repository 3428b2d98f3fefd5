import * as assert from "node:assert/strict";
import { analyze, AnalysisOptions, AnalysisResult } from "../../analysis";
import { RunningIstioExporter, startIstioExporter, TrafficProfile } from "../support/istio-exporter";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";

/**
 * Canaries the analysis once passed although they are bad (issue 10), against a real Prometheus
 * scraping the fake Istio exporter: every one must end inconclusive or fail, with a reason that
 * names the cause. Every scenario is analysed over WINDOW once Prometheus holds that much of it.
 */

const WINDOW_S = 16;
const WINDOW = `${WINDOW_S}s`;
const svc = (name: string): string => `${name}.shop.svc.cluster.local`;
/** Every request in (10, 25] ms: 15 ms exactly. */
const ONE_BUCKET: TrafficProfile = { rps: 300, errorRate: 0, latencyMs: 15, latencySpread: 0 };

const SCENARIOS: Record<string, Record<string, TrafficProfile>> = {
    [svc("onebucket-slow")]: { v1: ONE_BUCKET, v2: { ...ONE_BUCKET, latencyMs: 60 } },
    [svc("onebucket-same")]: { v1: ONE_BUCKET, v2: ONE_BUCKET },
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
        time,
        ...extra,
    });
    const text = (r: AnalysisResult): string => r.reasons.join("\n");

    before(async function () {
        this.timeout(90_000);
        exporter = await startIstioExporter({ services: SCENARIOS });
        prom = await startPrometheus({ targets: [exporter.target] });
        const p = prom;
        await p.waitFor(
            `${WINDOW_S} s of scraped samples`,
            async () => {
                const r = await p.query(
                    `count_over_time(istio_requests_total{reporter="destination",destination_service="${svc("onebucket-same")}",destination_version="v2",response_code="200"}[${WINDOW}])`,
                );
                return r.length === 1 && r[0].value >= WINDOW_S;
            },
            60_000,
        );
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
});
