import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { findPrometheusBinary, startPrometheus } from "../support/prometheus";

/**
 * The test helper that runs a real Prometheus: a missing binary fails with the install command
 * (never a skip), a Prometheus that dies at start fails at once, and nothing is left behind.
 */

/** Runs `fn` with os.tmpdir() pointing at a fresh directory; returns what is left in it afterwards. */
async function leftoversOf(fn: () => Promise<unknown>): Promise<string[]> {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-helper-test-"));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
        await fn();
    } finally {
        if (saved === undefined) delete process.env.TMPDIR;
        else process.env.TMPDIR = saved;
    }
    const left = fs.readdirSync(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    return left;
}

/** Whether a process with this id exists. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

describe("the Prometheus test helper", () => {
    it("fails without the binary, naming where it looked and how to install it", () => {
        assert.throws(() => findPrometheusBinary("/nonexistent/prometheus"), {
            message: "Prometheus binary not found (looked for /nonexistent/prometheus): install it: apt-get install prometheus",
        });
    });

    it("fails at once when Prometheus exits during start-up, and removes its directory", async function () {
        this.timeout(15_000);
        const started = Date.now();
        const left = await leftoversOf(() =>
            assert.rejects(
                startPrometheus({ targets: [], binary: "/bin/false", readyTimeoutMs: 10_000 }),
                /Prometheus exited early \(exit code 1\)/,
            ),
        );
        assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms, not at once`);
        assert.deepEqual(left, []);
    });

    it("runs on 127.0.0.1 in its own directory and leaves no process or directory after stop", async function () {
        this.timeout(40_000);
        let pid = -1;
        let dataDir = "";
        const left = await leftoversOf(async () => {
            const prom = await startPrometheus({ targets: [] });
            try {
                pid = prom.pid;
                dataDir = prom.dataDir;
                assert.match(prom.url, /^http:\/\/127\.0\.0\.1:\d+$/);
                assert.ok(dataDir.startsWith(os.tmpdir()), `data directory ${dataDir} outside ${os.tmpdir()}`);
                assert.ok(alive(pid));
            } finally {
                await prom.stop();
                await prom.stop();
            }
        });
        assert.ok(pid > 0);
        assert.equal(alive(pid), false, `Prometheus ${pid} still runs after stop`);
        assert.equal(fs.existsSync(dataDir), false);
        assert.deepEqual(left, []);
    });
});
