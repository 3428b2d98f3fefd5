import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutCliDeps, runRolloutCli } from "../../cli/rollout";
import { pulumiRunner, urlResolver } from "../../notify/secrets";
import { StackFileTarget, VirtualClock, always } from "../../test/rollout/fakes";
import { LocalServer, startServer } from "../../test/notify/server";
import { ROOT, requireTools, run, toolEnv } from "./support";

/**
 * A notification URL set with `pulumi config set --secret --path` and decrypted by the real Pulumi
 * CLI (v3.248.0, from e2e/tools) with a passphrase secrets provider on a local file backend: the
 * rollout sends its milestones to it, and neither its output nor its state file holds the URL. The
 * stack target and the judge are the unit tests' stand-ins (no cluster is needed to decrypt).
 */
describe("e2e: a secret notification URL decrypted by the real Pulumi CLI", function () {
    this.timeout(120_000);
    const TOKEN = "e2e-s3cr3t-token";
    let server: LocalServer;
    let dir: string;
    let env: NodeJS.ProcessEnv;

    before(async function () {
        requireTools(["pulumi"]);
        server = await startServer();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-notify-"));
        fs.mkdirSync(path.join(dir, "backend"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            [
                "config:",
                "  istio-canary:hosts: [dev.myapp.apsissolutions.com]",
                "  istio-canary:versions:",
                "    - { name: v1, image: jamaldevsecops/myapp:v1, replicas: 2, weight: 100 }",
                "    - { name: v2, image: jamaldevsecops/myapp:v2, replicas: 1, weight: 0 }",
                "",
            ].join("\n"),
        );
        env = toolEnv({
            PULUMI_HOME: path.join(dir, "home"),
            PULUMI_BACKEND_URL: `file://${path.join(dir, "backend")}`,
            PULUMI_CONFIG_PASSPHRASE: "e2e-only",
            PULUMI_SKIP_UPDATE_CHECK: "true",
        });
        const pulumi = (...args: string[]) => run("pulumi", args, { env, cwd: dir });
        pulumi("stack", "init", "dev");
        pulumi("config", "set", "--secret", "tlsCert", "not-used-here");
        pulumi("config", "set", "--secret", "tlsKey", "not-used-here");
        pulumi("config", "set", "--path", "rollout.notifications[0].name", "team-chat");
        pulumi("config", "set", "--path", "rollout.notifications[0].format", "teams");
        pulumi("config", "set", "--secret", "--path", "rollout.notifications[0].url", `${server.url}/webhook/${TOKEN}`);
    });

    after(async () => {
        await server?.close();
        if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    });

    async function rollout(argv: string[], runEnv: NodeJS.ProcessEnv) {
        let out = "";
        let err = "";
        const deps: RolloutCliDeps = {
            out: (s) => (out += s),
            err: (s) => (err += s),
            isTTY: false,
            cwd: dir,
            makeTarget: ({ stackFile }) => new StackFileTarget(stackFile),
            makeJudge: () => always("pass"),
            clock: new VirtualClock(),
            makeUrlResolver: (ctx) => urlResolver({ ...ctx, run: pulumiRunner(runEnv) }),
        };
        const code = await runRolloutCli([...argv, "--config-dir", dir], deps);
        return { code, out, err };
    }

    it("stores the URL as ciphertext in the stack file", () => {
        const text = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
        assert.match(text, /url:\n\s+secure: v1:/);
        assert.ok(!text.includes(TOKEN));
    });

    it("refuses to start with a wrong passphrase, naming the key and the target, before changing anything", async () => {
        const r = await rollout(["--stack", "dev"], { ...env, PULUMI_CONFIG_PASSPHRASE: "wrong" });
        assert.equal(r.code, 2, r.err);
        assert.match(
            r.err,
            /^rollout: the notification targets cannot be used:\n {2}- cannot decrypt istio-canary:rollout\.notifications\[0\]\.url \(target team-chat\) with the stack's secrets provider: error: incorrect passphrase/,
        );
        assert.equal(fs.existsSync(path.join(dir, ".rollout", "dev.json")), false);
    });

    it("sends every milestone to the decrypted URL and keeps it out of the output and the state file", async () => {
        const r = await rollout(["--stack", "dev", "--json"], env);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(
            server.received.map((x) => [x.path, (x.body as { attachments: { contentType: string }[] }).attachments[0].contentType]),
            Array(6).fill([`/webhook/${TOKEN}`, "application/vnd.microsoft.card.adaptive"]),
        );
        const state = fs.readFileSync(path.join(dir, ".rollout", "dev.json"), "utf8");
        for (const text of [r.out, r.err, state, fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8")]) {
            assert.ok(!text.includes(TOKEN) && !text.includes(`:${server.port}`), text);
        }
    });
});
