import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../stack/load";
import { copyProject } from "../test/support/project-copy";

/**
 * `npm run bench:offline [-- --runs N] [-- --baseline <git ref>] [-- --write]`: wall time and CPU
 * time of the offline checks (`plan`, `policy`) of the committed stacks, each command run N times
 * (default 5) as a user runs it (`node cli/istio-canary.js ...` in a child process), medians
 * reported. With `--baseline`, the same single-stack commands also run on that commit (extracted
 * with `git archive` into a temporary directory, node_modules linked to this checkout's), each run
 * right after the same command here, so both see the same machine load. Also measures, once, the
 * compile a change costs (the bin compiles the sources into build/ on the first run after a change).
 * `--write` replaces bench/results/offline.md.
 */

/** The three stacks of the target (plan and policy of dev, staging and prod within 5 s), then ambient. */
const TARGET_STACKS = ["dev", "staging", "prod"];
const STACKS = [...TARGET_STACKS, "ambient"];
const TARGET_S = 5;

/** One command of the benchmark. */
interface Bench {
    /** The arguments after `istio-canary`. */
    args: string[];
    /** Whether the baseline runs it too (it cannot when the flags are new). */
    baseline: boolean;
}

/** Wall and CPU seconds of one run. */
interface Sample {
    wall: number;
    cpu: number | undefined;
}

const TIME = "/usr/bin/time";

/** Runs `node cli/istio-canary.js <args>` in `root`; its wall time, and its CPU time (children included) when /usr/bin/time exists. */
function runOnce(root: string, args: string[]): Sample {
    const bin = path.join(root, "cli", "istio-canary.js");
    const withTime = fs.existsSync(TIME);
    const timeFile = path.join(os.tmpdir(), `bench-offline-${process.pid}.time`);
    const [cmd, argv] = withTime
        ? [TIME, ["-f", "%U %S", "-o", timeFile, process.execPath, bin, ...args]]
        : [process.execPath, [bin, ...args]];
    const start = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, INIT_CWD: root } });
    const wall = Number(process.hrtime.bigint() - start) / 1e9;
    if (r.status !== 0) {
        throw new Error(`istio-canary ${args.join(" ")} in ${root} exited ${r.status}:\n${r.stderr}`);
    }
    let cpu: number | undefined;
    if (withTime) {
        const [user, sys] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()!.split(" ").map(Number);
        cpu = user + sys;
        fs.rmSync(timeFile, { force: true });
    }
    return { wall, cpu };
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall and CPU of samples. */
function medians(samples: Sample[]): Sample {
    const cpus = samples.map((s) => s.cpu).filter((c): c is number => c !== undefined);
    return { wall: median(samples.map((s) => s.wall)), cpu: cpus.length === samples.length ? median(cpus) : undefined };
}

function seconds(s: Sample | undefined): string {
    if (s === undefined) {
        return "-";
    }
    return `${s.wall.toFixed(2)} s${s.cpu !== undefined ? ` (CPU ${s.cpu.toFixed(2)} s)` : ""}`;
}

function add(a: Sample, b: Sample): Sample {
    return { wall: a.wall + b.wall, cpu: a.cpu !== undefined && b.cpu !== undefined ? a.cpu + b.cpu : undefined };
}

