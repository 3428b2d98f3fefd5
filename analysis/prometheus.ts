import type { Readable } from "node:stream";
import axios, { AxiosError } from "axios";

/**
 * A minimal client for Prometheus's instant query API (`GET /api/v1/query`). It returns a vector or
 * throws a {@link PrometheusError} whose message says what failed; it never guesses values.
 */

/** One element of an instant vector. */
export interface InstantSample {
    /** The series' labels. */
    labels: Record<string, string>;
    /** The sample value, always finite. */
    value: number;
}

/** Query settings. */
export interface InstantQueryOptions {
    /** Evaluation instant. */
    time: Date;
    /**
     * Total deadline in ms, from the connection to the last byte of the answer (also sent to
     * Prometheus as its evaluation timeout). A body that keeps trickling in does not extend it.
     */
    timeoutMs: number;
}

/** Prometheus could not be asked or gave no usable answer. The message names what failed. */
export class PrometheusError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PrometheusError";
    }
}

/** Largest answer accepted, in bytes: a few series of counts never come close. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

/** The base URL without user info, for messages. */
export function redactUrl(url: string): string {
    try {
        const u = new URL(url);
        u.username = "";
        u.password = "";
        return u.toString().replace(/\/$/, "");
    } catch {
        return url;
    }
}

/** Describes a transport failure (no HTTP answer). */
function describeTransportError(e: unknown, timeoutMs: number): string {
    if (e instanceof AxiosError) {
        switch (e.code) {
            case "ECONNABORTED":
            case "ETIMEDOUT":
                return `no answer within ${timeoutMs} ms (timeout)`;
            case "ECONNREFUSED":
                return "connection refused (is Prometheus running and is the URL right?)";
            case "ENOTFOUND":
            case "EAI_AGAIN":
                return "host name not found";
            case "ECONNRESET":
                return "connection reset";
            case "ERR_BAD_RESPONSE":
                return `bad response: ${e.message}`;
            default:
                return e.code !== undefined ? `${e.code}: ${e.message}` : e.message;
        }
    }
    return e instanceof Error ? e.message : String(e);
}

/** A decimal number as Prometheus writes sample values (Go's strconv.FormatFloat), e.g. "12", "0.5", "1e+06". */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** Prometheus's spellings of an infinite value. */
const INFINITE = /^[+-]?Inf$/i;

/** Parses a value of a vector sample ("123.4"), or throws saying why not. */
function parseValue(raw: unknown, labels: Record<string, string>): number {
    if (typeof raw !== "string") throw new PrometheusError(`malformed answer: a sample value is ${JSON.stringify(raw)}, not a string`);
    if (INFINITE.test(raw)) throw new PrometheusError(`the answer holds an infinite value (${raw}) for ${JSON.stringify(labels)}`);
    if (raw === "NaN") throw new PrometheusError(`the answer holds a NaN value for ${JSON.stringify(labels)}`);
    if (!DECIMAL.test(raw)) {
        throw new PrometheusError(
            `malformed answer: the sample value ${JSON.stringify(raw)} for ${JSON.stringify(labels)} is not a number`,
        );
    }
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new PrometheusError(`the answer holds an infinite value (${raw}) for ${JSON.stringify(labels)}`);
    return value;
}

/** Largest distance (ms) between a sample's timestamp and the evaluation instant asked for. */
const MAX_TIMESTAMP_SKEW_MS = 1000;

/** An instant (seconds since the epoch, as Prometheus writes it) for a message. */
function isoOf(seconds: number): string {
    const d = new Date(seconds * 1000);
    return Number.isFinite(d.getTime()) ? d.toISOString() : String(seconds);
}

