import { versionServiceName } from "../components/facts";
import { AnalysisOptions, AnalysisThresholds } from "./types";

/** Defaults of every optional {@link AnalysisOptions} field (see each field for why). */
export const ANALYSIS_DEFAULTS = {
    window: "1m",
    maxErrorRate: 0.01,
    maxP99Ms: 200,
    minRequests: 50,
    reporter: "destination",
    // 2%: a false rollback costs a release, so the guarantee is kept tight. With 5% the benchmark showed
    // 0.65% false rollbacks on a healthy canary against 0.33% for a Flagger-style rule; with 2%, 0.22%
    // (bench/results/analysis.md), while still rolling back faster than that rule in every scenario.
    alpha: 0.02,
    beta: 0.2,
    timeoutMs: 10_000,
    errorRateMargin: 0.01,
    latencyMargin: 0.25,
    // Two scrapes at Istio's usual 15 s interval: increase() needs two samples in the range.
    freshnessWindow: "30s",
    scrapeIntervalSeconds: 15,
} as const;

/** The per-version Service FQDN of `service` (`<name>.<rest>`) for a version: `<name>-<version>.<rest>`. */
export function versionService(service: string, version: string): string {
    const dot = service.indexOf(".");
    return dot < 0 ? versionServiceName(service, version) : `${versionServiceName(service.slice(0, dot), version)}${service.slice(dot)}`;
}

/** Istio `reporter` label values. */
export const REPORTERS: readonly string[] = ["destination", "source", "waypoint"];

/** Longest accepted label value (a DNS name's limit; Kubernetes label values are at most 63). */
const MAX_LABEL_LENGTH = 253;
/** Longest accepted window: 30 days. */
export const MAX_WINDOW_SECONDS = 30 * 24 * 3600;

/** Options with every default applied. */
export interface ResolvedAnalysisOptions extends AnalysisThresholds {
    /** See {@link AnalysisOptions.prometheusUrl}. */
    prometheusUrl: string;
    /** See {@link AnalysisOptions.service}. */
    service: string;
    /** See {@link AnalysisOptions.baseline}. */
    baseline: string;
    /** See {@link AnalysisOptions.canary}. */
    canary: string;
    /** See {@link AnalysisOptions.window}. */
    window: string;
    /** The window in seconds. */
    windowSeconds: number;
    /** See {@link AnalysisOptions.reporter}. */
    reporter: string;
    /** See {@link AnalysisOptions.timeoutMs}. */
    timeoutMs: number;
    /** See {@link AnalysisOptions.time}. */
    time: Date;
    /** See {@link AnalysisOptions.expectedCanaryShare}; null when not given. */
    expectedCanaryShare: number | null;
    /** See {@link AnalysisOptions.freshnessWindow}. */
    freshnessWindow: string;
    /** `destination_service` of the baseline's requests: `service`, or its per-version Service. */
    baselineService: string;
    /** `destination_service` of the canary's requests. */
    canaryService: string;
    /** The freshness window in seconds. */
    freshnessSeconds: number;
    /** See {@link AnalysisOptions.scrapeIntervalSeconds}. */
    scrapeIntervalSeconds: number;
}

/** Display names for option keys in error messages, e.g. CLI flag names; default the key itself. */
export type OptionNames = Partial<Record<keyof AnalysisOptions, string>>;

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_SECONDS = [365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001];

/**
 * Parses a PromQL duration ("1m", "95s", "1h30m", "500ms") into seconds, as Prometheus does (units
 * in descending order, each at most once, integers only).
 *
 * @returns the seconds, or undefined when `text` is not a PromQL duration.
 */
export function parsePromDuration(text: string): number | undefined {
    if (text === "") return undefined;
    const m = DURATION.exec(text);
    if (m === null) return undefined;
    let seconds = 0;
    for (let i = 1; i < m.length; i++) {
        if (m[i] !== undefined) seconds += Number(m[i]) * UNIT_SECONDS[i - 1];
    }
    return seconds;
}

/** Renders a value for an error message: strings quoted (JSON style, so control characters show), others as is. */
function show(v: unknown): string {
    return typeof v === "string" ? JSON.stringify(v) : v instanceof Date ? v.toString() : String(v);
}

/** A problem with a label value (service or version), or undefined. */
function labelProblem(v: unknown): string | undefined {
    if (typeof v !== "string") return "must be a string";
    if (v.length === 0) return "must not be empty";
    if (v.length > MAX_LABEL_LENGTH) return `must be at most ${MAX_LABEL_LENGTH} characters (got ${v.length})`;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) return "must not contain control characters (newline, tab, ...)";
    return undefined;
}

