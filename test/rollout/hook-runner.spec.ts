/** The hook runner against real child processes and a local HTTP server. */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as http from "node:http";
import { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { HOOK_OUTPUT_TAIL, HookConfig, HookContext, ProcessHookRunner } from "../../rollout/hooks";

const context: HookContext = {
    hook: "smoke",
    at: "pre-step",
    stack: "dev",
    baseline: "v1",
    canary: "v2",
    step: { index: 1, total: 4, canaryWeight: 25 },
    split: { v1: 90, v2: 10 },
    headerRoute: { header: "x-canary", value: "true" },
};

const command = (argv: string[], over: Partial<HookConfig> = {}): HookConfig => ({
    name: "smoke",
    at: "pre-step",
    command: argv,
    timeoutSeconds: 10,
    onFailure: "rollback",
    ...over,
});

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

async function until(what: string, test: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!test()) {
        if (Date.now() > end) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 20));
    }
}

describe("rollout hook runner", () => {
    const runner = new ProcessHookRunner({ killGraceMs: 300 });

    describe("a command", () => {
        it("succeeds on exit 0 with the tail of its output and the ISTIO_CANARY_* variables of the step", async () => {
            const r = await runner.run(
                command([
                    "sh",
                    "-c",
                    'echo "at=$ISTIO_CANARY_AT step=$ISTIO_CANARY_STEP/$ISTIO_CANARY_STEPS w=$ISTIO_CANARY_CANARY_WEIGHT split=$ISTIO_CANARY_SPLIT $ISTIO_CANARY_HEADER=$ISTIO_CANARY_HEADER_VALUE"; echo oops >&2',
                ]),
                context,
            );
            assert.equal(r.status, "succeeded");
            assert.equal(r.exitCode, 0);
            assert.match(r.output, /^at=pre-step step=2\/4 w=25 split=\{"v1":90,"v2":10\} x-canary=true\n/);
            assert.match(r.output, /oops/);
            assert.ok(r.durationMs >= 0 && r.durationMs < 5000);
        });

        it("is run without a shell: its arguments reach it as given", async () => {
            const r = await runner.run(
                command(["node", "-e", "console.log(JSON.stringify(process.argv.slice(1)))", "$HOME", "a b", ";ls"]),
                context,
            );
            assert.equal(r.status, "succeeded");
            assert.deepEqual(JSON.parse(r.output), ["$HOME", "a b", ";ls"]);
        });

        it("fails with its exit status", async () => {
            const r = await runner.run(command(["sh", "-c", "echo checking; exit 3"]), context);
            assert.equal(r.status, "failed");
            assert.equal(r.exitCode, 3);
            assert.equal(r.error, "exited with status 3");
            assert.equal(r.output, "checking\n");
        });

        it("fails, naming the program, when it cannot be run", async () => {
            const r = await runner.run(command(["/nonexistent/smoke-test"]), context);
            assert.equal(r.status, "failed");
            assert.match(r.error ?? "", /^\/nonexistent\/smoke-test could not be run: spawn \/nonexistent\/smoke-test ENOENT/);
        });

        it("keeps only the last HOOK_OUTPUT_TAIL characters of a long output", async () => {
            const r = await runner.run(command(["node", "-e", "process.stdout.write('x'.repeat(50000) + 'END')"]), context);
            assert.equal(r.status, "succeeded");
            assert.equal(r.output.length, HOOK_OUTPUT_TAIL);
            assert.ok(r.output.endsWith("xEND"));
        });

        it("is killed at its timeout with every process it started (its process group)", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hook-timeout-"));
            const pids = path.join(dir, "pids");
            const began = Date.now();
            // The shell starts a grandchild that ignores SIGTERM; both must be gone after the kill.
            const r = await runner.run(
                command(["sh", "-c", `sh -c 'trap "" TERM; sleep 30' & echo $! > ${pids}; echo started; wait`], { timeoutSeconds: 1 }),
                context,
            );
            const elapsed = Date.now() - began;
            assert.equal(r.status, "timed-out");
            assert.equal(r.error, "killed after its timeout of 1s");
            assert.match(r.output, /started/);
            assert.ok(elapsed >= 1000 && elapsed < 5000, `took ${elapsed} ms`);
            const grandchild = Number(fs.readFileSync(pids, "utf8").trim());
            await until("the grandchild to be gone", () => !alive(grandchild));
        });

        it("is killed when the rollout is interrupted", async () => {
            const controller = new AbortController();
            setTimeout(() => controller.abort(), 300);
            const r = await runner.run(command(["sleep", "30"]), context, { signal: controller.signal });
            assert.equal(r.status, "interrupted");
            assert.ok(r.durationMs < 5000);
        });
    });

    describe("a webhook", () => {
        let server: http.Server;
        let url: string;
        const received: { method?: string; type?: string; body: unknown }[] = [];
        let answer: (res: http.ServerResponse) => void = (res) => res.end("ok");

        before(async () => {
            server = http.createServer((req, res) => {
                let text = "";
                req.on("data", (d: Buffer) => (text += d.toString()));
                req.on("end", () => {
                    received.push({ method: req.method, type: req.headers["content-type"], body: JSON.parse(text) });
                    answer(res);
                });
            });
            await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
            url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/smoke?token=s3cret`;
        });
        after(() => {
            server.closeAllConnections();
            server.close();
        });
        beforeEach(() => {
            received.length = 0;
        });

        const webhook = (over: Partial<HookConfig> = {}): HookConfig => ({
            name: "smoke",
            at: "pre-step",
            url,
            timeoutSeconds: 5,
            onFailure: "rollback",
            ...over,
        });

        it("POSTs the stack, step and split as JSON and succeeds on a 2xx, keeping the answer's tail", async () => {
            answer = (res) => {
                res.statusCode = 202;
                res.end("accepted: 12 checks passed");
            };
            const r = await runner.run(webhook(), context);
            assert.equal(r.status, "succeeded");
            assert.equal(r.httpStatus, 202);
            assert.equal(r.output, "accepted: 12 checks passed");
            assert.equal(received.length, 1);
            assert.equal(received[0].method, "POST");
            assert.equal(received[0].type, "application/json");
            assert.deepEqual(received[0].body, context);
        });

        it("fails on a 500, with the status and not the URL", async () => {
            answer = (res) => {
                res.statusCode = 500;
                res.end("database down");
            };
            const r = await runner.run(webhook(), context);
            assert.equal(r.status, "failed");
            assert.equal(r.httpStatus, 500);
            assert.equal(r.error, "answered HTTP 500");
            assert.equal(r.output, "database down");
            assert.ok(!JSON.stringify(r).includes("s3cret"));
        });

        it("times out when the server does not answer", async () => {
            answer = () => undefined; // never answers
            const began = Date.now();
            const r = await runner.run(webhook({ timeoutSeconds: 1 }), context);
            assert.equal(r.status, "timed-out");
            assert.equal(r.error, "no answer within its timeout of 1s");
            assert.ok(Date.now() - began < 4000);
        });

        it("fails when nothing listens, without the URL in the error", async () => {
            const free = http.createServer();
            await new Promise<void>((r) => free.listen(0, "127.0.0.1", r));
            const port = (free.address() as AddressInfo).port;
            await new Promise((r) => free.close(r));
            const r = await runner.run(webhook({ url: `http://127.0.0.1:${port}/x?token=s3cret` }), context);
            assert.equal(r.status, "failed");
            assert.match(r.error ?? "", /ECONNREFUSED/);
            assert.ok(!JSON.stringify(r).includes("s3cret"));
        });
    });
});
