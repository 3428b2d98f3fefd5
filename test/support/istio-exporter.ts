import * as http from "node:http";
import { AddressInfo } from "node:net";
import { Counter, Histogram, Registry } from "prom-client";
import { ISTIO_DURATION_BUCKETS_MS } from "../../analysis/histogram";

/**
 * A fake Istio for tests: a prom-client exporter serving Istio's standard metric names and labels
 * (`istio_requests_total`, `istio_request_duration_milliseconds`) for configurable traffic per
 * service and version. Traffic is simulated on a timer and is deterministic: the 5xx are spread
 * evenly at exactly the configured ratio and latencies follow a fixed low-discrepancy sequence
 * through a log-logistic distribution, so a test's counts do not depend on luck.
 */

/** Traffic of one version of one service. */
export interface TrafficProfile {
    /** Requests per second; 0 for none (no series is created until there is traffic). */
    rps: number;
    /** Share of requests answered 503, 0..1. */
    errorRate: number;
    /** Median latency in ms. */
    latencyMs: number;
    /** Spread of the log-logistic latency (its shape 1/beta); default 0.3 (p99 ~ 4x the median); 0 gives every request latencyMs. */
    latencySpread?: number;
    /**
     * A share of requests served with a second, slower latency (bimodal traffic: a slow code path);
     * default none. The slow requests are spread evenly like the 5xx.
     */
    tail?: { share: number; latencyMs: number; spread?: number };
    /**
     * The version's pods are gone (default false): its own sidecars no longer report, so every
     * reporter="destination" series of the version disappears from the scrape (Prometheus marks them
     * stale) and nothing more is recorded under its version; callers (reporter="source", e.g. the
     * gateway) still route `rps` requests to it and record each as a 503 with destination_version
     * and destination_workload "unknown", as Envoy does for a subset without healthy endpoints (UH).
     */
    down?: boolean;
}

/** Options of {@link startIstioExporter}. */
export interface IstioExporterOptions {
    /** Traffic by `destination_service` (FQDN) and `destination_version`. */
    services: Record<string, Record<string, TrafficProfile>>;
    /** `reporter` label values to emit the same traffic under; default ["destination"]. */
    reporters?: string[];
    /** Simulation tick in ms; default 100. */
    tickMs?: number;
}

/** A running exporter. */
export interface RunningIstioExporter {
    /** Metrics URL, e.g. http://127.0.0.1:40123/metrics. */
    url: string;
    /** Scrape target for Prometheus, host:port. */
    target: string;
    /** Changes (or adds) the traffic of one version of one service from the next tick on. */
    set(service: string, version: string, profile: TrafficProfile): void;
    /** Requests and 5xx simulated so far for one version (per reporter). */
    totals(service: string, version: string): { requests: number; errors: number };
    /** Stops the timer and the HTTP server. Safe to call twice. */
    stop(): Promise<void>;
}

/** Golden-ratio conjugate: the sequence frac(i * phi) fills (0, 1) evenly. */
const PHI = 0.6180339887498949;

interface Stream {
    service: string;
    version: string;
    profile: TrafficProfile;
    carry: number;
    index: number;
    errors: number;
}

function checkProfile(service: string, version: string, p: TrafficProfile): void {
    const where = `traffic profile of ${service} ${version}`;
    if (!(p.rps >= 0 && Number.isFinite(p.rps))) throw new Error(`${where}: rps ${p.rps} must be a number >= 0`);
    if (!(p.errorRate >= 0 && p.errorRate <= 1)) throw new Error(`${where}: errorRate ${p.errorRate} must be between 0 and 1`);
    if (!(p.latencyMs > 0 && Number.isFinite(p.latencyMs))) throw new Error(`${where}: latencyMs ${p.latencyMs} must be > 0`);
    const spread = p.latencySpread ?? 0.3;
    if (!(spread >= 0 && spread < 2)) throw new Error(`${where}: latencySpread ${spread} must be in [0, 2)`);
    if (p.tail !== undefined) {
        if (!(p.tail.share > 0 && p.tail.share < 1)) throw new Error(`${where}: tail.share ${p.tail.share} must be in (0, 1)`);
        if (!(p.tail.latencyMs > 0 && Number.isFinite(p.tail.latencyMs))) throw new Error(`${where}: tail.latencyMs must be > 0`);
    }
}

/** Whether request `i` is one of `share` of the requests, spread evenly (the k-th such request at about k / share). */
function every(i: number, share: number): boolean {
    return Math.floor((i + 1) * share) > Math.floor(i * share);
}

/**
 * Latency of request `i` of a stream: the (i-th low-discrepancy) quantile of a log-logistic
 * distribution, or of the tail's when request `i` belongs to the tail.
 */
function latencyOf(i: number, p: TrafficProfile): number {
    const u = Math.min(1 - 1e-9, Math.max(1e-9, ((i + 0.5) * PHI) % 1));
    // The tail's requests are picked half a request out of phase with the 5xx, so the two do not coincide.
    if (p.tail !== undefined && every(i + 0.5, p.tail.share)) return p.tail.latencyMs * Math.pow(u / (1 - u), p.tail.spread ?? 0);
    return p.latencyMs * Math.pow(u / (1 - u), p.latencySpread ?? 0.3);
}

