import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../stack/load";
import { PulumiStackTarget, describePulumiError } from "../../rollout/automation";

/** A directory holding only a `pulumi` script that prints `version`, or an empty one. */
function binDir(version?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-bin-"));
    if (version !== undefined) {
        fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
    }
    return dir;
}

/** The Automation API adapter cannot apply here (no Pulumi CLI, no cluster); its preflight and error reporting can run. */
describe("rollout Automation API adapter", () => {
    describe("preflight", function () {
        this.timeout(30_000);
        const savedPath = process.env.PATH;
        afterEach(() => {
            process.env.PATH = savedPath;
        });

        it("says the Pulumi CLI is missing when no pulumi is on PATH", async () => {
            process.env.PATH = binDir();
            assert.equal(
                await new PulumiStackTarget({ stack: "dev" }).preflight(),
                "cannot run pulumi up for stack dev: the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)",
            );
        });

        it("passes when a pulumi on PATH answers a supported version", async () => {
            process.env.PATH = binDir("v3.150.0");
            assert.equal(await new PulumiStackTarget({ stack: "dev" }).preflight(), undefined);
        });

        it("names a Pulumi CLI too old for the Automation API", async () => {
            process.env.PATH = binDir("v3.1.0");
            assert.match(
                (await new PulumiStackTarget({ stack: "dev" }).preflight()) ?? "",
                /^cannot run pulumi up for stack dev: Minimum version requirement failed\. .*your current CLI version is v3\.1\.0/,
            );
        });
    });

    it("says in one sentence that the Pulumi CLI is missing", () => {
        const e = Object.assign(
            new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n err?: Error"),
            {
                commandResult: {
                    stdout: "",
                    stderr: "Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT",
                    err: { code: "ENOENT" },
                },
            },
        );
        assert.equal(
            describePulumiError(e),
            "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)",
        );
    });

    it("names a concurrent update", () => {
        const e = Object.assign(new Error("code: 255"), {
            name: "ConcurrentUpdateError",
            commandResult: { stderr: "the stack is currently locked by 1 lock(s)" },
        });
        assert.match(describePulumiError(e), /^another update of this stack is in progress/);
    });

    it("keeps the last lines of the CLI's stderr, not its whole output", () => {
        const stderr = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n");
        const e = Object.assign(new Error(`code: 255\n stdout: ${"x\n".repeat(500)} stderr: ${stderr}\n err?: `), {
            commandResult: { stdout: "x\n".repeat(500), stderr },
        });
        const text = describePulumiError(e);
        assert.equal(text.split("\n").length, 13);
        assert.match(text, /^\.\.\.\nline 29\n/);
        assert.match(text, /line 40$/);
        assert.doesNotMatch(text, /\bx\b/);
    });

    describe("policy checks on every pulumi up", () => {
        it("runs the project's policy pack with the stack's own policy config", () => {
            const target = new PulumiStackTarget({ stack: "prod" });
            assert.deepEqual(target.policyPacks, [path.join(PROJECT_ROOT, "policies")]);
            assert.deepEqual(target.policyPackConfigs, [path.join(PROJECT_ROOT, "policies", "config", "prod.json")]);
        });

        it("runs the pack at its default levels for a stack without a policy config file", () => {
            const target = new PulumiStackTarget({ stack: "qa" });
            assert.deepEqual(target.policyPacks, [path.join(PROJECT_ROOT, "policies")]);
            assert.deepEqual(target.policyPackConfigs, []);
        });
    });
});
