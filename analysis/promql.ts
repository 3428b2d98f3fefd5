/**
 * The PromQL the analysis sends, built from Istio's standard metrics. Pure functions.
 */

/** Istio's request counter. */
export const REQUESTS_METRIC = "istio_requests_total";
/** Istio's request duration histogram, bucket series. */
export const DURATION_BUCKET_METRIC = "istio_request_duration_milliseconds_bucket";

/**
 * Escapes a string for use inside a double-quoted PromQL string literal, so that whatever it holds
 * stays one literal label value: backslash, double quote, newline, carriage return and tab get
 * backslash escapes, any other control character a \u escape (PromQL unquotes Go-style escapes).
 */
export function escapeLabelValue(value: string): string {
    let out = "";
    for (const ch of value) {
        const code = ch.codePointAt(0) ?? 0;
        if (ch === "\\") out += "\\\\";
        else if (ch === '"') out += '\\"';
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (code < 0x20 || code === 0x7f) out += "\\u" + code.toString(16).padStart(4, "0");
        else out += ch;
    }
    return out;
}

/** Which series of one version to select. */
export interface SeriesSelector {
    /** Istio `reporter` label. */
    reporter: string;
    /** Istio `destination_service` label. */
    service: string;
    /** Istio `destination_version` label. */
    version: string;
}

/** The label matchers selecting one version of one service, every value escaped. */
export function labelMatchers(s: SeriesSelector): string {
    return (
        `reporter="${escapeLabelValue(s.reporter)}",` +
        `destination_service="${escapeLabelValue(s.service)}",` +
        `destination_version="${escapeLabelValue(s.version)}"`
    );
}

/**
 * The exact counter delta of every series of `metric` over the last `window` (since the step's
 * shift), as PromQL that stays an instant vector: the value now minus the value at the window's
 * start (`offset`), a series absent then counting from 0 (`or m * 0`: Istio creates a series with
 * its first request); `increase()` only for a series with a counter reset in the window (a
 * restarted pod), where the plain difference would be wrong. Unlike `increase()` over the whole
 * window, it neither drops a new series' first sample (a canary's first 5xx) nor extrapolates.
 */
export function sinceWindow(metric: string, matchers: string, window: string): string {
    const m = `${metric}{${matchers}}`;
    return `((${m} - (${m} offset ${window} or ${m} * 0)) and (resets(${m}[${window}]) == 0) or increase(${m}[${window}]))`;
}

/** Requests of one version over the window (exact counter deltas), by response code (5xx are counted from the codes). */
export function requestsByCodeQuery(s: SeriesSelector, window: string): string {
    return `sum by (response_code) ${sinceWindow(REQUESTS_METRIC, labelMatchers(s), window)}`;
}

/**
 * A version's cumulative request counters by response code, for a range query at the scrape
 * interval: consecutive differences give its requests and 5xx per scrape interval (the variance
 * factor of errorDispersion).
 */
export function requestCountersQuery(s: SeriesSelector): string {
    return `sum by (response_code) (${REQUESTS_METRIC}{${labelMatchers(s)}})`;
}

/** All requests of one version over a window, one sample without labels (the freshness check). */
export function totalRequestsQuery(s: SeriesSelector, window: string): string {
    return `sum(increase(${REQUESTS_METRIC}{${labelMatchers(s)}}[${window}]))`;
}

/**
 * The callers' view of a service over the window: requests recorded by reporter="source" (the
 * ingress gateway, client sidecars), by destination_version and response code. It holds what the
 * destination reporter cannot: requests that reached no pod of a version (503 with
 * destination_version "unknown").
 */
export function sourceViewQuery(services: string | readonly string[], window: string): string {
    const list = [...new Set(typeof services === "string" ? [services] : services)];
    const matcher =
        list.length === 1
            ? `destination_service="${escapeLabelValue(list[0])}"`
            : `destination_service=~"${list.map((s) => escapeLabelValue(escapeRegex(s))).join("|")}"`;
    return `sum by (destination_version, response_code) (increase(${REQUESTS_METRIC}{reporter="source",${matcher}}[${window}]))`;
}

/** A literal string as a (RE2) regular expression. */
function escapeRegex(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Latency histogram buckets of one version over the window (exact counter deltas), by le. */
export function latencyBucketsQuery(s: SeriesSelector, window: string): string {
    return `sum by (le) ${sinceWindow(DURATION_BUCKET_METRIC, labelMatchers(s), window)}`;
}

/**
 * True for a `response_code` value Istio can report: an HTTP status of up to three digits, or "0"
 * when no response was sent (the client went away, a TCP-level failure).
 */
export function isValidResponseCode(code: string): boolean {
    return /^\d{1,3}$/.test(code);
}

/** True for an Istio `response_code` that counts as a server error (5xx). */
export function isServerErrorCode(code: string | undefined): boolean {
    return code !== undefined && /^5\d\d$/.test(code);
}
