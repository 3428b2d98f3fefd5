/**
 * Approval gates: a step with approve waits, durably in the state, for --approve or --reject from
 * another engine (another process, as far as the lock and the answer file go), with the analysis
 * running meanwhile. Virtual clock; real state files, lock and answer files.
 */
import { strict as assert } from "node:assert";
import { RolloutEngine, RolloutOutcome } from "../../rollout/engine";
import { LifecycleEvent } from "../../rollout/events";
import { RolloutPlan } from "../../rollout/plan";
import { AnalysisEvent, GateEvent, Verdict } from "../../rollout/types";
import { RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock, always, eventLog } from "./fakes";

const plan = (over: Partial<RolloutPlan> = {}): RolloutPlan => ({
    stack: "prod",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 3 },
        { name: "v2", image: "myapp:v2", replicas: 3 },
    ],
    steps: [10, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 30,
    maxStepRequests: 1000,
    maxStepSeconds: 3600,
    approve: [100],
    ...over,
});

/** One "process": an engine with its own clock, signal and event log, sharing the store's directory. */
function proc(store: SnapshotStore, target: RecordingTarget, judge = always("pass")) {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const log = eventLog();
    const lifecycle: LifecycleEvent[] = [];
    const engine = new RolloutEngine({
        target,
        judge,
        store,
        clock,
        emit: log.emit,
        onEvent: (e) => lifecycle.push(e),
        signal: controller.signal,
        gatePollMs: 1000,
    });
    return { engine, clock, controller, events: log.events, lifecycle };
}

const gates = (events: { type: string }[]) => events.filter((e): e is GateEvent => e.type === "gate");

