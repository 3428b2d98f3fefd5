import { strict as assert } from "node:assert";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock, eventLog } from "./fakes";

const plan: RolloutPlan = {
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 15,
    maxStepRequests: 1000,
    maxStepSeconds: 75,
};

describe("what the engine tells the judge", () => {
    it("passes each step's applied split, so the analysis can check the canary gets its share", async () => {
        const judge = new ScriptedJudge(() => "pass");
        const engine = new RolloutEngine({
            target: new RecordingTarget({ v1: 100, v2: 0 }),
            judge,
            store: new SnapshotStore(),
            clock: new VirtualClock(),
            emit: eventLog().emit,
        });
        assert.equal((await engine.start(plan)).kind, "completed");
        assert.deepEqual(
            judge.calls.map((c) => (c as { weights?: Record<string, number> }).weights),
            [
                { v1: 90, v2: 10 },
                { v1: 50, v2: 50 },
            ],
        );
    });
});
