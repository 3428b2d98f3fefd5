import * as assert from "node:assert/strict";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import { analyze, AnalysisResult } from "../../analysis";

/**
 * Prometheus answers that are not usable must never pass: a small fake Prometheus answers each
 * query the way a scenario says, and the analysis must come back inconclusive naming the failure.
 */

type Mode =
    | "healthy"
    | "http500"
    | "notJson"
    | "nan"
    | "inf"
    | "partial"
    | "matrix"
    | "errorStatus"
    | "hang"
    | "latencyFails"
    | "empty"
    | "noCode"
    | "duplicated"
    | "emptyCode"
    | "otherLabels"
    | "stale1970"
    | "slowBody";

/** The evaluation instant of the query being answered (Prometheus stamps every sample with it). */
let stamp = 1700000000;

const vector = (samples: Array<[Record<string, string>, string]>, at = stamp): string =>
    JSON.stringify({
        status: "success",
        data: { resultType: "vector", result: samples.map(([metric, v]) => ({ metric, value: [at, v] })) },
    });

function healthyAnswer(query: string): string {
    // The traffic checks: one unlabelled sum over the freshness window (both versions alike, like
    // their shares over the window), and an empty callers' view (no reporter="source" series).
    if (query.startsWith("sum(increase(")) return vector([[{}, "10000"]]);
    if (query.includes('reporter="source"')) return vector([]);
    if (query.includes("_bucket")) {
        return vector([
            [{ le: "10" }, "4000"],
            [{ le: "25" }, "12000"],
            [{ le: "50" }, "19000"],
            [{ le: "100" }, "20000"],
            [{ le: "+Inf" }, "20000"],
        ]);
    }
    return vector([
        [{ response_code: "200" }, "19990"],
        [{ response_code: "503" }, "10"],
    ]);
}

