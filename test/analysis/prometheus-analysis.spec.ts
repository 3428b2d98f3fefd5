import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { analyze, AnalysisOptions, AnalysisResult, escapeLabelValue } from "../../analysis";
import { RunningIstioExporter, startIstioExporter, TrafficProfile } from "../support/istio-exporter";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";

/**
 * The analysis against a real Prometheus scraping the fake Istio exporter. One Prometheus and one
 * exporter serve every scenario; each scenario is its own destination_service.
 */

const WINDOW = "10s";
const WINDOW_S = 10;
const svc = (name: string): string => `${name}.shop.svc.cluster.local`;
const FAST: TrafficProfile = { rps: 600, errorRate: 0.002, latencyMs: 20 };

/** A destination_version that holds a double quote and a backslash; served by the exporter. */
const QUOTED_VERSION = 'v3"quoted\\name';
/** A canary "version" that, pasted unescaped into the query, would select every version of the service. */
const injection = (service: string): string =>
    `x"}[${WINDOW}]) or increase(istio_requests_total{destination_service="${service}"}[${WINDOW}]) or increase(istio_requests_total{destination_version="`;

const SCENARIOS: Record<string, Record<string, TrafficProfile>> = {
    [svc("healthy")]: { v1: FAST, v2: FAST },
    [svc("errors")]: { v1: { ...FAST, errorRate: 0.005 }, v2: { ...FAST, errorRate: 0.055 } },
    [svc("subtle")]: { v1: { ...FAST, errorRate: 0.001 }, v2: { ...FAST, errorRate: 0.006 } },
    [svc("slow")]: { v1: { ...FAST, errorRate: 0 }, v2: { ...FAST, errorRate: 0, latencyMs: 50 } },
    [svc("noisy")]: { v1: { ...FAST, errorRate: 0.03 }, v2: { ...FAST, errorRate: 0.03 } },
    [svc("quiet")]: { v1: FAST },
    [svc("late")]: { v1: FAST, v2: { ...FAST, errorRate: 0 } },
    [svc("hostile")]: { v1: FAST, v2: FAST, [QUOTED_VERSION]: { rps: 60, errorRate: 0, latencyMs: 20 } },
};

