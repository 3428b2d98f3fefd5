/**
 * Sends milestones to the targets without ever holding up the rollout. `notify` only queues (it is
 * synchronous and never throws); each target has its own queue, sent in order, one POST at a time,
 * each attempt bounded by the target's timeout and retried with doubling backoff. A target whose
 * queue is full drops its oldest waiting milestone. `drain` waits a bounded time for what is still
 * queued (at the end of a command) and gives up on the rest. Every failure is reported through
 * `onFailure` naming the target, never its URL: the error text is built from the error's code or
 * HTTP status, and anything that still contains the URL or its host is masked.
 */
import axios from "axios";
import { systemClock } from "../rollout/clock";
import { Clock } from "../rollout/types";
import { bodyOf } from "./bodies";
import type { RolloutEventType } from "../rollout/events";
import { Milestone, NotificationTarget, subscriptionOf } from "./types";

/** A milestone that could not be delivered to a target. */
export interface NotifyFailure {
    /** When it was given up. */
    at: string;
    /** The target's name. */
    target: string;
    /** The milestone (`rollback-failed` included). */
    event: Milestone["type"];
    /** POSTs made (0 when none could be). */
    attempts: number;
    /** Why, without the URL. */
    error: string;
}

/** POSTs a JSON body; resolves on a 2xx answer, rejects otherwise (an HttpStatusError for other statuses). */
export type Post = (url: string, body: unknown, opts: { timeoutMs: number; signal: AbortSignal }) => Promise<void>;

/** A target answered with a status other than 2xx. */
export class HttpStatusError extends Error {
    constructor(readonly status: number) {
        super(`HTTP ${status}`);
        this.name = "HttpStatusError";
    }
}

/** The default Post: axios, no redirects followed (a redirect could carry the body elsewhere), JSON. */
export const axiosPost: Post = async (url, body, { timeoutMs, signal }) => {
    const res = await axios.post(url, body, {
        timeout: timeoutMs,
        signal,
        maxRedirects: 0,
        validateStatus: () => true,
        headers: { "content-type": "application/json", "user-agent": "istio-canary" },
        // the answer is not used; do not keep a large one
        maxContentLength: 64 * 1024,
    });
    if (res.status < 200 || res.status > 299) {
        throw new HttpStatusError(res.status);
    }
};

/** Options of a Notifier. */
export interface NotifierOptions {
    targets: NotificationTarget[];
    /** The URL of a target: its plain URL, or its secret decrypted. Asked once per target, when its first milestone is sent. */
    resolveUrl: (target: NotificationTarget) => Promise<string>;
    /** Reports a failed milestone. */
    onFailure: (failure: NotifyFailure) => void;
    /** How bodies are POSTed. Default axiosPost. */
    post?: Post;
    /** Time and the backoff's waits. Default the system clock. */
    clock?: Clock;
    /** Wait before the first retry, doubled before each next one. Default 1000 ms. */
    backoffMs?: number;
    /** Milestones waiting per target before the oldest is dropped. Default 20. */
    maxQueue?: number;
}

interface Job {
    event: Milestone;
}

interface Lane {
    target: NotificationTarget;
    queue: Job[];
    busy: boolean;
    url?: Promise<string>;
}

/** Milestones to webhook targets, fire-and-forget, with a bounded wait at the end. */
export class Notifier {
    private readonly lanes: Lane[];
    private readonly post: Post;
    private readonly clock: Clock;
    private readonly stop = new AbortController();
    private idle: (() => void)[] = [];

    constructor(private readonly opts: NotifierOptions) {
        this.lanes = opts.targets.map((target) => ({ target, queue: [], busy: false }));
        this.post = opts.post ?? axiosPost;
        this.clock = opts.clock ?? systemClock;
    }

    /** Queues a milestone for every target that wants it; returns at once. */
    notify(event: Milestone): void {
        const wanted: RolloutEventType = subscriptionOf(event);
        if (this.stop.signal.aborted) {
            return;
        }
        for (const lane of this.lanes) {
            if (!lane.target.events.includes(wanted)) {
                continue;
            }
            const max = this.opts.maxQueue ?? 20;
            if (lane.queue.length >= max) {
                const dropped = lane.queue.shift();
                if (dropped !== undefined) {
                    this.fail(lane, dropped, 0, `dropped: ${max} newer milestones were waiting for this target`);
                }
            }
            lane.queue.push({ event });
            if (!lane.busy) {
                lane.busy = true;
                // Started on a later turn and not awaited: nothing of a send (not even decrypting its
                // URL) runs in the caller's (the engine's event callback's) turn.
                setImmediate(() => void this.run(lane));
            }
        }
    }

    /**
     * Waits at most `ms` for every queued milestone to be sent or given up, then stops: what is
     * still queued or in flight is reported as not sent. Returns how many were given up that way.
     */
    async drain(ms: number): Promise<number> {
        await this.whenIdle(ms);
        let abandoned = 0;
        for (const lane of this.lanes) {
            for (const job of lane.queue.splice(0)) {
                abandoned += 1;
                this.fail(lane, job, 0, `not sent: the command ended and stopped waiting after ${Math.round(ms / 1000)}s`);
            }
        }
        // The one in flight in each busy lane is cut short and reports itself as not sent.
        abandoned += this.lanes.filter((l) => l.busy).length;
        this.stop.abort();
        await this.whenIdle(1000);
        return abandoned;
    }