/** A label set as a key that does not depend on the order of the labels. */
function seriesKey(labels: Record<string, string>): string {
    return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Checks the shape of a query answer body and returns its samples.
 *
 * Beyond the shape, it refuses what Prometheus itself never answers for an instant query, but a
 * proxy in front of it (Thanos, Mimir, a caching or merging layer) can: a series that appears twice
 * (replicas merged without deduplication: summing both would double the counts) and, when
 * `evaluationTime` is given, a sample not stamped with that instant (Prometheus stamps every sample
 * of an instant vector with the evaluation time; another stamp, such as 1970, is a stale or cached
 * answer).
 */
export function parseVectorAnswer(body: unknown, evaluationTime?: Date): InstantSample[] {
    const seen = new Set<string>();
    return answerResult(body, "vector").map((s: unknown) => {
        const sample = s as { metric?: unknown; value?: unknown };
        const labels = labelsOf(sample, "sample");
        if (!Array.isArray(sample.value) || sample.value.length !== 2) {
            throw new PrometheusError("malformed answer: a sample value is not a [time, value] pair");
        }
        const key = seriesKey(labels);
        if (seen.has(key)) {
            throw new PrometheusError(
                `malformed answer: the series ${JSON.stringify(labels)} appears twice (Prometheus never answers a series twice; ` +
                    `a proxy merging replicas without deduplicating them?)`,
            );
        }
        seen.add(key);
        const stamp: unknown = sample.value[0];
        if (typeof stamp !== "number" || !Number.isFinite(stamp)) {
            throw new PrometheusError(
                `malformed answer: the sample for ${JSON.stringify(labels)} has the timestamp ${JSON.stringify(stamp)}, not a number`,
            );
        }
        if (evaluationTime !== undefined && Math.abs(stamp * 1000 - evaluationTime.getTime()) > MAX_TIMESTAMP_SKEW_MS) {
            throw new PrometheusError(
                `stale answer: the sample for ${JSON.stringify(labels)} is timestamped ${isoOf(stamp)}, not at the evaluation instant ` +
                    `${evaluationTime.toISOString()} (Prometheus stamps every sample of an instant query with it; a cached or stale answer?)`,
            );
        }
        return { labels, value: parseValue(sample.value[1], labels) };
    });
}

/** Why reading an answer stopped early. */
class BodyError extends Error {}

/**
 * Reads a streamed body as text, at most `maxBytes`; rejects as soon as `signal` aborts (the body
 * is then destroyed), so a body that trickles in cannot outlast the deadline.
 */
function readBody(stream: Readable, signal: AbortSignal, maxBytes: number, progress: (bytes: number) => void): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let done = false;
        const finish = (e?: Error): void => {
            if (done) return;
            done = true;
            signal.removeEventListener("abort", onAbort);
            if (e !== undefined) {
                stream.destroy();
                reject(e);
            } else resolve(Buffer.concat(chunks).toString("utf8"));
        };
        const onAbort = (): void => finish(new BodyError("aborted"));
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort);
        stream.on("data", (chunk: Buffer | string) => {
            const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
            bytes += b.length;
            progress(bytes);
            if (bytes > maxBytes) finish(new BodyError(`the answer is larger than ${maxBytes} bytes`));
            else chunks.push(b);
        });
        stream.on("end", () => finish());
        stream.on("error", (e: Error) => finish(e));
        stream.on("close", () => finish(new BodyError("the connection closed before the answer was complete")));
    });
}

/**
 * Runs an instant query and returns the vector.
 *
 * @throws PrometheusError when Prometheus is unreachable, misses the total deadline, answers an
 * HTTP error or an error status, warns that the answer may be partial, or answers something that
 * is not a vector of finite numbers, holds a series twice or is not stamped with the evaluation
 * instant.
 */
export async function queryVector(baseUrl: string, query: string, options: InstantQueryOptions): Promise<InstantSample[]> {
    const params = { query, time: (options.time.getTime() / 1000).toFixed(3) };
    return parseVectorAnswer(await getAnswer(baseUrl, "api/v1/query", params, options.timeoutMs), options.time);
}

/** One series of a range query: its labels and its values at each step. */
export interface RangeSeries {
    /** The series' labels. */
    labels: Record<string, string>;
    /** (seconds since the epoch, value) at each step where the series had a value, in time order; values finite. */
    points: { t: number; v: number }[];
}

/** Settings of a range query. */
export interface RangeQueryOptions {
    /** First and last evaluation instant. */
    start: Date;
    end: Date;
    /** Seconds between evaluation instants. */
    stepSeconds: number;
    /** Total deadline in ms, as for {@link queryVector}. */
    timeoutMs: number;
}

/**
 * The `data.result` list of a query answer of `resultType`, after the checks every answer gets: a
 * JSON object, status "success", no warnings (they mark an answer that may be partial: a failed
 * remote read, Thanos or Mimir partial responses; counts that may lack series must not pass a
 * canary), and the expected result type.
 */
function answerResult(body: unknown, resultType: "vector" | "matrix"): unknown[] {
    if (typeof body !== "object" || body === null) throw new PrometheusError("malformed answer: not a JSON object");
    const b = body as { status?: unknown; data?: unknown; error?: unknown; warnings?: unknown };
    if (b.status !== "success") {
        throw new PrometheusError(
            `Prometheus answered status ${JSON.stringify(b.status)}${typeof b.error === "string" ? `: ${b.error}` : ""}`,
        );
    }
    if (Array.isArray(b.warnings) && b.warnings.length > 0) {
        throw new PrometheusError(`partial answer: Prometheus warned ${b.warnings.map((w) => JSON.stringify(w)).join(", ")}`);
    }
    const data = b.data as { resultType?: unknown; result?: unknown } | undefined;
    if (typeof data !== "object" || data === null) throw new PrometheusError("malformed answer: no data");
    if (data.resultType !== resultType)
        throw new PrometheusError(`malformed answer: resultType ${JSON.stringify(data.resultType)}, expected "${resultType}"`);
    if (!Array.isArray(data.result)) throw new PrometheusError("malformed answer: data.result is not a list");
    return data.result;
}

