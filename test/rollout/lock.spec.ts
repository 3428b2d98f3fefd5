import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { LockHeldError, holderAlive, processIdentity } from "../../rollout/state";
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
    maxStepSeconds: 75,
};

function start(store: SnapshotStore) {
    return new RolloutEngine({
        target: new RecordingTarget({ v1: 90, v2: 10 }),
        judge: always("pass"),
        store,
        clock: new VirtualClock(),
    }).start(plan);
}

describe("a lock whose pid was reused", () => {
    let sleeper: ReturnType<typeof spawn> | undefined;
    afterEach(() => {
        sleeper?.kill("SIGKILL");
        sleeper = undefined;
    });

    function lockFile(store: SnapshotStore, info: Record<string, unknown>): void {
        fs.mkdirSync(store.dir, { recursive: true });
        fs.writeFileSync(
            path.join(store.dir, "dev.lock"),
            JSON.stringify({ hostname: os.hostname(), since: "2025-01-01T00:00:00Z", command: "start", ...info }),
        );
    }

    it("is taken over when that pid now belongs to another process (start time differs), not reported as the holder", async () => {
        sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
        const store = new SnapshotStore();
        lockFile(store, { pid: sleeper.pid, startTime: "1", cmdline: "node cli/istio-canary.js rollout --stack dev" });
        const outcome = await start(store);
        assert.equal(outcome.kind, "completed", outcome.message);
    });

    it("is taken over when a lock without a start time names a pid that is not an istio-canary command", async () => {
        sleeper = spawn("sleep", ["60"], { stdio: "ignore" });
        const store = new SnapshotStore();
        lockFile(store, { pid: sleeper.pid });
        const outcome = await start(store);
        assert.equal(outcome.kind, "completed", outcome.message);
    });

    it("names the holder with its command line when it is alive and is the process that took the lock", () => {
        const store = new SnapshotStore();
        const held = store.lock("dev", "start");
        try {
            const mine = processIdentity(process.pid);
            assert.ok(mine.startTime !== undefined && mine.cmdline !== undefined, "this machine has /proc");
            assert.throws(
                () => store.lock("dev", "resume"),
                (e: unknown) =>
                    e instanceof LockHeldError &&
                    e.holder.startTime === mine.startTime &&
                    e.message.startsWith(
                        `a rollout of stack dev is already running (pid ${process.pid} on ${os.hostname()}: ${mine.cmdline}, start since `,
                    ),
            );
        } finally {
            held.release();
        }
    });

    it("decides by start time first, then by command line, and trusts a live pid where /proc tells nothing", () => {
        const me = { pid: process.pid, hostname: os.hostname(), since: "", command: "start" };
        const now = { startTime: "500", cmdline: "node cli/istio-canary.js rollout --stack dev" };
        assert.equal(
            holderAlive({ ...me, startTime: "500" }, () => now),
            true,
        );
        assert.equal(
            holderAlive({ ...me, startTime: "499", cmdline: now.cmdline }, () => now),
            false,
            "same command, other start: reused",
        );
        assert.equal(
            holderAlive({ ...me, cmdline: now.cmdline }, () => ({ cmdline: now.cmdline })),
            true,
        );
        assert.equal(
            holderAlive({ ...me, cmdline: "node other" }, () => ({ cmdline: now.cmdline })),
            false,
        );
        assert.equal(
            holderAlive(me, () => ({ cmdline: "vim notes.txt" })),
            false,
            "a legacy lock naming a non-istio-canary process",
        );
        assert.equal(
            holderAlive(me, () => ({ cmdline: now.cmdline })),
            true,
            "a legacy lock naming an istio-canary process",
        );
        assert.equal(
            holderAlive(me, () => ({})),
            true,
            "no /proc: a live pid holds",
        );
        assert.equal(
            holderAlive({ ...me, hostname: "elsewhere", pid: 1 }, () => ({})),
            true,
            "another host cannot be checked",
        );
    });
});
