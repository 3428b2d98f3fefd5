import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EngineDeps, RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { RolloutState } from "../../rollout/state";
import { AnalysisEvent, Verdict } from "../../rollout/types";
import { RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock, always, eventLog } from "./fakes";

const plan = (over: Partial<RolloutPlan> = {}): RolloutPlan => ({
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 25, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 15,
    maxStepRequests: 1000,
    maxStepSeconds: 90,
    ...over,
});

interface Rig {
    engine: RolloutEngine;
    target: RecordingTarget;
    judge: ScriptedJudge;
    store: SnapshotStore;
    clock: VirtualClock;
    events: ReturnType<typeof eventLog>["events"];
    controller: AbortController;
}

function rig(judge: ScriptedJudge, opts: { target?: RecordingTarget; store?: SnapshotStore; clock?: VirtualClock } = {}): Rig {
    const target = opts.target ?? new RecordingTarget({ v1: 90, v2: 10 });
    const store = opts.store ?? new SnapshotStore();
    const clock = opts.clock ?? new VirtualClock();
    const log = eventLog();
    const controller = new AbortController();
    const deps: EngineDeps = { target, judge, store, clock, emit: log.emit, signal: controller.signal };
    return { engine: new RolloutEngine(deps), target, judge, store, clock, events: log.events, controller };
}

const split = (canary: number) => ({ v1: 100 - canary, v2: canary });
const analyses = (r: Rig) => r.events.filter((e): e is AnalysisEvent => e.type === "analysis");

