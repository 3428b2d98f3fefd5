import * as assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { parse, stringify } from "yaml";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { readVersions } from "../../stack/edit";
import { RolloutState } from "../../rollout/state";
import { AnalysisEvent, ApplyEvent, AppliedEvent, EndEvent, RolloutEvent } from "../../rollout/types";
import { Weights } from "../../rollout/weights";
import { RunningPrometheus, startPrometheus } from "../../test/support/prometheus";
import { HEALTHY, TrafficSimulator, startTrafficSimulator } from "../simulator/traffic";
import { BIN, Cluster, ROOT, TOOLS, istioCrds, requireTools, startCluster, toolEnv } from "./support";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const compiled = require("../../cli/compiled.js") as { currentBuild(root: string): string | undefined };

/**
 * `istio-canary rollout` through the real Automation API adapter (rollout/automation.ts) on the real
 * Pulumi CLI and engine, the real Kubernetes provider and a real API server, judged by the real
 * analysis on a real Prometheus. Prometheus scrapes the traffic simulator (e2e/simulator/), which
 * reads the VirtualService's weights from the API server and splits its requests by them: only
 * Istio's data plane is simulated, so what Prometheus sees follows what `pulumi up` applied.
 *
 * The stack `e2e` is dev's config with istio.install and monitoring off (no chart repository is
 * reachable), v2 deployed at weight 0, short rollout steps, and rollout.prometheusUrl pointing at
 * this test's Prometheus; its folder holds a copy of Pulumi.yaml and Pulumi.e2e.yaml, which the CLI
 * reads and the rollout edits. Each rollout runs as its own process (`node cli/istio-canary.js
 * rollout`, or e2e/specs/rollout-process.ts without a language host, see OPEN), so that it can be
 * SIGKILLed during a `pulumi up`. What is asserted is what the API server holds.
 */

/**
 * How the adapter opens the stack: `project`, its default (LocalWorkspace on the repository, the
 * stack file by --config-file; the CLI runs the program through the Node.js language host), when
 * a pulumi-language-nodejs is built; else `inline` (e2e/specs/rollout-process.ts). E2E_ROLLOUT_OPEN
 * forces one.
 */
const OPEN: "project" | "inline" =
    (process.env.E2E_ROLLOUT_OPEN as "project" | "inline" | undefined) ??
    (fs.existsSync(path.join(BIN, "pulumi-language-nodejs")) ? "project" : "inline");
const APP = "myapp";
/** Where a CLI that ignored --config-file would put the e2e stack's file: the repository. */
const STRAY_STACK_FILE = path.join(ROOT, "Pulumi.e2e.yaml");
const SERVICE = `${APP}.default.svc.cluster.local`;
const ROLLOUT = {
    steps: [10, 25, 50, 100],
    waitSeconds: 3,
    analysisIntervalSeconds: 2,
    maxStepRequests: 20000,
    maxStepSeconds: 60,
    minRequests: 50,
};

/** One run of the rollout command. */
interface Run {
    code: number | null;
    signal: NodeJS.Signals | null;
    events: RolloutEvent[];
    stderr: string;
}

