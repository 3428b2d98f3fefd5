import { strict as assert } from "node:assert";
import { RolloutEngine } from "../../rollout/engine";
import { LifecycleEvent } from "../../rollout/events";
import { RolloutPlan } from "../../rollout/plan";
import { LiveTarget, RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock, always } from "./fakes";

const plan = (over: Partial<RolloutPlan> = {}): RolloutPlan => ({
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 15,
    maxStepRequests: 1000,
    maxStepSeconds: 3600,
    ...over,
});

function run(judge: ScriptedJudge, target: RecordingTarget = new RecordingTarget({ v1: 100, v2: 0 })) {
    const events: LifecycleEvent[] = [];
    const store = new SnapshotStore();
    const clock = new VirtualClock();
    const engine = new RolloutEngine({ target, judge, store, clock, onEvent: (e) => events.push(e) });
    return { engine, events, store, target, clock };
}

describe("rollout lifecycle events (onEvent)", () => {
    it("are start, one shift per step with the evidence that allowed it, and complete for a healthy canary", async () => {
        const r = run(always("pass"));
        await r.engine.start(plan());
        assert.deepEqual(
            r.events.map((e) => e.type),
            ["start", "shift", "shift", "shift", "complete"],
        );
        const shifts = r.events.filter((e) => e.type === "shift");
        assert.deepEqual(
            shifts.map((e) => [e.step.canaryWeight, e.split.v2, e.from?.v2 ?? null, e.evidence?.verdict ?? null]),
            [
                [10, 10, null, null],
                [50, 50, 10, "pass"],
                [100, 100, 50, "pass"],
            ],
        );
        for (const e of r.events) {
            assert.equal(e.stack, "dev");
            assert.equal(e.baseline, "v1");
            assert.equal(e.canary, "v2");
            assert.match(e.at, /^2025-01-01T/);
        }
    });

    it("end in a rollback caused by the analysis, with the failing evidence and all traffic on the baseline", async () => {
        const r = run(new ScriptedJudge((call) => (call === 0 ? "pass" : "fail")));
        await r.engine.start(plan());
        const last = r.events[r.events.length - 1];
        assert.equal(last.type, "rollback");
        if (last.type !== "rollback") return;
        assert.equal(last.cause, "analysis");
        assert.deepEqual(last.split, { v1: 100, v2: 0 });
        assert.equal(last.evidence?.verdict, "fail");
        assert.equal(last.evidence?.canary.errors, 12);
        assert.match(last.reason, /analysis failed at v1 50% \/ v2 50%/);
    });

    it("include a hold that goes on by itself for each tolerated inconclusive analysis", async () => {
        const r = run(new ScriptedJudge((call) => (call === 0 ? "inconclusive" : "pass")));
        await r.engine.start(plan());
        const holds = r.events.filter((e) => e.type === "hold");
        assert.equal(holds.length, 1);
        assert.equal(holds[0].type === "hold" && holds[0].cause, "inconclusive");
        assert.equal(holds[0].type === "hold" && holds[0].stopped, false);
        assert.equal(holds[0].evidence?.verdict, "inconclusive");
    });

    it("include a stopped hold when the live split was changed by hand", async () => {
        const target = new LiveTarget({ v1: 100, v2: 0 });
        const r = run(always("pass"), target);
        // Someone edits the VirtualService while the first step settles.
        r.clock.onSleep = () => {
            target.live = { v1: 70, v2: 30 };
        };
        const outcome = await r.engine.start(plan());
        assert.equal(outcome.kind, "held");
        const last = r.events[r.events.length - 1];
        assert.equal(last.type, "hold");
        assert.equal(last.type === "hold" && last.cause, "drift");
        assert.equal(last.type === "hold" && last.stopped, true);
    });

    it("name the abort as the cause of a rollback it makes", async () => {
        const r = run(always("pass"), new RecordingTarget({ v1: 90, v2: 10 }));
        await r.engine.abort(plan());
        assert.deepEqual(
            r.events.map((e) => (e.type === "rollback" ? `rollback:${e.cause}` : e.type)),
            ["rollback:abort"],
        );
    });

    it("cannot stop a rollout when the listener throws", async () => {
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const engine = new RolloutEngine({
            target,
            judge: always("pass"),
            store: new SnapshotStore(),
            clock: new VirtualClock(),
            onEvent: () => {
                throw new Error("listener bug");
            },
        });
        const outcome = await engine.start(plan());
        assert.equal(outcome.kind, "completed");
        assert.deepEqual(target.applied[target.applied.length - 1], { v1: 0, v2: 100 });
    });
});
