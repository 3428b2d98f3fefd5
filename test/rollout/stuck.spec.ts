import { strict as assert } from "node:assert";
import { EngineDeps, RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import * as path from "node:path";
import { readVersions } from "../../stack/edit";
import { RecordingTarget, SnapshotStore, StackFileTarget, VirtualClock, always, configDirWith, devStackFile, eventLog } from "./fakes";

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

/** A target whose stack-file edit itself fails (the file could not be written): nothing changes, not even the file. */
class UnwritableTarget extends RecordingTarget {
    broken = true;

    async applyWeights(weights: Record<string, number>): Promise<void> {
        if (this.broken) {
            throw new Error("could not write Pulumi.dev.yaml: EACCES");
        }
        await super.applyWeights(weights);
    }
}

function engine(target: RecordingTarget, store: SnapshotStore): RolloutEngine {
    const deps: EngineDeps = { target, judge: always("pass"), store, clock: new VirtualClock(), emit: eventLog().emit };
    return new RolloutEngine(deps);
}

describe("a rollout stopped before its first apply", () => {
    it("records the split the stack had before the rollout", async () => {
        const store = new SnapshotStore();
        const target = new UnwritableTarget({ v1: 100, v2: 0 });
        await engine(target, store).start(plan);
        assert.deepEqual(store.load("dev")!.from, { v1: 100, v2: 0 });
    });

    it("resumes once the cause is fixed, although the stack file still holds the split from before the rollout", async () => {
        const store = new SnapshotStore();
        const target = new UnwritableTarget({ v1: 100, v2: 0 });
        assert.equal((await engine(target, store).start(plan)).exitCode, 3);
        target.broken = false;
        const resumed = await engine(target, store).resume(plan);
        assert.equal(resumed.kind, "completed", resumed.message);
        assert.deepEqual(
            target.applied.map((w) => w.v2),
            [10, 50, 100],
        );
    });

    it("names the command that continues it", async () => {
        const store = new SnapshotStore();
        const failed = await engine(new UnwritableTarget({ v1: 100, v2: 0 }), store).start(plan);
        assert.match(failed.message, /run `npx istio-canary rollout --stack dev --resume`/);
    });

    it("can be started afresh instead, keeping the stopped state beside the new one", async () => {
        const store = new SnapshotStore();
        const target = new UnwritableTarget({ v1: 100, v2: 0 });
        await engine(target, store).start(plan);
        target.broken = false;
        const restarted = await engine(target, store).start(plan);
        assert.equal(restarted.kind, "completed", restarted.message);
        assert.equal(
            store.load("dev")!.history.find((h) => h.event === "rollout-started")?.detail?.replaces,
            "in-progress, nothing applied",
        );
    });

    it("killed after saving the pending first shift (the stack file untouched) resumes from the start", async () => {
        // The kill: keep only what was saved before the first apply started.
        const store = new SnapshotStore();
        await engine(new RecordingTarget({ v1: 100, v2: 0 }), store).start(plan);
        const beforeApply = store.snapshots.find((s) => s.pending?.kind === "shift" && s.history.every((h) => h.event !== "apply-started"));
        assert.ok(beforeApply !== undefined, "a save with the pending shift before the apply started");
        const fresh = new SnapshotStore();
        fresh.save(beforeApply);
        const resumed = await engine(new RecordingTarget({ v1: 100, v2: 0 }), fresh).resume(plan);
        assert.equal(resumed.kind, "completed", resumed.message);
    });
});

describe("a failed --abort", () => {
    it("says the stack file was already edited, what it now holds, and how to finish", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [75, 25] }) });
        const stackFile = path.join(dir, "Pulumi.dev.yaml");
        const target = new StackFileTarget(stackFile);
        target.failWhen = () => "pulumi up failed: connection refused";
        const outcome = await engine(target as unknown as RecordingTarget, new SnapshotStore()).abort(plan);
        assert.equal(outcome.exitCode, 3);
        assert.deepEqual(
            readVersions(stackFile).map((v) => v.weight),
            [100, 0],
        );
        assert.match(outcome.message, /Traffic is NOT yet back on v1/);
        assert.match(outcome.message, /was already edited: it now says v1 100% \/ v2 0%/);
        assert.ok(outcome.message.includes(stackFile), outcome.message);
        assert.match(outcome.message, /run `npx istio-canary rollout --stack dev --abort` again/);
    });
});