/** The string labels of one sample or series of an answer (`what` names it in the error). */
function labelsOf(entry: { metric?: unknown } | null, what: "sample" | "series"): Record<string, string> {
    if (typeof entry !== "object" || entry === null || typeof entry.metric !== "object" || entry.metric === null) {
        throw new PrometheusError(`malformed answer: a ${what} has no metric labels`);
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(entry.metric as Record<string, unknown>)) {
        if (typeof v !== "string") throw new PrometheusError(`malformed answer: label ${k} is not a string`);
        labels[k] = v;
    }
    return labels;
}

/**
 * Checks the shape of a range query answer (`resultType` "matrix") and returns its series, with the
 * same refusals as {@link parseVectorAnswer}: an error status, warnings (a partial answer), a series
 * twice, a value that is not a finite number, points out of time order.
 */
export function parseMatrixAnswer(body: unknown): RangeSeries[] {
    const seen = new Set<string>();
    return answerResult(body, "matrix").map((s: unknown) => {
        const series = s as { metric?: unknown; values?: unknown };
        const labels = labelsOf(series, "series");
        const key = seriesKey(labels);
        if (seen.has(key)) throw new PrometheusError(`malformed answer: the series ${JSON.stringify(labels)} appears twice`);
        seen.add(key);
        if (!Array.isArray(series.values))
            throw new PrometheusError(`malformed answer: the series ${JSON.stringify(labels)} has no values`);
        let last = -Infinity;
        const points = series.values.map((p: unknown) => {
            if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "number" || !Number.isFinite(p[0])) {
                throw new PrometheusError(`malformed answer: a point of ${JSON.stringify(labels)} is not a [time, value] pair`);
            }
            if (p[0] <= last) throw new PrometheusError(`malformed answer: the points of ${JSON.stringify(labels)} are not in time order`);
            last = p[0];
            return { t: p[0], v: parseValue(p[1], labels) };
        });
        return { labels, points };
    });
}

/**
 * Runs a range query (`GET /api/v1/query_range`) and returns the series.
 *
 * @throws PrometheusError as {@link queryVector}, and for an answer that is not a matrix.
 */
export async function queryRange(baseUrl: string, query: string, options: RangeQueryOptions): Promise<RangeSeries[]> {
    const params = {
        query,
        start: (options.start.getTime() / 1000).toFixed(3),
        end: (options.end.getTime() / 1000).toFixed(3),
        step: `${options.stepSeconds}s`,
    };
    return parseMatrixAnswer(await getAnswer(baseUrl, "api/v1/query_range", params, options.timeoutMs));
}

/** GETs an API path with the given parameters within one total deadline; returns the parsed JSON body of a 200 answer. */
async function getAnswer(baseUrl: string, apiPath: string, query: Record<string, string>, ms: number): Promise<unknown> {
    const url = new URL(apiPath, baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`).toString();
    // One deadline for the whole query: connection, headers, every byte of the body, and the retry.
    // (axios's own `timeout` is an idle timeout in Node: a body sent a byte at a time never trips it.)
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
        timedOut = true;
        deadline.abort();
    }, ms);
    let received: number | undefined;
    const get = () =>
        axios.get<Readable>(url, {
            params: { ...query, timeout: `${Math.max(1, Math.ceil(ms / 1000))}s` },
            responseType: "stream",
            validateStatus: () => true,
            maxRedirects: 0,
            signal: deadline.signal,
        });
    let status: number;
    let text: string;
    try {
        let res;
        try {
            res = await get();
        } catch (e) {
            // A pooled keep-alive connection that the server closed meanwhile: retry once on a new one.
            if (e instanceof AxiosError && e.code === "ECONNRESET" && !timedOut) res = await get();
            else throw e;
        }
        status = res.status;
        received = 0;
        text = await readBody(res.data, deadline.signal, MAX_ANSWER_BYTES, (bytes) => (received = bytes));
    } catch (e) {
        if (timedOut) {
            throw new PrometheusError(
                received === undefined
                    ? `no answer within ${ms} ms (timeout)`
                    : `no complete answer within ${ms} ms (timeout: the total deadline of a query; the answer was still arriving, ${received} bytes so far)`,
            );
        }
        if (e instanceof BodyError) throw new PrometheusError(`incomplete answer: ${e.message}`);
        throw new PrometheusError(describeTransportError(e, ms));
    } finally {
        clearTimeout(timer);
    }
    let body: unknown;
    try {
        body = JSON.parse(text);
    } catch {
        body = undefined;
    }
    if (status !== 200) {
        const detail =
            typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
                ? `: ${(body as { error: string }).error}`
                : "";
        throw new PrometheusError(`HTTP ${status}${detail}`);
    }
    if (body === undefined) throw new PrometheusError(`malformed answer: not JSON (${JSON.stringify(text.slice(0, 80))})`);
    return body;
}
