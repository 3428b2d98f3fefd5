import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { RolloutState } from "../../rollout/state";
import { AnalysisEvent } from "../../rollout/types";
import { RunningIstioExporter, startIstioExporter } from "../support/istio-exporter";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";
import { configDirWith, devStackFile } from "./fakes";
import { CanaryBehaviour, MeshRun, MeshTarget, runMeshRollout, svc } from "./mesh";

/**
 * The rollout command end to end except `pulumi up`: the real CLI, engine, state file and stack-file
 * edits, the real analysis against a real Prometheus, and a stand-in for Istio: a fake stack target
 * whose applied weights become the traffic split of the fake Istio exporter Prometheus scrapes
 * (./mesh.ts). Each scenario is its own app (destination_service) with its own config dir; they run
 * side by side.
 */

/** How each scenario's canary behaves at a given canary weight. */
const SCENARIOS: Record<string, CanaryBehaviour> = {
    // Healthy all the way.
    healthy: () => ({}),
    // Fine at 10%, answers 8% 5xx from 25% on (breaks under load).
    breaks: (w) => (w >= 25 ? { errorRate: 0.08 } : {}),
    // Never gets traffic (e.g. its pods are not in the mesh), whatever the weights say.
    dark: () => ({ rps: 0 }),
    // Healthy; its first attempt to apply 50% fails, then --resume continues.
    resumed: () => ({}),
};

const ROLLOUT = (prometheusUrl: string) =>
    [
        `steps: [10, 25, 50, 100]`,
        `waitSeconds: 3`,
        `analysisIntervalSeconds: 2`,
        `maxStepSeconds: 9`,
        `prometheusUrl: ${prometheusUrl}`,
        `minRequests: 50`,
    ].join("\n");

type Result = MeshRun;

