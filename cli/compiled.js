// The compiled CLI: the TypeScript sources the command runs, type-checked and compiled by tsc into
// build/<key>/ (git-ignored), where <key> is a hash of those sources' contents, tsconfig.json,
// package.json, package-lock.json, this file and the compiler's version. A changed, added or removed source
// file gives another key, so compiled code that does not match the sources is never run: the bin
// (cli/istio-canary.js) hashes the sources on every start (a few milliseconds), runs build/<key>/
// when it exists, compiles it when it does not (`npm ci` does so through the `prepare` script), and
// runs the sources through ts-node, as before, when they do not type-check. Plain JavaScript: it
// runs before anything can compile TypeScript.
//
// `node cli/compiled.js` (npm run build) compiles when needed and says what it did, exit 1 when the
// sources do not compile (`--prepare`, npm's prepare script run by npm ci: exit 0 all the same);
// `node cli/compiled.js --check` only says whether build/ matches the sources (exit 0) or not (1).
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

/** The repository. */
const ROOT = path.resolve(__dirname, "..");

/** Where compiled trees go, one directory per key. */
const BUILD_DIR_NAME = "build";

/** The directories whose .ts files the commands run (tests, benchmarks, e2e and examples are not compiled). */
const SOURCE_DIRS = [
    "analysis",
    "cli",
    "components",
    "config",
    "notify",
    "offline",
    "policies",
    "policy-runner",
    "promote",
    "report",
    "rollout",
    "stack",
];

/** Files besides the sources that change what is compiled or how (this file holds the compiler options). */
const INPUT_FILES = ["package.json", "package-lock.json", "tsconfig.json", "cli/compiled.js"];

/** Compiled trees kept besides the current one, so a command still running from an older tree keeps its files. */
const KEEP_OLDER = 2;

const KEY = /^[0-9a-f]{16}$/;

/** Every file of `dir` (relative to `root`, '/'-separated), node_modules skipped. */
function filesUnder(root, dir) {
    const out = [];
    const walk = (rel) => {
        let entries;
        try {
            entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
        } catch (e) {
            if (e.code === "ENOENT") {
                return;
            }
            throw e;
        }
        for (const entry of entries) {
            const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
            if (entry.isDirectory()) {
                if (entry.name !== "node_modules") {
                    walk(child);
                }
            } else if (entry.isFile()) {
                out.push(child);
            }
        }
    };
    walk(dir);
    return out;
}

/** A TypeScript source tsc compiles (not a declaration file). */
function isSource(file) {
    return file.endsWith(".ts") && !file.endsWith(".d.ts");
}

/**
 * What the build is made of, sorted: the .ts files at the top of the repository and every file under
 * SOURCE_DIRS, the TypeScript sources and the files they read beside themselves (report/page.js, say),
 * which are copied into the tree as they are.
 */
function sourceFiles(root = ROOT) {
    const top = fs.readdirSync(root).filter(isSource);
    return [...top, ...SOURCE_DIRS.flatMap((d) => filesUnder(root, d))].sort();
}

/** The installed TypeScript's version, or "none". */
function compilerVersion(root) {
    try {
        return JSON.parse(fs.readFileSync(path.join(root, "node_modules", "typescript", "package.json"), "utf8")).version;
    } catch {
        return "none";
    }
}

/** The key of the sources as they are now: what build/<key>/ must have been compiled from. */
function sourceKey(root = ROOT) {
    const hash = crypto.createHash("sha256");
    hash.update(`typescript ${compilerVersion(root)}\0`);
    for (const file of [...new Set([...INPUT_FILES, ...sourceFiles(root)])]) {
        hash.update(`${file}\0`);
        try {
            hash.update(fs.readFileSync(path.join(root, file)));
        } catch (e) {
            if (e.code !== "ENOENT") {
                throw e;
            }
            hash.update("\0missing");
        }
        hash.update("\0");
    }
    return hash.digest("hex").slice(0, 16);
}

/** build/<key>/ for the sources as they are now, when it exists; otherwise undefined. */
function currentBuild(root = ROOT) {
    const dir = path.join(root, BUILD_DIR_NAME, sourceKey(root));
    return fs.existsSync(dir) ? dir : undefined;
}

/** One line per diagnostic, as tsc prints them. */
function formatDiagnostics(ts, diagnostics, root) {
    return ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (f) => f,
        getCurrentDirectory: () => root,
        getNewLine: () => "\n",
    });
}

/**
 * Type-checks the sources with tsconfig.json's options (the types of node only: no test code) and
 * emits them into a temporary directory, renamed to build/<key>/ only when nothing failed, so a
 * half-written tree is never found. Returns { dir } or { problems } (tsc's diagnostics, or why the
 * tree could not be written).
 */
