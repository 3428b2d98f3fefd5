import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RolloutCliDeps, runRolloutCli } from "../../cli/rollout";
import { readVersions } from "../../stack/edit";
import { JudgeSettings } from "../../rollout/judge";
import { formatAnalysisLine, progressBar } from "../../rollout/render";
import { CanaryJudge, RolloutEvent } from "../../rollout/types";
import { ScriptedJudge, StackFileTarget, VirtualClock, always, configDirWith, devStackFile } from "./fakes";

const ROOT = path.join(__dirname, "..", "..");

interface Run {
    code: number;
    out: string;
    err: string;
    target: StackFileTarget;
    settings?: JudgeSettings;
}

async function run(
    argv: string[],
    dir: string,
    judge: CanaryJudge = always("pass"),
    setup: (t: StackFileTarget) => void = () => undefined,
): Promise<Run> {
    let out = "";
    let err = "";
    let target: StackFileTarget | undefined;
    let settings: JudgeSettings | undefined;
    const deps: RolloutCliDeps = {
        out: (s) => (out += s),
        err: (s) => (err += s),
        isTTY: false,
        cwd: dir,
        makeTarget: ({ stackFile }) => {
            target = new StackFileTarget(stackFile);
            setup(target);
            return target;
        },
        makeJudge: (s) => {
            settings = s;
            return judge;
        },
        clock: new VirtualClock(),
    };
    const code = await runRolloutCli([...argv, "--config-dir", dir], deps);
    return { code, out, err, target: target ?? new StackFileTarget(path.join(dir, "none")), settings };
}

