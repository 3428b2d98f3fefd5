/**
 * The build's staleness guard (cli/compiled.js): the bin runs build/<key>/ only when <key> is the
 * hash of the sources as they are, so an edit is never hidden by an older compiled tree. The tests
 * share one copy of the project (test/support/project-copy.ts), edited there, in the order below:
 * each compile takes seconds.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PolicyPackProcess } from "../../policy-runner/client";
import { copyProject } from "../support/project-copy";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require("../../cli/compiled.js") as {
    sourceKey(root: string): string;
    currentBuild(root: string): string | undefined;
};

/** The compiled trees in a project's build/. */
function trees(root: string): string[] {
    const dir = path.join(root, "build");
    return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

/** Runs the copy's bin (not on a terminal, as CI does). */
function bin(root: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [path.join(root, "cli", "istio-canary.js"), ...args], {
        cwd: root,
        encoding: "utf8",
        timeout: 240_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `node cli/compiled.js <args>` in the copy, asynchronously (two may run at once). */
function compile(root: string, args: string[] = []): Promise<{ code: number | null; stdout: string }> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(root, "cli", "compiled.js"), ...args], {
            cwd: root,
            stdio: ["ignore", "pipe", "inherit"],
        });
        let stdout = "";
        child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout }));
    });
}

function edit(root: string, file: string, change: (text: string) => string): void {
    const full = path.join(root, file);
    fs.writeFileSync(full, change(fs.readFileSync(full, "utf8")));
}

const PLAN_SUMMARY = "Show what `pulumi up` would create for a stack, offline";

