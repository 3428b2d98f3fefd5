import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { AnalysisResult } from "../../analysis";

/**
 * The analyze command as a process: flag errors exit 2 with a message naming the flag, the value
 * and what is allowed, never a stack trace; a Prometheus that cannot be reached exits 3.
 * (Exit codes 0 and 1 against a real Prometheus are in prometheus-analysis.spec.ts.)
 */

const ROOT = path.resolve(__dirname, "..", "..");
const BASE = ["--prometheus", "http://127.0.0.1:1", "--service", "reviews.default.svc.cluster.local", "--baseline", "v1", "--canary", "v2"];

interface Run {
    status: number | null;
    stdout: string;
    stderr: string;
}

function runCli(args: string[]): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(ROOT, "cli", "istio-canary.js"), "analyze", ...args], {
            cwd: ROOT,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("error", reject);
        child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
}

const CASES = {
    missingService: ["--prometheus", "http://127.0.0.1:1", "--baseline", "v1", "--canary", "v2"],
    badNumbers: [...BASE, "--max-error-rate", "abc", "--window", "5x", "--min-requests", "2.5"],
    unknownFlag: [...BASE, "--max-eror-rate", "0.01"],
    badTrafficChecks: [...BASE, "--expected-canary-share", "1.5", "--freshness-window", "soon"],
    sameVersion: ["--prometheus", "http://127.0.0.1:1", "--service", "s", "--baseline", "v1", "--canary", "v1"],
    unreachable: [...BASE, "--timeout-ms", "2000", "--json"],
    unreachableReport: [...BASE, "--timeout-ms", "2000", "--latency-margin", "0.07", "--error-margin", "0.005"],
    help: ["--help"],
} as const;

describe("the analyze command's flags and exit codes", function () {
    const runs: Partial<Record<keyof typeof CASES, Run>> = {};
    const get = (k: keyof typeof CASES): Run => {
        const r = runs[k];
        if (r === undefined) throw new Error(`no run for ${k}`);
        return r;
    };

    before(async function () {
        this.timeout(60_000);
        // Start every process at once: each pays ts-node's start-up, so in parallel they take the time of one or two.
        const entries = await Promise.all(Object.entries(CASES).map(async ([k, args]) => [k, await runCli([...args])] as const));
        for (const [k, r] of entries) runs[k as keyof typeof CASES] = r;
    });

    const noStack = (r: Run): void => assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace in stderr: ${r.stderr}`);

    it("exits 2 and names a missing required flag", () => {
        const r = get("missingService");
        assert.equal(r.status, 2);
        assert.match(r.stderr, /required option '--service <fqdn>' not specified/);
        noStack(r);
    });

    it("exits 2 and names each bad flag, its value and what is allowed", () => {
        const r = get("badNumbers");
        assert.equal(r.status, 2);
        assert.match(r.stderr, /error: --window: "5x" is not allowed; expected a PromQL duration such as 30s, 1m, 95s or 1h30m/);
        assert.match(
            r.stderr,
            /error: --max-error-rate: "abc" is not allowed; expected a ratio greater than 0 and less than 1, e.g. 0.01 for 1%/,
        );
        assert.match(r.stderr, /error: --min-requests: 2.5 is not allowed; expected a whole number of requests >= 1, e.g. 50/);
        assert.equal(r.stdout, "");
        noStack(r);
    });

    it("exits 2 on a bad expected canary share or freshness window, naming the flag", () => {
        const r = get("badTrafficChecks");
        assert.equal(r.status, 2);
        assert.match(r.stderr, /error: --freshness-window: "soon" is not allowed; expected a PromQL duration/);
        assert.match(
            r.stderr,
            /error: --expected-canary-share: 1\.5 is not allowed; expected the canary's share of the weights of canary and baseline, greater than 0 and less than 1/,
        );
        noStack(r);
    });

    it("exits 2 on an unknown flag and suggests the right one", () => {
        const r = get("unknownFlag");
        assert.equal(r.status, 2);
        assert.match(r.stderr, /unknown option '--max-eror-rate'/);
        assert.match(r.stderr, /Did you mean --max-error-rate\?/);
        noStack(r);
    });

    it("exits 2 when canary and baseline are the same version", () => {
        const r = get("sameVersion");
        assert.equal(r.status, 2);
        assert.match(r.stderr, /--canary: "v1" is not allowed; the canary version must differ from the baseline version \(--baseline\)/);
        assert.equal(r.stdout, "");
        noStack(r);
    });

    it("exits 3 with an inconclusive JSON verdict when Prometheus cannot be reached", () => {
        const r = get("unreachable");
        assert.equal(r.status, 3, r.stderr);
        const json = JSON.parse(r.stdout) as AnalysisResult;
        assert.equal(json.verdict, "inconclusive");
        assert.equal(json.canary.requests, 0);
        assert.equal(json.canary.errorRate, null);
        assert.match(json.reasons[0], /connection refused/);
        noStack(r);
    });

    it("exits 3 with a report that names the failure and the limits as given when Prometheus cannot be reached", () => {
        const r = get("unreachableReport");
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stdout, /^verdict: INCONCLUSIVE$/m);
        assert.match(r.stdout, /^ {2}- Prometheus query for canary "v2" requests failed at http:\/\/127\.0\.0\.1:1: connection refused/m);
        assert.match(r.stdout, /, error margin 0\.50%, latency margin 7%\n$/);
        assert.equal(r.stderr, "");
    });

    it("exits 0 on --help and lists every flag", () => {
        const r = get("help");
        assert.equal(r.status, 0);
        for (const flag of [
            "--prometheus",
            "--service",
            "--baseline",
            "--canary",
            "--window",
            "--max-error-rate",
            "--max-p99-ms",
            "--min-requests",
            "--reporter",
            "--alpha",
            "--beta",
            "--error-margin",
            "--latency-margin",
            "--timeout-ms",
            "--expected-canary-share",
            "--freshness-window",
            "--json",
        ]) {
            assert.ok(r.stdout.includes(flag), `help lacks ${flag}`);
        }
    });
});