/**
 * Checks analysis options before anything is queried. Every message names the option (or the
 * display name given in `names`, e.g. a CLI flag), the bad value and what is allowed.
 *
 * @returns the problems, empty when the options are valid.
 */
export function validateAnalysisOptions(o: AnalysisOptions, names: OptionNames = {}): string[] {
    const errors: string[] = [];
    const name = (k: keyof AnalysisOptions): string => names[k] ?? k;
    const bad = (k: keyof AnalysisOptions, v: unknown, allowed: string): void => {
        errors.push(`${name(k)}: ${show(v)} is not allowed; ${allowed}`);
    };

    if (typeof o.prometheusUrl !== "string" || o.prometheusUrl === "") {
        bad("prometheusUrl", o.prometheusUrl, "expected the Prometheus base URL, e.g. http://prometheus.istio-system:9090");
    } else {
        let url: URL | undefined;
        try {
            url = new URL(o.prometheusUrl);
        } catch {
            url = undefined;
        }
        if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.hostname === "") {
            bad(
                "prometheusUrl",
                o.prometheusUrl,
                "expected an http:// or https:// URL with a host, e.g. http://prometheus.istio-system:9090",
            );
        } else if (url.search !== "" || url.hash !== "") {
            bad(
                "prometheusUrl",
                o.prometheusUrl,
                "expected a base URL without ?query or #fragment, e.g. http://prometheus:9090/prometheus",
            );
        }
    }
    for (const k of ["service", "baseline", "canary"] as const) {
        const problem = labelProblem(o[k]);
        if (problem !== undefined)
            bad(k, o[k], `the ${k === "service" ? "destination_service" : "destination_version"} label value ${problem}`);
    }
    if (typeof o.baseline === "string" && o.baseline !== "" && o.baseline === o.canary) {
        errors.push(
            `${name("canary")}: ${show(o.canary)} is not allowed; the canary version must differ from the baseline version (${name("baseline")})`,
        );
    }
    for (const k of ["window", "freshnessWindow"] as const) {
        const v = o[k];
        if (v === undefined) continue;
        const seconds = typeof v === "string" ? parsePromDuration(v) : undefined;
        if (seconds === undefined) {
            bad(k, v, "expected a PromQL duration such as 30s, 1m, 95s or 1h30m (integers, units ms s m h d w y)");
        } else if (seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
            bad(k, v, "expected a duration from 1s to 30d");
        }
    }
    if (
        o.expectedCanaryShare !== undefined &&
        !(typeof o.expectedCanaryShare === "number" && o.expectedCanaryShare > 0 && o.expectedCanaryShare < 1)
    ) {
        bad(
            "expectedCanaryShare",
            o.expectedCanaryShare,
            "expected the canary's share of the weights of canary and baseline, greater than 0 and less than 1, e.g. 0.1 for 10/90",
        );
    }
    const ratio = (k: "maxErrorRate" | "errorRateMargin", example: string): void => {
        const v = o[k];
        if (v !== undefined && !(typeof v === "number" && v > 0 && v < 1))
            bad(k, v, `expected a ratio greater than 0 and less than 1, e.g. ${example}`);
    };
    ratio("maxErrorRate", "0.01 for 1%");
    ratio("errorRateMargin", "0.01 for one percentage point");
    if (o.maxP99Ms !== undefined && !(typeof o.maxP99Ms === "number" && Number.isFinite(o.maxP99Ms) && o.maxP99Ms > 0)) {
        bad("maxP99Ms", o.maxP99Ms, "expected a latency in milliseconds greater than 0, e.g. 200");
    }
    if (o.minRequests !== undefined && !(typeof o.minRequests === "number" && Number.isInteger(o.minRequests) && o.minRequests >= 1)) {
        bad("minRequests", o.minRequests, "expected a whole number of requests >= 1, e.g. 50");
    }
    if (o.reporter !== undefined && !(typeof o.reporter === "string" && REPORTERS.includes(o.reporter))) {
        bad("reporter", o.reporter, `expected one of ${REPORTERS.join(", ")}`);
    }
    for (const k of ["alpha", "beta"] as const) {
        const v = o[k];
        if (v !== undefined && !(typeof v === "number" && v > 0 && v <= 0.5)) {
            bad(k, v, `expected a probability greater than 0 and at most 0.5, e.g. ${ANALYSIS_DEFAULTS[k]}`);
        }
    }
    if (o.perVersionServices !== undefined && typeof o.perVersionServices !== "boolean") {
        bad("perVersionServices", o.perVersionServices, "expected true or false");
    }
    if (
        o.timeoutMs !== undefined &&
        !(typeof o.timeoutMs === "number" && Number.isInteger(o.timeoutMs) && o.timeoutMs >= 1 && o.timeoutMs <= 600_000)
    ) {
        bad("timeoutMs", o.timeoutMs, "expected whole milliseconds from 1 to 600000, e.g. 10000");
    }
    if (o.latencyMargin !== undefined && !(typeof o.latencyMargin === "number" && o.latencyMargin > 0 && o.latencyMargin <= 10)) {
        bad("latencyMargin", o.latencyMargin, "expected a slowdown fraction greater than 0 and at most 10, e.g. 0.25 for 25% slower");
    }
    if (
        o.scrapeIntervalSeconds !== undefined &&
        !(
            typeof o.scrapeIntervalSeconds === "number" &&
            Number.isInteger(o.scrapeIntervalSeconds) &&
            o.scrapeIntervalSeconds >= 1 &&
            o.scrapeIntervalSeconds <= 3600
        )
    ) {
        bad("scrapeIntervalSeconds", o.scrapeIntervalSeconds, "expected whole seconds from 1 to 3600, e.g. 15");
    }
    if (o.time !== undefined && !(o.time instanceof Date && Number.isFinite(o.time.getTime()))) {
        bad("time", o.time, "expected a valid Date");
    }
    return errors;
}

