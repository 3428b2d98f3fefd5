import { ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import axios from "axios";

/**
 * Starts a real Prometheus (Debian's `prometheus` package, 2.42 here) on 127.0.0.1 for tests: its own
 * config, a temporary data directory, a free port. Never skips: without the binary it fails with the
 * install command.
 */

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
    /** Scrape targets as host:port, e.g. the `target` of startIstioExporter. */
    targets: string[];
    /** Scrape (and evaluation) interval as a Prometheus duration; default "1s". */
    scrapeInterval?: string;
    /** Binary to run; default $PROMETHEUS_BIN, else `prometheus` on PATH, else /usr/bin/prometheus. */
    binary?: string;
    /** How long to wait for /-/ready in ms; default 20000. */
    readyTimeoutMs?: number;
    /**
     * OpenMetrics text (ending in `# EOF`) written into the data directory before the start with
     * `promtool tsdb create-blocks-from openmetrics`: samples at chosen timestamps, for queries at
     * chosen times. Keep them within Prometheus's retention (15 days).
     */
    backfill?: string;
}

/** A running Prometheus. */
export interface RunningPrometheus {
    /** Base URL, e.g. http://127.0.0.1:40123. */
    url: string;
    /** Its port. */
    port: number;
    /** Its process id. */
    pid: number;
    /** Its temporary data directory (removed by stop). */
    dataDir: string;
    /** Instant query (at `time`, default now) returning the vector's samples; throws on any error. */
    query(promql: string, time?: Date): Promise<Array<{ metric: Record<string, string>; value: number }>>;
    /** Polls `check` every 250 ms until it returns true or `timeoutMs` passes (then throws naming `what`). */
    waitFor(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
    /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes the data directory. Safe to call twice. */
    stop(): Promise<void>;
}

const INSTALL_HINT = "install it: apt-get install prometheus";

/** Finds the Prometheus binary or throws with the install command. */
export function findPrometheusBinary(explicit?: string): string {
    const candidates: string[] = [];
    if (explicit !== undefined) candidates.push(explicit);
    else {
        if (process.env.PROMETHEUS_BIN !== undefined && process.env.PROMETHEUS_BIN !== "") candidates.push(process.env.PROMETHEUS_BIN);
        for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
            if (dir !== "") candidates.push(path.join(dir, "prometheus"));
        }
        candidates.push("/usr/bin/prometheus");
    }
    for (const c of candidates) {
        try {
            fs.accessSync(c, fs.constants.X_OK);
            if (fs.statSync(c).isFile()) return c;
        } catch {
            // try the next one
        }
    }
    throw new Error(
        `Prometheus binary not found (looked for ${candidates.length > 3 ? "prometheus on PATH, $PROMETHEUS_BIN and /usr/bin/prometheus" : candidates.join(", ")}): ${INSTALL_HINT}`,
    );
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            const port = typeof addr === "object" && addr !== null ? addr.port : 0;
            srv.close(() => resolve(port));
        });
    });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by a check of {@link waitUntil} to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUp extends Error {
    constructor(message: string) {
        super(message);
        this.name = "GiveUp";
    }
}

/**
 * Polls `check` until it returns true; throws naming `what` after `timeoutMs`. Errors of `check` are
 * retried (the last one is quoted on timeout), except {@link GiveUp}, which is thrown at once.
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000, intervalMs = 250): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
        try {
            if (await check()) return;
        } catch (e) {
            if (e instanceof GiveUp) throw e;
            last = e;
        }
        await sleep(intervalMs);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`);
}

function configYaml(targets: string[], interval: string): string {
    return [
        "global:",
        `  scrape_interval: ${interval}`,
        `  evaluation_interval: ${interval}`,
        "scrape_configs:",
        "  - job_name: istio-exporter",
        `    scrape_interval: ${interval}`,
        "    static_configs:",
        `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
        "",
    ].join("\n");
}

/** Starts Prometheus scraping `targets` and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
    const binary = findPrometheusBinary(options.binary);
    const interval = options.scrapeInterval ?? "1s";
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-prom-"));
    const dataDir = path.join(dir, "data");
    const configFile = path.join(dir, "prometheus.yml");
    fs.writeFileSync(configFile, configYaml(options.targets, interval));
    const logFile = path.join(dir, "prometheus.log");
    if (options.backfill !== undefined) {
        const input = path.join(dir, "backfill.om");
        fs.writeFileSync(input, options.backfill);
        const promtool = path.join(path.dirname(binary), "promtool");
        const r = spawnSync(
            fs.existsSync(promtool) ? promtool : "promtool",
            ["tsdb", "create-blocks-from", "openmetrics", input, dataDir],
            {
                encoding: "utf8",
            },
        );
        if (r.status !== 0) {
            fs.rmSync(dir, { recursive: true, force: true });
            throw new Error(
                `promtool tsdb create-blocks-from openmetrics failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? "").slice(-2000)}; ${INSTALL_HINT} (it brings promtool)`,
            );
        }
    }
    const log = fs.openSync(logFile, "a");
    const child: ChildProcess = spawn(
        binary,
        [`--config.file=${configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"],
        { stdio: ["ignore", log, log] },
    );
    fs.closeSync(log);
    let exited = false;
    let howExited = "";
    const exitPromise = new Promise<void>((resolve) => {
        child.once("exit", (code, signal) => {
            exited = true;
            howExited = signal !== null ? `killed by ${signal}` : `exit code ${code}`;
            resolve();
        });
        child.once("error", (e) => {
            exited = true;
            howExited = `could not run ${binary}: ${e.message}`;
            resolve();
        });
    });
    // A test run that ends without calling stop (an interrupted or crashed run) must not leave
    // Prometheus running or its directory behind.
    const onProcessExit = (): void => {
        if (!exited) child.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", onProcessExit);

    const stop = async (): Promise<void> => {
        process.removeListener("exit", onProcessExit);
        if (!exited) {
            child.kill("SIGTERM");
            const timer = setTimeout(() => {
                if (!exited) child.kill("SIGKILL");
            }, 5000);
            await exitPromise;
            clearTimeout(timer);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    };

    try {
        await waitUntil(
            `Prometheus to be ready at ${url}`,
            async () => {
                if (exited)
                    throw new GiveUp(`Prometheus exited early (${howExited}); its log: ${fs.readFileSync(logFile, "utf8").slice(-2000)}`);
                const res = await axios.get(`${url}/-/ready`, { timeout: 1000, validateStatus: () => true });
                return res.status === 200;
            },
            options.readyTimeoutMs ?? 20_000,
            100,
        );
    } catch (e) {
        await stop();
        throw e;
    }

    const query = async (promql: string, time?: Date): Promise<Array<{ metric: Record<string, string>; value: number }>> => {
        const params: Record<string, string> = { query: promql };
        if (time !== undefined) params.time = (time.getTime() / 1000).toFixed(3);
        const res = await axios.get(`${url}/api/v1/query`, { params, timeout: 5000 });
        const result = (res.data as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
        return result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    };
    return {
        url,
        port,
        pid: child.pid ?? -1,
        dataDir,
        query,
        waitFor: (what, check, timeoutMs) => waitUntil(what, check, timeoutMs),
        stop,
    };
}