    /** Resolves when no lane is sending, or after `ms`. */
    private async whenIdle(ms: number): Promise<void> {
        if (this.lanes.every((l) => !l.busy)) {
            return;
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
            new Promise<void>((resolve) => this.idle.push(resolve)),
            new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms)))),
        ]);
        clearTimeout(timer);
    }

    private async run(lane: Lane): Promise<void> {
        try {
            for (let job = lane.queue.shift(); job !== undefined; job = lane.queue.shift()) {
                try {
                    await this.send(lane, job);
                } catch (e) {
                    // a bug, not a target's answer: reported like one, and the lane goes on
                    this.fail(lane, job, 0, `not sent: ${e instanceof Error ? e.message : String(e)}`);
                }
            }
        } finally {
            lane.busy = false;
            if (this.lanes.every((l) => !l.busy)) {
                const waiting = this.idle;
                this.idle = [];
                waiting.forEach((resolve) => resolve());
            }
        }
    }

    /** Sends one milestone with its retries; reports it when it could not be delivered. */
    private async send(lane: Lane, job: Job): Promise<void> {
        const t = lane.target;
        let url: string;
        try {
            lane.url ??= this.opts.resolveUrl(t);
            url = await lane.url;
        } catch (e) {
            this.fail(lane, job, 0, `its URL could not be resolved: ${e instanceof Error ? e.message : String(e)}`);
            return;
        }
        const body = bodyOf(t.format, job.event);
        const timeoutMs = t.timeoutSeconds * 1000;
        const backoff = this.opts.backoffMs ?? 1000;
        let last = "";
        for (let attempt = 1; attempt <= t.retries + 1; attempt++) {
            if (this.stop.signal.aborted) {
                const why = last === "" ? "before it could be sent" : `while it was being retried (last: ${last})`;
                this.fail(lane, job, attempt - 1, `not sent: the command ended ${why}`, url);
                return;
            }
            try {
                const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(timeoutMs)]);
                await this.post(url, body, { timeoutMs, signal });
                return;
            } catch (e) {
                last = describeSendError(e, timeoutMs, this.stop.signal.aborted);
            }
            if (attempt <= t.retries) {
                try {
                    await this.clock.sleep(backoff * 2 ** (attempt - 1), this.stop.signal);
                } catch {
                    // stopped during the backoff: reported at the top of the loop
                }
            } else {
                this.fail(lane, job, attempt, last, url);
            }
        }
    }

    private fail(lane: Lane, job: Job, attempts: number, error: string, url?: string): void {
        const failure: NotifyFailure = {
            at: new Date(this.clock.now()).toISOString(),
            target: lane.target.name,
            event: job.event.type,
            attempts,
            error: maskUrl(error, url, lane.target.name),
        };
        try {
            this.opts.onFailure(failure);
        } catch {
            // a reporter that throws must not stop the other sends
        }
    }
}

/** What went wrong with a POST, from the error's code or HTTP status only (an error's message names the host). */
export function describeSendError(e: unknown, timeoutMs: number, stopped = false): string {
    if (e instanceof HttpStatusError) {
        return `HTTP ${e.status}`;
    }
    const err = e as { code?: unknown; name?: unknown; response?: { status?: unknown } } | undefined;
    if (typeof err?.response?.status === "number") {
        return `HTTP ${err.response.status}`;
    }
    if (stopped) {
        return "stopped: the command ended";
    }
    const code = typeof err?.code === "string" ? err.code : undefined;
    switch (code) {
        case "ECONNREFUSED":
            return "connection refused (ECONNREFUSED)";
        case "ENOTFOUND":
        case "EAI_AGAIN":
            return `host not found (${code})`;
        case "ECONNRESET":
            return "connection reset (ECONNRESET)";
        case "ECONNABORTED":
        case "ETIMEDOUT":
        case "ERR_CANCELED":
            return `no answer within ${timeoutMs / 1000}s (${code})`;
        case "ERR_FR_TOO_MANY_REDIRECTS":
            return "redirected (redirects are not followed)";
        case undefined:
            return err?.name === "TimeoutError" || err?.name === "AbortError"
                ? `no answer within ${timeoutMs / 1000}s`
                : "the request failed";
        default:
            return `the request failed (${code})`;
    }
}

/**
 * `text` with the URL, and its host, path and query each, replaced by `<target's URL>`: the last
 * guard that no message carries a secret URL or a part of it.
 */
export function maskUrl(text: string, url: string | undefined, target: string): string {
    if (url === undefined) {
        return text;
    }
    const parts = [url];
    try {
        const u = new URL(url);
        parts.push(u.host, u.hostname, u.pathname, u.search, u.username, u.password, decodeURIComponent(u.pathname));
    } catch {
        // not a URL: the whole string is masked
    }
    let out = text;
    for (const p of parts.filter((x) => x.length > 3).sort((a, b) => b.length - a.length)) {
        out = out.split(p).join(`<${target}'s URL>`);
    }
    return out;
}
