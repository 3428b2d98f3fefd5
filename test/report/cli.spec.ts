import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runReportCli } from "../../cli/report";
import { EXIT } from "../../cli/exit-codes";
import { engineRun } from "./states";

/** Runs `istio-canary report <argv>` in-process from `cwd`. */
async function run(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await runReportCli(argv, { out: (s) => (out += s), err: (s) => (err += s), cwd }, () => new Date("2025-01-02T00:00:00Z"));
    return { code, out, err };
}

/** A config dir whose .rollout/dev.json is a rolled-back rollout. */
async function withState(): Promise<string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-cli-"));
    const { state } = await engineRun(["pass", "fail"]);
    fs.mkdirSync(path.join(dir, ".rollout"));
    fs.writeFileSync(path.join(dir, ".rollout", "dev.json"), JSON.stringify(state));
    return dir;
}

const HEADLINE = "Rolled back at 25% to v1 after 2m 00s, because the analysis failed: canary 5xx ratio 10.00% exceeds 1.00%.";

describe("istio-canary report", () => {
    it("writes rollout-<stack>.html from the stack's current rollout and says where, with the headline", async () => {
        const dir = await withState();
        const r = await run(["--stack", "dev", "--config-dir", dir], dir);
        assert.equal(r.code, EXIT.ok, r.err);
        const file = path.join(dir, "rollout-dev.html");
        assert.match(r.out, new RegExp(`^wrote ${file.replace(/[.]/g, "\\.")} \\(\\d+ KB, from ${dir}/\\.rollout/dev\\.json\\): `));
        assert.ok(r.out.endsWith(`${HEADLINE}\n`), r.out);
        const html = fs.readFileSync(file, "utf8");
        assert.match(html, /^<!doctype html>/);
        assert.ok(html.includes(`<p id="headline" class="headline status-rolled-back">${HEADLINE}</p>`));
    });

    it("renders a saved state file named by --state to --out, taking the stack from the file", async () => {
        const dir = await withState();
        const r = await run(["--state", ".rollout/dev.json", "--out", "out/report.html"], dir);
        assert.equal(r.code, EXIT.ok, r.err);
        assert.ok(fs.readFileSync(path.join(dir, "out", "report.html"), "utf8").includes("Rollout of v2 on stack dev"));
    });

    it("prints the markdown summary on standard output, and nothing else", async () => {
        const dir = await withState();
        const r = await run(["--stack", "dev", "--config-dir", dir, "--format", "markdown"], dir);
        assert.equal(r.code, EXIT.ok, r.err);
        assert.equal(r.err, "");
        assert.match(r.out, /^### Rollout of v2 on stack dev: rolled-back\n\n\*\*Rolled back at 25% to v1/);
    });

    it("refuses to run without --stack or --state, exit 2", async () => {
        const r = await run([], os.tmpdir());
        assert.equal(r.code, EXIT.usage);
        assert.equal(
            r.err,
            "report: give --stack <name> (its current rollout) or --state <file> (a saved one)\n(run npx istio-canary report --help for usage)\n",
        );
    });

    it("names an unknown format and the allowed ones, exit 2, writing nothing", async () => {
        const dir = await withState();
        const r = await run(["--stack", "dev", "--config-dir", dir, "--format", "pdf"], dir);
        assert.equal(r.code, EXIT.usage);
        assert.equal(
            r.err,
            'report: --format "pdf" is not a format; use html or markdown\n(run npx istio-canary report --help for usage)\n',
        );
        assert.equal(fs.existsSync(path.join(dir, "rollout-dev.html")), false);
    });

    it("says no rollout of the stack is recorded and how to make one, exit 2", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-cli-"));
        const r = await run(["--stack", "dev", "--config-dir", dir], dir);
        assert.equal(r.code, EXIT.usage);
        assert.equal(
            r.err,
            `report: no rollout of stack dev is recorded (no ${dir}/.rollout/dev.json); run \`npx istio-canary rollout --stack dev --config-dir ${dir}\` first, or name a saved state file with --state FILE\n`,
        );
    });

    it("names a --state file that does not exist or is a directory, exit 2", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-cli-"));
        const missing = await run(["--state", "nope.json"], dir);
        assert.equal(missing.code, EXIT.usage);
        assert.equal(
            missing.err,
            `report: --state nope.json: cannot read ${dir}/nope.json (no such file); name a rollout state file, e.g. .rollout/dev.json\n`,
        );
        const directory = await run(["--state", "."], dir);
        assert.equal(directory.code, EXIT.usage);
        assert.equal(
            directory.err,
            `report: --state .: cannot read ${dir} (it is a directory); name a rollout state file, e.g. .rollout/dev.json\n`,
        );
    });

    it("refuses a state file that is not JSON or fails the state schema, naming each problem, exit 2", async () => {
        const dir = await withState();
        fs.writeFileSync(path.join(dir, "broken.json"), "{ not json");
        const broken = await run(["--state", "broken.json"], dir);
        assert.equal(broken.code, EXIT.usage);
        assert.match(broken.err, new RegExp(`^report: rollout state ${dir}/broken\\.json is not valid JSON \\(`));
        const state = JSON.parse(fs.readFileSync(path.join(dir, ".rollout", "dev.json"), "utf8"));
        state.current = 9;
        fs.writeFileSync(path.join(dir, "edited.json"), JSON.stringify(state));
        const edited = await run(["--state", "edited.json"], dir);
        assert.equal(edited.code, EXIT.usage);
        assert.match(edited.err, /is not valid \(\d+ problems?\):\n {2}- current is 9; it must be an integer from 0 to 3\n/);
    });

    it("refuses --out naming a directory, exit 2, and a --stack that is not a stack name", async () => {
        const dir = await withState();
        const r = await run(["--stack", "dev", "--config-dir", dir, "--out", "."], dir);
        assert.equal(r.code, EXIT.usage);
        assert.equal(r.err, `report: --out . is a directory (${dir}); name a file, e.g. ${dir}/rollout-dev.html\n`);
        const bad = await run(["--stack", "../dev"], dir);
        assert.equal(bad.code, EXIT.usage);
        assert.match(bad.err, /^report: --stack "\.\.\/dev" is not a stack name; use letters, digits, '-', '_' or '\.'\n/);
    });
});
