import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StackFileError } from "../../stack/load";
import { writeFileAtomic } from "../../stack/atomic-write";
import { addVersion, editVersionsText, readVersions, removeVersion, setWeights, unifiedDiff } from "../../stack/edit";

const ROOT = path.resolve(__dirname, "..", "..");

/** A temporary directory holding copies of Pulumi.yaml and the three stack files. */
function tempProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]) {
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    return dir;
}

function write(dir: string, name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

const inheritNothing = (): never => {
    throw new Error("the default list must not be read");
};

describe("stack/edit", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempProject();
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    describe("readVersions", () => {
        it("returns the versions the stack file sets, in file order", () => {
            assert.deepEqual(readVersions(path.join(dir, "Pulumi.dev.yaml")), [
                { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 90 },
                { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: 10 },
            ]);
        });

        it("falls back to the Pulumi.yaml default next to a stack file that does not set versions", () => {
            const file = write(dir, "Pulumi.qa.yaml", "config:\n  istio-canary:hosts:\n    - qa.example.com\n");
            assert.deepEqual(readVersions(file), [{ name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 100 }]);
        });

        it("leaves replicas out when the entry does not set it", () => {
            const file = write(
                dir,
                "Pulumi.qa.yaml",
                "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n",
            );
            assert.deepEqual(readVersions(file), [{ name: "v1", image: "r/a:v1", weight: 100 }]);
        });

        it("names the file and the entry when an entry has no weight", () => {
            const file = write(dir, "Pulumi.qa.yaml", "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n");
            assert.throws(() => readVersions(file), {
                name: "StackFileError",
                message: `${file}: istio-canary:versions[0] (v1) needs a numeric weight`,
            });
        });

        it("says that a missing stack file does not exist", () => {
            const file = path.join(dir, "Pulumi.nope.yaml");
            assert.throws(() => readVersions(file), new StackFileError(`${file} does not exist`));
        });
    });

    describe("setWeights", () => {
        it("changes only the weight values and keeps every other byte of the file", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const result = setWeights(file, { v1: 75, v2: 25 });
            const expected = `# dev: the workflow's step 3 — v1 is the baseline at 90%, v2 the canary at 10%.
# Set the TLS material once per stack (never commit it in plain text):
#   pulumi config set --secret tlsCert -- "$(cat CA_chain.crt)"
#   pulumi config set --secret tlsKey -- "$(cat apsissolutions.com.key)"
config:
  istio-canary:hosts:
    - dev.myapp.apsissolutions.com
  istio-canary:versions:
    - name: v1
      image: jamaldevsecops/myapp:v1
      replicas: 2
      weight: 75
    - name: v2
      image: jamaldevsecops/myapp:v2
      replicas: 1
      weight: 25
  istio-canary:monitoring:
    enabled: true
`;
            assert.equal(fs.readFileSync(file, "utf8"), expected);
            assert.equal(result.after, expected);
            assert.equal(result.before, fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        });

        it("keeps trailing comments, aligned spacing and flow collections around the weights", () => {
            const text = [
                "config:",
                "  istio-canary:versions:",
                "    - name: v1          # baseline",
                "      image: r/a:v1",
                "      weight:   90      # was 100 before the canary",
                "    - {name: v2, image: r/a:v2, weight: 10}",
                "  istio-canary:rollout: {steps: [5,10, 100]}   # odd spacing kept",
                "",
            ].join("\n");
            const file = write(dir, "Pulumi.qa.yaml", text);
            setWeights(file, { v1: 50, v2: 50 });
            assert.equal(
                fs.readFileSync(file, "utf8"),
                text.replace("weight:   90      #", "weight:   50      #").replace("weight: 10}", "weight: 50}"),
            );
        });

        it("leaves the weights of versions it is not given unchanged", () => {
            const text =
                "config:\n  istio-canary:versions:\n    - {name: a, image: r/a:1, weight: 50}\n    - {name: b, image: r/a:2, weight: 25}\n    - {name: c, image: r/a:3, weight: 25}\n";
            const file = write(dir, "Pulumi.qa.yaml", text);
            setWeights(file, { a: 25, c: 50 });
            assert.deepEqual(
                readVersions(file).map((v) => v.weight),
                [25, 25, 50],
            );
        });

        it("writes nothing when the weights are already set", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const mtime = fs.statSync(file).mtimeMs;
            const result = setWeights(file, { v1: 90, v2: 10 });
            assert.equal(result.after, result.before);
            assert.equal(fs.statSync(file).mtimeMs, mtime);
        });

        it("refuses a version the stack does not run and leaves the file byte-identical", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            assert.throws(
                () => setWeights(file, { v1: 90, v3: 10 }),
                new StackFileError(`${file}: cannot set the weight of v3: istio-canary:versions has v1, v2`),
            );
            assert.equal(fs.readFileSync(file, "utf8"), before);
        });

        it("refuses weights that would not sum to 100 and leaves the file byte-identical", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            assert.throws(
                () => setWeights(file, { v2: 25 }),
                new StackFileError(
                    `${file}: setting the weights would leave istio-canary:versions invalid:\n  - istio-canary:versions weights are v1=90, v2=25 (sum 115); they must sum to 100`,
                ),
            );
            assert.equal(fs.readFileSync(file, "utf8"), before);
        });

        it("refuses a weight that is not an integer from 0 to 100", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            assert.throws(
                () => setWeights(file, { v1: 90.5, v2: 9.5 }),
                new StackFileError(`${file}: weight 90.5 for v1 is not an integer from 0 to 100`),
            );
        });

        it("computes the change without writing it when write is false", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            const result = setWeights(file, { v1: 0, v2: 100 }, { write: false });
            assert.equal(fs.readFileSync(file, "utf8"), before);
            assert.match(result.after, /weight: 0\n[\s\S]*weight: 100\n/);
        });

        it("writes nothing when a stack that inherits the default list is given the weights it already has", () => {
            const text = "# qa\nconfig:\n  istio-canary:hosts:\n    - qa.example.com\n";
            const file = write(dir, "Pulumi.qa.yaml", text);
            const result = setWeights(file, { v1: 100 });
            assert.equal(result.after, text);
            assert.equal(fs.readFileSync(file, "utf8"), text);
        });

        it("writes the inherited default list explicitly, with the new weights, when the stack file does not set versions", () => {
            const text = "# qa\nconfig:\n  istio-canary:hosts:\n    - qa.example.com\n";
            const after = editVersionsText(
                text,
                { kind: "setWeights", weights: { a: 0, b: 100 } },
                {
                    file: "Pulumi.qa.yaml",
                    inherited: () => [
                        { name: "a", image: "r/a:1", replicas: 2, weight: 100 },
                        { name: "b", image: "r/a:2", weight: 0 },
                    ],
                },
            );
            assert.equal(
                after,
                text +
                    "  istio-canary:versions:\n    - name: a\n      image: r/a:1\n      replicas: 2\n      weight: 0\n    - name: b\n      image: r/a:2\n      weight: 100\n",
            );
        });

        it("keeps Windows line endings", () => {
            const file = write(
                dir,
                "Pulumi.qa.yaml",
                "config:\r\n  istio-canary:versions:\r\n    - name: v1\r\n      image: r/a:v1\r\n      weight: 100\r\n    - name: v2\r\n      image: r/a:v2\r\n      weight: 0\r\n",
            );
            setWeights(file, { v1: 90, v2: 10 });
            assert.equal(
                fs.readFileSync(file, "utf8"),
                "config:\r\n  istio-canary:versions:\r\n    - name: v1\r\n      image: r/a:v1\r\n      weight: 90\r\n    - name: v2\r\n      image: r/a:v2\r\n      weight: 10\r\n",
            );
        });
    });

    describe("removeVersion", () => {
        it("removes the entry's lines and nothing else", () => {
            const text = `# rollout done: v2 has all the traffic
config:
  istio-canary:versions:
    # the baseline
    - name: v1
      image: r/a:v1   # old
      replicas: 2
      weight: 0
    # the canary
    - name: v2
      image: r/a:v2
      replicas: 2
      weight: 100
  istio-canary:monitoring:
    enabled: true
`;
            const file = write(dir, "Pulumi.qa.yaml", text);
            removeVersion(file, "v1");
            assert.equal(
                fs.readFileSync(file, "utf8"),
                `# rollout done: v2 has all the traffic
config:
  istio-canary:versions:
    # the baseline
    # the canary
    - name: v2
      image: r/a:v2
      replicas: 2
      weight: 100
  istio-canary:monitoring:
    enabled: true
`,
            );
        });

        it("removes the last entry of a list at the end of a file without a final newline", () => {
            const file = write(
                dir,
                "Pulumi.qa.yaml",
                "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n    - name: v2\n      image: r/a:v2\n      weight: 0",
            );
            removeVersion(file, "v2");
            assert.equal(
                fs.readFileSync(file, "utf8"),
                "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n",
            );
        });

        it("refuses to remove a version that still has traffic", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            assert.throws(() => removeVersion(file, "v2"), {
                message: `${file}: removing v2 would leave istio-canary:versions invalid:\n  - istio-canary:versions weights are v1=90 (sum 90); they must sum to 100`,
            });
            assert.equal(fs.readFileSync(file, "utf8"), before);
        });

        it("refuses a version the stack does not run", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            assert.throws(
                () => removeVersion(file, "v7"),
                new StackFileError(`${file}: cannot remove v7: istio-canary:versions has v1, v2`),
            );
        });
    });

    describe("addVersion", () => {
        it("appends the entry after the last one and keeps the rest of prod byte-identical, flow lists included", () => {
            const file = path.join(dir, "Pulumi.prod.yaml");
            addVersion(file, { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 3, weight: 0 });
            assert.equal(
                fs.readFileSync(file, "utf8"),
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

        it("follows the list's own indentation and the previous entry's field order", () => {
            const text =
                "config:\n  istio-canary:versions:\n  -   weight: 100\n      name: v1\n      image: r/a:v1\n  istio-canary:hosts: [a.example.com]\n";
            const file = write(dir, "Pulumi.qa.yaml", text);
            addVersion(file, { name: "v2", image: "r/a:v2", replicas: 1, weight: 0 });
            assert.equal(
                fs.readFileSync(file, "utf8"),
                "config:\n  istio-canary:versions:\n  -   weight: 100\n      name: v1\n      image: r/a:v1\n  -   weight: 0\n      name: v2\n      image: r/a:v2\n      replicas: 1\n  istio-canary:hosts: [a.example.com]\n",
            );
        });

        it("writes the full list explicitly when the stack inherits Pulumi.yaml's default", () => {
            const file = write(
                dir,
                "Pulumi.qa.yaml",
                "# qa stack\nconfig:\n  istio-canary:hosts:\n    - qa.example.com   # the only host\n",
            );
            addVersion(file, { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 2, weight: 0 });
            assert.equal(
                fs.readFileSync(file, "utf8"),
                `# qa stack
config:
  istio-canary:hosts:
    - qa.example.com   # the only host
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

        it("creates the config map in a stack file that has none", () => {
            const text = "# empty stack\n";
            const after = editVersionsText(
                text,
                { kind: "add", entry: { name: "v2", image: "r/a:v2", weight: 0 } },
                {
                    file: "Pulumi.qa.yaml",
                    inherited: () => [{ name: "v1", image: "r/a:v1", weight: 100 }],
                },
            );
            assert.equal(
                after,
                "# empty stack\nconfig:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n    - name: v2\n      image: r/a:v2\n      weight: 0\n",
            );
        });

        it("quotes values that YAML would otherwise read as something else", () => {
            const text = "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n";
            const after = editVersionsText(
                text,
                { kind: "add", entry: { name: "v2", image: "r/a:1.0", weight: 0 } },
                { file: "f", inherited: inheritNothing },
            );
            assert.equal(readVersionsFromText(after)[1].image, "r/a:1.0");
        });

        it("refuses a name the stack already runs and leaves the file byte-identical", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            assert.throws(
                () => addVersion(file, { name: "v2", image: "jamaldevsecops/myapp:v3", weight: 0 }),
                new StackFileError(`${file}: cannot add v2: istio-canary:versions already has a version named v2`),
            );
            assert.equal(fs.readFileSync(file, "utf8"), before);
        });

        it("refuses an entry that would break the list and names the problem", () => {
            const file = path.join(dir, "Pulumi.staging.yaml");
            assert.throws(
                () => addVersion(file, { name: "v2", image: "jamaldevsecops/myapp", weight: 0 }),
                /adding v2 would leave istio-canary:versions invalid:\n {2}- istio-canary:versions\[1\]\.image is "jamaldevsecops\/myapp"; it must be an image reference with a tag or a sha256 digest/,
            );
        });

        it("refuses to add to a list written in flow style rather than reformat it", () => {
            const file = write(dir, "Pulumi.qa.yaml", "config:\n  istio-canary:versions: [{name: v1, image: r/a:v1, weight: 100}]\n");
            assert.throws(() => addVersion(file, { name: "v2", image: "r/a:v2", weight: 0 }), /is written in flow style/);
        });

        it("computes the change without writing it when write is false", () => {
            const file = path.join(dir, "Pulumi.staging.yaml");
            const before = fs.readFileSync(file, "utf8");
            const result = addVersion(file, { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 2, weight: 0 }, { write: false });
            assert.equal(fs.readFileSync(file, "utf8"), before);
            assert.equal(result.before, before);
            assert.ok(result.after.endsWith("    - name: v2\n      image: jamaldevsecops/myapp:v2\n      replicas: 2\n      weight: 0\n"));
        });
    });

    describe("writeFileAtomic", () => {
        it("replaces the file, keeps its permission bits and leaves no temporary file", () => {
            const file = write(dir, "Pulumi.qa.yaml", "old\n");
            fs.chmodSync(file, 0o600);
            writeFileAtomic(file, "new\n");
            assert.equal(fs.readFileSync(file, "utf8"), "new\n");
            assert.equal(fs.statSync(file).mode & 0o777, 0o600);
            assert.deepEqual(
                fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
                [],
            );
        });

        it("leaves the old file whole when the process dies before the rename", () => {
            const file = path.join(dir, "Pulumi.dev.yaml");
            const before = fs.readFileSync(file, "utf8");
            const script = [
                `const { writeFileAtomic } = require(${JSON.stringify(path.join(ROOT, "stack", "atomic-write.ts"))});`,
                `writeFileAtomic(${JSON.stringify(file)}, "x".repeat(1 << 20), { beforeRename: () => process.kill(process.pid, "SIGKILL") });`,
            ].join("\n");
            const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
                cwd: ROOT,
                encoding: "utf8",
            });
            assert.equal(child.signal, "SIGKILL", child.stderr);
            assert.equal(fs.readFileSync(file, "utf8"), before);
            const leftovers = fs.readdirSync(dir).filter((f) => f.startsWith(".Pulumi.dev.yaml.") && f.endsWith(".tmp"));
            assert.equal(leftovers.length, 1);
            assert.equal(fs.statSync(path.join(dir, leftovers[0])).size, 1 << 20);
        });

        it("removes its temporary file and reports the file when the write fails", () => {
            const file = write(dir, "Pulumi.qa.yaml", "old\n");
            assert.throws(
                () =>
                    writeFileAtomic(file, "new\n", {
                        beforeRename: () => {
                            throw new Error("disk full");
                        },
                    }),
                new StackFileError(`could not write ${file}: disk full`),
            );
            assert.equal(fs.readFileSync(file, "utf8"), "old\n");
            assert.deepEqual(
                fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
                [],
            );
        });
    });

    describe("unifiedDiff", () => {
        it("prints a/ and b/ headers with the changed lines", () => {
            const diff = unifiedDiff("/x/Pulumi.qa.yaml", "a: 1\nb: 2\n", "a: 1\nb: 3\n");
            assert.equal(diff, "--- a/Pulumi.qa.yaml\n+++ b/Pulumi.qa.yaml\n@@ -1,2 +1,2 @@\n a: 1\n-b: 2\n+b: 3\n");
        });

        it("is empty when nothing changed", () => {
            assert.equal(unifiedDiff("f", "a\n", "a\n"), "");
        });
    });
});

function readVersionsFromText(text: string): { name: string; image: string }[] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-read-"));
    try {
        return readVersions(write(dir, "Pulumi.x.yaml", text));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