describe("rollout engine", () => {
    describe("a healthy canary", () => {
        it("is shifted 10 -> 25 -> 50 -> 100 with an analysis before each shift, and left running beside the baseline", async () => {
            const r = rig(always("pass"));
            const outcome = await r.engine.start(plan());
            assert.equal(outcome.kind, "completed");
            assert.equal(outcome.exitCode, 0);
            assert.deepEqual(r.target.applied, [split(10), split(25), split(50), split(100)]);
            assert.equal(r.target.calls.filter((c) => c.kind === "remove").length, 0, "both versions keep running");
            assert.equal(r.judge.calls.length, 3, "one analysis at 10, 25 and 50; none at 100 (no baseline traffic)");
            assert.deepEqual(
                analyses(r).map((a) => [a.weights.v2, a.decision]),
                [
                    [10, "promote"],
                    [25, "promote"],
                    [50, "promote"],
                ],
            );
            const saved = r.store.load("dev")!;
            assert.equal(saved.status, "completed");
            assert.deepEqual(saved.applied, split(100));
        });

        it("waits waitSeconds after each shift and analyses the time since that shift", async () => {
            const r = rig(always("pass"));
            await r.engine.start(plan({ waitSeconds: 30 }));
            assert.deepEqual(r.clock.sleeps, [30_000, 30_000, 30_000]);
            assert.deepEqual(
                r.judge.calls.map((c) => c.sinceSeconds),
                [30, 30, 30],
            );
            assert.deepEqual(r.judge.calls[0], {
                baseline: "v1",
                canary: "v2",
                sinceSeconds: 30,
                weights: { v1: 90, v2: 10 },
                step: { index: 0, of: 3 },
            });
            assert.deepEqual(
                r.judge.calls.map((c) => c.step),
                [0, 1, 2].map((index) => ({ index, of: 3 })),
                "each analysis says which of the three analysed steps it judges (the judge splits alpha between them)",
            );
        });

        it("records each decision with its evidence and a timestamp in the state file", async () => {
            const r = rig(always("pass"));
            await r.engine.start(plan());
            const saved = JSON.parse(fs.readFileSync(r.store.fileOf("dev"), "utf8")) as RolloutState;
            assert.equal(saved.steps.length, 4);
            const first = saved.steps[0];
            assert.equal(first.decision?.decision, "promote");
            assert.match(first.decision!.at, /^\d{4}-\d\d-\d\dT/);
            assert.equal(first.analyses[0].result.canary.requests, 120);
            assert.equal(first.analyses[0].result.baseline.requests, 1080);
            assert.ok(saved.history.some((h) => h.event === "applied"));
        });
    });

    describe("a failing canary", () => {
        it("is rolled back at the first step whose analysis fails, with all traffic on the baseline and exit code 1", async () => {
            const r = rig(new ScriptedJudge((call) => (call === 0 ? "pass" : "fail")));
            const outcome = await r.engine.start(plan());
            assert.equal(outcome.kind, "rolled-back");
            assert.equal(outcome.exitCode, 1);
            assert.deepEqual(r.target.applied, [split(10), split(25), { v1: 100, v2: 0 }]);
            assert.equal(r.judge.calls.length, 2);
            assert.match(outcome.message, /rolled back to v1: analysis failed at v1 75% \/ v2 25%: canary 5xx ratio 10.00% exceeds 1.00%/);
            const saved = r.store.load("dev")!;
            assert.equal(saved.status, "rolled-back");
            assert.equal(saved.steps[1].decision?.decision, "rollback");
            assert.equal(saved.steps[1].analyses[0].result.canary.errors, 12);
        });
    });

    describe("a canary that gets no traffic", () => {
        it("is held while the analysis is inconclusive and rolled back once the step has lasted maxStepSeconds without a verdict", async () => {
            const r = rig(always("inconclusive"));
            const outcome = await r.engine.start(plan({ maxStepSeconds: 90 }));
            assert.equal(outcome.kind, "rolled-back");
            assert.equal(r.judge.calls.length, 3, "maxStepSeconds 90 tolerates the looks at 60 s and 75 s, the one at 90 s rolls back");
            assert.deepEqual(
                analyses(r).map((a) => a.decision),
                ["hold", "hold", "rollback"],
            );
            assert.deepEqual(r.clock.sleeps, [60_000, 15_000, 15_000], "settle, then analysisIntervalSeconds between analyses");
            assert.deepEqual(
                r.judge.calls.map((c) => c.sinceSeconds),
                [60, 75, 90],
                "the window grows: counts stay cumulative since the shift",
            );
            assert.deepEqual(r.target.applied, [split(10), { v1: 100, v2: 0 }]);
            assert.match(outcome.message, /no verdict at v1 90% \/ v2 10% after 90s \(tolerance 90s\), 3 inconclusive analyses/);
        });

        it("is promoted when an inconclusive step later passes", async () => {
            const r = rig(new ScriptedJudge((call) => (call < 2 ? "inconclusive" : "pass")));
            const outcome = await r.engine.start(plan({ maxStepSeconds: 90 }));
            assert.equal(outcome.kind, "completed");
            assert.deepEqual(
                analyses(r).map((a) => a.decision),
                ["hold", "hold", "promote", "promote", "promote"],
            );
        });

        it("counts a judge that throws as inconclusive, never as a pass", async () => {
            const judge = new ScriptedJudge(() => {
                throw new Error("socket hang up");
            });
            const r = rig(judge);
            const outcome = await r.engine.start(plan({ maxStepSeconds: 60 }));
            assert.equal(outcome.kind, "rolled-back");
            assert.match(outcome.message, /the analysis threw an error: socket hang up/);
        });
    });

    describe("a failed apply", () => {
        it("stops the rollout with exit code 3 and the shift saved as pending", async () => {
            const r = rig(always("pass"));
            r.target.failWhen = (call) => (call.weights?.v2 === 25 ? "pulumi up failed: context deadline exceeded" : undefined);
            const outcome = await r.engine.start(plan());
            assert.equal(outcome.kind, "apply-failed");
            assert.equal(outcome.exitCode, 3);
            assert.match(
                outcome.message,
                /^applying the shift to v1 75% \/ v2 25% failed\. The stack file was already edited: it now says v1 75% \/ v2 25%, the split being applied; leave it so \(or commit it\), the next run applies it\. The state is saved in .*dev\.json\. Fix the cause, then run `npx istio-canary rollout --stack dev --resume` to retry the shift, or `npx istio-canary rollout --stack dev --abort` to send all traffic to v1$/,
            );
            const failed = r.events.find((e) => e.type === "apply-failed");
            assert.ok(failed?.type === "apply-failed");
            assert.equal(failed.error, "pulumi up failed: context deadline exceeded");
            assert.match(outcome.message, /--resume/);
            const saved = r.store.load("dev")!;
            assert.equal(saved.status, "in-progress");
            assert.equal(saved.current, 1);
            assert.deepEqual(saved.pending?.weights, split(25));
            assert.equal(saved.pending?.failures, 1);
            assert.deepEqual(saved.applied, split(10), "only the confirmed shift counts as applied");
            assert.equal(r.judge.calls.length, 1, "no analysis of a step that was not applied");
        });

        it("of a rollback says traffic is not back on the baseline, and --resume retries the rollback without analysing again", async () => {
            const store = new SnapshotStore();
            const first = rig(always("fail"), { store });
            first.target.failWhen = (call) => (call.weights?.v1 === 100 ? "pulumi up failed: cluster unreachable" : undefined);
            const stopped = await first.engine.start(plan());
            assert.equal(stopped.exitCode, 3);
            assert.match(stopped.message, /Traffic is NOT yet back on v1/);

            const second = rig(always("pass"), { store, target: new RecordingTarget(first.target.weights) });
            const resumed = await second.engine.resume(plan());
            assert.equal(resumed.kind, "rolled-back");
            assert.equal(resumed.exitCode, 1);
            assert.deepEqual(second.target.applied, [{ v1: 100, v2: 0 }]);
            assert.equal(second.judge.calls.length, 0);
        });
    });

    describe("--resume", () => {
        it("after a failed apply applies the pending shift once and continues, without re-applying or re-analysing earlier steps", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.target.failWhen = (call) => (call.weights?.v2 === 25 ? "pulumi up failed" : undefined);
            await first.engine.start(plan());

            const second = rig(always("pass"), { store, target: new RecordingTarget(first.target.weights) });
            const outcome = await second.engine.resume(plan());
            assert.equal(outcome.kind, "completed");
            assert.deepEqual(second.target.applied, [split(25), split(50), split(100)]);
            assert.equal(second.judge.calls.length, 2, "steps 25 and 50 are analysed; step 10 was already decided");
            assert.equal(second.events[0].type, "start");
        });

        it("after an interruption during the settle wait neither re-applies the step nor skips its analysis, and waits only what is left", async () => {
            const store = new SnapshotStore();
            const clock = new VirtualClock();
            const first = rig(always("pass"), { store, clock });
            first.clock.onSleep = (_ms, index) => {
                if (index === 1) {
                    clock.t += 20_000; // 20 s into the wait after the 25% shift...
                    first.controller.abort(); // ...Ctrl-C
                }
            };
            const stopped = await first.engine.start(plan());
            assert.equal(stopped.kind, "interrupted");
            assert.equal(stopped.exitCode, 130);
            assert.deepEqual(first.target.applied, [split(10), split(25)]);

            const second = rig(always("pass"), {
                store,
                clock: new VirtualClock(clock.t),
                target: new RecordingTarget(first.target.weights),
            });
            const outcome = await second.engine.resume(plan());
            assert.equal(outcome.kind, "completed");
            assert.deepEqual(second.target.applied, [split(50), split(100)], "25% is not applied again");
            assert.equal(second.judge.calls.length, 2, "the 25% step is still analysed, then 50%");
            assert.equal(second.clock.sleeps[0], 40_000, "60 s wait minus the 20 s already waited");
            assert.equal(second.judge.calls[0].sinceSeconds, 60, "the window starts at the original shift");
        });

        it("keeps a step's inconclusive count, so interruptions do not extend the tolerance", async () => {
            const store = new SnapshotStore();
            const first = rig(always("inconclusive"), { store });
            first.clock.onSleep = (_ms, index) => {
                if (index === 2) {
                    first.controller.abort(); // after two inconclusive analyses
                }
            };
            const stopped = await first.engine.start(plan({ maxStepSeconds: 90 }));
            assert.equal(stopped.kind, "interrupted");
            assert.equal(first.judge.calls.length, 2);

            const second = rig(always("inconclusive"), { store, target: new RecordingTarget(first.target.weights) });
            const outcome = await second.engine.resume(plan({ maxStepSeconds: 90 }));
            assert.equal(outcome.kind, "rolled-back");
            assert.equal(second.judge.calls.length, 1, "the third inconclusive analysis rolls back");
        });

        it("from any saved point of a rollout completes it, applying every shift exactly once and deciding every step by an analysis", async () => {
            const reference = rig(always("pass"));
            await reference.engine.start(plan());
            const snapshots = reference.store.snapshots.filter((s) => s.status === "in-progress");
            assert.ok(snapshots.length >= 10, `expected many save points, got ${snapshots.length}`);
            for (const [i, snapshot] of snapshots.entries()) {
                const store = new SnapshotStore();
                store.save(snapshot);
                // The process died right after this save: the config holds what was applied, or
                // what was being applied when the pending apply had already written it.
                const confirmed = snapshot.steps.filter((s) => s.appliedAt !== undefined).map((s) => s.weights);
                const target = new RecordingTarget(snapshot.pending?.weights ?? snapshot.applied ?? { v1: 90, v2: 10 });
                const r = rig(always("pass"), { store, target });
                const outcome = await r.engine.resume(plan());
                assert.equal(outcome.kind, "completed", `snapshot ${i}: ${outcome.message}`);
                const all = [...confirmed, ...r.target.applied].map((w) => w.v2);
                assert.deepEqual(all, [10, 25, 50, 100], `snapshot ${i}: each shift applied exactly once in total`);
                const final = r.store.load("dev")!;
                for (const step of final.steps.slice(0, 3)) {
                    assert.equal(step.decision?.decision, "promote", `snapshot ${i}: step ${step.canaryWeight}% decided by an analysis`);
                    assert.ok(step.analyses.length >= 1);
                }
            }
        });

        it("is refused when there is no rollout to resume", async () => {
            const r = rig(always("pass"));
            const outcome = await r.engine.resume(plan());
            assert.equal(outcome.kind, "refused");
            assert.equal(outcome.exitCode, 4);
            assert.match(outcome.message, /no rollout of stack dev to resume/);
        });

        it("is refused after the rollout completed, saying how it ended", async () => {
            const r = rig(always("pass"));
            assert.equal((await r.engine.start(plan())).kind, "completed");
            const outcome = await r.engine.resume(plan());
            assert.equal(outcome.exitCode, 4);
            assert.equal(
                outcome.message,
                "the rollout of v2 on stack dev is completed (v2 gets 100% of traffic; v1 keeps running until --finalize removes it); there is nothing to resume: " +
                    "remove v1 with `npx istio-canary rollout --stack dev --finalize`, or send all traffic back to it with `npx istio-canary rollout --stack dev --abort`",
            );
        });

        it("is refused when the stack's weights were changed while the rollout was stopped", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.target.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed" : undefined);
            await first.engine.start(plan());
            const second = rig(always("pass"), { store, target: new RecordingTarget({ v1: 100, v2: 0 }) });
            const outcome = await second.engine.resume(plan());
            assert.equal(outcome.kind, "refused");
            assert.match(outcome.message, /the stack's weights are v1 100% \/ v2 0%, but the rollout last applied v1 75% \/ v2 25%/);
            assert.equal(second.target.calls.length, 0);
        });

        it("is refused when the stack's versions no longer match the rollout", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.target.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed" : undefined);
            await first.engine.start(plan());
            const second = rig(always("pass"), { store });
            const outcome = await second.engine.resume(plan({ versions: [{ name: "v1" }, { name: "v3", replicas: 1 }] }));
            assert.equal(outcome.kind, "refused");
            assert.match(outcome.message, /versions are now \[v1, v3\], but the rollout .* moves traffic from v1 to v2/);
        });
    });

    describe("a target that cannot apply (no Pulumi CLI)", () => {
        const NO_CLI = "cannot run pulumi up for stack dev: the Pulumi CLI is not installed or not on PATH";

        for (const command of ["start", "resume", "abort", "finalize"] as const) {
            it(`refuses ${command} with the target's reason (exit 4) before taking the lock or writing any state`, async () => {
                const r = rig(always("pass"));
                r.target.preflightProblem = NO_CLI;
                const outcome = await r.engine[command](plan());
                assert.equal(outcome.kind, "refused");
                assert.equal(outcome.exitCode, 4);
                assert.equal(outcome.message, NO_CLI);
                assert.equal(r.target.preflights, 1);
                assert.deepEqual(r.target.calls, []);
                assert.deepEqual(r.judge.calls, []);
                assert.deepEqual(r.store.snapshots, []);
                assert.deepEqual(fs.existsSync(r.store.dir) ? fs.readdirSync(r.store.dir) : [], [], "no state, lock or temp file");
                assert.deepEqual(
                    r.events.map((e) => [e.type, e.type === "end" ? e.outcome : undefined]),
                    [["end", "refused"]],
                );
            });
        }

        it("leaves a stopped rollout's state as it was, so --resume works once the CLI is installed", async () => {
            const r = rig(always("pass"));
            r.target.failWhen = (call) => (call.weights?.v2 === 25 ? "pulumi up failed" : undefined);
            assert.equal((await r.engine.start(plan())).exitCode, 3);
            const before = fs.readFileSync(r.store.fileOf("dev"), "utf8");
            r.target.failWhen = () => undefined;
            r.target.preflightProblem = NO_CLI;
            assert.equal((await r.engine.resume(plan())).exitCode, 4);
            assert.equal(fs.readFileSync(r.store.fileOf("dev"), "utf8"), before);
            r.target.preflightProblem = undefined;
            const resumed = await r.engine.resume(plan());
            assert.equal(resumed.kind, "completed", resumed.message);
            assert.deepEqual(r.target.applied, [split(10), split(25), split(50), split(100)]);
        });
    });

    describe("the lock", () => {
        it("refuses a second rollout on the same stack while one is running", async () => {
            const store = new SnapshotStore();
            const judge = always("pass");
            let release!: () => void;
            const blocked = new Promise<void>((r) => (release = r));
            judge.gate = () => blocked;
            const first = rig(judge, { store });
            const running = first.engine.start(plan());
            while (judge.calls.length === 0) {
                await new Promise((r) => setImmediate(r));
            }
            const second = rig(always("pass"), { store });
            for (const attempt of [
                () => second.engine.start(plan()),
                () => second.engine.resume(plan()),
                () => second.engine.abort(plan()),
                () => second.engine.finalize(plan()),
            ]) {
                const refused = await attempt();
                assert.equal(refused.kind, "refused");
                assert.equal(refused.exitCode, 4);
                assert.match(refused.message, new RegExp(`a rollout of stack dev is already running \\(pid ${process.pid} on `));
            }
            assert.equal(second.target.calls.length, 0);
            release();
            assert.equal((await running).kind, "completed");
            assert.equal(fs.existsSync(path.join(store.dir, "dev.lock")), false, "released at the end");
        });

        it("takes over a lock left by a process that no longer exists", async () => {
            const store = new SnapshotStore();
            const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
            const deadPid = Number(dead.stdout);
            fs.mkdirSync(store.dir, { recursive: true });
            fs.writeFileSync(
                path.join(store.dir, "dev.lock"),
                JSON.stringify({ pid: deadPid, hostname: os.hostname(), since: "2025-01-01T00:00:00Z", command: "start" }),
            );
            const r = rig(always("pass"), { store });
            const outcome = await r.engine.start(plan());
            assert.equal(outcome.kind, "completed");
        });

        it("does not block rollouts of other stacks", async () => {
            const store = new SnapshotStore();
            const lock = store.lock("prod", "start");
            try {
                const r = rig(always("pass"), { store });
                assert.equal((await r.engine.start(plan())).kind, "completed");
            } finally {
                lock.release();
            }
        });
    });

    describe("--finalize", () => {
        it("is refused before the rollout completed, and removes nothing", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.target.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed" : undefined);
            await first.engine.start(plan());
            const second = rig(always("pass"), { store, target: new RecordingTarget(first.target.weights) });
            const outcome = await second.engine.finalize(plan());
            assert.equal(outcome.kind, "refused");
            assert.equal(outcome.exitCode, 4);
            assert.match(outcome.message, /cannot finalize: the rollout of v2 on stack dev is in-progress .*not completed/);
            assert.equal(second.target.calls.length, 0);
        });

        it("is refused without any rollout", async () => {
            const r = rig(always("pass"));
            const outcome = await r.engine.finalize(plan());
            assert.equal(outcome.exitCode, 4);
            assert.match(outcome.message, /no rollout of stack dev/);
        });

        it("after a completed rollout removes the baseline, and a second finalize is refused", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            await first.engine.start(plan());
            const second = rig(always("pass"), { store, target: first.target });
            const outcome = await second.engine.finalize(plan());
            assert.equal(outcome.kind, "finalized");
            assert.equal(outcome.exitCode, 0);
            assert.deepEqual(first.target.calls.at(-1), { kind: "remove", name: "v1", ok: true });
            assert.equal(store.load("dev")!.status, "finalized");
            const again = await second.engine.finalize(plan({ versions: [{ name: "v2" }] }));
            assert.equal(again.kind, "refused");
        });

        it("whose apply failed can be retried after the stack file already lost the baseline", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            await first.engine.start(plan());
            first.target.failWhen = (call) => (call.kind === "remove" ? "pulumi up failed" : undefined);
            const failed = await first.engine.finalize(plan());
            assert.equal(failed.exitCode, 3);
            first.target.failWhen = () => undefined;
            const retried = await first.engine.finalize(plan({ versions: [{ name: "v2" }] }));
            assert.equal(retried.kind, "finalized");
        });
    });

    describe("--abort", () => {
        it("routes all traffic to the baseline at once in the middle of a rollout", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.clock.onSleep = (_ms, index) => {
                if (index === 1) {
                    first.controller.abort();
                }
            };
            await first.engine.start(plan());
            const second = rig(always("pass"), { store, target: new RecordingTarget(first.target.weights) });
            const outcome = await second.engine.abort(plan());
            assert.equal(outcome.kind, "aborted");
            assert.equal(outcome.exitCode, 0);
            assert.deepEqual(second.target.applied, [{ v1: 100, v2: 0 }]);
            assert.equal(second.judge.calls.length, 0, "no analysis, no waiting");
            assert.equal(second.clock.sleeps.length, 0);
            assert.equal(store.load("dev")!.status, "aborted");
        });

        it("works without a rollout in progress, and a new rollout may start afterwards", async () => {
            const r = rig(always("pass"));
            assert.equal((await r.engine.abort(plan())).kind, "aborted");
            assert.deepEqual(r.target.applied, [{ v1: 100, v2: 0 }]);
            assert.equal((await r.engine.start(plan())).kind, "completed");
        });

        it("is refused when the stack has a single version", async () => {
            const r = rig(always("pass"));
            const outcome = await r.engine.abort(plan({ versions: [{ name: "v1" }] }));
            assert.equal(outcome.exitCode, 4);
            assert.match(outcome.message, /nothing to abort: stack dev has only v1/);
        });
    });

    describe("starting", () => {
        const cases: [string, Partial<RolloutPlan>, RegExp][] = [
            [
                "one version",
                { versions: [{ name: "v1" }] },
                /cannot start: stack dev has one version \(v1\): there is no canary to roll out/,
            ],
            [
                "three versions",
                { versions: [{ name: "v1" }, { name: "v2" }, { name: "v3" }] },
                /stack dev has 3 versions \(v1, v2, v3\): a rollout moves traffic between exactly two/,
            ],
            ["a canary without replicas", { versions: [{ name: "v1" }, { name: "v2", replicas: 0 }] }, /canary v2 has replicas: 0/],
        ];
        for (const [what, over, message] of cases) {
            it(`is refused with ${what}, saying why, and changes nothing`, async () => {
                const r = rig(always("pass"));
                const outcome = await r.engine.start(plan(over));
                assert.equal(outcome.kind, "refused");
                assert.equal(outcome.exitCode, 4);
                assert.match(outcome.message, message);
                assert.equal(r.target.calls.length, 0);
                assert.equal(r.store.load("dev"), undefined);
            });
        }

        it("is refused while an interrupted rollout waits for --resume", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            first.clock.onSleep = () => first.controller.abort();
            await first.engine.start(plan());
            const second = rig(always("pass"), { store });
            const outcome = await second.engine.start(plan());
            assert.equal(outcome.kind, "refused");
            assert.match(
                outcome.message,
                /is in progress \(step 1\/4 at 10%, 0 analyses\); continue it with `npx istio-canary rollout --stack dev --resume`/,
            );
        });

        it("is refused after a completed rollout of the same canary until it is finalized or aborted", async () => {
            const store = new SnapshotStore();
            const first = rig(always("pass"), { store });
            await first.engine.start(plan());
            const outcome = await rig(always("pass"), { store }).engine.start(plan());
            assert.equal(outcome.kind, "refused");
            assert.match(outcome.message, /already completed/);
        });

        it("is allowed again after a rollback, keeping the rolled-back rollout's state beside the new one", async () => {
            const store = new SnapshotStore();
            await rig(always("fail"), { store }).engine.start(plan());
            const rolledBack = store.load("dev")!;
            const later = new VirtualClock(Date.parse("2025-01-02T00:00:00Z"));
            const outcome = await rig(always("pass"), { store, clock: later }).engine.start(plan());
            assert.equal(outcome.kind, "completed");
            const kept = JSON.parse(fs.readFileSync(path.join(store.dir, "dev.2025-01-01T12-00-00-000Z.json"), "utf8")) as RolloutState;
            assert.equal(kept.status, "rolled-back");
            assert.deepEqual(kept.steps, rolledBack.steps);
            assert.equal(
                store.load("dev")!.history[0].detail?.previousRolloutKeptIn,
                path.join(store.dir, "dev.2025-01-01T12-00-00-000Z.json"),
            );
        });
    });

    it("reports one analysis event per analysis with the split, both versions' stats and the decision", async () => {
        const verdicts: Verdict[] = ["inconclusive", "pass", "fail"];
        const r = rig(new ScriptedJudge((call) => verdicts[call]));
        await r.engine.start(plan());
        const a = analyses(r);
        assert.deepEqual(
            a.map((e) => [e.weights, e.verdict, e.decision, e.inconclusive]),
            [
                [split(10), "inconclusive", "hold", 1],
                [split(10), "pass", "promote", 1],
                [split(25), "fail", "rollback", 0],
            ],
        );
        assert.equal(a[2].canary.errors, 12);
        assert.equal(a[2].baseline.version, "v1");
        assert.equal(r.events.at(-1)?.type, "end");
    });
});