describe("analysis when Prometheus misbehaves", () => {
    let mode: Mode = "healthy";
    let server: http.Server;
    let url = "";
    const hanging: http.ServerResponse[] = [];

    before(async () => {
        server = http.createServer((req, res) => {
            const params = new URL(req.url ?? "/", "http://x").searchParams;
            const query = params.get("query") ?? "";
            stamp = Number(params.get("time") ?? "1700000000");
            // The baseline's counters at the scrape interval (the 5xx variance factor): no series, factor 1.
            if ((req.url ?? "").startsWith("/api/v1/query_range")) {
                res.writeHead(200, { "Content-Type": "application/json" }).end(
                    JSON.stringify({ status: "success", data: { resultType: "matrix", result: [] } }),
                );
                return;
            }
            const canaryRequests = query.includes('destination_version="v2"') && query.startsWith("sum by (response_code)");
            const send = (status: number, body: string): void => {
                res.writeHead(status, { "Content-Type": "application/json" }).end(body);
            };
            switch (mode) {
                case "healthy":
                    return send(200, healthyAnswer(query));
                case "http500":
                    return send(500, JSON.stringify({ status: "error", errorType: "internal", error: "storage is on fire" }));
                case "notJson":
                    return send(200, "<html>proxy login</html>");
                case "nan":
                    return send(200, query.includes("_bucket") ? healthyAnswer(query) : vector([[{ response_code: "200" }, "NaN"]]));
                case "inf":
                    return send(
                        200,
                        query.includes("_bucket")
                            ? healthyAnswer(query)
                            : vector([
                                  [{ response_code: "200" }, "+Inf"],
                                  [{ response_code: "503" }, "10"],
                              ]),
                    );
                case "partial":
                    // Healthy numbers, but the answer says series may be missing (as Thanos or a failed remote read do).
                    return send(
                        200,
                        JSON.stringify({ ...(JSON.parse(healthyAnswer(query)) as object), warnings: ["remote read: store 2 unavailable"] }),
                    );
                case "matrix":
                    return send(200, JSON.stringify({ status: "success", data: { resultType: "matrix", result: [] } }));
                case "errorStatus":
                    return send(200, JSON.stringify({ status: "error", error: "query timed out in expression evaluation" }));
                case "latencyFails":
                    return query.includes("_bucket") ? send(503, "") : send(200, healthyAnswer(query));
                case "noCode":
                    // Every canary 5xx hidden in series whose response_code was dropped (e.g. by Istio's Telemetry API).
                    return send(
                        200,
                        query.includes("_bucket")
                            ? healthyAnswer(query)
                            : query.includes('destination_version="v2"')
                              ? vector([
                                    [{ response_code: "200" }, "19000"],
                                    [{}, "1000"],
                                ])
                              : healthyAnswer(query),
                    );
                case "empty":
                    return send(200, vector([]));
                case "duplicated":
                    // A proxy merging two replicas without deduplication: every canary series twice.
                    return send(
                        200,
                        canaryRequests
                            ? vector([
                                  [{ response_code: "200" }, "19990"],
                                  [{ response_code: "503" }, "10"],
                                  [{ response_code: "200" }, "19990"],
                                  [{ response_code: "503" }, "10"],
                              ])
                            : healthyAnswer(query),
                    );
                case "emptyCode":
                    // The canary's 5xx under an empty response_code (a bad relabelling or recording rule).
                    return send(
                        200,
                        canaryRequests
                            ? vector([
                                  [{ response_code: "200" }, "19000"],
                                  [{ response_code: "" }, "1000"],
                              ])
                            : healthyAnswer(query),
                    );
                case "otherLabels":
                    // A recording rule that kept destination_version: a third version's requests mixed into the canary's.
                    return send(
                        200,
                        canaryRequests
                            ? vector([
                                  [{ response_code: "200", destination_version: "v3" }, "19990"],
                                  [{ response_code: "503" }, "10"],
                              ])
                            : healthyAnswer(query),
                    );
                case "stale1970": {
                    // Healthy numbers, but every sample stamped at the epoch (a stale cache entry, a broken proxy).
                    const body = JSON.parse(healthyAnswer(query)) as { data: { result: Array<{ value: [number, string] }> } };
                    for (const r of body.data.result) r.value[0] = 0;
                    return send(200, JSON.stringify(body));
                }
                case "slowBody": {
                    // Headers at once, then one byte every 50 ms, forever: never idle, never complete.
                    res.writeHead(200, { "Content-Type": "application/json" });
                    res.write('{"status":"success",');
                    const timer = setInterval(() => res.write(" "), 50);
                    res.on("close", () => clearInterval(timer));
                    hanging.push(res);
                    return undefined;
                }
                case "hang":
                    hanging.push(res);
                    return undefined;
            }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
        url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    after(async () => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    const run = async (m: Mode): Promise<AnalysisResult> => {
        mode = m;
        return analyze({ prometheusUrl: url, service: "reviews.default.svc.cluster.local", baseline: "v1", canary: "v2", timeoutMs: 500 });
    };

    it("passes on the fake's healthy answers (so the failures below are what makes them inconclusive)", async () => {
        const r = await run("healthy");
        assert.equal(r.verdict, "pass", r.reasons.join("\n"));
    });

    it("is inconclusive on HTTP 500 and quotes Prometheus's error", async () => {
        const r = await run("http500");
        assert.equal(r.verdict, "inconclusive");
        assert.match(
            r.reasons[0],
            /Prometheus query for canary "v2" requests failed at http:\/\/127\.0\.0\.1:\d+: HTTP 500: storage is on fire/,
        );
        assert.equal(r.queryErrors.length, 4);
        assert.equal(r.reasons.at(-1), "no verdict without complete data: a failed query is never a pass");
        assert.deepEqual(r.statistics.tests, []);
    });

    it("is inconclusive on an answer that is not JSON", async () => {
        const r = await run("notJson");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons[0], /malformed answer: not JSON \("<html>proxy login<\/html>"\)/);
    });

    it("is inconclusive on a NaN value", async () => {
        const r = await run("nan");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons.join("\n"), /the answer holds a NaN value for \{"response_code":"200"\}/);
    });

    it("is inconclusive on an infinite value, calling it infinite", async () => {
        const r = await run("inf");
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.queryErrors.length, 2);
        assert.match(r.reasons[0], /requests failed at .*: the answer holds an infinite value \(\+Inf\) for \{"response_code":"200"\}$/);
    });

    it("is inconclusive on an answer with warnings (possibly partial), although its numbers would pass", async () => {
        const r = await run("partial");
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.queryErrors.length, 4);
        assert.match(r.reasons[0], /requests failed at .*: partial answer: Prometheus warned "remote read: store 2 unavailable"$/);
    });

    it("is inconclusive on a matrix where a vector was asked for", async () => {
        const r = await run("matrix");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons[0], /malformed answer: resultType "matrix", expected "vector"/);
    });

    it("is inconclusive on an error status", async () => {
        const r = await run("errorStatus");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons[0], /Prometheus answered status "error": query timed out in expression evaluation/);
    });

    it("is inconclusive when Prometheus does not answer in time", async () => {
        const r = await run("hang");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons[0], /no answer within 500 ms \(timeout\)/);
    });

    it("is inconclusive when only the latency queries fail, although the 5xx counts look fine", async () => {
        const r = await run("latencyFails");
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.queryErrors.length, 2);
        assert.ok(r.canary.requests > 0);
        assert.match(r.reasons.join("\n"), /latency failed .*: HTTP 503/);
    });

    it("is inconclusive when requests come without a response_code label, since their 5xx cannot be counted", async () => {
        const r = await run("noCode");
        assert.equal(r.verdict, "inconclusive");
        assert.deepEqual(r.queryErrors, [
            'Prometheus answered 1000 requests without a response_code label for canary "v2": their 5xx cannot be counted (is the response_code label removed from istio_requests_total?)',
        ]);
    });

    it("is inconclusive when a series appears twice (a proxy merging replicas), naming it", async () => {
        const r = await run("duplicated");
        assert.equal(r.verdict, "inconclusive", r.reasons.join("\n"));
        assert.match(
            r.reasons[0],
            /^Prometheus query for canary "v2" requests failed at .*: malformed answer: the series \{"response_code":"200"\} appears twice \(Prometheus never answers a series twice; a proxy merging replicas without deduplicating them\?\)$/,
        );
    });

    it("is inconclusive when requests come with an empty response_code, since their 5xx cannot be counted", async () => {
        const r = await run("emptyCode");
        assert.equal(r.verdict, "inconclusive", r.reasons.join("\n"));
        assert.deepEqual(r.queryErrors, [
            'Prometheus answered 1000 requests with an empty response_code for canary "v2": their 5xx cannot be counted (Prometheus never answers an empty label value; a proxy or recording rule in between?)',
        ]);
    });

    it("is inconclusive when a series has other labels than the query keeps (sum by response_code)", async () => {
        const r = await run("otherLabels");
        assert.equal(r.verdict, "inconclusive", r.reasons.join("\n"));
        assert.deepEqual(r.queryErrors, [
            'Prometheus answered a series with other labels than response_code for canary "v2" requests: {"response_code":"200","destination_version":"v3"} (destination_version); a sum by (response_code) query never has them: is a proxy or recording rule changing the answer?',
        ]);
    });

    it("is inconclusive on samples timestamped in 1970, not at the evaluation instant, although their numbers would pass", async () => {
        const r = await run("stale1970");
        assert.equal(r.verdict, "inconclusive", r.reasons.join("\n"));
        assert.equal(r.queryErrors.length, 4);
        assert.match(
            r.reasons[0],
            /requests failed at .*: stale answer: the sample for \{"response_code":"200"\} is timestamped 1970-01-01T00:00:00\.000Z, not at the evaluation instant \d{4}-\d\d-\d\dT[\d:.]+Z/,
        );
    });

    it("is inconclusive when the answer trickles in past the total deadline (never idle, never complete)", async function () {
        this.timeout(5000);
        const started = Date.now();
        const r = await run("slowBody");
        assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
        assert.equal(r.verdict, "inconclusive");
        assert.equal(r.queryErrors.length, 4);
        assert.match(
            r.reasons[0],
            /requests failed at .*: no complete answer within 500 ms \(timeout: the total deadline of a query; the answer was still arriving, \d+ bytes so far\)$/,
        );
    });

    it("is inconclusive on empty vectors, saying there were no series", async () => {
        const r = await run("empty");
        assert.equal(r.verdict, "inconclusive");
        assert.match(r.reasons.join("\n"), /Prometheus has no istio_requests_total series for canary "v2"/);
    });
});