describe("rollout against a real Prometheus with the real analysis", function () {
    this.timeout(120_000);
    let exporter: RunningIstioExporter;
    let prom: RunningPrometheus;
    const results = new Map<string, Promise<Result[]>>();

    const rollout = (app: string, dir: string, argv: string[], json: boolean, setup?: (t: MeshTarget) => void): Promise<Result> =>
        runMeshRollout({ exporter, app, canary: SCENARIOS[app], dir, argv, json, setup });

    before(async function () {
        this.timeout(90_000);
        exporter = await startIstioExporter({ services: {} });
        // Every app starts as its stack file says: v1 90%, v2 10%.
        for (const app of Object.keys(SCENARIOS)) {
            new MeshTarget("", exporter, app, SCENARIOS[app]).route({ v1: 90, v2: 10 });
        }
        prom = await startPrometheus({ targets: [exporter.target] });
        const p = prom;
        await p.waitFor(
            "the first scraped samples",
            async () => (await p.query(`count(istio_requests_total{destination_service="${svc("healthy")}"})`)).length === 1,
            60_000,
        );
        for (const app of Object.keys(SCENARIOS)) {
            const dir = configDirWith({
                dev: devStackFile({ rollout: ROLLOUT(prom.url) }).replace(
                    "config:\n",
                    `config:\n  istio-canary:app:\n    name: ${app}\n    namespace: shop\n`,
                ),
            });
            if (app === "resumed") {
                results.set(
                    app,
                    (async () => {
                        const first = await rollout(app, dir, ["--stack", "dev"], true, (t) => {
                            t.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed: the cluster is unreachable" : undefined);
                        });
                        const second = await rollout(app, dir, ["--stack", "dev", "--resume"], true);
                        return [first, second];
                    })(),
                );
            } else {
                // healthy and breaks print text (the examples in docs/rollout.md), dark prints JSON.
                results.set(
                    app,
                    rollout(app, dir, ["--stack", "dev"], app === "dark").then((r) => [r]),
                );
            }
        }
        await Promise.all(results.values());
        // ROLLOUT_TRANSCRIPT_DIR=<dir> keeps each scenario's output (docs/rollout.md quotes them).
        const keep = process.env.ROLLOUT_TRANSCRIPT_DIR;
        if (keep !== undefined) {
            fs.mkdirSync(keep, { recursive: true });
            for (const [app, runs] of results) {
                (await runs).forEach((r, i) => fs.writeFileSync(path.join(keep, `${app}${i === 0 ? "" : `-${i + 1}`}.txt`), r.out));
            }
        }
    });

    after(async function () {
        this.timeout(20_000);
        await prom?.stop();
        await exporter?.stop();
    });

    const analyses = (r: Result): AnalysisEvent[] => r.events.filter((e): e is AnalysisEvent => e.type === "analysis");
    const state = (r: Result): RolloutState =>
        JSON.parse(fs.readFileSync(path.join(r.dir, ".rollout", "dev.json"), "utf8")) as RolloutState;

    it("walks a healthy canary 10 -> 25 -> 50 -> 100, printing each step's numbers for both versions", async () => {
        const [r] = await results.get("healthy")!;
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(
            r.target.calls.map((c) => c.weights?.v2),
            [10, 25, 50, 100],
        );
        const passes = r.out.split("\n").filter((l) => l.includes("-> pass: promote"));
        assert.deepEqual(
            passes.map((l) => /^step (\d)\/4 {2}v1 (\d+)% \/ v2 (\d+)%/.exec(l)?.slice(1)),
            [
                ["1", "90", "10"],
                ["2", "75", "25"],
                ["3", "50", "50"],
            ],
        );
        for (const line of passes) {
            assert.match(line, /v1: [\d,]+ req, 0\.\d\d% 5xx, p99 \d+ ms \| v2: [\d,]+ req, 0\.\d\d% 5xx, p99 \d+ ms/);
        }
        const s = state(r);
        assert.equal(s.status, "completed");
        for (const step of s.steps.slice(0, 3)) {
            const pass = step.analyses.at(-1)!;
            assert.equal(pass.verdict, "pass");
            assert.ok(pass.result.canary.requests >= 50, `canary requests at ${step.canaryWeight}%: ${pass.result.canary.requests}`);
        }
    });

    it("rolls back a canary that fails under load at the first step that sees it, with the evidence", async () => {
        const [r] = await results.get("breaks")!;
        assert.equal(r.code, 1, r.out);
        assert.deepEqual(
            r.target.calls.map((c) => c.weights),
            [
                { v1: 90, v2: 10 },
                { v1: 75, v2: 25 },
                { v1: 100, v2: 0 },
            ],
        );
        assert.match(r.out, /^step 1\/4 {2}v1 90% \/ v2 10% .* -> pass: promote$/m);
        assert.match(r.out, /^step 2\/4 {2}v1 75% \/ v2 25% .* -> FAIL: roll back; .*5xx/m);
        assert.match(r.out, /^rollback {2}rolled back to v1 100% \/ v2 0%/m);
        const s = state(r);
        assert.equal(s.status, "rolled-back");
        assert.equal(s.steps[1].decision?.decision, "rollback");
        const fail = s.steps[1].analyses.at(-1)!.result;
        assert.equal(fail.verdict, "fail");
        assert.ok(fail.canary.errorRate !== null && fail.canary.errorRate > 0.05, `canary 5xx ratio ${fail.canary.errorRate}`);
        assert.ok(fail.baseline.errorRate !== null && fail.baseline.errorRate < 0.01);
        assert.ok(fail.evidence !== undefined, "the analysis's statistics are kept as evidence");
    });

    it("holds a canary that gets no traffic, then rolls it back once the step has lasted maxStepSeconds without a verdict", async () => {
        const [r] = await results.get("dark")!;
        assert.equal(r.code, 1, r.out);
        const a = analyses(r);
        assert.deepEqual(
            a.map((e) => [e.weights.v2, e.verdict, e.decision]),
            [
                [10, "inconclusive", "hold"],
                [10, "inconclusive", "hold"],
                [10, "inconclusive", "hold"],
                [10, "inconclusive", "rollback"],
            ],
        );
        assert.ok(a.every((e) => e.canary.requests === 0));
        assert.ok(a.every((e) => e.baseline.requests > 0));
        assert.ok(
            a.every((e, i) => i === 0 || e.sinceSeconds > a[i - 1].sinceSeconds),
            "each look covers the whole step so far",
        );
        assert.deepEqual(r.target.calls.at(-1)?.weights, { v1: 100, v2: 0 });
    });

    it("stops on a failed apply with exit code 3, and --resume applies it and finishes without repeating what was done", async () => {
        const [first, second] = await results.get("resumed")!;
        assert.equal(first.code, 3, first.out);
        assert.deepEqual(
            first.target.calls.map((c) => [c.weights?.v2, c.ok]),
            [
                [10, true],
                [25, true],
                [50, false],
            ],
        );
        assert.equal(second.code, 0, second.out);
        assert.deepEqual(
            second.target.calls.map((c) => c.weights?.v2),
            [50, 100],
            "10% and 25% are not applied again",
        );
        assert.deepEqual(
            analyses(second)
                .filter((e) => e.decision === "promote")
                .map((e) => e.weights.v2),
            [50],
            "only the 50% step is analysed after the resume",
        );
        const s = state(second);
        assert.equal(s.status, "completed");
        assert.ok(s.history.some((h) => h.event === "apply-failed"));
    });
});