/** Thrown by {@link resolveAnalysisOptions} (and so by analyze) for invalid options: bad input, not a Prometheus problem. */
export class InvalidAnalysisOptionsError extends Error {
    /** Each problem, as returned by validateAnalysisOptions. */
    readonly problems: string[];

    constructor(problems: string[]) {
        super(`invalid analysis options: ${problems.join("; ")}`);
        this.name = "InvalidAnalysisOptionsError";
        this.problems = problems;
    }
}

/**
 * Validates options and applies the defaults.
 *
 * @throws InvalidAnalysisOptionsError listing every problem when the options are invalid.
 */
export function resolveAnalysisOptions(o: AnalysisOptions): ResolvedAnalysisOptions {
    const problems = validateAnalysisOptions(o);
    if (problems.length > 0) throw new InvalidAnalysisOptionsError(problems);
    const window = o.window ?? ANALYSIS_DEFAULTS.window;
    const freshnessWindow = o.freshnessWindow ?? ANALYSIS_DEFAULTS.freshnessWindow;
    return {
        prometheusUrl: o.prometheusUrl,
        service: o.service,
        baseline: o.baseline,
        canary: o.canary,
        window,
        windowSeconds: parsePromDuration(window) ?? 60,
        maxErrorRate: o.maxErrorRate ?? ANALYSIS_DEFAULTS.maxErrorRate,
        maxP99Ms: o.maxP99Ms ?? ANALYSIS_DEFAULTS.maxP99Ms,
        minRequests: o.minRequests ?? ANALYSIS_DEFAULTS.minRequests,
        reporter: o.reporter ?? ANALYSIS_DEFAULTS.reporter,
        alpha: o.alpha ?? ANALYSIS_DEFAULTS.alpha,
        beta: o.beta ?? ANALYSIS_DEFAULTS.beta,
        timeoutMs: o.timeoutMs ?? ANALYSIS_DEFAULTS.timeoutMs,
        errorRateMargin: o.errorRateMargin ?? ANALYSIS_DEFAULTS.errorRateMargin,
        latencyMargin: o.latencyMargin ?? ANALYSIS_DEFAULTS.latencyMargin,
        time: o.time ?? new Date(),
        expectedCanaryShare: o.expectedCanaryShare ?? null,
        freshnessWindow,
        baselineService: o.perVersionServices === true ? versionService(o.service, o.baseline) : o.service,
        canaryService: o.perVersionServices === true ? versionService(o.service, o.canary) : o.service,
        freshnessSeconds: parsePromDuration(freshnessWindow) ?? 30,
        scrapeIntervalSeconds: o.scrapeIntervalSeconds ?? ANALYSIS_DEFAULTS.scrapeIntervalSeconds,
    };
}
