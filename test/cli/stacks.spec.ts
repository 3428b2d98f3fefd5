/**
 * `plan` and `policy` on several stacks: `--stack` repeated and `--all-stacks`. The refusals run
 * in-process (nothing may run before them); the runs go through the bin in a child process, as a
 * user (and .ci/run) runs them, which runs the compiled tree.
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CliIO } from "../../cli/args";
import { EXIT, worstExit } from "../../cli/exit-codes";
import { runPlan } from "../../cli/plan";
import { runPolicy } from "../../cli/policy";
import { PolicyPackProcess, checkStacksPolicies } from "../../policy-runner";
import { PROJECT_ROOT } from "../../stack/load";

interface Result {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** `istio-canary <args>` in a child process. */
function cli(args: string[]): Promise<Result> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(PROJECT_ROOT, "cli", "istio-canary.js"), ...args], {
            cwd: PROJECT_ROOT,
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

/** Runs a command in-process, collecting what it prints. */
async function inProcess(
    run: (argv: string[], io: CliIO) => Promise<number>,
    argv: string[],
): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const code = await run(argv, { out: (s) => (out += s), err: (s) => (err += s), cwd: PROJECT_ROOT });
    return { code, out, err };
}

/** A config directory with Pulumi.yaml and stack files made from committed ones: name -> [committed stack, edit]. */
function stackDir(stacks: Record<string, [string, (text: string) => string]>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-cli-"));
    fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [name, [from, edit]] of Object.entries(stacks)) {
        fs.writeFileSync(
            path.join(dir, `Pulumi.${name}.yaml`),
            edit(fs.readFileSync(path.join(PROJECT_ROOT, `Pulumi.${from}.yaml`), "utf8")),
        );
    }
    return dir;
}

const same = (t: string): string => t;
const latest = (t: string): string => t.replace("jamaldevsecops/myapp:v1", "jamaldevsecops/myapp:latest");

