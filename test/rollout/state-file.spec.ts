import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { EngineDeps, RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import * as path from "node:path";
import { runRolloutCli } from "../../cli/rollout";
import { RecordingTarget, SnapshotStore, StackFileTarget, VirtualClock, always, configDirWith, devStackFile, eventLog } from "./fakes";

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

type Json = Record<string, unknown>;

/** A store holding the state of a rollout stopped by a failed apply of the 50% shift (step 3 pending, steps 1 and 2 promoted). */
async function stoppedRollout(): Promise<{ store: SnapshotStore; state: Json }> {
    const store = new SnapshotStore();
    const target = new RecordingTarget({ v1: 90, v2: 10 });
    target.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed" : undefined);
    const deps: EngineDeps = { target, judge: always("pass"), store, clock: new VirtualClock(), emit: eventLog().emit };
    await new RolloutEngine(deps).start(plan);
    return { store, state: JSON.parse(fs.readFileSync(store.fileOf("dev"), "utf8")) as Json };
}

function resumeWith(store: SnapshotStore, weights = { v1: 50, v2: 50 }) {
    const target = new RecordingTarget(weights);
    const judge = always("pass");
    const deps: EngineDeps = { target, judge, store, clock: new VirtualClock(), emit: eventLog().emit };
    return { target, judge, run: () => new RolloutEngine(deps).resume(plan) };
}

const cases: { name: string; edit: (s: Json) => void; field: RegExp }[] = [
    { name: "a current step beyond the steps analysed so far", edit: (s) => (s.current = 3), field: /current/ },
    { name: "a current step outside the plan", edit: (s) => (s.current = 7), field: /current is 7/ },
    { name: "a negative current step", edit: (s) => (s.current = -1), field: /current is -1/ },
    { name: "a missing steps list", edit: (s) => delete s.steps, field: /steps is missing/ },
    { name: "a missing plan", edit: (s) => delete s.plan, field: /plan is missing/ },
    { name: "maxStepRequests -1", edit: (s) => ((s.plan as Json).maxStepRequests = -1), field: /plan\.maxStepRequests is -1/ },
    { name: "a plan whose steps do not end at 100", edit: (s) => ((s.plan as Json).steps = [10, 25, 50]), field: /plan\.steps/ },
    { name: "an unknown status", edit: (s) => (s.status = "paused"), field: /status is "paused"/ },
    { name: "an unknown pending kind", edit: (s) => ((s.pending as Json).kind = "teleport"), field: /pending\.kind is "teleport"/ },
    {
        name: "a pending shift to weights that are not its step's",
        edit: (s) => ((s.pending as Json).weights = { v1: 0, v2: 100 }),
        field: /pending\.weights/,
    },
    { name: "applied weights that are not numbers", edit: (s) => (s.applied = { v1: "75", v2: 25 }), field: /applied\.v1/ },
    { name: "a promoted step without an analysis", edit: (s) => ((s.steps as Json[])[1].analyses = []), field: /steps\[1\]/ },
    { name: "a missing history", edit: (s) => delete s.history, field: /history is missing/ },
    { name: "a baseline without a name", edit: (s) => (s.baseline = {}), field: /baseline\.name is missing/ },
    { name: "an empty object", edit: (s) => Object.keys(s).forEach((k) => delete s[k]), field: /format is missing/ },
];

describe("a rollout state file that was edited or is incomplete", () => {
    for (const c of cases) {
        it(`is refused with exit 4, naming the field and the file, for ${c.name}`, async () => {
            const { store, state } = await stoppedRollout();
            c.edit(state);
            fs.writeFileSync(store.fileOf("dev"), JSON.stringify(state));
            const before = fs.readFileSync(store.fileOf("dev"), "utf8");
            const r = resumeWith(store);
            const outcome = await r.run();
            assert.equal(outcome.kind, "refused", outcome.message);
            assert.equal(outcome.exitCode, 4);
            assert.ok(outcome.message.includes(store.fileOf("dev")), outcome.message);
            assert.match(outcome.message, c.field);
            assert.match(outcome.message, /move it aside/);
            assert.deepEqual(r.target.calls, [], "nothing applied");
            assert.deepEqual(r.judge.calls, [], "nothing analysed");
            assert.equal(fs.readFileSync(store.fileOf("dev"), "utf8"), before, "the file is left for inspection");
        });
    }

    it("that is intact resumes (the schema accepts what the engine writes)", async () => {
        const { store } = await stoppedRollout();
        const outcome = await resumeWith(store).run();
        assert.equal(outcome.kind, "completed", outcome.message);
    });

    it("is refused by the command with exit 4 and a message, not a TypeError (exit 70)", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [75, 25] }) });
        fs.mkdirSync(path.join(dir, ".rollout"));
        const { state } = await stoppedRollout();
        delete state.steps;
        state.current = 3;
        fs.writeFileSync(path.join(dir, ".rollout", "dev.json"), JSON.stringify(state));
        let out = "";
        let err = "";
        const code = await runRolloutCli(["--stack", "dev", "--resume", "--config-dir", dir], {
            out: (x) => (out += x),
            err: (x) => (err += x),
            cwd: dir,
            isTTY: false,
            makeTarget: ({ stackFile }) => new StackFileTarget(stackFile),
            makeJudge: () => always("pass"),
            clock: new VirtualClock(),
        });
        assert.equal(code, 4, out + err);
        assert.match(
            out,
            /^refused: rollout state .*\.rollout\/dev\.json is not valid \(3 problems\):\n {2}- steps is missing; it must be a list\n {2}- pending\.step is 2; a pending shift is to the current step, 3\n/,
        );
        assert.match(
            out,
            new RegExp(`npx istio-canary rollout --stack dev --config-dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} --abort`),
        );
        assert.doesNotMatch(out + err, /TypeError|\n\s+at /);
    });
});