describe("the compiled CLI and its staleness guard (cli/compiled.js)", function () {
    this.timeout(600_000);
    let root: string;
    before(() => {
        root = copyProject("compiled-spec-");
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("gives the sources another key when a source file changes, is added or is removed, and the same key when only a test changes", () => {
        const key = compiled.sourceKey(root);
        edit(root, "cli/plan.ts", (t) => `${t}\n// a comment\n`);
        const edited = compiled.sourceKey(root);
        assert.notEqual(edited, key);
        edit(root, "cli/plan.ts", (t) => t.replace(/\n\/\/ a comment\n$/, ""));
        assert.equal(compiled.sourceKey(root), key);
        fs.writeFileSync(path.join(root, "components", "extra.ts"), "export const EXTRA = 1;\n");
        assert.notEqual(compiled.sourceKey(root), key);
        fs.rmSync(path.join(root, "components", "extra.ts"));
        assert.equal(compiled.sourceKey(root), key);
        // A file the sources read beside themselves is part of the build too.
        edit(root, "policies/PulumiPolicy.yaml", (t) => `${t}# a comment\n`);
        assert.notEqual(compiled.sourceKey(root), key);
        edit(root, "policies/PulumiPolicy.yaml", (t) => t.replace(/# a comment\n$/, ""));
        assert.equal(compiled.sourceKey(root), key);
        fs.rmSync(path.join(root, "cli", "stacks.ts"));
        assert.notEqual(compiled.sourceKey(root), key);
        fs.mkdirSync(path.join(root, "test"), { recursive: true });
        fs.writeFileSync(path.join(root, "test", "new.spec.ts"), "// a test\n");
        fs.writeFileSync(path.join(root, "cli", "stacks.ts"), fs.readFileSync(path.join(__dirname, "..", "..", "cli", "stacks.ts")));
        assert.equal(compiled.sourceKey(root), key);
    });

    it("leaves one whole tree when two processes compile the same sources at once", async () => {
        assert.deepEqual(trees(root), []);
        const [a, b] = await Promise.all([compile(root), compile(root)]);
        assert.equal(a.code, 0, a.stdout);
        assert.equal(b.code, 0, b.stdout);
        const key = compiled.sourceKey(root);
        assert.deepEqual(trees(root), [key]);
        assert.ok(fs.existsSync(path.join(root, "build", key, "cli", "main.js")));
        assert.ok(fs.existsSync(path.join(root, "build", key, "policies", "index.js")));
        assert.ok(fs.existsSync(path.join(root, "build", key, "policies", "PulumiPolicy.yaml")), "files beside the sources are copied");
        const sourcesPack = JSON.parse(fs.readFileSync(path.join(root, "policies", "package.json"), "utf8")) as Record<string, unknown>;
        const compiledPack = JSON.parse(fs.readFileSync(path.join(root, "build", key, "policies", "package.json"), "utf8")) as Record<
            string,
            unknown
        >;
        assert.deepEqual(compiledPack, { ...sourcesPack, main: "index.js" }, "the pack's package.json, its main the compiled index.js");
        assert.equal(compiled.currentBuild(root), path.join(root, "build", key));
    });

    it("gives every `pulumi up` of a compiled rollout the compiled pack, which starts as the engine starts it and names the pack's version", async () => {
        const tree = compiled.currentBuild(root);
        assert.ok(tree !== undefined);
        // The compiled adapter, loaded from the tree: its CODE_ROOT is the tree, its PROJECT_ROOT the copy.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const automation = require(path.join(tree, "rollout", "automation.js")) as {
            PulumiStackTarget: new (o: { stack: string; appName: string }) => { policyPacks: string[]; policyPackConfigs: string[] };
        };
        const target = new automation.PulumiStackTarget({ stack: "prod", appName: "myapp" });
        assert.deepEqual(target.policyPacks, [path.join(tree, "policies")]);
        assert.deepEqual(
            target.policyPackConfigs,
            [path.join(root, "policies", "config", "prod.json")],
            "the stack's policy config stays the tracked file",
        );
        // As `pulumi up --policy-pack <dir>` runs it: run-policy-pack in the pack's directory, program ".".
        const pack = await PolicyPackProcess.start(target.policyPacks[0]);
        try {
            const info = await pack.getAnalyzerInfo();
            const version = (JSON.parse(fs.readFileSync(path.join(root, "policies", "package.json"), "utf8")) as { version: string })
                .version;
            assert.equal(info.name, "istio-canary-policies");
            assert.equal(info.version, version);
            assert.ok(info.policies.some((p) => p.name === "virtualservice-weights"));
        } finally {
            await pack.close();
        }
    });

    it("plans and policy-checks a stack from the compiled tree, finding the repository's files two levels up", () => {
        const tree = compiled.currentBuild(root);
        assert.notEqual(tree, undefined);
        const r = bin(root, ["policy", "--stack", "dev"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Policy config: policies\/config\/dev\.json/);
        assert.match(r.stdout, /passed: no policy violations in stack dev/);
        assert.equal(compiled.currentBuild(root), tree, "nothing was compiled again");
    });

    it("runs what the sources say after an edit, never the tree compiled before it", () => {
        const first = compiled.sourceKey(root);
        const before = bin(root, ["plan", "--help"]);
        assert.equal(before.code, 0, before.stderr);
        assert.match(before.stdout, new RegExp(PLAN_SUMMARY.replace(/[`()]/g, ".")));
        assert.deepEqual(trees(root), [first]);

        edit(root, "cli/plan.ts", (t) => t.replace(PLAN_SUMMARY, "Edited after the first compile"));
        const after = bin(root, ["plan", "--help"]);
        assert.equal(after.code, 0, after.stderr);
        assert.match(after.stdout, /Edited after the first compile/);
        const second = compiled.sourceKey(root);
        assert.notEqual(second, first);
        // The older tree stays for a command that may still be running from it.
        assert.deepEqual(trees(root), [first, second].sort());
    });

    it("runs the sources through ts-node when they do not type-check, and compiles nothing for them", async () => {
        edit(
            root,
            "cli/plan.ts",
            (t) =>
                t.replace("Edited after the first compile", "Edited and not type-checked") +
                '\nexport const notANumber: number = "a string";\n',
        );
        const r = bin(root, ["plan", "--help"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /Edited and not type-checked/);
        assert.equal(compiled.currentBuild(root), undefined);
        assert.equal(trees(root).length, 2, "the two trees of the earlier tests, nothing for these sources");

        const build = await compile(root);
        assert.equal(build.code, 1);
        assert.match(build.stdout, /cli\/plan\.ts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
        const prepare = await compile(root, ["--prepare"]);
        assert.equal(prepare.code, 0, "npm ci's prepare never fails on it");
    });
});
