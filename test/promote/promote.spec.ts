import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EXIT } from "../../cli/exit-codes";
import { runPromoteCli } from "../../cli/promote";
import { removeVersion, setWeights } from "../../stack/edit";
import { PolicyVerdict } from "../../promote";
import { completeDevRollout, edit, read, recordRollout, snapshot, tempProject } from "./helpers";

/** Runs the command in-process with a recording policy check that passes unless told otherwise. */
function run(argv: string[], policy: Partial<PolicyVerdict> = {}, cwd = process.cwd()) {
    const out: string[] = [];
    const err: string[] = [];
    const policyCalls: [string, string][] = [];
    const code = runPromoteCli(argv, {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
        runPolicy: (stack, dir) => {
            policyCalls.push([stack, dir]);
            return { passed: true, command: `fake policy --stack ${stack}`, exitCode: 0, output: "0 mandatory violations\n", ...policy };
        },
        cwd,
    });
    return { code, stdout: out.join(""), stderr: err.join(""), policyCalls };
}

const STAGING_AFTER_PROMOTION = `# staging: receives versions from dev with \`npx istio-canary promote --from dev --to staging\`.
config:
  istio-canary:hosts:
    - staging.myapp.apsissolutions.com
  istio-canary:versions:
    - name: v1
      image: jamaldevsecops/myapp:v1
      replicas: 2
      weight: 100
    - name: v2
      image: jamaldevsecops/myapp:v2
      replicas: 2
      weight: 0
`;

const STAGING_DIFF = `--- a/Pulumi.staging.yaml
+++ b/Pulumi.staging.yaml
@@ -6,4 +6,8 @@
     - name: v1
       image: jamaldevsecops/myapp:v1
       replicas: 2
       weight: 100
+    - name: v2
+      image: jamaldevsecops/myapp:v2
+      replicas: 2
+      weight: 0
`;

