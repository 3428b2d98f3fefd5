import * as assert from "node:assert/strict";
import { CliIO, closestFlag } from "../../cli/args";
import { EXIT } from "../../cli/exit-codes";
import { SUBCOMMANDS, main } from "../../cli/main";

/** Runs `istio-canary <argv>` in-process, collecting what it prints. */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const io: CliIO = { out: (s) => (out += s), err: (s) => (err += s), cwd: process.cwd() };
    const code = await main(argv, io);
    return { code, out, err };
}

describe("istio-canary (the one command line)", () => {
    it("lists every subcommand and the exit codes for --help, and exits 0", async () => {
        const r = await run(["--help"]);
        assert.equal(r.code, EXIT.ok);
        for (const name of ["plan", "policy", "analyze", "rollout", "report", "promote"]) {
            assert.match(r.out, new RegExp(`\\n  ${name} +\\S`), `${name} is listed`);
        }
        assert.match(r.out, /Exit codes \(every command\):\n {2}0 ok {3}1 failed/);
        assert.deepEqual(
            SUBCOMMANDS.map((c) => c.name),
            ["plan", "policy", "analyze", "rollout", "report", "promote"],
        );
    });

    it("prints the overview on standard error and exits 2 without a command", async () => {
        const r = await run([]);
        assert.equal(r.code, EXIT.usage);
        assert.equal(r.out, "");
        assert.match(r.err, /^Usage: istio-canary <command> \[flags\]/);
    });

    it("names an unknown command and suggests the closest one, exit 2", async () => {
        const r = await run(["plna", "--stack", "dev"]);
        assert.equal(r.code, EXIT.usage);
        assert.match(r.err, /error: unknown command 'plna'\n\(Did you mean plan\?\)/);
    });

    it("names a misspelt flag with the closest known one, not a missing required flag", async () => {
        const r = await run(["plan", "--stak", "dev"]);
        assert.equal(r.code, EXIT.usage);
        assert.equal(r.err, "error: unknown option '--stak'\n(Did you mean --stack?)\n");
        assert.doesNotMatch(r.err, /required option/);
    });

    it("treats a flag before the command's own flags the same as after them (no npm `--` trap)", async () => {
        const r = await run(["promote", "--dry-run", "--from", "dev", "--to", "dev"]);
        assert.equal(r.code, EXIT.usage);
        assert.match(r.err, /^promote: --from and --to are both dev/);
    });

    it("shows a command's flags and examples for `help <command>` and `<command> --help`", async () => {
        for (const argv of [
            ["help", "rollout"],
            ["rollout", "--help"],
        ]) {
            const r = await run(argv);
            assert.equal(r.code, EXIT.ok, argv.join(" "));
            assert.match(r.out, /--resume/);
            assert.match(r.out, /Examples:\n {2}\$ npx istio-canary rollout --stack dev +# walk dev's canary up rollout\.steps\n/);
        }
    });

    it("gives every subcommand examples in its help", async () => {
        for (const c of SUBCOMMANDS) {
            const r = await run([c.name, "--help"]);
            assert.equal(r.code, EXIT.ok, c.name);
            assert.match(r.out, new RegExp(`Examples:\\n {2}\\$ npx istio-canary ${c.name} `), c.name);
        }
    });

    it("suggests a flag by prefix or by at most two edits, and nothing for a far one", () => {
        const known = ["--stack", "--config-dir", "--json"];
        assert.equal(closestFlag("--conf", known), "--config-dir");
        assert.equal(closestFlag("--stakc", known), "--stack");
        assert.equal(closestFlag("--force", known), undefined);
    });
});

describe("the exit code table", () => {
    it("gives each outcome its own code, the same in every command", () => {
        assert.deepEqual(EXIT, { ok: 0, failed: 1, usage: 2, incomplete: 3, refused: 4, internal: 70, interrupted: 130 });
    });
});
