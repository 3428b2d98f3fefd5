import { strict as assert } from "node:assert";
import { EngineDeps, RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { LiveTarget, RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock, always, eventLog } from "./fakes";

const plan: RolloutPlan = {
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
};

function rig(target: RecordingTarget, judge: ScriptedJudge = always("pass"), store = new SnapshotStore(), clock = new VirtualClock()) {
    const deps: EngineDeps = { target, judge, store, clock, emit: eventLog().emit };
    return { engine: new RolloutEngine(deps), target, judge, store, clock };
}

describe("what each traffic change updates", () => {
    it("the first shift deploys the whole stack; every later shift, the rollback and an abort update the VirtualService only", async () => {
        const r = rig(new RecordingTarget({ v1: 100, v2: 0 }), new ScriptedJudge((call) => (call < 2 ? "pass" : "fail")));
        assert.equal((await r.engine.start(plan)).kind, "rolled-back");
        assert.deepEqual(
            r.target.calls.map((c) => [c.weights?.v2, c.scope]),
            [
                [10, "stack"],
                [25, "virtual-service"],
                [50, "virtual-service"],
                [0, "virtual-service"],
            ],
        );
        const aborted = rig(new RecordingTarget({ v1: 50, v2: 50 }));
        await aborted.engine.abort(plan);
        assert.deepEqual(
            aborted.target.calls.map((c) => c.scope),
            ["virtual-service"],
        );
    });
});

describe("drift: the live VirtualService is not what the rollout applied", () => {
    /** A rollout whose live split is changed (`kubectl edit`) during the settle wait after the 25% shift. */
    async function drifted() {
        const target = new LiveTarget({ v1: 100, v2: 0 });
        const r = rig(target);
        r.clock.onSleep = (_ms, index) => {
            if (index === 1) {
                target.live = { v1: 100, v2: 0 };
            }
        };
        return { r, target, outcome: await r.engine.start(plan) };
    }

    it("holds before analysing or shifting again, with exit 4, naming both splits and the ways forward", async () => {
        const { r, target, outcome } = await drifted();
        assert.equal(outcome.kind, "held", outcome.message);
        assert.equal(outcome.exitCode, 4);
        assert.match(
            outcome.message,
            /^holding at step 2\/4 at 25%, 0 analyses: the live VirtualService routes v1 100% \/ v2 0%, but the rollout last applied v1 75% \/ v2 25%; .*so the step was not analysed/,
        );
        assert.equal(r.judge.calls.length, 1, "the 25% step is not judged on traffic the rollout did not route");
        assert.match(outcome.message, /`npx istio-canary rollout --stack dev --abort`/);
        assert.match(outcome.message, /`npx istio-canary rollout --stack dev --resume`/);
        assert.deepEqual(
            target.applied.map((w) => w.v2),
            [10, 25],
            "50% is not applied",
        );
        const saved = r.store.load("dev")!;
        assert.equal(saved.status, "in-progress");
        assert.ok(saved.history.some((h) => h.event === "drift"));
    });

    it("keeps holding on --resume while the live split differs, and continues once it is restored", async () => {
        const { r, target } = await drifted();
        assert.equal((await r.engine.resume(plan)).kind, "held");
        target.live = { v1: 75, v2: 25 };
        const resumed = await r.engine.resume(plan);
        assert.equal(resumed.kind, "completed", resumed.message);
        assert.deepEqual(
            target.applied.map((w) => w.v2),
            [10, 25, 50, 100],
        );
    });

    it("does not stop --abort, which sends all traffic to the baseline", async () => {
        const { r, target } = await drifted();
        const aborted = await r.engine.abort(plan);
        assert.equal(aborted.kind, "aborted", aborted.message);
        assert.deepEqual(target.live, { v1: 100, v2: 0 });
    });

    it("holds before the shift when the split changes after the analysis passed", async () => {
        const target = new LiveTarget({ v1: 100, v2: 0 });
        const r = rig(
            target,
            new ScriptedJudge((call) => {
                if (call === 1) {
                    target.live = { v1: 100, v2: 0 }; // kubectl edit while the 25% step is being judged
                }
                return "pass";
            }),
        );
        const outcome = await r.engine.start(plan);
        assert.equal(outcome.kind, "held", outcome.message);
        assert.match(outcome.message, /so the shift to v1 50% \/ v2 50% was not applied/);
        assert.equal(r.judge.calls.length, 2);
    });

    it("does not stop a rollback", async () => {
        const target = new LiveTarget({ v1: 100, v2: 0 });
        const r = rig(
            target,
            new ScriptedJudge((call) => {
                if (call === 1) {
                    target.live = { v1: 60, v2: 40 }; // changed while the failing analysis runs
                    return "fail";
                }
                return "pass";
            }),
        );
        assert.equal((await r.engine.start(plan)).kind, "rolled-back");
        assert.deepEqual(target.live, { v1: 100, v2: 0 });
    });
});