describe("npm run promote (in-process)", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempProject();
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    describe("a promotion", () => {
        it("adds dev's version at 100% to staging as the canary at weight 0 and changes nothing else", () => {
            completeDevRollout(dir);
            const before = snapshot(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", dir]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_AFTER_PROMOTION);
            assert.deepEqual({ ...snapshot(dir), "Pulumi.staging.yaml": before["Pulumi.staging.yaml"] }, before);
        });

        it("prints the plan, the diff and the policy verdict", () => {
            completeDevRollout(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", dir]);
            assert.equal(
                r.stdout,
                [
                    "Promoting dev -> staging",
                    "  dev runs v2 (jamaldevsecops/myapp:v2) at 100%",
                    `  dev completed the rollout of v2 (jamaldevsecops/myapp:v2) at 2025-01-01T12:02:00.000Z, recorded in ${path.join(dir, ".rollout", "dev.json")}`,
                    "  staging runs v1 (jamaldevsecops/myapp:v1) at 100%",
                    "  Pulumi.staging.yaml: v2 is added after v1 as the canary at weight 0 with 2 replicas (as v1)",
                    "",
                    STAGING_DIFF.trimEnd(),
                    "",
                    `Wrote ${path.join(dir, "Pulumi.staging.yaml")}`,
                    "",
                    "Policy check on staging: fake policy --stack staging",
                    "0 mandatory violations",
                    "Policy check on staging passed.",
                    "Next: commit Pulumi.staging.yaml and open a pull request; its preview runs the policy pack. After the merge deploys it, walk the canary up with: npx istio-canary rollout --stack staging",
                    "",
                ].join("\n"),
            );
            assert.equal(r.stderr, "");
        });

        it("runs the policy check on the target stack in the same config directory, once", () => {
            completeDevRollout(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", dir]);
            assert.deepEqual(r.policyCalls, [["staging", dir]]);
        });

        it("exits 1 (failed) when the policy check fails and says the written change stays", () => {
            completeDevRollout(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", dir], {
                passed: false,
                exitCode: 1,
                output: "mandatory: something\n",
            });
            assert.equal(r.code, EXIT.failed);
            assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_AFTER_PROMOTION);
            assert.equal(
                r.stderr,
                `Policy check on staging FAILED (exit code 1).\nThe change to ${path.join(dir, "Pulumi.staging.yaml")} stays written. Do not merge it before the check passes: fix what it reports, or revert the file.\n`,
            );
            assert.match(r.stdout, /mandatory: something\n$/);
        });

        it("exits 3 (incomplete) when the policy check could not run at all", () => {
            completeDevRollout(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", dir], {
                passed: false,
                exitCode: null,
                output: "",
                error: "could not run npm: ENOENT",
            });
            assert.equal(r.code, EXIT.incomplete);
            assert.match(r.stderr, /^Policy check on staging FAILED \(could not run npm: ENOENT\)\./);
        });

        it("carries a release from dev through staging to prod, keeping prod's own settings and comments", () => {
            completeDevRollout(dir);
            assert.equal(run(["--from", "dev", "--to", "staging", "--config-dir", dir]).code, 0);
            // The rollout in staging walks v2 up to 100% and finalizes (what npm run rollout writes).
            const staging = path.join(dir, "Pulumi.staging.yaml");
            setWeights(staging, { v1: 0, v2: 100 });
            removeVersion(staging, "v1");
            recordRollout(
                dir,
                "staging",
                "finalized",
                { name: "v1", image: "jamaldevsecops/myapp:v1" },
                { name: "v2", image: "jamaldevsecops/myapp:v2" },
            );
            const r = run(["--from", "staging", "--to", "prod", "--config-dir", dir]);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(
                read(dir, "Pulumi.prod.yaml"),
                `# prod: receives versions from staging only. Slower steps, stricter analysis.
config:
  istio-canary:hosts:
    - myapp.apsissolutions.com
  istio-canary:versions:
    - name: v1
      image: jamaldevsecops/myapp:v1
      replicas: 3
      weight: 100
    - name: v2
      image: jamaldevsecops/myapp:v2
      replicas: 3
      weight: 0
  istio-canary:rollout:
    # The shift to 100% waits for \`npx istio-canary rollout --stack prod --approve\` (or --reject);
    # the analysis of 50% goes on meanwhile and a failure still rolls back (docs/rollout.md#gates).
    steps: [5, 10, 25, 50, { weight: 100, approve: true }]
    waitSeconds: 120
    analysisIntervalSeconds: 30
    maxStepRequests: 20000
    maxStepSeconds: 21600
    prometheusUrl: http://prometheus.monitoring:9090
    maxErrorRate: 0.01
    maxP99Ms: 200
    minRequests: 200
    reporter: destination
`,
            );
        });

        it("writes the full list into a target that inherits Pulumi.yaml's versions", () => {
            completeDevRollout(dir);
            fs.writeFileSync(
                path.join(dir, "Pulumi.staging.yaml"),
                "# staging inherits the default versions\nconfig:\n  istio-canary:hosts:\n    - staging.myapp.apsissolutions.com\n",
            );
            assert.equal(run(["--from", "dev", "--to", "staging", "--config-dir", dir]).code, 0);
            assert.equal(
                read(dir, "Pulumi.staging.yaml"),
                `# staging inherits the default versions
config:
  istio-canary:hosts:
    - staging.myapp.apsissolutions.com
  istio-canary:versions:
    - name: v1
      image: jamaldevsecops/myapp:v1
      replicas: 2
      weight: 100
    - name: v2
      image: jamaldevsecops/myapp:v2
      replicas: 2
      weight: 0
`,
            );
        });

        it("resolves a relative --config-dir from the directory the command was started in", () => {
            completeDevRollout(dir);
            const r = run(["--from", "dev", "--to", "staging", "--config-dir", path.basename(dir)], {}, path.dirname(dir));
            assert.equal(r.code, 0, r.stderr);
            assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_AFTER_PROMOTION);
        });
    });

    describe("--dry-run", () => {
        it("prints the change as a unified diff, writes nothing and runs no policy check", () => {
            completeDevRollout(dir);
            const before = snapshot(dir);
            const r = run(["--from", "dev", "--to", "staging", "--dry-run", "--config-dir", dir]);
            assert.equal(r.code, 0);
            assert.deepEqual(snapshot(dir), before);
            assert.deepEqual(r.policyCalls, []);
            assert.ok(r.stdout.startsWith("Promoting dev -> staging (dry run: nothing is written)\n"), r.stdout);
            assert.ok(r.stdout.includes(`\n${STAGING_DIFF}\n`), r.stdout);
            assert.ok(
                r.stdout.endsWith(`Dry run: ${path.join(dir, "Pulumi.staging.yaml")} was not changed and the policy check was not run.\n`),
            );
        });

        it("still refuses what a real run would refuse", () => {
            const r = run(["--from", "dev", "--to", "staging", "--dry-run", "--config-dir", dir]);
            assert.equal(r.code, EXIT.refused);
            assert.equal(r.stdout, "");
        });
    });

    describe("refusals leave every file byte-identical and say why", () => {
        const cases: { name: string; setup: (dir: string) => void; argv: string[]; reason: string | ((dir: string) => RegExp) }[] = [
            {
                name: "the source has no version at 100%",
                setup: () => undefined,
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: no version of dev runs at 100% (v1=90, v2=10); complete the rollout in dev first (npx istio-canary rollout --stack dev)",
            },
            {
                name: "the target already runs that image",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(d, "Pulumi.staging.yaml", "image: jamaldevsecops/myapp:v1", "image: jamaldevsecops/myapp:v2");
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: staging already runs jamaldevsecops/myapp:v2 (as v1); there is nothing to promote",
            },
            {
                name: "the target has a canary in progress",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(
                        d,
                        "Pulumi.staging.yaml",
                        "      weight: 100\n",
                        "      weight: 90\n    - name: v0\n      image: jamaldevsecops/myapp:v0\n      weight: 10\n",
                    );
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: staging has a canary in progress (v1=90, v0=10); complete or abort that rollout first (npx istio-canary rollout --stack staging)",
            },
            {
                name: "the target runs more than one version",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(
                        d,
                        "Pulumi.staging.yaml",
                        "      weight: 100\n",
                        "      weight: 100\n    - name: v0\n      image: jamaldevsecops/myapp:v0\n      weight: 0\n",
                    );
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: staging runs 2 versions (v1=100, v0=0); a promotion adds a canary next to exactly one version: finish the rollout there and finalize it (npx istio-canary rollout --stack staging --finalize) first",
            },
            {
                name: "the target's version has the released name with another image",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(d, "Pulumi.staging.yaml", "- name: v1", "- name: v2");
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: staging already has a version named v2 with image jamaldevsecops/myapp:v1, and dev's v2 is jamaldevsecops/myapp:v2; version names must be unique in a stack, so release the new image under a new name in dev",
            },
            {
                name: "the pair skips an environment",
                setup: completeDevRollout,
                argv: ["--from", "dev", "--to", "prod"],
                reason: "cannot promote dev -> prod: it skips staging in the promotion order dev -> staging -> prod; promote dev -> staging first",
            },
            {
                name: "the pair goes backwards",
                setup: () => undefined,
                argv: ["--from", "prod", "--to", "staging"],
                reason: "cannot promote prod -> staging: staging comes before prod in the promotion order dev -> staging -> prod; promotions only go forward",
            },
            {
                name: "the target is not in the promotion order",
                setup: (d) => {
                    completeDevRollout(d);
                    fs.copyFileSync(path.join(d, "Pulumi.staging.yaml"), path.join(d, "Pulumi.qa.yaml"));
                },
                argv: ["--from", "dev", "--to", "qa"],
                reason: "cannot promote dev -> qa: qa is not in the promotion order dev -> staging -> prod (config promotionOrder)",
            },
            {
                name: "the order comes from Pulumi.yaml's promotionOrder",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(d, "Pulumi.yaml", "default: [dev, staging, prod]", "default: [dev, prod, staging]");
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: "cannot promote dev -> staging: it skips prod in the promotion order dev -> prod -> staging; promote dev -> prod first",
            },
            {
                name: "a stack file overrides the promotion order",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(d, "Pulumi.prod.yaml", "config:\n", "config:\n  istio-canary:promotionOrder: [dev, prod]\n");
                },
                argv: ["--from", "dev", "--to", "prod"],
                reason: "cannot promote dev -> prod: the stacks disagree on promotionOrder (dev: dev -> staging -> prod; prod: dev -> prod); set it once, in Pulumi.yaml, not in a stack file",
            },
            {
                name: "the target's stack file is missing",
                setup: (d) => {
                    completeDevRollout(d);
                    fs.rmSync(path.join(d, "Pulumi.staging.yaml"));
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: (d) =>
                    new RegExp(
                        `^cannot promote dev -> staging: no stack file ${escape(path.join(d, "Pulumi.staging.yaml"))} for stack "staging"; stacks here: (dev, prod|prod, dev)$`,
                    ),
            },
            {
                name: "the target's stack file is invalid",
                setup: (d) => {
                    completeDevRollout(d);
                    edit(d, "Pulumi.staging.yaml", "weight: 100", "weight: 110");
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: (d) =>
                    new RegExp(
                        `^cannot promote dev -> staging: ${escape(path.join(d, "Pulumi.staging.yaml"))}: invalid stack configuration \\(1 problem\\):\n  - istio-canary:versions\\[0\\]\\.weight is 110; it must be an integer from 0 to 100$`,
                    ),
            },
            {
                name: "the source's stack file is not YAML",
                setup: (d) => fs.appendFileSync(path.join(d, "Pulumi.dev.yaml"), "  istio-canary:app: [unclosed\n"),
                argv: ["--from", "dev", "--to", "staging"],
                reason: (d) => new RegExp(`^cannot promote dev -> staging: ${escape(path.join(d, "Pulumi.dev.yaml"))} is not valid YAML: `),
            },
            {
                name: "both stack files are broken, naming each",
                setup: (d) => {
                    fs.rmSync(path.join(d, "Pulumi.staging.yaml"));
                    edit(d, "Pulumi.dev.yaml", "weight: 10\n", "weight: 20\n");
                },
                argv: ["--from", "dev", "--to", "staging"],
                reason: (d) =>
                    new RegExp(
                        `^cannot promote dev -> staging: ${escape(path.join(d, "Pulumi.dev.yaml"))}: invalid stack configuration \\(1 problem\\):\n  - istio-canary:versions weights are v1=90, v2=20 \\(sum 110\\); they must sum to 100\nno stack file ${escape(path.join(d, "Pulumi.staging.yaml"))} `,
                    ),
            },
        ];
        for (const c of cases) {
            it(`refuses when ${c.name}`, () => {
                c.setup(dir);
                const before = snapshot(dir);
                const r = run([...c.argv, "--config-dir", dir]);
                assert.equal(r.code, EXIT.refused);
                assert.deepEqual(snapshot(dir), before);
                assert.deepEqual(r.policyCalls, []);
                assert.equal(r.stdout, "");
                assert.ok(r.stderr.startsWith("promote: ") && r.stderr.endsWith("\nNothing was changed.\n"), r.stderr);
                const reason = r.stderr.slice("promote: ".length, -"\nNothing was changed.\n".length);
                if (typeof c.reason === "string") {
                    assert.equal(reason, c.reason);
                } else {
                    assert.match(reason, c.reason(dir));
                }
            });
        }
    });

    describe("bad flags", () => {
        const cases: { name: string; argv: (dir: string) => string[]; message: string }[] = [
            {
                name: "the same stack twice",
                argv: (d) => ["--from", "dev", "--to", "dev", "--config-dir", d],
                message: "promote: --from and --to are both dev; a promotion goes from one stack to the next",
            },
            {
                name: "a stack name that is not one",
                argv: (d) => ["--from", "../dev", "--to", "staging", "--config-dir", d],
                message: `promote: --from "../dev" is not a stack name; use letters, digits, '-', '_' or '.'`,
            },
            {
                name: "a config directory that does not exist",
                argv: (d) => ["--from", "dev", "--to", "staging", "--config-dir", path.join(d, "nope")],
                message: "promote: --config-dir DIR/nope is not a directory (DIR/nope)",
            },
            { name: "a missing --to", argv: () => ["--from", "dev"], message: "error: required option '--to <stack>' not specified" },
            {
                name: "an unknown flag",
                argv: () => ["--from", "dev", "--to", "staging", "--force"],
                message: "error: unknown option '--force'",
            },
        ];
        for (const c of cases) {
            it(`exits 2 with a message for ${c.name}`, () => {
                const before = snapshot(dir);
                const r = run(c.argv(dir));
                assert.equal(r.code, 2);
                assert.equal(r.stderr.split("\n")[0], c.message.replace(/DIR/g, dir));
                assert.match(r.stderr, /\(run npx istio-canary promote --help for usage\)\n$/);
                assert.deepEqual(snapshot(dir), before);
            });
        }

        it("prints the usage for --help and exits 0", () => {
            const r = run(["--help"]);
            assert.equal(r.code, 0);
            assert.match(r.stdout, /^Usage: promote \[options\]/);
            assert.match(r.stdout, /--dry-run/);
        });
    });
});

function escape(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