describe("rollout gates", () => {
    it("wait before the gated step, say what for and how to answer, and go on when --approve is given by another process", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const waiting = proc(store, target);
        const other = proc(store, target);
        let answered: Promise<RolloutOutcome> | undefined;
        waiting.clock.onSleep = () => {
            // Five polls into the wait (the two step waits came first), someone approves.
            if (waiting.clock.sleeps.length === 8 && answered === undefined) {
                answered = other.engine.answer(plan(), "approve", "alice@laptop");
            }
        };
        const outcome = await waiting.engine.start(plan());
        assert.equal(outcome.kind, "completed", outcome.message);
        const answer = await answered!;
        assert.equal(answer.kind, "answered");
        assert.equal(answer.exitCode, 0);
        assert.match(
            answer.message,
            /^approved step 3\/3 \(100%\) of the rollout of v2 on stack prod; the waiting rollout \(pid \d+ on .+\) takes the answer within 1s and shifts/,
        );
        const [wait, approved] = gates(waiting.events);
        assert.equal(wait.status, "waiting");
        assert.equal(wait.step, 2);
        assert.match(
            wait.waitingFor,
            /^approval of step 3\/3, the shift to v1 0% \/ v2 100%; meanwhile v1 50% \/ v2 50% is analysed every 30s and a failure rolls back$/,
        );
        assert.equal(wait.approve, "`npx istio-canary rollout --stack prod --approve`");
        assert.equal(wait.reject, "`npx istio-canary rollout --stack prod --reject`");
        assert.equal(approved.status, "approved");
        assert.equal(approved.by, "alice@laptop");
        const saved = store.load("prod")!;
        assert.deepEqual(saved.plan.approve, [2]);
        assert.equal(saved.gates![0].status, "approved");
        assert.equal(saved.gates![0].by, "alice@laptop");
        assert.deepEqual(target.applied.at(-1), { v1: 0, v2: 100 });
        const lifecycle = waiting.lifecycle.map((e) => e.type);
        assert.deepEqual(lifecycle, ["start", "shift", "shift", "gate-waiting", "shift", "complete"]);
    });

    it("keep analysing while they wait; pass and inconclusive change nothing", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        // Steps 10 and 50 pass; the analyses while waiting: inconclusive, pass, pass, ...
        const judge = new ScriptedJudge((call): Verdict => (call === 2 ? "inconclusive" : "pass"));
        const waiting = proc(store, target, judge);
        const other = proc(store, target);
        let answered: Promise<RolloutOutcome> | undefined;
        waiting.clock.onSleep = () => {
            if (judge.calls.length >= 5 && answered === undefined) {
                answered = other.engine.answer(plan(), "approve", "bob@ci");
            }
        };
        const outcome = await waiting.engine.start(plan());
        await answered;
        assert.equal(outcome.kind, "completed");
        const whileWaiting = waiting.events.filter((e): e is AnalysisEvent => e.type === "analysis" && e.waiting === "approval");
        assert.ok(whileWaiting.length >= 3);
        assert.deepEqual(whileWaiting[0].weights, { v1: 50, v2: 50 });
        assert.equal(whileWaiting[0].verdict, "inconclusive");
        // The step before the gate's own tests, continued: all its traffic since its shift (a window
        // that grows from look to look), judged as that step, so waiting spends no new alpha.
        const waits = judge.calls.slice(2);
        assert.ok(waits[0].sinceSeconds > judge.calls[1].sinceSeconds, "the first wait look covers more than the step's passing look");
        assert.ok(
            waits.every((c, i) => i === 0 || c.sinceSeconds > waits[i - 1].sinceSeconds),
            "the window grows",
        );
        assert.ok(
            waits.every((c) => c.step?.index === 1 && c.step.of === 2),
            "judged as the step before the gate",
        );
        const gate = store.load("prod")!.gates![0];
        assert.equal(gate.analysisCount, whileWaiting.length);
        assert.deepEqual(
            gate.analyses.slice(0, 2).map((a) => a.verdict),
            ["inconclusive", "pass"],
        );
    });

    it("roll back when the analysis fails while they wait", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const judge = new ScriptedJudge((call): Verdict => (call < 3 ? "pass" : "fail"));
        const waiting = proc(store, target, judge);
        const outcome = await waiting.engine.start(plan());
        assert.equal(outcome.kind, "rolled-back");
        assert.equal(outcome.exitCode, 1);
        assert.match(
            outcome.message,
            /analysis failed at v1 50% \/ v2 50% while waiting for approval of step 3: canary 5xx ratio 10.00% exceeds 1.00%/,
        );
        assert.deepEqual(target.applied.at(-1), { v1: 100, v2: 0 });
        const rollback = waiting.lifecycle.at(-1);
        assert.equal(rollback?.type, "rollback");
        assert.equal(rollback?.type === "rollback" && rollback.cause, "analysis");
        assert.equal(rollback?.evidence?.verdict, "fail");
        assert.equal(store.load("prod")!.gates![0].status, "waiting");
    });

    it("roll back on --reject, naming who rejected", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const waiting = proc(store, target);
        const other = proc(store, target);
        let answered: Promise<RolloutOutcome> | undefined;
        waiting.clock.onSleep = () => {
            if (waiting.clock.sleeps.length === 4 && answered === undefined) {
                answered = other.engine.answer(plan(), "reject", "carol@ops");
            }
        };
        const outcome = await waiting.engine.start(plan());
        assert.equal((await answered!).kind, "answered");
        assert.equal(outcome.kind, "rolled-back");
        assert.match(outcome.message, /step 3\/3 \(v1 0% \/ v2 100%\) was rejected by carol@ops \(--reject\)/);
        assert.deepEqual(target.applied.at(-1), { v1: 100, v2: 0 });
        assert.equal(store.load("prod")!.gates![0].status, "rejected");
        const rollback = waiting.lifecycle.at(-1);
        assert.equal(rollback?.type === "rollback" && rollback.cause, "rejected");
    });

    it("outlive a restart: an interrupted wait is resumed at the same gate, and --approve with no rollout running continues it", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const first = proc(store, target);
        first.clock.onSleep = () => {
            if (first.clock.sleeps.length === 4) {
                first.controller.abort(); // Ctrl-C while it waits
            }
        };
        const stopped = await first.engine.start(plan());
        assert.equal(stopped.kind, "interrupted");
        assert.match(stopped.message, /interrupted at waiting for approval of step 3\/3 \(100%\)/);
        const since = store.load("prod")!.gates![0].since;

        // A restart waits again for the same gate (same since), analysing meanwhile.
        const second = proc(store, target);
        second.clock.onSleep = () => {
            if (second.clock.sleeps.length === 2) {
                second.controller.abort();
            }
        };
        const again = await second.engine.resume(plan());
        assert.equal(again.kind, "interrupted");
        assert.equal(gates(second.events)[0].status, "waiting");
        assert.equal(store.load("prod")!.gates!.length, 1);
        assert.equal(store.load("prod")!.gates![0].since, since);

        // Nobody waits now: --approve takes the lock and continues the rollout itself.
        const third = proc(store, target);
        const done = await third.engine.answer(plan(), "approve", "dave@laptop");
        assert.equal(done.kind, "completed", done.message);
        assert.deepEqual(target.applied.at(-1), { v1: 0, v2: 100 });
        assert.equal(store.load("prod")!.gates![0].by, "dave@laptop");
    });

    it("refuse --approve when nothing waits, and change nothing", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const p = proc(store, target);
        const none = await p.engine.answer(plan(), "approve", "eve@laptop");
        assert.equal(none.kind, "refused");
        assert.equal(none.exitCode, 4);
        assert.match(
            none.message,
            /^nothing waits for approval: there is no rollout of stack prod; --approve answers a rollout that waits at a step with approve: true$/,
        );
        await p.engine.start(plan({ approve: [] }));
        const saves = store.snapshots.length;
        const after = await p.engine.answer(plan(), "reject", "eve@laptop");
        assert.equal(after.kind, "refused");
        assert.match(after.message, /the rollout of v2 on stack prod is completed/);
        assert.equal(store.snapshots.length, saves);
    });

    it("ignore an answer to an earlier gate", async () => {
        const store = new SnapshotStore();
        const target = new RecordingTarget({ v1: 100, v2: 0 });
        const waiting = proc(store, target);
        const other = proc(store, target);
        let answered: Promise<RolloutOutcome> | undefined;
        waiting.clock.onSleep = () => {
            const n = waiting.clock.sleeps.length;
            if (n === 4) {
                // A stale answer file, for the gate as it was at another time.
                other.engine["answerBox"]("prod").put({
                    stack: "prod",
                    step: 2,
                    since: "2024-01-01T00:00:00.000Z",
                    answer: "approve",
                    by: "old@x",
                    at: "2024-01-01T00:00:00.000Z",
                });
            }
            if (n === 7 && answered === undefined) {
                answered = other.engine.answer(plan(), "reject", "frank@ops");
            }
        };
        const outcome = await waiting.engine.start(plan());
        await answered;
        assert.equal(outcome.kind, "rolled-back");
        const history = store.load("prod")!.history.map((h) => h.event);
        assert.ok(history.includes("gate-answer-ignored"));
        assert.equal(store.load("prod")!.gates![0].by, "frank@ops");
    });
});