describe("analysis against a real Prometheus", function () {
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
    const failing = (r: AnalysisResult): string[] =>
        r.statistics.tests.filter((t) => t.purpose === "fail" && t.rejected).map((t) => t.name);

    before(async function () {
        this.timeout(90_000);
        exporter = await startIstioExporter({ services: SCENARIOS });
        prom = await startPrometheus({ targets: [exporter.target] });
        const p = prom;
        // Wait until the window is fully covered by scrapes (1 s interval), so counts are complete.
        await p.waitFor(
            `${WINDOW_S} s of scraped samples`,
            async () => {
                // Scraped since well before the window: a series first scraped inside it counts from 0 (its whole counter).
                const r = await p.query(
                    `count_over_time(istio_requests_total{destination_service="${svc("healthy")}",destination_version="v1",response_code="200"}[${WINDOW_S + 4}s])`,
                );
                return r.length === 1 && r[0].value >= WINDOW_S + 2;
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

    it("passes a healthy canary (same 0.2% 5xx and latency as the baseline)", async () => {
        const r = await analyze(options("healthy"));
        assert.equal(r.verdict, "pass", r.reasons.join("\n"));
        assert.ok(r.canary.requests > 3000, `canary requests ${r.canary.requests}`);
        assert.ok(r.canary.p99Ms !== null && r.canary.p99Ms < 200);
        assert.deepEqual(failing(r), []);
        assert.ok(r.statistics.tests.filter((t) => t.purpose === "pass").every((t) => t.rejected));
    });

    it("rolls back a canary with 5 points more 5xx than the baseline (5.5% vs 0.5%)", async () => {
        const r = await analyze(options("errors"));
        assert.equal(r.verdict, "fail", r.reasons.join("\n"));
        assert.ok(failing(r).includes("errors-vs-baseline"));
        assert.ok(failing(r).includes("errors-vs-limit"));
        assert.ok(r.canary.errorRate !== null && Math.abs(r.canary.errorRate - 0.055) < 0.005, `canary 5xx ratio ${r.canary.errorRate}`);
        assert.match(r.reasons.join("\n"), /5xx ratio 5\.\d\d% .* is credibly higher than baseline "v1" 0\.\d\d%/);
    });

    it("rolls back a canary with 0.5 points more 5xx than the baseline although it is under the 1% limit", async () => {
        const r = await analyze(options("subtle"));
        assert.equal(r.verdict, "fail", r.reasons.join("\n"));
        assert.deepEqual(failing(r), ["errors-vs-baseline"]);
        assert.ok(r.canary.errorRate !== null && r.canary.errorRate < 0.01);
    });

    it("rolls back a canary 2.5 times slower than the baseline although its p99 is near the limit", async () => {
        const r = await analyze(options("slow"));
        assert.equal(r.verdict, "fail", r.reasons.join("\n"));
        assert.ok(failing(r).includes("latency-vs-baseline"));
        assert.ok(r.canary.p50Ms !== null && r.baseline.p50Ms !== null && r.canary.p50Ms > 2 * r.baseline.p50Ms);
        assert.match(r.reasons.join("\n"), /credibly slower than baseline/);
    });

    it("passes a canary whose 5xx ratio equals a noisy baseline's (3% each, limit 5%)", async () => {
        const r = await analyze(options("noisy", { maxErrorRate: 0.05 }));
        assert.equal(r.verdict, "pass", r.reasons.join("\n"));
        assert.ok(r.baseline.errorRate !== null && r.baseline.errorRate > 0.025);
        assert.deepEqual(failing(r), []);
    });

    it("is inconclusive, never a pass, when the canary has no traffic", async () => {
        const r = await analyze(options("quiet"));
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.canary.requests, 0);
        assert.ok(r.baseline.requests > 3000);
        assert.match(r.reasons.join("\n"), /canary "v2" has no requests in the window/);
        assert.match(r.reasons.join("\n"), /no istio_requests_total series for canary "v2"/);
    });

    it("fails below min-requests when the evidence is overwhelming (5.5% vs 0.5% 5xx), and never passes there", async () => {
        const bad = await analyze(options("errors", { minRequests: 1_000_000 }));
        assert.equal(bad.verdict, "fail", bad.reasons.join("\n"));
        assert.match(bad.reasons[0], /fewer than min-requests 1000000, but the evidence against it is overwhelming/);
        const good = await analyze(options("healthy", { minRequests: 1_000_000 }));
        assert.equal(good.verdict, "inconclusive");
        assert.match(good.reasons[0], /fewer than min-requests 1000000: too few for a pass/);
    });

    it("counts a canary's first 5xx, which increase() drops with the first sample of their new series", async () => {
        const exp = exporter as RunningIstioExporter;
        const p = prom as RunningPrometheus;
        // A short burst of 5xx creates the canary's 503 series, then it stays flat: its first sample holds them all.
        exp.set(svc("late"), "v2", { ...FAST, errorRate: 0.5 });
        await new Promise((r) => setTimeout(r, 150));
        exp.set(svc("late"), "v2", { ...FAST, errorRate: 0 });
        await new Promise((r) => setTimeout(r, 4000));
        const at = new Date();
        const errors = exp.totals(svc("late"), "v2").errors;
        assert.ok(errors > 0);
        const r = await analyze(options("late", { time: at }));
        assert.equal(r.canary.errors, errors, r.reasons.join("\n"));
        const old = await p.query(
            `sum(increase(istio_requests_total{reporter="destination",destination_service="${svc("late")}",destination_version="v2",response_code="503"}[${WINDOW}]))`,
            at,
        );
        assert.ok((old[0]?.value ?? 0) < errors / 2, `increase() over the window saw ${old[0]?.value} of ${errors} 5xx`);
    });

    it("computes p99 from the buckets as Prometheus's histogram_quantile does", async () => {
        const r = await analyze(options("slow"));
        const p = prom as RunningPrometheus;
        const q = `histogram_quantile(0.99, sum by (le) (increase(istio_request_duration_milliseconds_bucket{destination_service="${svc("slow")}",destination_version="v2"}[${WINDOW}])))`;
        const expected = (await p.query(q, time))[0].value;
        assert.ok(
            r.canary.p99Ms !== null && Math.abs(r.canary.p99Ms - expected) / expected < 0.01,
            `ours ${r.canary.p99Ms} vs Prometheus ${expected}`,
        );
    });

    it("matches a version name with quotes and a backslash literally", async () => {
        const r = await analyze(options("hostile", { canary: QUOTED_VERSION, minRequests: 10 }));
        // The quoted version gets 60 req/s, v1 and v2 600 req/s each: only its own series were counted.
        assert.ok(
            r.canary.requests > 0.5 * 60 * WINDOW_S && r.canary.requests < 1.5 * 60 * WINDOW_S,
            `canary requests ${r.canary.requests}`,
        );
        assert.ok(r.queries.canaryRequests.includes(`destination_version="${escapeLabelValue(QUOTED_VERSION)}"`));
        assert.ok(r.queries.canaryRequests.includes('destination_version="v3\\"quoted\\\\name"'));
    });

    it("does not let a hostile version name change the query (it matches only the literal label)", async () => {
        const p = prom as RunningPrometheus;
        const hostile = injection(svc("hostile"));
        // Pasted unescaped, the name would select all traffic of the service:
        const unescaped = `sum(increase(istio_requests_total{reporter="destination",destination_service="${svc("hostile")}",destination_version="${hostile}"}[${WINDOW}]))`;
        const injected = await p.query(unescaped, time);
        assert.ok(injected.length === 1 && injected[0].value > 5000, `the injection works unescaped: ${JSON.stringify(injected)}`);
        // Escaped, it is one literal label value that no series has.
        const r = await analyze(options("hostile", { canary: hostile }));
        assert.equal(r.canary.requests, 0);
        assert.equal(r.verdict, "inconclusive");
        assert.deepEqual(r.queryErrors, []);
    });

    it("is inconclusive, naming the failure, when Prometheus is stopped", async function () {
        this.timeout(30_000);
        const other = await startPrometheus({ targets: [(exporter as RunningIstioExporter).target] });
        const url = other.url;
        await other.stop();
        const r = await analyze({ ...options("healthy"), prometheusUrl: url, timeoutMs: 2000 });
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.queryErrors.length, 4);
        assert.match(
            r.reasons[0],
            new RegExp(`Prometheus query for canary "v2" requests failed at ${url.replace(/\./g, "\\.")}: connection (refused|reset)`),
        );
    });

    describe("the analyze command", () => {
        // Asynchronous on purpose: spawnSync would block this process, and with it the exporter that
        // Prometheus scrapes, for as long as the command runs (seconds on a loaded machine), leaving a
        // gap in the very window the command analyses.
        const cli = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
            new Promise((resolve, reject) => {
                const root = path.resolve(__dirname, "..", "..");
                const child = spawn(process.execPath, [path.join(root, "cli", "istio-canary.js"), "analyze", ...args], {
                    cwd: root,
                    timeout: 30_000,
                });
                let stdout = "";
                let stderr = "";
                child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
                child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
                child.on("error", reject);
                child.on("close", (status) => resolve({ status, stdout, stderr }));
            });
        const flags = (service: string): string[] => [
            "--prometheus",
            (prom as RunningPrometheus).url,
            "--service",
            svc(service),
            "--baseline",
            "v1",
            "--canary",
            "v2",
            "--window",
            "15s",
        ];

        it("exits 0 and prints one JSON object with the verdict and evidence for a healthy canary", async function () {
            this.timeout(30_000);
            const res = await cli([...flags("healthy"), "--json"]);
            assert.equal(res.status, 0, res.stderr + res.stdout);
            const json = JSON.parse(res.stdout) as AnalysisResult;
            assert.equal(json.verdict, "pass");
            for (const v of [json.canary, json.baseline]) {
                assert.deepEqual(
                    ["requests", "errors", "errorRate", "p99Ms"].map((k) => typeof (v as unknown as Record<string, unknown>)[k]),
                    ["number", "number", "number", "number"],
                );
            }
            assert.ok(Array.isArray(json.reasons) && json.reasons.length > 0);
        });

        it("exits 1 and says why for a canary with 5 points more 5xx", async function () {
            this.timeout(30_000);
            const res = await cli(flags("errors"));
            assert.equal(res.status, 1, res.stderr + res.stdout);
            assert.match(res.stdout, /verdict: FAIL/);
            assert.match(res.stdout, /credibly higher than baseline/);
        });
    });
});