describe("plan and policy on several stacks", function () {
    this.timeout(240_000);

    describe("refused before anything runs", () => {
        const cases: [string, string[], string][] = [
            [
                "a bad stack name among good ones",
                ["--stack", "dev", "--stack", "de v"],
                `--stack "de v" is not a stack name; use letters, digits, '-', '_' or '.'`,
            ],
            [
                "a stack given twice",
                ["--stack", "dev", "--stack", "prod", "--stack", "dev"],
                "--stack dev is given twice; give each stack once",
            ],
            [
                "--all-stacks with --stack",
                ["--all-stacks", "--stack", "dev"],
                "--all-stacks and --stack dev cannot be combined; give one or the other",
            ],
            [
                "a stack without a stack file after one with",
                ["--stack", "dev", "--stack", "qa"],
                `no stack file ${path.join(PROJECT_ROOT, "Pulumi.qa.yaml")} for stack "qa"; stacks here: ambient, dev, prod, staging`,
            ],
            [
                "neither --stack nor --all-stacks",
                [],
                "required option '--stack <name>' not specified; give --stack <name> (repeatable) or --all-stacks",
            ],
        ];
        for (const [command, run] of [
            ["plan", runPlan],
            ["policy", runPolicy],
        ] as const) {
            for (const [what, argv, message] of cases) {
                it(`${command} refuses ${what} with exit 2, printing nothing else`, async () => {
                    const r = await inProcess(run, argv);
                    assert.equal(r.code, EXIT.usage);
                    assert.equal(r.err, `${command}: ${message}\n`);
                    assert.equal(r.out, "");
                });
            }
        }

        it("refuses --all-stacks in a directory without stack files", async () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-none-"));
            const r = await inProcess(runPlan, ["--all-stacks", "--config-dir", dir]);
            assert.equal(r.code, EXIT.usage);
            assert.equal(r.err, `plan: --all-stacks: ${dir} holds no stack file (Pulumi.<stack>.yaml)\n`);
        });
    });

    describe("the worst stack's exit code", () => {
        it("is ok for none or only ok, and the failure when one stack failed", () => {
            assert.equal(worstExit([]), EXIT.ok);
            assert.equal(worstExit([EXIT.ok, EXIT.ok]), EXIT.ok);
            assert.equal(worstExit([EXIT.ok, EXIT.failed, EXIT.ok]), EXIT.failed);
        });

        it("ranks a check that did not run (bad input) above a verdict, and a bug above both", () => {
            assert.equal(worstExit([EXIT.failed, EXIT.usage]), EXIT.usage);
            assert.equal(worstExit([EXIT.usage, EXIT.internal, EXIT.failed]), EXIT.internal);
            assert.equal(worstExit([EXIT.incomplete, EXIT.failed]), EXIT.incomplete);
        });

        it("counts a code outside the table as an internal error", () => {
            assert.equal(worstExit([EXIT.usage, 9]), 9);
            assert.equal(worstExit([9, EXIT.internal]), 9);
        });
    });

    describe("plan", () => {
        it("plans each stack in the order given, each labelled, and closes with a summary", async () => {
            const r = await cli(["plan", "--stack", "prod", "--stack", "dev"]);
            assert.equal(r.code, EXIT.ok, r.stderr);
            const prod = r.stdout.indexOf("Plan for stack prod:");
            const dev = r.stdout.indexOf("Plan for stack dev:");
            assert.ok(prod >= 0 && dev > prod, r.stdout);
            assert.match(r.stdout.slice(prod, dev), /weights: \{"v1":100\}/);
            assert.match(r.stdout.slice(dev), /weights: \{"v1":90,"v2":10\}/);
            assert.ok(r.stdout.endsWith("\nplan of 2 stacks: prod ok, dev ok; exit 0\n"), r.stdout);
        });

        it("--all-stacks plans every stack file of the config directory in name order and goes on after one the program rejects", async () => {
            const dir = stackDir({ dev: ["dev", same], canary: ["dev", (t) => t.replace("weight: 10", "weight: 20")] });
            const r = await cli(["plan", "--all-stacks", "--config-dir", dir]);
            assert.equal(r.code, EXIT.usage);
            assert.match(
                r.stderr,
                /^plan: stack canary: invalid stack configuration \(1 problem\):\n {2}- istio-canary:versions weights are v1=90, v2=20 \(sum 110\); they must sum to 100\n$/,
            );
            assert.match(r.stdout, /^Plan for stack dev:/);
            assert.ok(r.stdout.endsWith("\nplan of 2 stacks: canary bad input (exit 2), dev ok; exit 2\n"), r.stdout);
        });

        it("--out writes each stack's manifests into <dir>/<stack>", async () => {
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "stacks-out-"));
            const r = await cli(["plan", "--stack", "dev", "--stack", "staging", "--out", out]);
            assert.equal(r.code, EXIT.ok, r.stderr);
            assert.deepEqual(fs.readdirSync(out).sort(), ["dev", "staging"]);
            for (const stack of ["dev", "staging"]) {
                const vs = fs.readFileSync(path.join(out, stack, "virtualservice-myapp-vs.yaml"), "utf8");
                assert.match(vs, new RegExp(`^# istio-canary plan of stack ${stack}: offline`));
            }
            assert.match(r.stdout, new RegExp(`\nWrote 7 manifests to ${path.join(out, "dev")}, for review`));
            assert.match(r.stdout, new RegExp(`\nWrote 6 manifests to ${path.join(out, "staging")}, for review`));
        });
    });

    describe("policy", () => {
        it("checks each stack at its own policy levels, whichever was checked before it, and exits with the worst", async () => {
            // prod makes container-images-pinned mandatory, dev leaves it advisory: dev comes second,
            // after prod's config, and must still be judged at its own level.
            const dir = stackDir({ prod: ["prod", latest], dev: ["dev", latest] });
            const r = await cli(["policy", "--stack", "prod", "--stack", "dev", "--config-dir", dir]);
            assert.equal(r.code, EXIT.failed, r.stderr);
            const prod = r.stdout.indexOf("Checking stack prod offline");
            const dev = r.stdout.indexOf("Checking stack dev offline");
            assert.ok(prod >= 0 && dev > prod, r.stdout);
            assert.match(
                r.stdout.slice(prod, dev),
                /- \[mandatory\] {2}container-images-pinned {2}\(kubernetes:apps\/v1:Deployment: myapp-v1\)/,
            );
            assert.match(r.stdout.slice(prod, dev), /FAILED: 1 mandatory and 0 advisory policy violation in stack prod/);
            assert.match(r.stdout.slice(dev), /- \[advisory\] {2}container-images-pinned {2}\(kubernetes:apps\/v1:Deployment: myapp-v1\)/);
            assert.match(r.stdout.slice(dev), /passed: 0 mandatory and 1 advisory policy violation in stack dev/);
            assert.ok(r.stdout.endsWith("\npolicy of 2 stacks: prod FAILED (exit 1), dev ok; exit 1\n"), r.stdout);
        });

        it("--json with several stacks prints one array of each stack's exit code and report or error", async () => {
            const dir = stackDir({ dev: ["dev", same], canary: ["dev", (t) => t.replace("weight: 10", "weight: 20")] });
            const r = await cli(["policy", "--all-stacks", "--config-dir", dir, "--json"]);
            assert.equal(r.code, EXIT.usage);
            const out = JSON.parse(r.stdout);
            assert.deepEqual(
                out.map((o: { stack: string; exitCode: number }) => [o.stack, o.exitCode]),
                [
                    ["canary", EXIT.usage],
                    ["dev", EXIT.ok],
                ],
            );
            assert.match(out[0].error, /^invalid stack configuration \(1 problem\)/);
            assert.equal(out[1].report.passed, true);
            assert.equal(out[1].report.stack, "dev");
            assert.match(r.stderr, /^policy: stack canary: invalid stack configuration/);
        });

        it("starts one policy pack process for all the stacks", async () => {
            const launch = PolicyPackProcess.launch.bind(PolicyPackProcess);
            let launched = 0;
            PolicyPackProcess.launch = (...args: Parameters<typeof PolicyPackProcess.launch>) => {
                launched++;
                return launch(...args);
            };
            try {
                const outcomes = await checkStacksPolicies(["dev", "staging", "prod"]);
                assert.equal(launched, 1);
                assert.deepEqual(
                    outcomes.map((o) => [o.stack, o.report?.passed]),
                    [
                        ["dev", true],
                        ["staging", true],
                        ["prod", true],
                    ],
                );
            } finally {
                PolicyPackProcess.launch = launch;
            }
        });
    });
});