describe("npm run rollout", () => {
    it("walks a healthy canary to 100%, one line per step with both versions' numbers, and leaves the stack file at 0/100 with its comments", async () => {
        const dir = configDirWith({ dev: devStackFile() });
        const r = await run(["--stack", "dev"], dir);
        assert.equal(r.code, 0, r.err);
        const lines = r.out.trimEnd().split("\n");
        const analysisLines = lines.filter((l) => l.includes("-> pass"));
        assert.equal(analysisLines.length, 3);
        assert.match(
            analysisLines[0],
            /^step 1\/4 {2}v1 90% \/ v2 10% {2}after 1s {2}v1: 1,080 req, 0\.09% 5xx, p99 45 ms \| v2: 120 req, 0\.00% 5xx, p99 47 ms {2}-> pass: promote$/,
        );
        assert.match(lines.at(-1)!, /^rollout complete: v2 gets 100% of traffic; v1 keeps running until --finalize removes it$/);
        assert.deepEqual(
            readVersions(path.join(dir, "Pulumi.dev.yaml")).map((v) => [v.name, v.weight]),
            [
                ["v1", 0],
                ["v2", 100],
            ],
        );
        const text = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
        assert.match(text, /^# dev: v1 is the baseline, v2 the canary$/m);
        assert.match(text, /- name: v2 # the canary/);
    });

    it("passes the app's service FQDN and the rollout config to the analysis", async () => {
        const dir = configDirWith({
            dev: devStackFile({
                rollout:
                    "steps: [50, 100]\nwaitSeconds: 5\nprometheusUrl: http://127.0.0.1:9091\nmaxErrorRate: 0.02\nmaxP99Ms: 300\nminRequests: 20",
            }),
        });
        const r = await run(["--stack", "dev"], dir);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(r.settings, {
            prometheusUrl: "http://127.0.0.1:9091",
            service: "myapp.default.svc.cluster.local",
            maxErrorRate: 0.02,
            maxP99Ms: 300,
            minRequests: 20,
            reporter: "destination",
            scrapeIntervalSeconds: 15,
            perVersionServices: false,
        });
    });

    it("tells the analysis when the stack has a sticky canary, so the weights are not taken for the canary's share", async () => {
        const dir = configDirWith({ dev: devStackFile() + "  istio-canary:routing:\n    stickyCanary: { enabled: true }\n" });
        const r = await run(["--stack", "dev"], dir);
        assert.equal(r.code, 0, r.err);
        assert.equal(r.settings?.stickyCanary, true);
    });

    it("prints one JSON event per line with --json", async () => {
        const dir = configDirWith({ dev: devStackFile() });
        const r = await run(["--stack", "dev", "--json"], dir, new ScriptedJudge((call) => (call === 0 ? "pass" : "fail")));
        assert.equal(r.code, 1);
        const events = r.out
            .trimEnd()
            .split("\n")
            .map((l) => JSON.parse(l) as RolloutEvent);
        assert.deepEqual(
            events.map((e) => e.type),
            // waitSeconds defaults to 0: each step is first analysed right after its shift, without a wait.
            ["start", "apply", "applied", "analysis", "apply", "applied", "analysis", "apply", "applied", "end"],
        );
        const failed = events[6];
        assert.ok(failed.type === "analysis");
        assert.equal(failed.verdict, "fail");
        assert.equal(failed.canary.errors, 12);
        const end = events.at(-1)!;
        assert.ok(end.type === "end");
        assert.equal(end.outcome, "rolled-back");
        assert.equal(end.exitCode, 1);
    });

    it("exits 3 when an apply fails and 0 after --resume completes it", async () => {
        const dir = configDirWith({ dev: devStackFile() });
        const failed = await run(["--stack", "dev"], dir, always("pass"), (t) => {
            t.failWhen = (call) => (call.weights?.v2 === 50 ? "pulumi up failed: admission webhook denied the request" : undefined);
        });
        assert.equal(failed.code, 3);
        assert.match(failed.out, /step 3\/4 {2}APPLY FAILED {2}v1 50% \/ v2 50%: pulumi up failed: admission webhook denied the request/);
        assert.ok(fs.existsSync(path.join(dir, ".rollout", "dev.json")), "state saved next to the config");
        const resumed = await run(["--stack", "dev", "--resume"], dir);
        assert.equal(resumed.code, 0, resumed.out);
        assert.deepEqual(
            resumed.target.calls.map((c) => c.weights?.v2),
            [50, 100],
        );
    });

    it("exits 4 for --finalize before the rollout completed, and 0 for --finalize after, removing the baseline from the stack file", async () => {
        const dir = configDirWith({ dev: devStackFile() });
        const early = await run(["--stack", "dev", "--finalize"], dir);
        assert.equal(early.code, 4);
        assert.match(early.out, /refused: cannot finalize: there is no rollout of stack dev/);
        assert.equal((await run(["--stack", "dev"], dir)).code, 0);
        const done = await run(["--stack", "dev", "--finalize"], dir);
        assert.equal(done.code, 0, done.out);
        assert.deepEqual(
            readVersions(path.join(dir, "Pulumi.dev.yaml")).map((v) => [v.name, v.weight]),
            [["v2", 100]],
        );
    });

    it("exits 0 for --abort and puts all traffic on the baseline in the stack file", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [50, 50] }) });
        const r = await run(["--stack", "dev", "--abort"], dir);
        assert.equal(r.code, 0, r.out);
        assert.deepEqual(
            readVersions(path.join(dir, "Pulumi.dev.yaml")).map((v) => v.weight),
            [100, 0],
        );
    });

    it("exits 4 and says why for a stack with more than two versions", async () => {
        const dir = configDirWith({ dev: devStackFile({ weights: [90, 10], extraVersion: true }) });
        const r = await run(["--stack", "dev"], dir);
        assert.equal(r.code, 4);
        assert.match(r.out, /stack dev has 3 versions \(v1, v2, v3\)/);
    });

    describe("bad usage and config exit 2 with a message and no stack trace", () => {
        const cases: [string, string[], RegExp, string?][] = [
            ["an unknown flag", ["--stack", "dev", "--bogus"], /unknown option '--bogus'/],
            ["no --stack", [], /required option '--stack <name>' not specified/],
            ["two modes", ["--stack", "dev", "--resume", "--abort"], /--resume and --abort cannot be combined/],
            ["a bad stack name", ["--stack", "de v"], /--stack "de v" is not a stack name/],
            ["an unknown stack", ["--stack", "qa"], /no stack file .*Pulumi\.qa\.yaml for stack "qa"; stacks here: dev/],
            ["invalid config", ["--stack", "dev"], /istio-canary:rollout.steps/, devStackFile({ rollout: "steps: [50, 25]" })],
        ];
        for (const [what, argv, message, file] of cases) {
            it(`for ${what}`, async () => {
                const dir = configDirWith({ dev: file ?? devStackFile() });
                const r = await run(argv, dir);
                assert.equal(r.code, 2);
                assert.match(r.err, message);
                assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
                assert.equal(r.target.calls.length, 0);
            });
        }
    });

    it("as a process exits 2 without a stack trace for bad flags", function () {
        this.timeout(30_000);
        const p = spawnSync(process.execPath, ["cli/istio-canary.js", "rollout", "--stack", "dev", "--resume", "--finalize"], {
            cwd: ROOT,
            encoding: "utf8",
        });
        assert.equal(p.status, 2, p.stderr);
        assert.match(p.stderr, /--resume and --finalize cannot be combined/);
        assert.doesNotMatch(p.stderr, /\n\s+at /);
    });

    it("as a process without the Pulumi CLI exits 4 before writing the state or the stack file", function () {
        this.timeout(60_000);
        const dir = configDirWith({ dev: devStackFile({ weights: [100, 0] }) });
        const before = fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8");
        const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "no-pulumi-"));
        const p = spawnSync(process.execPath, ["cli/istio-canary.js", "rollout", "--stack", "dev", "--config-dir", dir], {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...process.env, PATH: emptyBin },
        });
        assert.equal(p.status, 4, p.stderr);
        assert.equal(
            p.stdout,
            "refused: cannot run pulumi up for stack dev: the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)\n",
        );
        assert.equal(fs.existsSync(path.join(dir, ".rollout")), false, "no state directory");
        assert.equal(fs.readFileSync(path.join(dir, "Pulumi.dev.yaml"), "utf8"), before);
    });

    describe("rendering", () => {
        it("draws a progress bar proportional to the time waited", () => {
            assert.equal(progressBar(0, 10), "[----------]");
            assert.equal(progressBar(0.5, 10), "[#####-----]");
            assert.equal(progressBar(2, 10), "[##########]");
        });

        it("shows an inconclusive hold with its count and reason, and n/a for missing numbers", () => {
            const line = formatAnalysisLine(
                {
                    type: "analysis",
                    at: "",
                    stack: "dev",
                    step: 0,
                    weights: { v1: 90, v2: 10 },
                    sinceSeconds: 75,
                    verdict: "inconclusive",
                    baseline: { version: "v1", requests: 900, errors: 0, errorRate: 0, p99Ms: 12.4 },
                    canary: { version: "v2", requests: 0, errors: 0, errorRate: null, p99Ms: null },
                    reasons: ["canary has 0 requests"],
                    decision: "hold",
                    inconclusive: 2,
                    maxStepRequests: 10000,
                    maxStepSeconds: 14400,
                },
                4,
            );
            assert.equal(
                line,
                "step 1/4  v1 90% / v2 10%  after 75s  v1: 900 req, 0.00% 5xx, p99 12 ms | v2: 0 req, n/a 5xx, p99 n/a  -> inconclusive (0/10000 canary requests, 75/14400s tolerated): hold; canary has 0 requests",
            );
        });
    });
});
