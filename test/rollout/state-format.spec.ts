import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { DEFAULTS } from "../../config/defaults";
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
    maxStepRequests: 1000,
    maxStepSeconds: 3600,
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

describe("rollout state format 3", () => {
    it("is what this version writes", async () => {
        const { state } = await interrupted();
        assert.equal(STATE_FORMAT, 3);
        assert.equal(state.format, 3);
    });

    /** The state as a version before format 3 saved it: the plan's tolerance was a count of looks. */
    function older(state: Json, format: 1 | 2): Json {
        const planOf = state.plan as Json;
        delete planOf.maxStepRequests;
        delete planOf.maxStepSeconds;
        planOf.maxInconclusive = 8;
        state.format = format;
        return state;
    }

    for (const format of [1, 2] as const) {
        it(`reads a format-${format} file (maxInconclusive, no step tolerances) and resumes it under the default tolerances, saving format 3`, async () => {
            const { store, state } = await interrupted();
            fs.writeFileSync(store.fileOf("dev"), JSON.stringify(older(state, format)));
            const read = parseState(JSON.stringify(state), "dev.json", "dev");
            assert.equal(read.format, 3);
            assert.deepEqual(
                [read.plan.maxStepRequests, read.plan.maxStepSeconds, "maxInconclusive" in read.plan],
                [DEFAULTS.rollout.maxStepRequests, DEFAULTS.rollout.maxStepSeconds, false],
            );
            const target = new RecordingTarget({ v1: 90, v2: 10 });
            const outcome = await new RolloutEngine({ target, judge: always("pass"), store, clock: new VirtualClock() }).resume(plan);
            assert.equal(outcome.kind, "completed", outcome.message);
            assert.equal((JSON.parse(fs.readFileSync(store.fileOf("dev"), "utf8")) as Json).format, 3);
        });
    }

    it("refuses a format it does not know, naming those it reads", async () => {
        const { state } = await interrupted();
        state.format = 4;
        assert.deepEqual(stateProblems(state, "dev"), [
            "format is 4; it must be 3 (the format this version writes), 2 (before the step tolerances in requests and seconds) or 1 (before hooks and gates)",
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
