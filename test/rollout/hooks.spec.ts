/**
 * Hooks in a rollout: real commands and a local webhook server, driven by the engine with the fake
 * stack target, a scripted judge and the virtual clock.
 */
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutEngine } from "../../rollout/engine";
import { LifecycleEvent } from "../../rollout/events";
import { HookConfig, HookContext, HookRunner, ProcessHookRunner } from "../../rollout/hooks";
import { RolloutPlan } from "../../rollout/plan";
import { FileStateStore, STATE_FORMAT } from "../../rollout/state";
import { HookEvent } from "../../rollout/types";
import { RecordingTarget, SnapshotStore, StackFileTarget, VirtualClock, always, devStackFile, eventLog } from "./fakes";

const ROOT = path.join(__dirname, "..", "..");

const basePlan = (hooks: HookConfig[], over: Partial<RolloutPlan> = {}): RolloutPlan => ({
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
    hooks,
    ...over,
});

const hook = (name: string, at: HookConfig["at"], argv: string[], over: Partial<HookConfig> = {}): HookConfig => ({
    name,
    at,
    command: argv,
    timeoutSeconds: 10,
    onFailure: "rollback",
    ...over,
});

/** The real runner, also writing each hook's start into the shared timeline. */
class TimelineRunner implements HookRunner {
    private readonly real = new ProcessHookRunner({ killGraceMs: 300 });
    constructor(private readonly timeline: string[]) {}
    run(h: HookConfig, c: HookContext, opts?: Parameters<HookRunner["run"]>[2]) {
        this.timeline.push(`hook ${h.name}${c.step !== undefined ? ` ${c.step.canaryWeight}` : ""} split ${c.split.v2}`);
        return this.real.run(h, c, opts);
    }
}

function rig(hooks: HookConfig[], over: Partial<RolloutPlan> = {}, initial = { v1: 100, v2: 0 }) {
    const timeline: string[] = [];
    const target = new RecordingTarget(initial);
    target.onCall = (call) => timeline.push(`apply ${call.weights?.v2 ?? "?"}${call.scope === "stack" ? " (stack)" : ""}`);
    const store = new SnapshotStore();
    const log = eventLog();
    const lifecycle: LifecycleEvent[] = [];
    const deps = {
        target,
        judge: always("pass"),
        store,
        clock: new VirtualClock(),
        emit: log.emit,
        onEvent: (e: LifecycleEvent) => lifecycle.push(e),
        hooks: new TimelineRunner(timeline),
    };
    return { engine: new RolloutEngine(deps), target, store, timeline, events: log.events, lifecycle, plan: basePlan(hooks, over) };
}

const finishedHooks = (events: { type: string }[]) =>
    events.filter((e): e is HookEvent => e.type === "hook" && (e as HookEvent).phase === "finished");

/** True when the process is gone, or dead and not yet reaped (an orphan's zombie, where PID 1 does not reap). */
function goneOrZombie(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
    } catch {
        return true;
    }
}