function compile(root = ROOT) {
    const key = sourceKey(root);
    const buildDir = path.join(root, BUILD_DIR_NAME);
    const dir = path.join(buildDir, key);
    let ts;
    try {
        ts = require(require.resolve("typescript", { paths: [root] }));
    } catch (e) {
        return { problems: `typescript is not installed (${e.message}); run npm ci` };
    }
    const parsed = ts.getParsedCommandLineOfConfigFile(
        path.join(root, "tsconfig.json"),
        {},
        { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
    );
    if (parsed === undefined || parsed.errors.length > 0) {
        return { problems: parsed === undefined ? "tsconfig.json cannot be read" : formatDiagnostics(ts, parsed.errors, root) };
    }
    const tmp = path.join(buildDir, `.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`);
    const options = { ...parsed.options, noEmit: false, noEmitOnError: true, outDir: tmp, rootDir: root, types: ["node"], sourceMap: true };
    const files = sourceFiles(root);
    const program = ts.createProgram(
        files.filter(isSource).map((f) => path.join(root, f)),
        options,
    );
    const hashed = new Set(files.map((f) => path.join(root, f)));
    const outside = program
        .getSourceFiles()
        .map((s) => path.resolve(s.fileName))
        .filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`) && !f.endsWith(".d.ts") && !f.endsWith(".json") && !hashed.has(f));
    if (outside.length > 0) {
        return {
            problems: `the commands import ${outside.map((f) => path.relative(root, f)).join(", ")}, outside the compiled directories (${SOURCE_DIRS.join(", ")}); add the directory to SOURCE_DIRS in cli/compiled.js`,
        };
    }
    const diagnostics = ts.getPreEmitDiagnostics(program);
    if (diagnostics.length > 0) {
        return { problems: formatDiagnostics(ts, diagnostics, root) };
    }
    try {
        fs.mkdirSync(buildDir, { recursive: true });
        const emitted = program.emit();
        if (emitted.emitSkipped || emitted.diagnostics.length > 0) {
            fs.rmSync(tmp, { recursive: true, force: true });
            return { problems: formatDiagnostics(ts, emitted.diagnostics, root) || "tsc emitted nothing" };
        }
        // The other files the sources read beside themselves, where tsc wrote nothing of the same name;
        // not package.json (its `main` names a .ts file, which would change how a directory is loaded).
        const copied = (f) => !isSource(f) && f.includes("/") && !["package.json", "tsconfig.json"].includes(path.basename(f));
        for (const file of files.filter(copied)) {
            const target = path.join(tmp, file);
            if (!fs.existsSync(target)) {
                fs.mkdirSync(path.dirname(target), { recursive: true });
                fs.copyFileSync(path.join(root, file), target);
            }
        }
        // The policy pack's package.json (the engine's run-policy-pack reads the pack's name and
        // version from it), with its main pointed at the compiled index.js: `pulumi up --policy-pack
        // build/<key>/policies` then loads JavaScript instead of type-checking the pack at each start.
        const packJson = path.join(root, "policies", "package.json");
        if (fs.existsSync(packJson) && fs.existsSync(path.join(tmp, "policies", "index.js"))) {
            const pack = JSON.parse(fs.readFileSync(packJson, "utf8"));
            fs.writeFileSync(path.join(tmp, "policies", "package.json"), `${JSON.stringify({ ...pack, main: "index.js" }, null, 4)}\n`);
        }
        try {
            fs.renameSync(tmp, dir);
        } catch (e) {
            // Another process compiled the same sources at the same time: its tree is as good.
            fs.rmSync(tmp, { recursive: true, force: true });
            if (!fs.existsSync(dir)) {
                throw e;
            }
        }
    } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        return { problems: `cannot write ${buildDir}: ${e.message}` };
    }
    prune(buildDir, key);
    return { dir };
}

/**
 * Removes compiled trees but the current one and the KEEP_OLDER newest others, and temporary trees
 * over an hour old. Best effort: another process may be pruning or compiling at the same time.
 */
function prune(buildDir, key) {
    const entries = [];
    for (const name of fs.readdirSync(buildDir)) {
        try {
            entries.push({ name, full: path.join(buildDir, name), mtime: fs.statSync(path.join(buildDir, name)).mtimeMs });
        } catch {
            // Removed meanwhile.
        }
    }
    const older = entries.filter((e) => KEY.test(e.name) && e.name !== key).sort((a, b) => b.mtime - a.mtime);
    const stale = entries.filter((e) => e.name.startsWith(".tmp-") && Date.now() - e.mtime > 3600_000);
    for (const e of [...older.slice(KEEP_OLDER), ...stale]) {
        fs.rmSync(e.full, { recursive: true, force: true });
    }
}

/**
 * The compiled tree to run: build/<key>/ when it exists, else compiled now (`progress` is told,
 * it takes seconds). Returns { dir, compiled } or { problems } when the sources cannot be compiled.
 */
function ensureBuild(opts = {}) {
    const root = opts.root ?? ROOT;
    const dir = currentBuild(root);
    if (dir !== undefined) {
        return { dir, compiled: false };
    }
    opts.progress?.(`compiling the sources into ${BUILD_DIR_NAME}/ (once after each change, a few seconds)...`);
    const result = compile(root);
    return result.dir !== undefined ? { dir: result.dir, compiled: true } : result;
}

module.exports = { BUILD_DIR_NAME, SOURCE_DIRS, sourceFiles, sourceKey, currentBuild, compile, ensureBuild };

if (require.main === module) {
    if (process.argv.includes("--check")) {
        const dir = currentBuild();
        process.stdout.write(
            dir !== undefined
                ? `${path.relative(ROOT, dir)} matches the sources\n`
                : `${BUILD_DIR_NAME}/ holds no tree compiled from the sources as they are\n`,
        );
        process.exit(dir !== undefined ? 0 : 1);
    }
    const result = ensureBuild({ progress: (s) => process.stdout.write(`${s}\n`) });
    if (result.dir !== undefined) {
        process.stdout.write(`${path.relative(ROOT, result.dir)} ${result.compiled ? "compiled" : "already matches the sources"}\n`);
    } else {
        process.stdout.write(`not compiled; npx istio-canary runs the sources through ts-node until this is fixed:\n${result.problems}\n`);
        // Not fatal as npm's `prepare` (npm ci must not fail on it): the bin then runs the sources.
        process.exit(process.argv.includes("--prepare") ? 0 : 1);
    }
}