/** The median of some numbers. Pure. */
function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The live processes below `pid` (children, their children, ...), from /proc. */
function descendantsOf(pid: number): { pid: number; ppid: number; cmdline: string }[] {
    const all: { pid: number; ppid: number; cmdline: string }[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
            const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
            all.push({ pid: Number(entry), ppid, cmdline: fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ") });
        } catch {
            // gone meanwhile
        }
    }
    const below = new Set([pid]);
    for (let grew = true; grew;) {
        grew = false;
        for (const p of all) {
            if (below.has(p.ppid) && !below.has(p.pid)) {
                below.add(p.pid);
                grew = true;
            }
        }
    }
    return all.filter((p) => p.pid !== pid && below.has(p.pid));
}

const alive = (pid: number): boolean => {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

describe("e2e: istio-canary rollout through the real Automation API adapter and engine", function () {
    this.timeout(900_000);
    let cluster: Cluster | undefined;
    let sim: TrafficSimulator | undefined;
    let prom: RunningPrometheus | undefined;
    let tmp: string | undefined;
    let project = "";
    let env: NodeJS.ProcessEnv = {};
    let stack: Stack | undefined;
    /** Every process this spec started that may still run (rollouts, and the pulumi CLIs a killed rollout left). */
    const started = new Set<number>();
    const rollbackMs: number[] = [];
    const shiftToApiServerMs: number[] = [];
    const shiftUpMs: number[] = [];

    const stackFile = () => path.join(project, "Pulumi.e2e.yaml");
    const state = (): RolloutState => JSON.parse(fs.readFileSync(path.join(project, ".rollout", "e2e.json"), "utf8")) as RolloutState;
    const fileWeights = (): Weights => Object.fromEntries(readVersions(stackFile()).map((v) => [v.name, v.weight]));
    /** The weighted route of the VirtualService the API server holds. */
    const apiServerWeights = (): Weights => {
        assert.ok(cluster);
        const items = JSON.parse(cluster.kubectl(["get", "virtualservices.networking.istio.io", "-n", "default", "-o", "json"]).stdout)
            .items as { spec: { http: { route: { destination: { subset: string }; weight: number }[] }[] } }[];
        assert.equal(items.length, 1);
        return Object.fromEntries(items[0].spec.http.at(-1)!.route.map((d) => [d.destination.subset, d.weight]));
    };
    const deploymentNames = (): string[] => {
        assert.ok(cluster);
        const items = JSON.parse(cluster.kubectl(["get", "deployments", "-n", "default", "-o", "json"]).stdout).items as {
            metadata: { name: string };
        }[];
        return items.map((d) => d.metadata.name.replace(/-[0-9a-z]{8}$/, "")).sort();
    };

    /** Runs `rollout --stack e2e --json <flags>` as a child process; `onEvent` sees each event as it is printed. */
    function rollout(flags: string[], onEvent: (e: RolloutEvent, child: ChildProcess) => void = () => undefined): Promise<Run> {
        const command =
            OPEN === "project"
                ? [path.join(ROOT, "cli", "istio-canary.js")]
                : ["-r", "ts-node/register/transpile-only", path.join(ROOT, "e2e", "specs", "rollout-process.ts")];
        const began = Date.now();
        const child = spawn(process.execPath, [...command, "rollout", "--stack", "e2e", "--config-dir", project, "--json", ...flags], {
            cwd: ROOT,
            env,
            stdio: ["ignore", "pipe", "pipe"],
        });
        if (child.pid !== undefined) started.add(child.pid);
        const events: RolloutEvent[] = [];
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => {
            stdout += d;
            let nl: number;
            while ((nl = stdout.indexOf("\n")) >= 0) {
                const line = stdout.slice(0, nl);
                stdout = stdout.slice(nl + 1);
                if (line.trim() === "") continue;
                const event = JSON.parse(line) as RolloutEvent;
                events.push(event);
                onEvent(event, child);
            }
        });
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        return new Promise((resolve, reject) => {
            child.on("error", reject);
            child.on("close", (code, signal) => {
                if (child.pid !== undefined) started.delete(child.pid);
                process.stderr.write(`[e2e] rollout ${flags.join(" ")}: exit ${code ?? signal} after ${seconds(Date.now() - began)}\n`);
                resolve({ code, signal, events, stderr });
            });
        });
    }
    const end = (r: Run): EndEvent | undefined => r.events.find((e): e is EndEvent => e.type === "end");
    const describeRun = (r: Run): string => `exit ${r.code ?? r.signal}: ${end(r)?.message ?? ""}\n${r.stderr.slice(-3000)}`;

    before(async function () {
        if (!["project", "inline"].includes(OPEN)) {
            throw new Error(`E2E_ROLLOUT_OPEN is ${JSON.stringify(OPEN)}; it must be project or inline`);
        }
        requireTools([
            "pulumi",
            "pulumi-resource-kubernetes",
            "kube-apiserver",
            "kwok",
            "kubectl",
            "istioctl",
            ...(OPEN === "project" ? ["pulumi-language-nodejs"] : []),
        ]);
        process.stderr.write(
            OPEN === "project"
                ? "[e2e] the rollout opens the stack as it does by default: LocalWorkspace on the repository, run by pulumi-language-nodejs\n"
                : "[e2e] no pulumi-language-nodejs: the rollout opens the stack as an Automation API inline program (e2e/specs/rollout-process.ts)\n",
        );
        if (fs.existsSync(STRAY_STACK_FILE)) {
            throw new Error(`${STRAY_STACK_FILE} exists; this spec checks that the rollout writes none there: move it away first`);
        }
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-rollout-"));
        cluster = startCluster();
        cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: istioCrds() });
        cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
        cluster.kubectl(["create", "namespace", "istio-system"]);

        sim = await startTrafficSimulator({
            kubeconfig: cluster.kubeconfig,
            namespace: "default",
            virtualService: `${APP}-vs`,
            service: SERVICE,
        });
        prom = await startPrometheus({ targets: [sim.target], scrapeInterval: "1s" });

        // The state backend, a PULUMI_HOME of our own, and the analyzer shim: all under tmp.
        const backend = path.join(tmp, "state");
        const shims = path.join(tmp, "bin");
        for (const d of [backend, shims, path.join(tmp, "pulumi-home")]) fs.mkdirSync(d);
        // Without a Node.js language host the engine starts a policy pack through an analyzer plugin
        // named pulumi-analyzer-policy-nodejs on PATH: ours runs the pack as the language host would.
        // With the host, the engine runs the pack through it, and the shim is left out.
        if (OPEN === "inline")
            fs.writeFileSync(
                path.join(shims, "pulumi-analyzer-policy-nodejs"),
                `#!/bin/sh\nexec "${process.execPath}" "${path.join(ROOT, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack")}" "$@"\n`,
                { mode: 0o755 },
            );
        env = toolEnv({
            KUBECONFIG: cluster.kubeconfig,
            PULUMI_HOME: path.join(tmp, "pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_CONFIG_PASSPHRASE: "e2e-only",
            PULUMI_BACKEND_URL: `file://${backend}`,
        });
        env.PATH = `${shims}:${BIN}:${process.env.PATH ?? ""}`;

        // The stack's folder: Pulumi.yaml as committed, Pulumi.e2e.yaml from dev's.
        project = path.join(tmp, "project");
        fs.mkdirSync(project);
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        const dev = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
        const versions = (dev.config["istio-canary:versions"] as { name: string; weight: number }[]).map((v, i) => ({
            ...v,
            weight: i === 0 ? 100 : 0,
        }));
        const config = {
            ...dev.config,
            "istio-canary:versions": versions,
            "istio-canary:istio": { install: false },
            "istio-canary:monitoring": { enabled: false },
            "istio-canary:rollout": { ...ROLLOUT, prometheusUrl: prom.url },
        };
        fs.writeFileSync(stackFile(), stringify({ config }));

        const pulumi = await PulumiCommand.get({ root: TOOLS, skipVersionCheck: false });
        assert.match(pulumi.version?.toString() ?? "", /^3\.248\.0/);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index")) as () => Promise<Record<string, unknown>>;
        stack = await LocalWorkspace.createOrSelectStack(
            { stackName: "e2e", projectName: "istio-canary", program },
            { pulumiCommand: pulumi, envVars: env as Record<string, string>, workDir: project },
        );
        const tls = generateTlsMaterial(["dev.myapp.apsissolutions.com"]);
        await stack.setConfig("istio-canary:tlsCert", { value: tls.cert, secret: true });
        await stack.setConfig("istio-canary:tlsKey", { value: tls.key, secret: true });
        const up = await stack.up({ color: "never" });
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(apiServerWeights(), { v1: 100, v2: 0 });
        await sim.waitForWeights({ v1: 100, v2: 0 }, 0);
    });

    after(async function () {
        this.timeout(120_000);
        try {
            for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
            await sim?.stop();
            await prom?.stop();
        } finally {
            cluster?.stop();
            if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
        }
        if (rollbackMs.length > 0 || shiftToApiServerMs.length > 0) {
            process.stderr.write(
                `[e2e] on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load ${os
                    .loadavg()
                    .map((l) => l.toFixed(1))
                    .join(" ")}: ` +
                    `one weight shift (targeted pulumi up, apply to the API server holding it) median ${seconds(median(shiftToApiServerMs))} of ${shiftToApiServerMs.length} ` +
                    `[${shiftToApiServerMs.map(seconds).join(", ")}], the whole pulumi up median ${seconds(median(shiftUpMs))}; ` +
                    `rollback decision to the API server holding 100/0 median ${seconds(median(rollbackMs))} of ${rollbackMs.length} [${rollbackMs.map(seconds).join(", ")}]\n`,
            );
        }
    });

    afterEach(() => {
        // The stack file is the --config-dir's; nothing may appear in the repository.
        assert.equal(fs.existsSync(STRAY_STACK_FILE), false, `the rollout wrote ${STRAY_STACK_FILE}`);
    });

    /** Runs a rollout of a failing canary and checks it ends rolled back with 100/0 on the API server; records the latency. */
    async function rolledBack(behaviour: Parameters<TrafficSimulator["behave"]>[1]) {
        assert.ok(sim);
        sim.behave("v2", behaviour);
        const r = await rollout([]);
        assert.equal(r.code, 1, describeRun(r));
        assert.equal(end(r)?.outcome, "rolled-back");
        const decision = r.events.find((e): e is AnalysisEvent => e.type === "analysis" && e.decision === "rollback");
        assert.ok(decision, describeRun(r));
        assert.equal(decision.verdict, "fail");
        const decidedAt = Date.parse(decision.at);
        const heldAt = await sim.waitForWeights({ v1: 100, v2: 0 }, decidedAt);
        rollbackMs.push(heldAt - decidedAt);
        assert.deepEqual(apiServerWeights(), { v1: 100, v2: 0 });
        assert.deepEqual(fileWeights(), { v1: 100, v2: 0 });
        assert.equal(state().status, "rolled-back");
        assert.deepEqual(state().applied, { v1: 100, v2: 0 });
        return decision;
    }

    it("rolls back a canary answering 30% 5xx at its first step; the API server holds 100/0", async () => {
        for (let i = 0; i < 2; i++) {
            const decision = await rolledBack({ errorRate: 0.3 });
            assert.deepEqual(decision.weights, { v1: 90, v2: 10 });
            assert.ok(decision.canary.errorRate !== null && decision.canary.errorRate > 0.2, JSON.stringify(decision.canary));
        }
    });

    it("rolls back a canary 40x slower than the baseline; the API server holds 100/0", async () => {
        const decision = await rolledBack({ latencyMs: 400 });
        assert.ok(decision.canary.p99Ms !== null && decision.canary.p99Ms > 200, JSON.stringify(decision.canary));
    });

    it("a rollout SIGKILLed during a real pulumi up resumes with --resume to a consistent end", async () => {
        assert.ok(sim);
        sim.behave("v2", HEALTHY);
        let killedDuring: string | undefined;
        const leftBehind: number[] = [];
        const first = await rollout([], (e, child) => {
            // The second shift (25%) is a targeted pulumi up: kill the rollout once the CLI runs it.
            if (e.type !== "apply" || e.step !== 1 || child.pid === undefined) return;
            const pid = child.pid;
            void (async () => {
                for (let i = 0; i < 200 && killedDuring === undefined; i++) {
                    const up = descendantsOf(pid).find((c) => c.ppid === pid && /pulumi/.test(c.cmdline) && / up /.test(c.cmdline));
                    if (up !== undefined) {
                        await sleep(300);
                        killedDuring = up.cmdline;
                        // The CLI and everything it started (provider, policy pack, language host, program).
                        for (const c of descendantsOf(pid)) {
                            leftBehind.push(c.pid);
                            started.add(c.pid);
                        }
                        process.kill(pid, "SIGKILL");
                        return;
                    }
                    await sleep(25);
                }
            })();
        });
        assert.equal(first.signal, "SIGKILL", describeRun(first));
        assert.ok(killedDuring, "the rollout was not killed during a pulumi up");
        assert.match(killedDuring, /--target/);
        assert.ok(!first.events.some((e) => e.type === "applied" && e.step === 1), "the 25% shift completed before the kill");
        // What the killed rollout had started ends by itself.
        for (let i = 0; i < 600 && leftBehind.some(alive); i++) await sleep(100);
        assert.deepEqual(leftBehind.filter(alive), [], "processes of the killed rollout still run after 60 s");
        const killed = state();
        assert.equal(killed.status, "in-progress");
        assert.equal(killed.pending?.kind, "shift");
        assert.deepEqual(killed.pending?.weights, { v1: 75, v2: 25 });
        assert.deepEqual(fileWeights(), { v1: 75, v2: 25 });
        const liveAfterKill = apiServerWeights();
        assert.ok(
            [JSON.stringify({ v1: 90, v2: 10 }), JSON.stringify({ v1: 75, v2: 25 })].includes(JSON.stringify(liveAfterKill)),
            JSON.stringify(liveAfterKill),
        );

        // The killed CLI died holding the stack's lock in the state backend: --resume stops (exit 3)
        // before changing anything and names the way out; `pulumi cancel` removes the lock.
        const blocked = await rollout(["--resume"]);
        assert.equal(blocked.code, 3, describeRun(blocked));
        assert.match(
            end(blocked)?.message ?? "",
            /another update of this stack is in progress; wait for it, or run `pulumi cancel` if it is dead/,
        );
        assert.deepEqual(state().pending?.weights, { v1: 75, v2: 25 });
        assert.deepEqual(apiServerWeights(), liveAfterKill);
        assert.ok(stack);
        await stack.cancel();

        const resumed = await rollout(["--resume"]);
        assert.equal(resumed.code, 0, describeRun(resumed));
        assert.equal(end(resumed)?.outcome, "completed");
        const done = state();
        assert.equal(done.status, "completed");
        assert.deepEqual(done.applied, { v1: 0, v2: 100 });
        assert.deepEqual(fileWeights(), { v1: 0, v2: 100 });
        assert.deepEqual(apiServerWeights(), { v1: 0, v2: 100 });
        // Each step below 100 was promoted by a passing analysis of its own split; 100 needs none.
        assert.deepEqual(
            done.steps.map((s) => [s.canaryWeight, s.decision?.decision, s.analyses.at(-1)?.verdict]),
            [
                [10, "promote", "pass"],
                [25, "promote", "pass"],
                [50, "promote", "pass"],
                [100, undefined, undefined],
            ],
        );
    });

    it("--abort sends all traffic back to the baseline after a completed rollout; the API server holds 100/0", async () => {
        const r = await rollout(["--abort"]);
        assert.equal(r.code, 0, describeRun(r));
        assert.equal(end(r)?.outcome, "aborted");
        assert.deepEqual(apiServerWeights(), { v1: 100, v2: 0 });
        assert.deepEqual(fileWeights(), { v1: 100, v2: 0 });
    });

    it("walks a healthy canary 10 -> 25 -> 50 -> 100 and the API server holds each split in turn", async () => {
        assert.ok(sim);
        sim.behave("v2", HEALTHY);
        const since = Date.now();
        // The policy pack each pulumi up starts: where its run-policy-pack process runs.
        const packDirs = new Set<string>();
        let watching: ReturnType<typeof setInterval> | undefined;
        const r = await rollout([], (_e, child) => {
            if (watching !== undefined || child.pid === undefined) return;
            const pid = child.pid;
            watching = setInterval(() => {
                for (const c of descendantsOf(pid).filter((p) => /run-policy-pack/.test(p.cmdline))) {
                    try {
                        packDirs.add(fs.readlinkSync(`/proc/${c.pid}/cwd`));
                    } catch {
                        // gone meanwhile
                    }
                }
            }, 100);
        });
        clearInterval(watching);
        assert.equal(r.code, 0, describeRun(r));
        assert.equal(end(r)?.outcome, "completed");
        // The bin runs compiled, so every up runs the pack compiled into the same tree (no ts-node type-check).
        const tree = compiled.currentBuild(ROOT);
        assert.ok(tree !== undefined, "no compiled tree matches the sources");
        assert.deepEqual([...packDirs], [OPEN === "project" ? path.join(tree, "policies") : path.join(ROOT, "policies")]);
        const seen = sim
            .timeline()
            .filter((o) => o.at >= since)
            .map((o) => o.weights);
        assert.deepEqual(seen, [
            { v1: 90, v2: 10 },
            { v1: 75, v2: 25 },
            { v1: 50, v2: 50 },
            { v1: 0, v2: 100 },
        ]);
        assert.deepEqual(apiServerWeights(), { v1: 0, v2: 100 });
        assert.deepEqual(fileWeights(), { v1: 0, v2: 100 });
        assert.equal(state().status, "completed");
        assert.ok(stack);
        // The shifts after the first are targeted at the VirtualService; the stack output follows them all the same.
        assert.deepEqual((await stack.outputs()).weights?.value, { v1: 0, v2: 100 });
        // What Prometheus saw followed the split: the canary's share of each step's requests is its weight.
        const passes = r.events.filter((e): e is AnalysisEvent => e.type === "analysis" && e.decision === "promote");
        assert.deepEqual(
            passes.map((a) => a.weights.v2),
            [10, 25, 50],
        );
        for (const a of passes) {
            const share = a.canary.requests / (a.canary.requests + a.baseline.requests);
            assert.ok(Math.abs(share - a.weights.v2 / 100) < 0.03, `step at ${a.weights.v2}%: canary share ${share}`);
        }
        // The shifts after the first are targeted ups of the VirtualService: their time to the API server.
        for (const apply of r.events.filter((e): e is ApplyEvent => e.type === "apply" && e.action === "shift" && (e.step ?? 0) > 0)) {
            const applied = r.events.find((e): e is AppliedEvent => e.type === "applied" && e.step === apply.step);
            assert.ok(applied && apply.weights);
            const startedAt = Date.parse(apply.at);
            shiftToApiServerMs.push((await sim.waitForWeights(apply.weights, startedAt)) - startedAt);
            shiftUpMs.push(applied.durationMs);
        }
        assert.equal(shiftToApiServerMs.length, 3);
    });

    it("--finalize deletes v1's Deployment from the API server and routes everything to v2", async () => {
        assert.deepEqual(deploymentNames(), ["myapp-v1", "myapp-v2"]);
        const r = await rollout(["--finalize"]);
        assert.equal(r.code, 0, describeRun(r));
        assert.equal(end(r)?.outcome, "finalized");
        assert.deepEqual(deploymentNames(), ["myapp-v2"]);
        assert.deepEqual(apiServerWeights(), { v2: 100 });
        assert.deepEqual(
            readVersions(stackFile()).map((v) => [v.name, v.weight]),
            [["v2", 100]],
        );
    });
});
