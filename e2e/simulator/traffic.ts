import { weightsOfVirtualService } from "../../rollout/automation";
import { Weights, formatSplit, sameWeights as sameSplit } from "../../rollout/weights";
import { RunningIstioExporter, TrafficProfile, startIstioExporter } from "../../test/support/istio-exporter";
import { KubeReader, kubeReader } from "./kube";

/**
 * A traffic simulator for the e2e tier: it stands in for Istio's data plane only. It reads the app's
 * VirtualService from the real API server every `pollMs`, splits a steady request rate between the
 * versions by the weights the API server holds (relative weights, as Envoy applies them), and serves
 * Istio's metrics for that traffic (`istio_requests_total`, `istio_request_duration_milliseconds`,
 * reporter="destination", through test/support/istio-exporter.ts) for a real Prometheus to scrape. So
 * what Prometheus sees follows what `pulumi up` applied, with one poll of delay; no Envoy, istiod or
 * sidecar is involved. A version can be made to fail (a 5xx ratio) or to be slow.
 */

/** How one version answers; unset fields keep the healthy default. */
export type Behaviour = Partial<Pick<TrafficProfile, "errorRate" | "latencyMs" | "latencySpread">>;

/** A healthy version: 0.2% 5xx, a 10 ms median (p99 about 40 ms). */
export const HEALTHY: Behaviour = { errorRate: 0.002, latencyMs: 10 };

/** Options of {@link startTrafficSimulator}. */
export interface SimulatorOptions {
    /** Kubeconfig of the API server to read. */
    kubeconfig: string;
    /** Namespace of the VirtualService. */
    namespace: string;
    /** The VirtualService's Pulumi name, e.g. `myapp-vs`: matched as is or with Pulumi's auto-name suffix (`myapp-vs-1a2b3c4d`). */
    virtualService: string;
    /** `destination_service` of the metrics, e.g. `myapp.default.svc.cluster.local`. */
    service: string;
    /** Requests per second to the app, split by the weights; default 1000. */
    totalRps?: number;
    /** How often the VirtualService is read, in ms; default 100. */
    pollMs?: number;
}

/** One change of the split the API server holds, as the simulator saw it. */
export interface Observation {
    /** When it was first seen, ms since the epoch. */
    at: number;
    /** The weights, or undefined while there is no VirtualService. */
    weights: Weights | undefined;
}

/** A running simulator. */
export interface TrafficSimulator {
    /** Scrape target for Prometheus, host:port. */
    target: string;
    /** Makes `version` answer with `behaviour` from the next tick on (HEALTHY's fields where unset). */
    behave(version: string, behaviour: Behaviour): void;
    /** Every change of the split seen so far, oldest first. */
    timeline(): Observation[];
    /** Resolves with the time `weights` were first seen at or after `sinceMs`; rejects after `timeoutMs`. */
    waitForWeights(weights: Weights, sinceMs: number, timeoutMs?: number): Promise<number>;
    /** The last error reading the API server, if the last read failed. */
    lastError(): string | undefined;
    /** Stops polling and the metrics server. Safe to call twice. */
    stop(): Promise<void>;
}

/** Same split (a missing version counts as 0), or both without a VirtualService. Pure. */
export function sameWeights(a: Weights | undefined, b: Weights | undefined): boolean {
    return a === undefined || b === undefined ? a === b : sameSplit(a, b);
}

/** Requests per second of each version: `totalRps` split in proportion to the weights (all 0 when they sum to 0). Pure. */
export function splitRps(weights: Weights, totalRps: number): Record<string, number> {
    const sum = Object.values(weights).reduce((s, w) => s + w, 0);
    return Object.fromEntries(Object.entries(weights).map(([v, w]) => [v, sum > 0 ? (totalRps * w) / sum : 0]));
}

/** Whether `name` is the Pulumi-named object `base`: `base` itself or `base-` with an 8-character auto-name suffix. Pure. */
export function isPulumiNamed(name: string, base: string): boolean {
    return name === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-z]{8}$`).test(name);
}

/** Starts the simulator: the metrics server on a free loopback port and the polling of the API server. */
export async function startTrafficSimulator(options: SimulatorOptions): Promise<TrafficSimulator> {
    const totalRps = options.totalRps ?? 1000;
    const pollMs = options.pollMs ?? 100;
    const listPath = `/apis/networking.istio.io/v1/namespaces/${encodeURIComponent(options.namespace)}/virtualservices`;
    const behaviours = new Map<string, Behaviour>();
    const known = new Set<string>();
    const seen: Observation[] = [];
    let current: Weights | undefined;
    let error: string | undefined;
    const exporter: RunningIstioExporter = await startIstioExporter({ services: {} });
    const kube: KubeReader = kubeReader(options.kubeconfig);

    /** Routes the traffic by `weights`; a version no longer listed gets none. */
    const route = (weights: Weights | undefined): void => {
        const rps = splitRps(weights ?? {}, totalRps);
        for (const v of Object.keys(rps)) known.add(v);
        for (const v of known) {
            const profile: TrafficProfile = { errorRate: 0, latencyMs: 10, ...HEALTHY, ...behaviours.get(v), rps: rps[v] ?? 0 };
            exporter.set(options.service, v, profile);
        }
    };
    const read = async (): Promise<Weights | undefined> => {
        const list = (await kube.get(listPath)) as { items?: { metadata?: { name?: string }; spec?: unknown }[] };
        const vs = (list.items ?? []).filter((i) => isPulumiNamed(i.metadata?.name ?? "", options.virtualService));
        if (vs.length > 1) throw new Error(`${vs.length} VirtualServices named ${options.virtualService} in ${options.namespace}`);
        return vs.length === 0 ? undefined : weightsOfVirtualService(vs[0].spec);
    };

    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async (): Promise<void> => {
        try {
            const weights = await read();
            error = undefined;
            if (seen.length === 0 || !sameWeights(weights, current)) {
                current = weights;
                seen.push({ at: Date.now(), weights });
                route(weights);
            }
        } catch (e) {
            error = (e as Error).message;
        }
        if (!stopped) timer = setTimeout(() => void poll(), pollMs);
    };
    await poll();

    return {
        target: exporter.target,
        behave: (version, behaviour) => {
            behaviours.set(version, behaviour);
            route(current);
        },
        timeline: () => seen.map((o) => ({ ...o })),
        waitForWeights: (weights, sinceMs, timeoutMs = 60_000) =>
            new Promise((resolve, reject) => {
                const deadline = Date.now() + timeoutMs;
                const check = (): void => {
                    const hit = seen.find((o) => o.at >= sinceMs && sameWeights(o.weights, weights));
                    if (hit !== undefined) resolve(hit.at);
                    else if (Date.now() > deadline)
                        reject(
                            new Error(
                                `the API server did not hold ${formatSplit(weights)} within ${timeoutMs} ms; seen: ${seen
                                    .map((o) => (o.weights === undefined ? "none" : formatSplit(o.weights)))
                                    .join(" -> ")}${error !== undefined ? `; last error: ${error}` : ""}`,
                            ),
                        );
                    else setTimeout(check, pollMs / 2);
                };
                check();
            }),
        lastError: () => error,
        stop: async () => {
            if (stopped) return;
            stopped = true;
            if (timer !== undefined) clearTimeout(timer);
            kube.close();
            await exporter.stop();
        },
    };
}
