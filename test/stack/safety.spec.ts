import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../../stack/atomic-write";
import { addVersion, readVersions, setWeights } from "../../stack/edit";
import { StackFileError } from "../../stack/load";

const ROOT = path.resolve(__dirname, "..", "..");

const TWO =
    "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 90\n    - name: v2\n      image: r/a:v2\n      weight: 10\n";

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    return Number(child.stdout);
}

/** Runs a script in a child Node with ts-node, resolving to its exit code and output. */
function runChild(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], { cwd: ROOT });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}

describe("stack files: safe edits", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-safety-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function write(name: string, text: string): string {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
    }

    describe("files the editor refuses, as the loader does", () => {
        it("refuses versions written without the config: wrapper instead of reading the project default", () => {
            const file = write("Pulumi.s.yaml", TWO.replace("config:\n  ", "").replace(/\n {2}/g, "\n"));
            const message = `${file}: "istio-canary:versions" is at the top level, where no stack setting is read; config keys go under "config:", indented below it`;
            assert.throws(() => readVersions(file), new StackFileError(message));
            assert.throws(() => setWeights(file, { v1: 100 }), new StackFileError(message));
        });

        it("refuses an alias in the versions list with the loader's sentence", () => {
            const file = write(
                "Pulumi.s.yaml",
                "config:\n  istio-canary:versions:\n    - &one { name: v1, image: r/a:v1, weight: 100 }\n    - *one\n",
            );
            assert.throws(() => readVersions(file), {
                name: "StackFileError",
                message: `${file}:3: &one is a YAML anchor; stack files may not use aliases or anchors. A value that starts with "*" or "&" must be quoted`,
            });
        });

        it("names a stack file that is a directory", () => {
            const file = path.join(dir, "Pulumi.s.yaml");
            fs.mkdirSync(file);
            assert.throws(
                () => setWeights(file, { v1: 100 }),
                new StackFileError(`${file} is a directory; a stack file must be a YAML file`),
            );
        });
    });

    describe("line endings", () => {
        it("keeps each line's own ending in a file that mixes CRLF and LF, changing only the weights", () => {
            const text =
                "# written on Windows\r\nconfig:\r\n  istio-canary:versions:\n    - name: v1\r\n      image: r/a:v1\n      weight: 90\n    - name: v2\r\n      image: r/a:v2\r\n      weight: 10\r\n";
            const file = write("Pulumi.s.yaml", text);
            setWeights(file, { v1: 50, v2: 50 });
            assert.equal(fs.readFileSync(file, "utf8"), text.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50"));
        });

        it("writes an added version with the line ending the file uses", () => {
            const file = write("Pulumi.s.yaml", TWO.replace(/\n/g, "\r\n"));
            addVersion(file, { name: "v3", image: "r/a:v3", weight: 0 });
            const after = fs.readFileSync(file, "utf8");
            assert.ok(after.endsWith("    - name: v3\r\n      image: r/a:v3\r\n      weight: 0\r\n"), JSON.stringify(after));
            assert.doesNotMatch(after, /[^\r]\n/);
        });
    });

    describe("locks", () => {
        it("takes over the lock of an editor that died while holding it, and removes it", () => {
            const file = write("Pulumi.s.yaml", TWO);
            const lock = path.join(dir, ".Pulumi.s.yaml.lock");
            fs.writeFileSync(
                lock,
                JSON.stringify({ pid: deadPid(), hostname: os.hostname(), since: new Date().toISOString(), token: "x" }),
            );
            setWeights(file, { v1: 80, v2: 20 }, { lockTimeoutMs: 2000 });
            assert.match(fs.readFileSync(file, "utf8"), /weight: 80/);
            assert.equal(fs.existsSync(lock), false);
        });

        it("waits for a live editor's lock and, when it is not released, names the holder and writes nothing", () => {
            const file = write("Pulumi.s.yaml", TWO);
            const lock = path.join(dir, ".Pulumi.s.yaml.lock");
            const since = new Date().toISOString();
            fs.writeFileSync(lock, JSON.stringify({ pid: process.ppid, hostname: os.hostname(), since, token: "x" }));
            const started = Date.now();
            assert.throws(
                () => setWeights(file, { v1: 80, v2: 20 }, { lockTimeoutMs: 300 }),
                new StackFileError(
                    `${file} is being edited by another process (pid ${process.ppid} on ${os.hostname()}, since ${since}); nothing was written. ` +
                        `Run the command again when it is done; if that process is gone, delete ${lock}`,
                ),
            );
            assert.ok(Date.now() - started >= 300);
            assert.equal(fs.readFileSync(file, "utf8"), TWO);
        });
    });

    describe("concurrent writers", function () {
        this.timeout(120_000);

        it("loses no update when two processes add versions to one stack file at once (editor and compare-and-write)", async () => {
            const file = write(
                "Pulumi.s.yaml",
                "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 100\n",
            );
            const sync = fs.mkdtempSync(path.join(os.tmpdir(), "stack-writers-"));
            const go = path.join(sync, "go");
            const edit = JSON.stringify(path.join(ROOT, "stack", "edit.ts"));
            // Each writer adds its own versions; "edit" uses addVersion, "cas" the promote path
            // (addVersion without writing, then writeIfUnchanged). A write refused because the
            // file changed is retried; every write that reports success must be in the final file.
            const writer = (prefix: string, mode: "edit" | "cas") => `
                const fs = require("node:fs");
                const { addVersion, writeIfUnchanged } = require(${edit});
                fs.writeFileSync(${JSON.stringify(path.join(sync, prefix))}, "");
                while (!fs.existsSync(${JSON.stringify(go)})) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); }
                const ok = [];
                let retries = 0;
                for (let i = 0; i < 40; i++) {
                    const entry = { name: "${prefix}" + i, image: "r/a:v1", weight: 0 };
                    for (;;) {
                        try {
                            if (${JSON.stringify(mode)} === "edit") {
                                addVersion(${JSON.stringify(file)}, entry);
                            } else {
                                const e = addVersion(${JSON.stringify(file)}, entry, { write: false });
                                writeIfUnchanged(${JSON.stringify(file)}, e.before, e.after);
                            }
                            ok.push(entry.name);
                            break;
                        } catch (e) {
                            if (!/changed while it was being edited/.test(e.message)) throw e;
                            retries++;
                        }
                    }
                }
                process.stdout.write(JSON.stringify({ ok, retries }));`;
            try {
                const a = runChild(writer("a", "edit"));
                const b = runChild(writer("b", "cas"));
                const started = Date.now();
                while (!(fs.existsSync(path.join(sync, "a")) && fs.existsSync(path.join(sync, "b")))) {
                    assert.ok(Date.now() - started < 60_000, "the writers did not start");
                    await new Promise((r) => setTimeout(r, 50));
                }
                fs.writeFileSync(go, "");
                const results = await Promise.all([a, b]);
                for (const r of results) {
                    assert.equal(r.code, 0, r.stderr);
                }
                const reported = results.flatMap((r) => (JSON.parse(r.stdout) as { ok: string[] }).ok);
                assert.equal(reported.length, 80);
                const names = readVersions(file).map((v) => v.name);
                const lost = reported.filter((n) => !names.includes(n));
                assert.deepEqual(lost, [], `lost ${lost.length} of ${reported.length} updates`);
                assert.equal(names.length, 81);
                assert.deepEqual(
                    fs.readdirSync(dir).filter((f) => f.startsWith(".")),
                    [],
                );
            } finally {
                fs.rmSync(sync, { recursive: true, force: true });
            }
        });
    });

    describe("what a killed write leaves behind", () => {
        it("removes the temporary file of a write killed before its rename on the next write", () => {
            const file = write("Pulumi.s.yaml", TWO);
            const script = [
                `const { writeFileAtomic } = require(${JSON.stringify(path.join(ROOT, "stack", "atomic-write.ts"))});`,
                `writeFileAtomic(${JSON.stringify(file)}, "half", { beforeRename: () => process.kill(process.pid, "SIGKILL") });`,
            ].join("\n");
            const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
                cwd: ROOT,
                encoding: "utf8",
            });
            assert.equal(child.signal, "SIGKILL", child.stderr);
            assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")).length, 1);
            setWeights(file, { v1: 80, v2: 20 });
            assert.deepEqual(
                fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
                [],
            );
        });

        it("keeps the temporary file of a live writer (another process's write in progress)", () => {
            const file = write("Pulumi.s.yaml", TWO);
            const live = path.join(dir, `.Pulumi.s.yaml.${process.ppid}.0badc0de.tmp`);
            fs.writeFileSync(live, "in progress");
            setWeights(file, { v1: 80, v2: 20 });
            assert.ok(fs.existsSync(live));
        });
    });

    describe("symlinks", () => {
        it("edits the file a symlinked stack file points to and keeps the link", () => {
            fs.mkdirSync(path.join(dir, "real"));
            const target = path.join(dir, "real", "Pulumi.s.yaml");
            fs.writeFileSync(target, TWO);
            const link = path.join(dir, "Pulumi.s.yaml");
            fs.symlinkSync(path.join("real", "Pulumi.s.yaml"), link);
            setWeights(link, { v1: 0, v2: 100 });
            assert.ok(fs.lstatSync(link).isSymbolicLink(), "the stack file is still a symlink");
            assert.match(fs.readFileSync(target, "utf8"), /weight: 0\n[\s\S]*weight: 100\n/);
            assert.deepEqual(
                fs.readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".lock")),
                [],
            );
        });

        it("writes rollout-style state through a symlink too (writeFileAtomic)", () => {
            const target = write("state-real.json", "{}\n");
            const link = path.join(dir, "state.json");
            fs.symlinkSync("state-real.json", link);
            writeFileAtomic(link, '{"a":1}\n');
            assert.ok(fs.lstatSync(link).isSymbolicLink());
            assert.equal(fs.readFileSync(target, "utf8"), '{"a":1}\n');
        });
    });

    describe("writeFileAtomic", () => {
        it("names the directory it cannot create and what is in the way", () => {
            const blocker = write("not-a-dir", "x");
            const file = path.join(blocker, "dev.json");
            assert.throws(
                () => writeFileAtomic(file, "{}"),
                new StackFileError(`could not write ${file}: cannot create the directory ${blocker}: a file of that name is in the way`),
            );
            const deeper = path.join(blocker, "state", "dev.json");
            assert.throws(
                () => writeFileAtomic(deeper, "{}"),
                new StackFileError(
                    `could not write ${deeper}: cannot create the directory ${path.join(blocker, "state")}: ${blocker} is a file, not a directory`,
                ),
            );
        });
    });
});
