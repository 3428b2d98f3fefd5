import { Command } from "commander";
import { analyze } from "../analysis/analyze";
import { ANALYSIS_DEFAULTS, OptionNames, REPORTERS, validateAnalysisOptions } from "../analysis/options";
import { AnalysisOptions, AnalysisResult, Verdict, VersionStats } from "../analysis/types";
import { CliIO, Subcommand, examples, parseFlags } from "./args";
import { EXIT } from "./exit-codes";

/**
 * `istio-canary analyze --prometheus <url> --service <fqdn> --baseline <version> --canary <version>
 * [--window <duration>] [--max-error-rate <ratio>] [--max-p99-ms <ms>] [--min-requests <n>]
 * [--reporter <r>] [--alpha <p>] [--beta <p>] [--error-margin <ratio>] [--latency-margin <fraction>]
 * [--timeout-ms <ms>] [--expected-canary-share <ratio>] [--freshness-window <duration>] [--json]`
 *
 * One analysis of a canary against its baseline on Prometheus. Exit code: 0 pass, 1 fail,
 * 3 inconclusive (also when Prometheus cannot be asked), 2 bad usage or bad input.
 */

/** Exit code of each verdict. */
export const VERDICT_EXIT_CODES: Readonly<Record<Verdict, number>> = { pass: EXIT.ok, fail: EXIT.failed, inconclusive: EXIT.incomplete };

/** Flag of each option, for error messages. */
const FLAGS: OptionNames = {
    prometheusUrl: "--prometheus",
    service: "--service",
    baseline: "--baseline",
    canary: "--canary",
    window: "--window",
    maxErrorRate: "--max-error-rate",
    maxP99Ms: "--max-p99-ms",
    minRequests: "--min-requests",
    reporter: "--reporter",
    alpha: "--alpha",
    beta: "--beta",
    errorRateMargin: "--error-margin",
    latencyMargin: "--latency-margin",
    timeoutMs: "--timeout-ms",
    expectedCanaryShare: "--expected-canary-share",
    freshnessWindow: "--freshness-window",
    perVersionServices: "--per-version-services",
};

