import * as assert from "node:assert/strict";
import { analyze, AnalysisOptions } from "../../analysis";
import { RunningIstioExporter, startIstioExporter, TrafficProfile } from "../support/istio-exporter";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";

/**
 * How the analysis finds each version's requests in each routing and data plane mode, against a
 * real Prometheus scraping the fake Istio exporter with the labels Istio emits in that mode:
 * - routing.api gateway-api: one Service per version, so each version's requests carry its own
 *   destination_service (`<app>-<version>.<ns>.svc.cluster.local`);
 * - ambient: HTTP metrics come from the waypoint (reporter="waypoint"); ztunnel reports no HTTP.
 */

const WINDOW = "10s";
const WINDOW_S = 10;
const FAST: TrafficProfile = { rps: 600, errorRate: 0.002, latencyMs: 20 };
const fqdn = (name: string): string => `${name}.shop.svc.cluster.local`;

describe("analysis in each routing and data plane mode (real Prometheus)", function () {
    let sidecar: RunningIstioExporter | undefined;
    let ambient: RunningIstioExporter | undefined;
    let prom: RunningPrometheus | undefined;
    let time: Date;
    const options = (app: string, extra: Partial<AnalysisOptions> = {}): AnalysisOptions => ({
        prometheusUrl: prom?.url ?? "http://127.0.0.1:1",
        service: fqdn(app),
        baseline: "v1",
        canary: "v2",
        window: WINDOW,
        time,
        ...extra,
    });

    before(async function () {
        this.timeout(90_000);
        // Gateway API, sidecar mode: per-version Services, seen by the destination sidecars and the callers.
        sidecar = await startIstioExporter({
            services: {
                [fqdn("gw-v1")]: { v1: FAST },
                [fqdn("gw-v2")]: { v2: FAST },
                [fqdn("bad-v1")]: { v1: { ...FAST, errorRate: 0.005 } },
                [fqdn("bad-v2")]: { v2: { ...FAST, errorRate: 0.055 } },
            },
            reporters: ["destination", "source"],
        });
        // Gateway API, ambient mode: only the waypoint reports HTTP.
        ambient = await startIstioExporter({
            services: { [fqdn("amb-v1")]: { v1: FAST }, [fqdn("amb-v2")]: { v2: FAST } },
            reporters: ["waypoint"],
        });
        prom = await startPrometheus({ targets: [sidecar.target, ambient.target] });
        const p = prom;
        await p.waitFor(
            `${WINDOW_S} s of scraped samples`,
            async () => {
                const r = await p.query(
                    `count_over_time(istio_requests_total{reporter="waypoint",destination_service="${fqdn("amb-v2")}"}[${WINDOW}])`,
                );
                return r.length > 0 && r[0].value >= WINDOW_S;
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
            await sidecar?.stop();
            await ambient?.stop();
        }
    });

    it("passes a healthy canary whose versions have Services of their own (routing.api gateway-api)", async () => {
        const r = await analyze(options("gw", { perVersionServices: true }));
        assert.equal(r.verdict, "pass", r.reasons.join("\n"));
        assert.match(r.queries.canaryRequests, /destination_service="gw-v2\.shop\.svc\.cluster\.local"/);
        assert.match(r.queries.baselineRequests, /destination_service="gw-v1\.shop\.svc\.cluster\.local"/);
        assert.ok(r.canary.requests > 1000 && r.baseline.requests > 1000);
    });

    it("rolls back a failing canary behind its own Service", async () => {
        const r = await analyze(options("bad", { perVersionServices: true }));
        assert.equal(r.verdict, "fail", r.reasons.join("\n"));
    });

    it("finds nothing, and never passes, when the per-version Services are not selected", async () => {
        const r = await analyze(options("gw"));
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons.join("\n"), /no istio_requests_total series for canary "v2" of gw\.shop\.svc\.cluster\.local/);
    });

    it("reads an ambient canary through the waypoint's metrics, and finds none with reporter destination", async () => {
        const viaWaypoint = await analyze(options("amb", { perVersionServices: true, reporter: "waypoint" }));
        assert.equal(viaWaypoint.verdict, "pass", viaWaypoint.reasons.join("\n"));
        const viaDestination = await analyze(options("amb", { perVersionServices: true, reporter: "destination" }));
        assert.equal(viaDestination.verdict, "inconclusive");
    });
});
