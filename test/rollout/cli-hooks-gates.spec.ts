import { strict as assert } from "node:assert";
import { RolloutCliDeps, runRolloutCli } from "../../cli/rollout";
import { StackFileTarget, VirtualClock, always, configDirWith, devStackFile } from "./fakes";

interface Run {
    code: number;
    out: string;
    err: string;
}

function deps(dir: string, clock = new VirtualClock()): { deps: RolloutCliDeps; result: () => { out: string; err: string } } {
    let out = "";
    let err = "";
    return {
        deps: {
            out: (s) => (out += s),
            err: (s) => (err += s),
            isTTY: false,
            cwd: dir,
            makeTarget: ({ stackFile }) => new StackFileTarget(stackFile),
            makeJudge: () => always("pass"),
            clock,
            gatePollMs: 1000,
        },
        result: () => ({ out, err }),
    };
}

async function run(argv: string[], dir: string, clock?: VirtualClock): Promise<Run> {
    const d = deps(dir, clock);
    const code = await runRolloutCli([...argv, "--config-dir", dir], d.deps);
    return { code, ...d.result() };
}

const ROLLOUT = [
    "steps: [10, { weight: 100, approve: true }]",
    "waitSeconds: 30",
    "hooks:",
    "  - { name: smoke, at: pre-step, command: [sh, -c, 'echo smoke ok at $ISTIO_CANARY_CANARY_WEIGHT'] }",
].join("\n");

describe("npm run rollout --approve / --reject, and hooks in the output", () => {
    it("refuses --approve with another mode, exit 2", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [100, 0], rollout: ROLLOUT }) });
        const r = await run(["--stack", "dev", "--resume", "--approve"], dir);
        assert.equal(r.code, 2);
        assert.match(r.err, /--resume and --approve cannot be combined; give at most one/);
    });

    it("refuses a hook config error before anything is changed, exit 2, naming the key", async () => {
        const dir = configDirWith({
            dev: devStackFile({ weights: [100, 0], rollout: "hooks:\n  - { name: smoke, at: pre-step, command: './smoke.sh' }" }),
        });
        const r = await run(["--stack", "dev"], dir);
        assert.equal(r.code, 2);
        assert.match(r.err, /istio-canary:rollout\.hooks\[0\]\.command is "\.\/smoke\.sh"; it must be a non-empty list of strings/);
    });

    it("prints each hook run and the gate with both answers, and goes on when another process runs --approve", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [100, 0], rollout: ROLLOUT }) });
        const clock = new VirtualClock();
        let approval: Promise<Run> | undefined;
        clock.onSleep = () => {
            if (clock.sleeps.length === 4 && approval === undefined) {
                approval = run(["--stack", "dev", "--approve"], dir);
            }
        };
        const r = await run(["--stack", "dev"], dir, clock);
        const a = await approval!;
        assert.equal(a.code, 0, a.err);
        assert.match(a.out, /^approved step 2\/2 \(100%\) of the rollout of v2 on stack dev; the waiting rollout \(pid \d+/);
        assert.equal(r.code, 0, r.err);
        const lines = r.out.trimEnd().split("\n");
        assert.ok(
            lines.some((l) => /^step 1\/2 {2}hook smoke \(pre-step\) succeeded \(exit 0, \d+\.\ds\)$/.test(l)),
            r.out,
        );
        const gate = lines.find((l) => l.includes("WAITING"));
        const cmd = `npx istio-canary rollout --stack dev --config-dir ${dir}`;
        assert.equal(
            gate,
            `step 2/2  WAITING for approval of step 2/2, the shift to v1 0% / v2 100%; meanwhile v1 90% / v2 10% is analysed every 15s and a failure rolls back. ` +
                `Approve with \`${cmd} --approve\`, or roll back with \`${cmd} --reject\``,
        );
        assert.ok(lines.some((l) => /^step 2\/2 {2}approved by .+@.+$/.test(l)));
        assert.match(lines.at(-1)!, /^rollout complete/);
    });

    it("--json carries the hook's exit status, duration and output, and the gate's answers", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [100, 0], rollout: ROLLOUT }) });
        const clock = new VirtualClock();
        let rejection: Promise<Run> | undefined;
        clock.onSleep = () => {
            if (clock.sleeps.length === 3 && rejection === undefined) {
                rejection = run(["--stack", "dev", "--reject"], dir);
            }
        };
        const r = await run(["--stack", "dev", "--json"], dir, clock);
        assert.equal((await rejection!).code, 0);
        assert.equal(r.code, 1, "rejected: rolled back");
        const events = r.out
            .trimEnd()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>);
        const hook = events.find((e) => e.type === "hook" && e.phase === "finished")!;
        assert.equal(hook.hook, "smoke");
        assert.equal(hook.point, "pre-step");
        assert.equal(hook.status, "succeeded");
        assert.equal(hook.exitCode, 0);
        assert.equal(typeof hook.durationMs, "number");
        assert.equal(hook.output, "smoke ok at 10\n");
        const waiting = events.find((e) => e.type === "gate" && e.status === "waiting")!;
        assert.equal(waiting.step, 1);
        assert.match(String(waiting.approve), /--approve`$/);
        assert.match(String(waiting.reject), /--reject`$/);
        assert.ok(events.some((e) => e.type === "gate" && e.status === "rejected"));
        assert.equal(events.at(-1)!.outcome, "rolled-back");
    });
});
