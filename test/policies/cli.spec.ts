/**
 * `npm run policy` as CI runs it: the real CLI in a child process, on the committed dev stack, on a
 * prod stack with an unpinned image (valid config, mandatory policy violation), on a 90/20 stack
 * (which the program itself rejects), and on bad flags and files.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../stack/load";

interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
}

function policyCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "cli", "istio-canary.js"), "policy", ...args], {
            cwd: PROJECT_ROOT,
            env: { ...process.env, TS_NODE_PROJECT: path.join(PROJECT_ROOT, "tsconfig.json"), ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

/** A directory with Pulumi.yaml and one stack file made from a committed one by `edit`. */
function stackDir(stack: string, from: string, edit: (text: string) => string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cli-"));
    fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const text = edit(fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${from}.yaml`), "utf8"));
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    return dir;
}

const NO_STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

describe("npm run policy (cli/policy.ts)", function () {
    this.timeout(180_000);
    let dev: Result;
    let latest: Result;

    before(async () => {
        // The two full runs (program + pack) go in parallel to keep the suite short.
        const prodWithLatest = stackDir("prod", "prod", (t) => t.replace("jamaldevsecops/myapp:v1", "jamaldevsecops/myapp:latest"));
        [dev, latest] = await Promise.all([
            policyCli(["--stack", "dev", "--json"]),
            policyCli(["--stack", "prod", "--config-dir", prodWithLatest]),
        ]);
    });

    it("passes the committed dev stack and prints the report as JSON", () => {
        assert.equal(dev.code, 0, dev.stderr);
        const report = JSON.parse(dev.stdout);
        assert.equal(report.stack, "dev");
        assert.equal(report.passed, true);
        assert.deepEqual(report.violations, []);
        assert.equal(report.policyPack.name, "istio-canary-policies");
        assert.match(report.policyConfigFile, /policies\/config\/dev\.json$/);
    });

    it("exits 1 and prints the violation as pulumi preview does when prod's config makes an advisory policy mandatory", () => {
        assert.equal(latest.code, 1, latest.stderr);
        assert.match(latest.stdout, /Policy config: policies\/config\/prod\.json/);
        assert.match(latest.stdout, /Policies:\n {4}❌ istio-canary-policies@v0\.1\.0 \(local: policies\)\n/);
        assert.match(
            latest.stdout,
            / {8}- \[mandatory\] {2}container-images-pinned {2}\(kubernetes:apps\/v1:Deployment: myapp-v1\)\n {10}Every container image is pinned to a version tag or a digest, never to latest or to no tag at all\.\n {10}Deployment default\/myapp-v1 container myapp: image jamaldevsecops\/myapp:latest uses the tag "latest", which moves;/,
        );
        assert.match(latest.stdout, /FAILED: 1 mandatory and 0 advisory policy violation in stack prod/);
    });

    it("refuses a stack whose weights are 90/20 with the program's message and exit 2: it registers nothing for the pack to see", async () => {
        const dir = stackDir("canary", "dev", (t) => t.replace("weight: 10", "weight: 20"));
        const r = await policyCli(["--stack", "canary", "--config-dir", dir]);
        assert.equal(r.code, 2);
        assert.match(
            r.stderr,
            /^policy: stack canary: invalid stack configuration \(1 problem\):\n {2}- istio-canary:versions weights are v1=90, v2=20 \(sum 110\); they must sum to 100\n/,
        );
        assert.match(r.stderr, /no resource reached the policy pack/);
        assert.doesNotMatch(r.stderr, NO_STACK_TRACE);
    });

    it("exits 2 with a clear message for a stack that has no stack file", async () => {
        const r = await policyCli(["--stack", "qa"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^policy: no stack file .*Pulumi\.qa\.yaml for stack "qa"; stacks here: ambient, dev, prod, staging\n$/);
    });

    it("exits 2 for a missing --stack and for an unknown flag", async () => {
        const [missing, unknown] = await Promise.all([policyCli([]), policyCli(["--stack", "dev", "--policy-pack", "x"])]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /required option '--stack <name>' not specified/);
        assert.equal(unknown.code, 2);
        assert.match(unknown.stderr, /unknown option '--policy-pack'/);
    });

    it("exits 2 for a --config-dir that is not a directory, resolved from where npm run was started", async () => {
        const started = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cwd-"));
        const r = await policyCli(["--stack", "dev", "--config-dir", "nope"], { INIT_CWD: started });
        assert.equal(r.code, 2);
        assert.equal(r.stderr, `policy: --config-dir nope is not a directory (${path.join(started, "nope")})\n`);
        assert.equal(r.stdout, "");
    });

    it("exits 2 naming the flag, the value and the resolved path of a --policy-config that does not exist", async () => {
        const started = fs.mkdtempSync(path.join(os.tmpdir(), "policy-cwd-"));
        const r = await policyCli(["--stack", "dev", "--policy-config", "nope.json"], { INIT_CWD: started });
        assert.equal(r.code, 2);
        assert.equal(
            r.stderr,
            `policy: --policy-config nope.json does not exist (${path.join(started, "nope.json")}); ` +
                "give a JSON file of policy names to enforcement levels, such as policies/config/<stack>.json\n",
        );
        assert.equal(r.stdout, "");
    });

    it("exits 2 naming the file and key of a bad policy config", async () => {
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-")), "bad.json");
        fs.writeFileSync(file, JSON.stringify({ "virtualservice-weights": "strict" }));
        const r = await policyCli(["--stack", "dev", "--policy-config", file]);
        assert.equal(r.code, 2);
        assert.equal(
            r.stderr,
            `policy: ${file}: "virtualservice-weights" is "strict"; an enforcement level is one of advisory, mandatory, remediate, disabled\n`,
        );
    });
});