function tmp(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

describe("rollout hooks", () => {
    it("run before and after each step, in order, and every run is recorded in the state and the output", async () => {
        const r = rig([
            hook("before", "pre-step", ["sh", "-c", 'echo "before $ISTIO_CANARY_CANARY_WEIGHT"']),
            hook("after", "post-step", ["true"]),
            hook("done", "complete", ["true"]),
        ]);
        const outcome = await r.engine.start(r.plan);
        assert.equal(outcome.kind, "completed", outcome.message);
        assert.deepEqual(r.timeline, [
            "hook before 10 split 0",
            "apply 10 (stack)",
            "hook after 10 split 10",
            "hook before 50 split 10",
            "apply 50",
            "hook after 50 split 50",
            "hook before 100 split 50",
            "apply 100",
            "hook after 100 split 100",
            "hook done split 100",
        ]);
        const saved = r.store.load("dev")!;
        assert.equal(saved.format, STATE_FORMAT);
        assert.deepEqual(
            saved.hooks!.map((h) => [h.hook, h.at, h.step ?? null, h.status, h.exitCode]),
            [
                ["before", "pre-step", 0, "succeeded", 0],
                ["after", "post-step", 0, "succeeded", 0],
                ["before", "pre-step", 1, "succeeded", 0],
                ["after", "post-step", 1, "succeeded", 0],
                ["before", "pre-step", 2, "succeeded", 0],
                ["after", "post-step", 2, "succeeded", 0],
                ["done", "complete", null, "succeeded", 0],
            ],
        );
        assert.equal(saved.hooks![0].output, "before 10\n");
        assert.ok(saved.hooks!.every((h) => typeof h.durationMs === "number" && h.finishedAt !== undefined));
        assert.equal(saved.hooksDue, undefined);
        assert.equal(finishedHooks(r.events).length, 7);
        assert.equal(finishedHooks(r.events)[0].output, "before 10\n");
    });

    it("pre-rollout: deploy the stack with the canary at 0% first, run with its header route, then the first shift updates the VirtualService only", async () => {
        const dir = tmp("hook-pre-");
        const out = path.join(dir, "seen");
        const r = rig(
            [
                hook("acceptance", "pre-rollout", [
                    "sh",
                    "-c",
                    `echo "$ISTIO_CANARY_SPLIT $ISTIO_CANARY_HEADER=$ISTIO_CANARY_HEADER_VALUE" > ${out}`,
                ]),
            ],
            {
                headerRoute: { header: "x-canary", value: "true" },
            },
            { v1: 90, v2: 10 },
        );
        const outcome = await r.engine.start(r.plan);
        assert.equal(outcome.kind, "completed", outcome.message);
        assert.deepEqual(r.timeline.slice(0, 3), ["apply 0 (stack)", "hook acceptance split 0", "apply 10"]);
        assert.equal(fs.readFileSync(out, "utf8"), '{"v1":100,"v2":0} x-canary=true\n');
        assert.ok(r.events.some((e) => e.type === "applied" && e.action === "prepare"));
    });

    it("pre-rollout: a failed deployment at 0% stops with exit 3 before any hook runs, and --resume deploys, runs the hooks and shifts", async () => {
        const r = rig([hook("acceptance", "pre-rollout", ["true"])]);
        r.target.failWhen = (call, i) => (i === 0 ? "pulumi up failed: chart repository unreachable" : undefined);
        const failed = await r.engine.start(r.plan);
        assert.equal(failed.kind, "apply-failed");
        assert.equal(failed.exitCode, 3);
        assert.match(failed.message, /applying the deployment of the canary at 0% \(v1 100% \/ v2 0%\) for the pre-rollout hooks failed/);
        assert.match(failed.message, /--resume` to deploy the canary at 0% and run the pre-rollout hooks/);
        assert.equal(r.store.load("dev")!.hooks, undefined, "no hook ran");
        const resumed = await r.engine.resume(r.plan);
        assert.equal(resumed.kind, "completed", resumed.message);
        assert.deepEqual(r.timeline.slice(0, 4), ["apply 0 (stack)", "apply 0 (stack)", "hook acceptance split 0", "apply 10"]);
    });

    it("complete hooks still owed when a completed rollout is aborted are dropped, and the state stays valid", async () => {
        const r = rig([hook("done", "complete", ["true"])]);
        // Killed (here: interrupted) right after the completion was saved, before its hook ran.
        const controller = new AbortController();
        const engine = new RolloutEngine({
            target: r.target,
            judge: always("pass"),
            store: r.store,
            clock: new VirtualClock(),
            signal: controller.signal,
            hooks: {
                run: async () => {
                    controller.abort();
                    return { status: "interrupted", durationMs: 0, output: "", error: "killed because the rollout was interrupted" };
                },
            },
        });
        const stopped = await engine.start(r.plan);
        assert.equal(stopped.kind, "interrupted");
        assert.equal(r.store.load("dev")!.hooksDue, "complete");
        const aborted = await r.engine.abort(r.plan);
        assert.equal(aborted.kind, "aborted");
        const saved = r.store.load("dev")!;
        assert.equal(saved.hooksDue, undefined);
        assert.ok(saved.history.some((h) => h.event === "hooks-dropped"));
    });

    it("a failing pre-step hook rolls back by default; the rollback is applied first, then the rollback hooks run", async () => {
        const r = rig([
            hook("gate-check", "pre-step", [
                "sh",
                "-c",
                'test "$ISTIO_CANARY_CANARY_WEIGHT" != 50 || { echo "p99 check failed" >&2; exit 2; }',
            ]),
            hook("cleanup", "rollback", ["sh", "-c", "echo cleaned"]),
        ]);
        const outcome = await r.engine.start(r.plan);
        assert.equal(outcome.kind, "rolled-back");
        assert.equal(outcome.exitCode, 1);
        assert.match(outcome.message, /hook gate-check \(pre-step of step 2\/3\) failed: exited with status 2/);
        assert.deepEqual(r.timeline, [
            "hook gate-check 10 split 0",
            "apply 10 (stack)",
            "hook gate-check 50 split 10",
            "apply 0",
            "hook cleanup split 0",
        ]);
        const saved = r.store.load("dev")!;
        assert.equal(saved.status, "rolled-back");
        const failed = saved.hooks!.find((h) => h.status === "failed")!;
        assert.equal(failed.then, "rolled-back");
        assert.equal(failed.output, "p99 check failed\n");
        assert.equal(saved.hooks!.at(-1)!.hook, "cleanup");
        const rollback = r.lifecycle.find((e) => e.type === "rollback");
        assert.equal(rollback?.type === "rollback" && rollback.cause, "hook");
    });

    it("a failing hook with onFailure: hold holds (exit 4), nothing moves, and --resume runs it again", async () => {
        const dir = tmp("hook-hold-");
        const ok = path.join(dir, "ok");
        const r = rig([
            hook("smoke", "pre-step", ["sh", "-c", `test "$ISTIO_CANARY_CANARY_WEIGHT" != 50 || test -f ${ok}`], { onFailure: "hold" }),
        ]);
        const held = await r.engine.start(r.plan);
        assert.equal(held.kind, "held");
        assert.equal(held.exitCode, 4);
        assert.match(held.message, /hook smoke \(pre-step of step 2\/3\) failed: exited with status 1; nothing was changed/);
        assert.match(held.message, /--resume` to run it again/);
        assert.deepEqual(r.target.applied, [{ v1: 90, v2: 10 }]);
        const hold = r.lifecycle.at(-1);
        assert.equal(hold?.type === "hold" && hold.cause, "hook");

        fs.writeFileSync(ok, "");
        const resumed = await r.engine.resume(r.plan);
        assert.equal(resumed.kind, "completed", resumed.message);
        const runs = r.store.load("dev")!.hooks!.filter((h) => h.step === 1);
        assert.deepEqual(
            runs.map((h) => [h.status, h.then ?? null]),
            [
                ["failed", "held"],
                ["succeeded", null],
            ],
        );
    });

    it("a failing hook with onFailure: continue is recorded and the rollout goes on", async () => {
        const r = rig([hook("report", "post-step", ["false"], { onFailure: "continue" })]);
        const outcome = await r.engine.start(r.plan);
        assert.equal(outcome.kind, "completed");
        assert.ok(r.store.load("dev")!.hooks!.every((h) => h.status === "failed" && h.then === "continued"));
    });

    it("a hook that hangs is killed at its timeout and rolls back", async () => {
        const r = rig([hook("hang", "pre-step", ["sleep", "60"], { timeoutSeconds: 1 })], {}, { v1: 100, v2: 0 });
        const began = Date.now();
        const outcome = await r.engine.start(r.plan);
        assert.ok(Date.now() - began < 8000);
        assert.equal(outcome.kind, "rolled-back");
        assert.match(outcome.message, /hook hang \(pre-step of step 1\/3\) timed-out: killed after its timeout of 1s/);
        assert.equal(r.store.load("dev")!.hooks![0].status, "timed-out");
    });

    it("webhooks receive the stack, step and split; a 500 rolls back", async () => {
        const bodies: { at: string; step?: { canaryWeight: number }; split: Record<string, number> }[] = [];
        const server = http.createServer((req, res) => {
            let text = "";
            req.on("data", (d: Buffer) => (text += d.toString()));
            req.on("end", () => {
                const body = JSON.parse(text);
                bodies.push(body);
                res.statusCode = body.step?.canaryWeight === 50 ? 500 : 200;
                res.end(res.statusCode === 500 ? "error budget exhausted" : "ok");
            });
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
            const r = rig([{ name: "ci", at: "pre-step", url, timeoutSeconds: 5, onFailure: "rollback" }]);
            const outcome = await r.engine.start(r.plan);
            assert.equal(outcome.kind, "rolled-back");
            assert.deepEqual(
                bodies.map((b) => [b.at, b.step?.canaryWeight, b.split.v2]),
                [
                    ["pre-step", 10, 0],
                    ["pre-step", 50, 10],
                ],
            );
            const run = r.store.load("dev")!.hooks![1];
            assert.equal(run.httpStatus, 500);
            assert.equal(run.output, "error budget exhausted");
            assert.ok(!JSON.stringify(r.store.load("dev")).includes(url), "the URL is not in the state");
        } finally {
            server.close();
        }
    });

    it("a hook cut short by a killed rollout is marked interrupted on --resume, what is left of it is killed, and it runs again", async function () {
        this.timeout(60000);
        const dir = tmp("hook-kill-");
        const stackFile = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(stackFile, devStackFile({ weights: [100, 0] }));
        const stateDir = path.join(dir, ".rollout");
        const pidFile = path.join(dir, "hook.pid");
        const fast = path.join(dir, "fast");
        // Slow until `fast` exists; writes its shell's pid (its process group) first.
        const slow = hook("migrate", "pre-step", ["sh", "-c", `echo $$ > ${pidFile}; test -f ${fast} && exit 0; sleep 60`], {
            timeoutSeconds: 120,
        });
        const script = path.join(dir, "rollout.ts");
        fs.writeFileSync(
            script,
            [
                `import { RolloutEngine } from ${JSON.stringify(path.join(ROOT, "rollout/engine"))};`,
                `import { FileStateStore } from ${JSON.stringify(path.join(ROOT, "rollout/state"))};`,
                `import { StackFileTarget, VirtualClock, always } from ${JSON.stringify(path.join(ROOT, "test/rollout/fakes"))};`,
                `const plan = ${JSON.stringify(basePlan([slow]))};`,
                `new RolloutEngine({ target: new StackFileTarget(${JSON.stringify(stackFile)}), judge: always("pass"), store: new FileStateStore(${JSON.stringify(stateDir)}), clock: new VirtualClock() }).start(plan);`,
            ].join("\n"),
        );
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", script], { cwd: ROOT, stdio: "ignore" });
        try {
            const end = Date.now() + 40000;
            // The hook's shell may write its pid before the engine has saved the run, so wait for both.
            const saved = (): string | undefined => {
                try {
                    return new FileStateStore(stateDir).load("dev")?.hooks?.[0]?.status;
                } catch {
                    return undefined; // a save in progress
                }
            };
            while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, "utf8").trim() === "" || saved() === undefined) {
                assert.ok(Date.now() < end, "the hook never started");
                await new Promise((r) => setTimeout(r, 50));
            }
            const hookPid = Number(fs.readFileSync(pidFile, "utf8").trim());
            // Saved as running, with its pid, before the kill.
            assert.equal(saved(), "running");
            child.kill("SIGKILL");
            await new Promise((r) => child.once("exit", r));
            assert.ok(!goneOrZombie(hookPid), "the hook outlived the rollout (its own process group)");

            fs.writeFileSync(fast, "");
            const store = new FileStateStore(stateDir);
            const engine = new RolloutEngine({
                target: new StackFileTarget(stackFile),
                judge: always("pass"),
                store,
                clock: new VirtualClock(),
                hooks: new ProcessHookRunner(),
            });
            const outcome = await engine.resume(basePlan([slow]));
            assert.equal(outcome.kind, "completed", outcome.message);
            // SIGKILL is delivered asynchronously; on a loaded machine the process may take a moment to die.
            const dead = Date.now() + 10000;
            while (!goneOrZombie(hookPid) && Date.now() < dead) {
                await new Promise((r) => setTimeout(r, 50));
            }
            assert.ok(goneOrZombie(hookPid), "resume killed the orphaned hook");
            const runs = store.load("dev")!.hooks!.filter((h) => h.step === 0);
            assert.deepEqual(
                runs.map((h) => h.status),
                ["interrupted", "succeeded"],
            );
            assert.equal(runs[0].pid, hookPid);
            assert.match(runs[0].error ?? "", /its process group \d+ was still running and was killed; it runs again/);
        } finally {
            child.kill("SIGKILL");
        }
    });
});