/** The baseline commit's files in a temporary directory, node_modules linked to this checkout's. */
function extractBaseline(ref: string): { dir: string; commit: string } {
    const commit = execFileSync("git", ["rev-parse", "--verify", `${ref}^{commit}`], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-offline-baseline-"));
    const tar = path.join(dir, "src.tar");
    execFileSync("git", ["archive", "--format=tar", "-o", tar, commit], { cwd: PROJECT_ROOT });
    execFileSync("tar", ["-xf", tar, "-C", dir]);
    fs.rmSync(tar);
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return { dir, commit };
}

/** Seconds the bin takes to compile the sources after a change: one run in a copy of the project, whose build/ is empty. */
function compileSeconds(): number {
    const dir = copyProject("bench-offline-compile-");
    try {
        const start = process.hrtime.bigint();
        execFileSync(process.execPath, [path.join(dir, "cli", "compiled.js")], { cwd: dir, stdio: "ignore" });
        return Number(process.hrtime.bigint() - start) / 1e9;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function main(argv: string[]): number {
    let runs = 5;
    let write = false;
    let baselineRef: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--runs") {
            const v = Number(argv[++i]);
            if (!Number.isInteger(v) || v < 1) {
                process.stderr.write(`--runs: ${JSON.stringify(argv[i])} is not allowed; expected a whole number >= 1\n`);
                return 2;
            }
            runs = v;
        } else if (argv[i] === "--baseline") {
            baselineRef = argv[++i];
            if (baselineRef === undefined) {
                process.stderr.write("--baseline needs a git ref, e.g. --baseline main\n");
                return 2;
            }
        } else if (argv[i] === "--write") {
            write = true;
        } else {
            process.stderr.write(`unknown argument ${JSON.stringify(argv[i])}; allowed: --runs N, --baseline <git ref>, --write\n`);
            return 2;
        }
    }
    const benches: Bench[] = [
        ...STACKS.flatMap((s) => [
            { args: ["plan", "--stack", s], baseline: true },
            { args: ["policy", "--stack", s], baseline: true },
        ]),
        { args: ["plan", ...TARGET_STACKS.flatMap((s) => ["--stack", s])], baseline: false },
        { args: ["policy", ...TARGET_STACKS.flatMap((s) => ["--stack", s])], baseline: false },
        { args: ["plan", "--all-stacks"], baseline: false },
        { args: ["policy", "--all-stacks"], baseline: false },
    ];
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim() !== "";
    const loadBefore = os.loadavg();
    const started = new Date();
    // The bin compiles on its first run after a change; that run is not what is measured.
    execFileSync(process.execPath, [path.join(PROJECT_ROOT, "cli", "compiled.js")], { cwd: PROJECT_ROOT, stdio: "ignore" });
    const baseline = baselineRef !== undefined ? extractBaseline(baselineRef) : undefined;
    const after = new Map<Bench, Sample[]>(benches.map((b) => [b, []]));
    const before = new Map<Bench, Sample[]>(benches.map((b) => [b, []]));
    try {
        for (let r = 0; r < runs; r++) {
            for (const b of benches) {
                if (baseline !== undefined && b.baseline) {
                    before.get(b)!.push(runOnce(baseline.dir, b.args));
                }
                after.get(b)!.push(runOnce(PROJECT_ROOT, b.args));
                process.stderr.write(`run ${r + 1}/${runs}: istio-canary ${b.args.join(" ")}\n`);
            }
        }
    } finally {
        if (baseline !== undefined) {
            fs.rmSync(baseline.dir, { recursive: true, force: true });
        }
    }
    const compile = compileSeconds();
    const loadAfter = os.loadavg();

    const med = (m: Map<Bench, Sample[]>, b: Bench): Sample | undefined => (m.get(b)!.length > 0 ? medians(m.get(b)!) : undefined);
    const find = (args: string): Bench => benches.find((b) => b.args.join(" ") === args)!;
    const lines: string[] = [];
    lines.push(
        "# Offline checks: wall time",
        "",
        "Generated by `npm run bench:offline" +
            (argv.length > 0 ? ` -- ${argv.filter((a) => a !== "--write").join(" ")}` : "") +
            "`; do not edit by hand. Each command runs as a user runs it (`node cli/istio-canary.js ...`, a child",
        `process, output discarded); median of ${runs} runs, CPU time (user + system, the policy pack's process included) in brackets.`,
        baseline !== undefined
            ? `"Before" is commit ${baseline.commit.slice(0, 7)} (\`--baseline ${baselineRef}\`), each run right after the same command of "after", so both saw the same load.`
            : "No baseline was measured (`--baseline <git ref>` adds one).",
        "",
        `- after: commit ${commit}${dirty ? " with uncommitted changes" : ""}, compiled into build/ (the bin's normal path)`,
        `- machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}`,
        `- Node ${process.version}; ${started.toISOString()}`,
        `- load average (1 min) at the start ${loadBefore[0].toFixed(1)}, at the end ${loadAfter[0].toFixed(1)}: wall times on a shared machine vary with it; CPU times less`,
        "",
        "| Command | Before | After |",
        "|---|---:|---:|",
    );
    for (const b of benches) {
        lines.push(`| \`${b.args.join(" ")}\` | ${seconds(med(before, b))} | ${seconds(med(after, b))} |`);
    }
    const sum = (m: Map<Bench, Sample[]>, cmds: string[]): Sample | undefined => {
        const each = cmds.map((c) => med(m, find(c)));
        return each.every((s) => s !== undefined) ? (each as Sample[]).reduce(add) : undefined;
    };
    const singles = TARGET_STACKS.flatMap((s) => [`plan --stack ${s}`, `policy --stack ${s}`]);
    const together = ["plan", "policy"].map((c) => `${c} ${TARGET_STACKS.map((s) => `--stack ${s}`).join(" ")}`);
    const totalBefore = sum(before, singles);
    const totalSingles = sum(after, singles);
    const totalAfter = sum(after, together)!;
    lines.push(
        "",
        `Plan and policy of ${TARGET_STACKS.join(", ")} (target: within ${TARGET_S} s in total on this machine):`,
        "",
        "| | Wall (CPU) |",
        "|---|---:|",
        `| before: one command per stack and check, 6 commands (as CI and .ci/run ran them) | ${seconds(totalBefore)} |`,
        `| after, still one command per stack and check | ${seconds(totalSingles)} |`,
        `| after: \`plan\` and \`policy\` with the three stacks each, 2 commands | ${seconds(totalAfter)} |`,
        "",
        `Target ${totalAfter.wall <= TARGET_S ? "met" : "NOT met"}: ${totalAfter.wall.toFixed(2)} s against ${TARGET_S} s.`,
        "",
        `The first command after a change to the sources first compiles them into build/ (\`tsc\` with the type check): ${compile.toFixed(1)} s, measured once in a copy of the project.`,
        "",
    );
    const text = lines.join("\n");
    process.stdout.write(text);
    if (write) {
        const out = path.join(__dirname, "results", "offline.md");
        fs.writeFileSync(out, text);
        process.stderr.write(`wrote ${out}\n`);
    }
    return 0;
}

process.exitCode = main(process.argv.slice(2));
