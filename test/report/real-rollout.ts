/**
 * A real rollout for the report's tests and its screenshot: the rollout CLI, engine and analysis
 * against a real Prometheus scraping the fake Istio exporter (test/rollout/mesh.ts), with a canary
 * that holds at 10% until it has enough requests, passes 10% and 25%, and breaks at 50% (6% 5xx),
 * so its state has holds, passes, a fail and a rollback, with several looks per step.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RolloutState } from "../../rollout/state";
import { startIstioExporter } from "../support/istio-exporter";
import { startPrometheus } from "../support/prometheus";
import { configDirWith, devStackFile } from "../rollout/fakes";
import { CanaryBehaviour, MeshRun, MeshTarget, runMeshRollout, svc } from "../rollout/mesh";

/** The app (destination_service `report-demo.shop.svc.cluster.local`). */
const APP = "report-demo";

/** Healthy until 50%, then 6% of its answers are 503. */
const CANARY: CanaryBehaviour = (w) => (w >= 50 ? { errorRate: 0.06 } : {});

/** What the rollout ran and left. */
export interface RealRollout {
    run: MeshRun;
    /** The state file it wrote. */
    stateFile: string;
    state: RolloutState;
}

/**
 * Runs the rollout (about 30 s: Prometheus's first scrapes, then three steps) and returns its state;
 * Prometheus and the exporter are stopped before it returns.
 */
export async function realRollout(): Promise<RealRollout> {
    const exporter = await startIstioExporter({ services: {} });
    let prom;
    try {
        // The app starts as its stack file says: v1 90%, v2 10%.
        new MeshTarget("", exporter, APP, CANARY).route({ v1: 90, v2: 10 });
        prom = await startPrometheus({ targets: [exporter.target] });
        const p = prom;
        await p.waitFor(
            "the first scraped samples",
            async () => (await p.query(`count(istio_requests_total{destination_service="${svc(APP)}"})`)).length === 1,
            60_000,
        );
        const rollout = [
            "steps: [10, 25, 50, 100]",
            "waitSeconds: 2",
            "analysisIntervalSeconds: 2",
            "maxStepRequests: 100000",
            "maxStepSeconds: 120",
            `prometheusUrl: ${p.url}`,
            // 100 req/s reach the canary at 10%, 250 at 25%: the first looks of each are inconclusive (too few requests).
            "minRequests: 600",
        ].join("\n");
        const dir = configDirWith({
            dev: devStackFile({ rollout }).replace("config:\n", `config:\n  istio-canary:app:\n    name: ${APP}\n    namespace: shop\n`),
        });
        const run = await runMeshRollout({ exporter, app: APP, canary: CANARY, dir, argv: ["--stack", "dev"], json: true });
        const stateFile = path.join(dir, ".rollout", "dev.json");
        return { run, stateFile, state: JSON.parse(fs.readFileSync(stateFile, "utf8")) as RolloutState };
    } finally {
        await prom?.stop();
        await exporter.stop();
    }
}
