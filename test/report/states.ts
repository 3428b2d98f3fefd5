/**
 * Rollout states for the report's tests, written by the real engine with the rollout tests' fakes
 * (a recording target, a scripted judge, virtual time), so every one passes the state file's schema
 * and has exactly the history a real run records.
 */
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { RolloutState } from "../../rollout/state";
import { Judgement, Verdict } from "../../rollout/types";
import { RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock } from "../rollout/fakes";

/** v1 -> v2 over 10, 25, 50, 100: 60 s after each shift, then every 15 s; a step inconclusive at 90 s rolls back (the looks at 60 and 75 s hold). */
export const PLAN: RolloutPlan = {
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

/** What a run left: its final state, and every state it saved on the way. */
export interface EngineRun {
    state: RolloutState;
    snapshots: RolloutState[];
}

/**
 * Runs a rollout of PLAN (or `abort`) on the fakes. `verdicts` gives each analysis's verdict in
 * order; `decorate` may change each judgement (its reasons, evidence) before the engine records it.
 */
export async function engineRun(
    verdicts: Verdict[] | "abort",
    opts: { plan?: RolloutPlan; decorate?: (j: Judgement, call: number) => Judgement } = {},
): Promise<EngineRun> {
    const plan = opts.plan ?? PLAN;
    const store = new SnapshotStore();
    const scripted = new ScriptedJudge((call) => (verdicts === "abort" ? "pass" : (verdicts[call] ?? "pass")));
    let calls = 0;
    const judge = {
        judge: async (input: { baseline: string; canary: string; sinceSeconds: number }) => {
            const j = await scripted.judge(input);
            return opts.decorate?.(j, calls++) ?? j;
        },
    };
    const engine = new RolloutEngine({ target: new RecordingTarget({ v1: 90, v2: 10 }), judge, store, clock: new VirtualClock() });
    const outcome = verdicts === "abort" ? await engine.abort(plan) : await engine.start(plan);
    const state = outcome.state ?? store.load(plan.stack);
    if (state === undefined) {
        throw new Error(`the engine left no state (${outcome.kind}: ${outcome.message})`);
    }
    return { state, snapshots: store.snapshots };
}
