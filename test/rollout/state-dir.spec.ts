import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { FileStateStore } from "../../rollout/state";
import { RecordingTarget, VirtualClock, always, eventLog } from "./fakes";

const plan: RolloutPlan = {
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 100],
    waitSeconds: 0,
    analysisIntervalSeconds: 1,
    maxStepRequests: 1000,
    maxStepSeconds: 2,
};

describe("a rollout state directory that cannot be created", () => {
    it("is refused with exit 4 naming the directory, before any shift (no stack trace, no exit 70)", async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "state-dir-"));
        try {
            const blocked = path.join(tmp, ".rollout");
            fs.writeFileSync(blocked, "a file where the state directory should be\n");
            const target = new RecordingTarget({ v1: 100, v2: 0 });
            const engine = new RolloutEngine({
                target,
                judge: always("pass"),
                store: new FileStateStore(blocked),
                clock: new VirtualClock(),
                emit: eventLog().emit,
            });
            const outcome = await engine.start(plan);
            assert.equal(outcome.kind, "refused");
            assert.equal(outcome.exitCode, 4);
            assert.match(
                outcome.message,
                new RegExp(`cannot create the rollout state directory ${blocked.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(EEXIST\\)`),
            );
            assert.deepEqual(target.applied, [], "nothing was shifted");
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