/** Starts the exporter on 127.0.0.1 on a free port and the traffic timer. */
export async function startIstioExporter(options: IstioExporterOptions): Promise<RunningIstioExporter> {
    const reporters = options.reporters ?? ["destination"];
    const tickMs = options.tickMs ?? 100;
    const registry = new Registry();
    const labelNames = [
        "reporter",
        "source_workload",
        "destination_service",
        "destination_service_name",
        "destination_workload",
        "destination_version",
        "request_protocol",
        "response_code",
    ] as const;
    const requests = new Counter({
        name: "istio_requests_total",
        help: "Requests (simulated Istio standard metric).",
        labelNames,
        registers: [registry],
    });
    const duration = new Histogram({
        name: "istio_request_duration_milliseconds",
        help: "Request duration in ms (simulated Istio standard metric).",
        labelNames,
        buckets: [...ISTIO_DURATION_BUCKETS_MS],
        registers: [registry],
    });

    const streams = new Map<string, Stream>();
    const key = (service: string, version: string): string => JSON.stringify([service, version]);
    /** The labels of one stream's series under one reporter, without response_code. */
    const labelsOf = (s: Stream, reporter: string, down: boolean) => {
        const name = s.service.split(".")[0];
        return {
            reporter,
            source_workload: "loadgen",
            destination_service: s.service,
            destination_service_name: name,
            destination_workload: down ? "unknown" : `${name}-${s.version}`,
            destination_version: down ? "unknown" : s.version,
            request_protocol: "http",
        };
    };
    /** Its pods are gone: the series their sidecars exported disappear from the scrape. */
    const removeDestinationSeries = (s: Stream): void => {
        for (const reporter of reporters.filter((r) => r === "destination")) {
            for (const response_code of ["200", "503"]) {
                const labels = { ...labelsOf(s, reporter, false), response_code };
                requests.remove(labels);
                duration.remove(labels);
            }
        }
    };
    const set = (service: string, version: string, profile: TrafficProfile): void => {
        checkProfile(service, version, profile);
        const existing = streams.get(key(service, version));
        if (existing !== undefined) {
            if (profile.down === true && existing.profile.down !== true) removeDestinationSeries(existing);
            existing.profile = { ...profile };
        } else streams.set(key(service, version), { service, version, profile: { ...profile }, carry: 0, index: 0, errors: 0 });
    };
    for (const [service, versions] of Object.entries(options.services)) {
        for (const [version, profile] of Object.entries(versions)) set(service, version, profile);
    }

    let last = Date.now();
    const tick = (): void => {
        const now = Date.now();
        const dt = (now - last) / 1000;
        last = now;
        for (const s of streams.values()) {
            s.carry += s.profile.rps * dt;
            const n = Math.floor(s.carry);
            if (n <= 0) continue;
            s.carry -= n;
            if (s.profile.down === true) {
                // No healthy upstream: only the callers record the requests, as 503 to an unknown version.
                for (const reporter of reporters.filter((r) => r !== "destination")) {
                    const labels = { ...labelsOf(s, reporter, true), response_code: "503" };
                    requests.inc(labels, n);
                    for (let k = 0; k < n; k++) duration.observe(labels, 0.2);
                }
                continue;
            }
            let errors = 0;
            const latencies: Array<{ ms: number; error: boolean }> = [];
            for (let k = 0; k < n; k++) {
                const i = s.index++;
                const error = every(i, s.profile.errorRate);
                if (error) errors++;
                latencies.push({ ms: latencyOf(i, s.profile), error });
            }
            s.errors += errors;
            for (const reporter of reporters) {
                const base = labelsOf(s, reporter, false);
                if (n - errors > 0) requests.inc({ ...base, response_code: "200" }, n - errors);
                if (errors > 0) requests.inc({ ...base, response_code: "503" }, errors);
                const ok = { ...base, response_code: "200" };
                const bad = { ...base, response_code: "503" };
                for (const l of latencies) duration.observe(l.error ? bad : ok, l.ms);
            }
        }
    };
    const timer = setInterval(tick, tickMs);

    const server = http.createServer((req, res) => {
        if (req.url !== "/metrics") {
            res.writeHead(404).end("not found\n");
            return;
        }
        registry.metrics().then(
            (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
            (e: unknown) => res.writeHead(500).end(String(e)),
        );
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    let stopped = false;
    return {
        url: `http://127.0.0.1:${port}/metrics`,
        target: `127.0.0.1:${port}`,
        set,
        totals: (service, version) => {
            const s = streams.get(key(service, version));
            return { requests: s?.index ?? 0, errors: s?.errors ?? 0 };
        },
        stop: async () => {
            if (stopped) return;
            stopped = true;
            clearInterval(timer);
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
        },
    };
}
