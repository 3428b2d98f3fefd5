import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { STATE_FORMAT, parseState } from "../../rollout/state";
import { stateProblems } from "../../rollout/state-schema";
import { RecordingTarget, SnapshotStore, VirtualClock, always } from "./fakes";

const plan: RolloutPlan = {
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 15,
    maxInconclusive: 2,
};

type Json = Record<string, unknown>;

/** A rollout interrupted after its first step's shift, as this version saves it. */
async function interrupted(): Promise<{ store: SnapshotStore; state: Json }> {
    const store = new SnapshotStore();
    const controller = new AbortController();
    const clock = new VirtualClock();
    clock.onSleep = () => controller.abort();
    await new RolloutEngine({
        target: new RecordingTarget({ v1: 100, v2: 0 }),
        judge: always("pass"),
        store,
        clock,
        signal: controller.signal,
    }).start(plan);
    return { store, state: JSON.parse(fs.readFileSync(store.fileOf("dev"), "utf8")) as Json };
}

describe("rollout state format 2", () => {
    it("is what this version writes", async () => {
        const { state } = await interrupted();
        assert.equal(STATE_FORMAT, 2);
        assert.equal(state.format, 2);
    });

    it("reads a format-1 file (written before hooks and gates) and resumes it, saving format 2", async () => {
        const { store, state } = await interrupted();
        state.format = 1;
        fs.writeFileSync(store.fileOf("dev"), JSON.stringify(state));
        assert.equal(parseState(JSON.stringify(state), "dev.json", "dev").format, 2);
        const target = new RecordingTarget({ v1: 90, v2: 10 });
        const outcome = await new RolloutEngine({ target, judge: always("pass"), store, clock: new VirtualClock() }).resume(plan);
        assert.equal(outcome.kind, "completed", outcome.message);
        assert.equal((JSON.parse(fs.readFileSync(store.fileOf("dev"), "utf8")) as Json).format, 2);
    });

    it("refuses a format it does not know, naming both it reads", async () => {
        const { state } = await interrupted();
        state.format = 3;
        assert.deepEqual(stateProblems(state, "dev"), [
            "format is 3; it must be 2 (the format this version writes) or 1 (the format before hooks and gates)",
        ]);
    });

    const bad: [string, (s: Json) => void, RegExp][] = [
        [
            "a hook run with an unknown status",
            (s) => (s.hooks = [{ hook: "a", at: "pre-step", step: 0, kind: "command", status: "maybe", startedAt: s.startedAt }]),
            /hooks\[0\]\.status is "maybe"/,
        ],
        [
            "a hook run at an unknown point",
            (s) => (s.hooks = [{ hook: "a", at: "later", kind: "command", status: "succeeded", startedAt: s.startedAt }]),
            /hooks\[0\]\.at is "later"/,
        ],
        [
            "a gate at a step outside the plan",
            (s) => (s.gates = [{ step: 9, status: "waiting", since: s.startedAt, analyses: [], analysisCount: 0 }]),
            /gates\[0\]\.step is 9/,
        ],
        [
            "an answered gate without its time",
            (s) => (s.gates = [{ step: 2, status: "approved", since: s.startedAt, analyses: [], analysisCount: 0 }]),
            /gates\[0\]\.answeredAt is missing/,
        ],
        [
            "complete hooks due in a rollout in progress",
            (s) => (s.hooksDue = "complete"),
            /hooksDue is "complete"; complete hooks are due only in a completed rollout/,
        ],
        [
            "a pending rollback with an unknown cause",
            (s) => (s.pending = { kind: "rollback", weights: { v1: 100, v2: 0 }, cause: "whim", startedAt: s.startedAt, failures: 0 }),
            /pending\.cause is "whim"/,
        ],
        [
            "a pending prepare that gives the canary traffic",
            (s) => (s.pending = { kind: "prepare", weights: { v1: 90, v2: 10 }, startedAt: s.startedAt, failures: 0 }),
            /a prepare deploys the canary at 0/,
        ],
    ];
    for (const [what, edit, problem] of bad) {
        it(`refuses ${what}`, async () => {
            const { state } = await interrupted();
            edit(state);
            const problems = stateProblems(state, "dev");
            assert.ok(
                problems.some((p) => problem.test(p)),
                problems.join("\n"),
            );
        });
    }
});
