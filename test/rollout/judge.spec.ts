import * as assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { AnalysisOptions, AnalysisResult } from "../../analysis";
import { JudgeSettings, analysisJudge, analysisOptions, checkJudgeSettings, stepAlphaShare } from "../../rollout/judge";

/**
 * The rollout's judge: the applied weights reach the analysis as the canary's expected share, and a
 * judgement never outlasts the judge's deadline, whatever the analysis or Prometheus does.
 */

const SETTINGS: JudgeSettings = {
    prometheusUrl: "http://127.0.0.1:1",
    service: "reviews.default.svc.cluster.local",
    maxErrorRate: 0.01,
    maxP99Ms: 200,
    minRequests: 50,
    reporter: "destination",
};

describe("the rollout's analysis judge", () => {
    it("splits the rollout's alpha between its analysed steps, half to the first, so the shares sum to 1", () => {
        for (let of = 1; of <= 6; of++) {
            const shares = Array.from({ length: of }, (_, index) => stepAlphaShare({ index, of }));
            assert.equal(
                shares.reduce((a, b) => a + b, 0),
                1,
                `${of} steps: ${shares.join(", ")}`,
            );
        }
        assert.deepEqual(
            [0, 1, 2].map((index) => stepAlphaShare({ index, of: 3 })),
            [0.5, 0.25, 0.25],
        );
        assert.equal(stepAlphaShare(undefined), 1);
    });

    it("asks the analysis with the step's share of alpha and the scrape interval", () => {
        const o = analysisOptions(
            { ...SETTINGS, scrapeIntervalSeconds: 30 },
            { baseline: "v1", canary: "v2", sinceSeconds: 40, step: { index: 1, of: 3 } },
        );
        assert.equal(o.alpha, 0.005);
        assert.equal(o.scrapeIntervalSeconds, 30);
        assert.equal(analysisOptions(SETTINGS, { baseline: "v1", canary: "v2", sinceSeconds: 40 }).alpha, 0.02);
    });

    it("gives the analysis the canary's share of the applied weights as its expected share", async () => {
        const seen: AnalysisOptions[] = [];
        const judge = analysisJudge(SETTINGS, async (o) => {
            seen.push(o);
            const stats = (version: string) => ({ version, requests: 0, errors: 0, errorRate: null, p99Ms: null });
            return {
                verdict: "inconclusive",
                canary: stats(o.canary),
                baseline: stats(o.baseline),
                reasons: ["stub"],
            } as unknown as AnalysisResult;
        });
        await judge.judge({ baseline: "v1", canary: "v2", sinceSeconds: 30, weights: { v1: 75, v2: 25 } });
        assert.equal(seen.length, 1);
        assert.equal(seen[0].expectedCanaryShare, 0.25);
        assert.equal(seen[0].window, "30s");
    });

    it("passes no expected share without weights, or when the weights give the canary all or nothing", () => {
        const input = { baseline: "v1", canary: "v2", sinceSeconds: 30 };
        assert.equal(analysisOptions(SETTINGS, input).expectedCanaryShare, undefined);
        assert.equal(analysisOptions(SETTINGS, { ...input, weights: { v1: 0, v2: 100 } }).expectedCanaryShare, undefined);
        assert.equal(analysisOptions(SETTINGS, { ...input, weights: { v1: 100, v2: 0 } }).expectedCanaryShare, undefined);
        assert.equal(analysisOptions(SETTINGS, { ...input, weights: { v1: 90, v3: 10 } }).expectedCanaryShare, undefined);
    });

    it("passes no expected share with a sticky canary: sticky users make the canary's share exceed its weight", () => {
        const input = { baseline: "v1", canary: "v2", sinceSeconds: 30, weights: { v1: 75, v2: 25 } };
        assert.equal(analysisOptions({ ...SETTINGS, stickyCanary: true }, input).expectedCanaryShare, undefined);
        assert.equal(analysisOptions({ ...SETTINGS, stickyCanary: false }, input).expectedCanaryShare, 0.25);
    });

    it("ends a judgement that outlasts its deadline as inconclusive, naming the deadline", async function () {
        this.timeout(3000);
        const judge = analysisJudge({ ...SETTINGS, deadlineMs: 200 }, () => new Promise<AnalysisResult>(() => undefined));
        const started = Date.now();
        const j = await judge.judge({ baseline: "v1", canary: "v2", sinceSeconds: 30 });
        assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);
        assert.equal(j.verdict, "inconclusive");
        assert.deepEqual(j.reasons, ["the analysis did not finish within 200 ms (the judge's deadline): no verdict, never a pass"]);
        assert.deepEqual([j.canary.version, j.canary.requests, j.baseline.version], ["v2", 0, "v1"]);
    });

    it("ends within the query deadline against a Prometheus whose answer trickles in forever", async function () {
        this.timeout(5000);
        const open: http.ServerResponse[] = [];
        const server = http.createServer((_req, res) => {
            res.writeHead(200, { "Content-Type": "application/json" });
            res.write('{"status":"success",');
            const timer = setInterval(() => res.write(" "), 50);
            res.on("close", () => clearInterval(timer));
            open.push(res);
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        try {
            const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
            const judge = analysisJudge({ ...SETTINGS, prometheusUrl: url, timeoutMs: 300 });
            const started = Date.now();
            const j = await judge.judge({ baseline: "v1", canary: "v2", sinceSeconds: 30 });
            assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
            assert.equal(j.verdict, "inconclusive");
            assert.match(j.reasons[0], /no complete answer within 300 ms \(timeout: the total deadline of a query/);
        } finally {
            for (const res of open) res.destroy();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    });

    it("refuses a deadline that is not whole milliseconds >= 1, naming it", () => {
        assert.deepEqual(checkJudgeSettings({ ...SETTINGS, deadlineMs: 0 }, "v1", "v2"), [
            "deadlineMs: 0 is not allowed; expected whole milliseconds >= 1, e.g. 25000",
        ]);
        assert.deepEqual(checkJudgeSettings(SETTINGS, "v1", "v2"), []);
    });
});
