/**
 * A stand-in for Istio in rollout tests against a real Prometheus: a stack target that edits the
 * stack file like the real adapter and turns the weights it applies into the traffic split of the
 * fake Istio exporter that Prometheus scrapes, and a runner of the real rollout CLI on it. Each app
 * (destination_service) has its own config dir, so several rollouts run side by side.
 */
import { RolloutCliDeps, defaultDeps, runRolloutCli } from "../../cli/rollout";
import { RolloutEvent } from "../../rollout/types";
import { Weights } from "../../rollout/weights";
import { RunningIstioExporter, TrafficProfile } from "../support/istio-exporter";
import { StackFileTarget } from "./fakes";

/** Requests per second to the app, split by the applied weights. */
export const TOTAL_RPS = 1000;

/**
 * Median 10 ms: p99 ~ 40 ms, 0.05% of requests above 100 ms. A pass of the 200 ms p99 limit is shown
 * at the bucket boundary 100 ms (the limit falls inside (100, 250]); with a 20 ms median, 0.45% of
 * requests are above 100 ms, and showing that this is at most 1% takes ~2000 canary requests, more
 * than a 9 s step at 10% of 1000 req/s gives.
 */
export const HEALTHY: TrafficProfile = { rps: 0, errorRate: 0.002, latencyMs: 10 };

/** The app's destination_service. */
export const svc = (app: string): string => `${app}.shop.svc.cluster.local`;

/** How a scenario's canary behaves at a given canary weight. */
export type CanaryBehaviour = (canaryWeight: number) => Partial<TrafficProfile>;

/** A stack target that edits the stack file like the real adapter and routes the exporter's traffic like Istio. */
export class MeshTarget extends StackFileTarget {
    constructor(
        stackFile: string,
        private readonly exporter: RunningIstioExporter,
        private readonly app: string,
        private readonly canary: CanaryBehaviour,
    ) {
        super(stackFile);
    }

    async applyWeights(weights: Weights): Promise<void> {
        await super.applyWeights(weights);
        this.route(weights);
    }

    /** Sends TOTAL_RPS split by the weights; the canary's behaviour may override its profile. */
    route(weights: Weights): void {
        const v2 = weights.v2 ?? 0;
        this.exporter.set(svc(this.app), "v1", { ...HEALTHY, rps: (TOTAL_RPS * (weights.v1 ?? 0)) / 100 });
        this.exporter.set(svc(this.app), "v2", { ...HEALTHY, rps: (TOTAL_RPS * v2) / 100, ...this.canary(v2) });
    }
}

/** What one run of the rollout CLI did. */
export interface MeshRun {
    code: number;
    out: string;
    events: RolloutEvent[];
    target: MeshTarget;
    dir: string;
}

/**
 * Runs `istio-canary rollout <argv> --config-dir <dir> [--json]` in-process on a MeshTarget of `app`;
 * `setup` may change the target before the engine uses it.
 */
export async function runMeshRollout(opts: {
    exporter: RunningIstioExporter;
    app: string;
    canary: CanaryBehaviour;
    dir: string;
    argv: string[];
    json: boolean;
    setup?: (t: MeshTarget) => void;
}): Promise<MeshRun> {
    let out = "";
    let target: MeshTarget | undefined;
    const deps: RolloutCliDeps = {
        ...defaultDeps({ out: (s) => (out += s), err: (s) => (out += s), cwd: opts.dir }),
        isTTY: false,
        cwd: opts.dir,
        makeTarget: ({ stackFile }) => {
            target = new MeshTarget(stackFile, opts.exporter, opts.app, opts.canary);
            opts.setup?.(target);
            return target;
        },
    };
    const code = await runRolloutCli([...opts.argv, "--config-dir", opts.dir, ...(opts.json ? ["--json"] : [])], deps);
    const events = opts.json
        ? out
              .trimEnd()
              .split("\n")
              .map((l) => JSON.parse(l) as RolloutEvent)
        : [];
    return { code, out, events, target: target!, dir: opts.dir };
}
