import { strict as assert } from "node:assert";
import { formatDuration, formatEValue, hookResultText, log10EValue, reportModel, testsOf } from "../../report/model";
import { parseState } from "../../rollout/state";
import { engineRun } from "./states";

describe("report model", () => {
    describe("the headline", () => {
        it("says a completed rollout passed every analysed step, with its looks and duration", async () => {
            const { state } = await engineRun(["inconclusive", "pass", "pass", "pass"]);
            assert.equal(
                reportModel(state).headline,
                "Completed: v2 reached 100% (v1 keeps running until --finalize), after the analysis passed at every analysed step (10%, 25%, 50%; 4 looks in 3m 15s).",
            );
        });

        it("says at which step a failed analysis rolled the canary back, and its first reason", async () => {
            const { state } = await engineRun(["pass", "fail"]);
            assert.equal(
                reportModel(state).headline,
                "Rolled back at 25% to v1 after 2m 00s, because the analysis failed: canary 5xx ratio 10.00% exceeds 1.00%.",
            );
        });

        it("says a step that stayed inconclusive past the tolerance was rolled back, and what the last look said", async () => {
            const { state } = await engineRun(["inconclusive", "inconclusive", "inconclusive"]);
            assert.equal(
                reportModel(state).headline,
                "Rolled back at 10% to v1 after 1m 30s, because 3 analyses were inconclusive (no verdict within 1000 canary requests or 90s); the last said: canary has 0 requests, fewer than minRequests 50.",
            );
        });

        it("says an abort sent all traffic back, and why", async () => {
            const { state } = await engineRun("abort");
            assert.equal(reportModel(state).headline, "Aborted after 0s: all traffic went back to v1; aborted by request (--abort).");
        });

        it("says where a rollout in progress stands and how to go on", async () => {
            const { snapshots } = await engineRun(["inconclusive", "pass", "pass", "pass"]);
            const holding = snapshots.find((s) => s.steps[0]?.analyses.length === 1 && s.current === 0)!;
            assert.equal(
                reportModel(holding).headline,
                "In progress at step 1/4 (10% to v2): 1 look so far, the last inconclusive; continue it with --resume or stop it with --abort.",
            );
            const shifting = snapshots.find((s) => s.pending?.kind === "shift" && s.current === 1)!;
            assert.equal(
                reportModel(shifting).headline,
                "In progress at step 2/4 (25% to v2): a shift is pending; continue it with --resume or stop it with --abort.",
            );
        });
    });

    it("has one look per analysis with the decision it led to: holds before the step's decision", async () => {
        const { state } = await engineRun(["inconclusive", "inconclusive", "inconclusive"]);
        const m = reportModel(state);
        assert.deepEqual(
            m.looks.map((l) => [l.t, l.step, l.canaryWeight, l.sinceSeconds, l.verdict, l.decision]),
            [
                [60, 0, 10, 60, "inconclusive", "hold"],
                [75, 0, 10, 75, "inconclusive", "hold"],
                [90, 0, 10, 90, "inconclusive", "rollback"],
            ],
        );
        assert.deepEqual(m.looks[0].baseline, { version: "v1", requests: 1080, errors: 1, errorRate: 1 / 1080, p99Ms: 45 });
        assert.deepEqual(m.looks[0].canary, { version: "v2", requests: 0, errors: 0, errorRate: null, p99Ms: null });
    });

    it("has the traffic split at the start and after every confirmed apply, the rollback's included", async () => {
        const { state } = await engineRun(["pass", "fail"]);
        assert.deepEqual(
            reportModel(state).split.map((p) => [p.t, p.baseline, p.canary, p.cause]),
            [
                [0, 90, 10, "start"],
                [0, 90, 10, "shift"],
                [60, 75, 25, "shift"],
                [120, 100, 0, "rollback"],
            ],
        );
    });

    it("puts every decision and apply on the timeline, a look's decision before the apply it led to", async () => {
        const { state } = await engineRun(["pass", "fail"]);
        assert.deepEqual(
            reportModel(state).markers.map((m) => [m.t, m.kind, m.label]),
            [
                [0, "start", "start"],
                [0, "shift", "shift to 10%"],
                [60, "promote", "pass at 10%"],
                [60, "shift", "shift to 25%"],
                [120, "rollback", "fail: roll back"],
                [120, "rollback", "rolled back: v1 100%"],
            ],
        );
    });

    it("shows the hooks' ends and the gates' waits and answers from the history on the timeline", async () => {
        const { state } = await engineRun(["pass", "pass", "pass"]);
        state.history.splice(
            2,
            0,
            { at: "2025-01-01T12:00:00.500Z", event: "hook-started", detail: { hook: "smoke", at: "pre-step", step: 0 } },
            {
                at: "2025-01-01T12:00:01.000Z",
                event: "hook-finished",
                detail: { hook: "smoke", at: "pre-step", step: 0, status: "failed", then: "held" },
            },
            { at: "2025-01-01T12:00:02.000Z", event: "gate-waiting", detail: { step: 1 } },
            { at: "2025-01-01T12:00:03.000Z", event: "gate-analysis", detail: { step: 1, sinceSeconds: 3, verdict: "pass" } },
            { at: "2025-01-01T12:00:04.000Z", event: "gate-approved", detail: { step: 1, by: "ana@laptop" } },
        );
        const checked = parseState(JSON.stringify(state), "dev.json", "dev");
        const extra = reportModel(checked).markers.filter((m) => m.kind === "hook" || m.kind === "gate");
        assert.deepEqual(
            extra.map((m) => [m.t, m.kind, m.label, m.detail]),
            [
                [1, "hook", "hook smoke: failed", "hook: smoke; at: pre-step; step: 0; status: failed; then: held"],
                [2, "gate", "gate waiting", "step: 1"],
                [4, "gate", "gate approved by ana@laptop", "step: 1; by: ana@laptop"],
            ],
        );
    });

    it("reads the hook runs and gates a state records, and none from a state without them", async () => {
        const { state } = await engineRun(["pass", "pass", "pass"]);
        assert.deepEqual([reportModel(state).hooks, reportModel(state).gates], [[], []]);
        const withHooks = {
            ...state,
            hooks: [
                {
                    hook: "smoke",
                    at: "pre-step",
                    step: 0,
                    kind: "command",
                    status: "succeeded",
                    startedAt: "2025-01-01T12:00:00.100Z",
                    finishedAt: "2025-01-01T12:00:01.300Z",
                    exitCode: 0,
                    durationMs: 1200,
                    output: "ok\n",
                },
                {
                    hook: "notify",
                    at: "complete",
                    kind: "webhook",
                    status: "failed",
                    startedAt: "2025-01-01T12:03:00.000Z",
                    httpStatus: 500,
                    durationMs: 80,
                    output: "",
                },
                {
                    hook: "hangs",
                    at: "pre-rollout",
                    kind: "command",
                    status: "timed-out",
                    startedAt: "2025-01-01T12:00:00.000Z",
                    exitCode: null,
                },
            ],
            gates: [
                {
                    step: 3,
                    status: "approved",
                    since: "2025-01-01T12:02:00.000Z",
                    answeredAt: "2025-01-01T12:02:30.000Z",
                    by: "ana@laptop",
                    analyses: [],
                    analysisCount: 2,
                },
            ],
        };
        const m = reportModel(parseState(JSON.stringify(withHooks), "dev.json", "dev"));
        assert.deepEqual(
            m.hooks.map((h) => [h.hook, h.point, h.step, h.status, hookResultText(h), h.durationMs]),
            [
                ["smoke", "pre-step", 0, "succeeded", "exit 0", 1200],
                ["notify", "complete", undefined, "failed", "HTTP 500", 80],
                ["hangs", "pre-rollout", undefined, "timed-out", "killed by a signal", undefined],
            ],
        );
        assert.deepEqual(m.gates, [
            {
                step: 3,
                status: "approved",
                since: "2025-01-01T12:02:00.000Z",
                answeredAt: "2025-01-01T12:02:30.000Z",
                by: "ana@laptop",
                analysisCount: 2,
            },
        ]);
    });

    it("has one series per sequential test with its e-value and threshold at every look that ran it", async () => {
        const test = (name: string, eValue: number | null, logEValue: number | null, threshold: number) => ({
            name,
            purpose: "fail",
            eValue,
            logEValue,
            threshold,
            rejected: eValue === null || eValue >= threshold,
            summary: `${name} summary`,
        });
        const { state } = await engineRun(["inconclusive", "fail"], {
            decorate: (j, call) => ({
                ...j,
                evidence: {
                    statistics: {
                        tests:
                            call === 0
                                ? [test("errors-vs-baseline", 2, Math.log(2), 125)]
                                : [test("errors-vs-baseline", null, null, 125), test("errors-vs-limit", 0, null, 500)],
                    },
                    thresholds: { maxErrorRate: 0.01, maxP99Ms: 200 },
                },
            }),
        });
        const m = reportModel(state);
        assert.deepEqual(
            m.tests.map((s) => [
                s.name,
                s.points.map((p) => [p.look, p.t, p.log10E === null ? null : Number(p.log10E.toFixed(4)), p.rejected]),
            ]),
            [
                [
                    "errors-vs-baseline",
                    [
                        [0, 60, 0.301, false],
                        [1, 75, null, true],
                    ],
                ],
                ["errors-vs-limit", [[1, 75, -324, false]]],
            ],
        );
        assert.equal(m.tests[0].points[0].log10Threshold, Math.log10(125));
        assert.deepEqual(m.limits, { maxErrorRate: 0.01, maxP99Ms: 200 });
    });

    it("reads no tests from evidence without test statistics, and skips malformed ones", () => {
        assert.deepEqual(testsOf(undefined), []);
        assert.deepEqual(
            testsOf({ statistics: { tests: [{ name: "x", purpose: "fail" }, "junk", { purpose: "pass", threshold: 5 }] } }),
            [],
        );
    });

    it("keeps the digits of tiny and huge e-values through their natural log, and infinity as null", () => {
        assert.equal(log10EValue(null, 1000 * Math.LN10)?.toFixed(9), "1000.000000000");
        assert.equal(log10EValue(100, null), 2);
        assert.equal(log10EValue(null, null), null);
        assert.deepEqual([null, -324, -13.217 / Math.LN10, Math.log10(0.0392), Math.log10(125), 27.65, 30.999].map(formatEValue), [
            "infinite",
            "0",
            "1.8e-6",
            "0.0392",
            "125",
            "4.5e+27",
            "1.0e+31",
        ]);
    });

    it("writes durations as seconds, minutes and hours", () => {
        assert.deepEqual([0, 9.4, 65, 3599, 3725].map(formatDuration), ["0s", "9s", "1m 05s", "59m 59s", "1h 02m"]);
    });
});