interface RawFlags {
    prometheus: string;
    service: string;
    baseline: string;
    canary: string;
    window?: string;
    maxErrorRate?: string;
    maxP99Ms?: string;
    minRequests?: string;
    reporter?: string;
    alpha?: string;
    beta?: string;
    errorMargin?: string;
    latencyMargin?: string;
    timeoutMs?: string;
    expectedCanaryShare?: string;
    freshnessWindow?: string;
    perVersionServices?: boolean;
    json?: boolean;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A numeric flag value as a number, or the raw text when it is not a number, so that validation
 * reports it as given ("--alpha: "abc" is not allowed; expected ...").
 */
function numeric(raw: string | undefined): number | undefined {
    if (raw === undefined) return undefined;
    return NUMBER.test(raw.trim()) ? Number(raw) : (raw as unknown as number);
}

/** The analysis options from the flags (unvalidated). */
function toOptions(f: RawFlags): AnalysisOptions {
    return {
        prometheusUrl: f.prometheus,
        service: f.service,
        baseline: f.baseline,
        canary: f.canary,
        window: f.window,
        maxErrorRate: numeric(f.maxErrorRate),
        maxP99Ms: numeric(f.maxP99Ms),
        minRequests: numeric(f.minRequests),
        reporter: f.reporter,
        alpha: numeric(f.alpha),
        beta: numeric(f.beta),
        errorRateMargin: numeric(f.errorMargin),
        latencyMargin: numeric(f.latencyMargin),
        timeoutMs: numeric(f.timeoutMs),
        expectedCanaryShare: numeric(f.expectedCanaryShare),
        freshnessWindow: f.freshnessWindow,
        ...(f.perVersionServices === true ? { perVersionServices: true } : {}),
    };
}

const pct = (x: number | null): string => (x === null ? "n/a" : `${(x * 100).toFixed(2)}%`);
const msCell = (x: number | null): string => (x === null ? "n/a" : `${x.toFixed(1)} ms`);
/** The table row of one version. */
const versionRow = (role: string, v: VersionStats): string[] => [
    role,
    JSON.stringify(v.version),
    String(v.requests),
    String(v.errors),
    pct(v.errorRate),
    msCell(v.p50Ms),
    msCell(v.p99Ms),
];

/** The human-readable report of a result. */
export function formatResult(r: AnalysisResult): string {
    const lines: string[] = [];
    lines.push(`Canary analysis of ${r.service} over ${r.window} (reporter ${r.reporter}, ${r.prometheusUrl}, evaluated ${r.evaluatedAt})`);
    lines.push(`verdict: ${r.verdict.toUpperCase()}`);
    lines.push("");
    const rows = [
        ["", "version", "requests", "5xx", "5xx ratio", "p50", "p99"],
        versionRow("canary", r.canary),
        versionRow("baseline", r.baseline),
    ];
    const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
    for (const row of rows) lines.push("  " + row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  "));
    lines.push("", "reasons:");
    for (const reason of r.reasons) lines.push(`  - ${reason}`);
    if (r.statistics.tests.length > 0) {
        lines.push(
            "",
            "sequential tests (e-value against 1/level; a fail test rejecting rolls back, pass tests must all reject to promote):",
        );
        for (const t of r.statistics.tests) {
            const e = Number.isFinite(t.eValue) ? t.eValue.toPrecision(3) : `e^${t.logEValue.toFixed(0)}`;
            lines.push(
                `  ${t.name.padEnd(20)} ${t.purpose.padEnd(4)}  e=${e.padEnd(9)} threshold ${t.threshold.toPrecision(3).padEnd(6)} ${t.rejected ? "REJECTED" : "not rejected"}  (${t.successes}/${t.trials} vs ${t.nullProbability.toPrecision(3)})`,
            );
        }
    }
    const th = r.thresholds;
    lines.push(
        "",
        `limits: max-error-rate ${pct(th.maxErrorRate)}, max-p99-ms ${th.maxP99Ms}, min-requests ${th.minRequests}; ` +
            `alpha ${th.alpha} (false rollback), beta ${th.beta} (missed regression), error margin ${pct(th.errorRateMargin)}, latency margin ${Number((th.latencyMargin * 100).toPrecision(12))}%`,
    );
    return lines.join("\n") + "\n";
}

/** Runs the command; returns the exit code. */
export async function runAnalyze(argv: string[], io: Pick<CliIO, "out" | "err">): Promise<number> {
    const { out, err } = io;
    const cmd = new Command("analyze")
        .description("Judge a canary against its baseline on Prometheus (Istio standard metrics) with anytime-valid sequential tests.")
        .requiredOption("--prometheus <url>", "Prometheus base URL, e.g. http://prometheus.istio-system:9090")
        .requiredOption("--service <fqdn>", "destination_service, e.g. reviews.default.svc.cluster.local")
        .requiredOption("--baseline <version>", "destination_version of the stable version, e.g. v1")
        .requiredOption("--canary <version>", "destination_version of the canary, e.g. v2")
        .option(
            "--window <duration>",
            `PromQL duration the counts cover (default ${ANALYSIS_DEFAULTS.window}); pass the time since the traffic shift`,
        )
        .option("--max-error-rate <ratio>", `absolute limit on the canary 5xx ratio (default ${ANALYSIS_DEFAULTS.maxErrorRate})`)
        .option("--max-p99-ms <ms>", `absolute limit on the canary p99 latency (default ${ANALYSIS_DEFAULTS.maxP99Ms})`)
        .option("--min-requests <n>", `canary requests needed for any verdict but inconclusive (default ${ANALYSIS_DEFAULTS.minRequests})`)
        .option("--reporter <r>", `Istio reporter label: ${REPORTERS.join(", ")} (default ${ANALYSIS_DEFAULTS.reporter})`)
        .option("--alpha <p>", `false-rollback rate (default ${ANALYSIS_DEFAULTS.alpha})`)
        .option("--beta <p>", `missed-regression rate (default ${ANALYSIS_DEFAULTS.beta})`)
        .option(
            "--error-margin <ratio>",
            `5xx increase over the baseline that must not pass (default ${ANALYSIS_DEFAULTS.errorRateMargin})`,
        )
        .option("--latency-margin <fraction>", `latency slowdown that must not pass (default ${ANALYSIS_DEFAULTS.latencyMargin})`)
        .option(
            "--timeout-ms <ms>",
            `total deadline per Prometheus query, connection to last byte (default ${ANALYSIS_DEFAULTS.timeoutMs})`,
        )
        .option(
            "--expected-canary-share <ratio>",
            "canary weight / (canary + baseline weight) as applied, e.g. 0.1; a canary getting credibly less than half of it is never passed",
        )
        .option(
            "--freshness-window <duration>",
            `recent stretch of the window in which the canary must still get its share (default ${ANALYSIS_DEFAULTS.freshnessWindow}; at least two scrapes)`,
        )
        .option(
            "--per-version-services",
            "each version has a Service of its own, <name>-<version> beside --service (routing.api gateway-api)",
        )
        .option("--json", "print one JSON object instead of the report")
        .showHelpAfterError("(run with --help for the flags)")
        .addHelpText(
            "after",
            examples(
                [
                    "analyze --prometheus http://localhost:9090 --service myapp.default.svc.cluster.local --baseline v1 --canary v2",
                    "one verdict",
                ],
                ["analyze ... --window 5m --json", "over the last 5 minutes, as JSON"],
            ),
        )
        .configureOutput({ writeOut: out, writeErr: err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const flags = cmd.opts<RawFlags>();
    const options = toOptions(flags);
    const problems = validateAnalysisOptions(options, FLAGS);
    if (problems.length > 0) {
        for (const p of problems) err(`error: ${p}\n`);
        err("(run with --help for the flags)\n");
        return EXIT.usage;
    }
    const result = await analyze(options);
    out(flags.json === true ? JSON.stringify(result, null, 2) + "\n" : formatResult(result));
    return VERDICT_EXIT_CODES[result.verdict];
}

/** `istio-canary analyze`. */
export const analyzeCommand: Subcommand = {
    name: "analyze",
    summary: "judge a canary against its baseline on Prometheus: pass, fail or inconclusive",
    run: runAnalyze,
};
