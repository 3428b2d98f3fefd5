import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { RolloutCliDeps, runRolloutCli } from "../../cli/rollout";
import { RunPulumi, urlResolver } from "../../notify/secrets";
import { NotificationTarget } from "../../notify/types";
import { StackFileTarget, VirtualClock, always, configDirWith, devStackFile } from "../rollout/fakes";
import { LocalServer, refusedPort, startServer } from "./server";

const TOKEN = "s3cr3t-T0KEN";

/** The dev stack with a secret Slack-format target and a plain JSON target on a refused port. */
function stackWithTargets(downPort: number): string {
    return devStackFile({
        rollout: [
            "steps: [10, 50, 100]",
            "notifications:",
            "  - name: team-chat",
            "    format: slack",
            "    url:",
            "      secure: v1:ZmFrZS1jaXBoZXJ0ZXh0",
            "  - name: down",
            `    url: http://127.0.0.1:${downPort}/hook`,
            "    events: [start, rollback]",
        ].join("\n"),
    });
}

async function run(argv: string[], dir: string, resolver: (t: NotificationTarget) => Promise<string>) {
    let out = "";
    let err = "";
    let target: StackFileTarget | undefined;
    const deps: RolloutCliDeps = {
        out: (s) => (out += s),
        err: (s) => (err += s),
        isTTY: false,
        cwd: dir,
        makeTarget: ({ stackFile }) => (target = new StackFileTarget(stackFile)),
        makeJudge: () => always("pass"),
        clock: new VirtualClock(),
        makeUrlResolver: () => resolver,
        notifyTuning: { notifier: { backoffMs: 10 }, exitWaitMs: 10_000 },
    };
    const code = await runRolloutCli([...argv, "--config-dir", dir], deps);
    return { code, out, err, calls: target?.calls ?? [] };
}

describe("notify: istio-canary rollout with notification targets", () => {
    let server: LocalServer;
    let down: number;
    let secretUrl: string;
    beforeEach(async () => {
        server = await startServer();
        down = await refusedPort();
        secretUrl = `${server.url}/services/T0/B0/${TOKEN}`;
    });
    afterEach(() => server.close());

    /** The stand-in for the stack's secrets provider: the secret target's URL decrypts to the local server. */
    const decrypting = async (t: NotificationTarget) => (typeof t.url === "string" ? t.url : secretUrl);

    it("sends every milestone to the secret target, reports the down one in --json, and never shows or saves the secret URL", async () => {
        const dir = configDirWith({ dev: stackWithTargets(down) });
        const r = await run(["--stack", "dev", "--json"], dir, decrypting);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(
            server.received.map((x) => x.path),
            Array(5).fill(`/services/T0/B0/${TOKEN}`),
        );
        assert.deepEqual(
            server.received.map((x) => (x.body as { blocks: { text: { text: string } }[] }).blocks[0].text.text),
            [
                "istio-canary dev: v2 rollout started",
                "istio-canary dev: v2 traffic shifted",
                "istio-canary dev: v2 traffic shifted",
                "istio-canary dev: v2 traffic shifted",
                "istio-canary dev: v2 rollout complete",
            ],
        );
        const failed = r.out
            .trimEnd()
            .split("\n")
            .map((l) => JSON.parse(l) as Record<string, unknown>)
            .filter((e) => e.type === "notification-failed");
        assert.deepEqual(
            failed.map((e) => [e.stack, e.target, e.milestone, e.attempts, e.error]),
            [["dev", "down", "start", 4, "connection refused (ECONNREFUSED)"]],
        );
        const state = fs.readFileSync(path.join(dir, ".rollout", "dev.json"), "utf8");
        assert.match(state, /"event": "notification-failed"/);
        for (const text of [r.out, r.err, state]) {
            assert.ok(!text.includes(TOKEN) && !text.includes(String(server.port)) && !text.includes(String(down)), text);
        }
        // the secret stays ciphertext in the stack file, whose edits (the weights) keep it
        const stackFile = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
        assert.match(stackFile, /secure: v1:ZmFrZS1jaXBoZXJ0ZXh0/);
        assert.ok(!stackFile.includes(TOKEN) && !stackFile.includes(String(server.port)));
    });

    it("prints each failure as a line on stderr naming the target and the milestone", async () => {
        const dir = configDirWith({ dev: stackWithTargets(down) });
        const r = await run(["--stack", "dev"], dir, decrypting);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.err, "rollout: notification start to down failed after 4 attempts: connection refused (ECONNREFUSED)\n");
    });

    it("refuses to start when a secret URL cannot be decrypted, naming the key and the target, before changing anything", async () => {
        const dir = configDirWith({ dev: stackWithTargets(down) });
        const before = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
        const noPassphrase: RunPulumi = async () => {
            throw new Error("error: incorrect passphrase");
        };
        const r = await run(
            ["--stack", "dev"],
            dir,
            urlResolver({ stack: "dev", stackFile: path.join(dir, "Pulumi.dev.yaml"), run: noPassphrase }),
        );
        assert.equal(r.code, 2);
        assert.equal(
            r.err,
            "rollout: the notification targets cannot be used:\n" +
                "  - cannot decrypt istio-canary:rollout.notifications[0].url (target team-chat) with the stack's secrets provider: " +
                "error: incorrect passphrase (for a passphrase provider, set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE)\n",
        );
        assert.deepEqual(r.calls, []);
        assert.equal(fs.existsSync(path.join(dir, ".rollout", "dev.json")), false);
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8"), before);
    });

    it("aborts even when a secret URL cannot be decrypted, and reports that target's milestone as not sent", async () => {
        const dir = configDirWith({ dev: stackWithTargets(down) });
        const r = await run(["--stack", "dev", "--abort"], dir, async (t) => {
            if (typeof t.url !== "string") throw new Error("cannot decrypt istio-canary:rollout.notifications[0].url (target team-chat)");
            return t.url;
        });
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(
            r.calls.map((c) => c.weights),
            [{ v1: 100, v2: 0 }],
        );
        assert.match(r.err, /^rollout: notification rollback to team-chat failed: its URL could not be resolved: cannot decrypt/m);
        assert.match(r.err, /^rollout: notification rollback to down failed after 4 attempts: connection refused/m);
    });
});
