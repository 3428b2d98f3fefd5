import { strict as assert } from "node:assert";
import { describePulumiError } from "../../rollout/automation";

/** The Automation API adapter cannot run here (no Pulumi CLI); its error reporting can. */
describe("rollout Automation API adapter", () => {
    it("says in one sentence that the Pulumi CLI is missing", () => {
        const e = Object.assign(new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n err?: Error"), {
            commandResult: { stdout: "", stderr: "Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT", err: { code: "ENOENT" } },
        });
        assert.equal(describePulumiError(e), "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)");
    });

    it("names a concurrent update", () => {
        const e = Object.assign(new Error("code: 255"), { name: "ConcurrentUpdateError", commandResult: { stderr: "the stack is currently locked by 1 lock(s)" } });
        assert.match(describePulumiError(e), /^another update of this stack is in progress/);
    });

    it("keeps the last lines of the CLI's stderr, not its whole output", () => {
        const stderr = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n");
        const e = Object.assign(new Error(`code: 255\n stdout: ${"x\n".repeat(500)} stderr: ${stderr}\n err?: `), { commandResult: { stdout: "x\n".repeat(500), stderr } });
        const text = describePulumiError(e);
        assert.equal(text.split("\n").length, 13);
        assert.match(text, /^\.\.\.\nline 29\n/);
        assert.match(text, /line 40$/);
        assert.doesNotMatch(text, /\bx\b/);
    });
});
