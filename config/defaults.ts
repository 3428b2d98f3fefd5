import {
    APP_DEFAULTS,
    DEFAULT_CREDENTIAL_NAME,
    GATEWAY_API_VERSION,
    ISTIO_MESH_DEFAULTS,
    MONITORING_DEFAULTS,
    POD_DEFAULTS,
} from "../components";
import { monitoringUrls } from "../components/monitoring";
import { ANALYSIS_DEFAULTS } from "../analysis/options";
import { STEP_TOLERANCE_DEFAULTS } from "../rollout/tolerance";
import { CanaryConfig } from "./types";

/**
 * The defaults of every key. The components own theirs (components/*.ts `*_DEFAULTS`); the
 * project adds its own values for what components leave to the caller (the app's name, hosts,
 * versions) and for the keys of no component. Pulumi.yaml declares the same values (a test keeps
 * the two equal); they are needed here too because a stack that sets an object key (say `app`)
 * replaces the whole project-level value, so missing fields fall back field by field.
 */
export const DEFAULTS: Omit<CanaryConfig, "versions" | "istio" | "app"> & {
    app: Omit<CanaryConfig["app"], "createNamespace">;
    istio: Omit<CanaryConfig["istio"], "gatewaySelector" | "gatewayNamespace">;
    versions: CanaryConfig["versions"];
} = {
    app: { name: "myapp", ...APP_DEFAULTS },
    hosts: ["myapp.apsissolutions.com"],
    versions: [{ name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 100 }],
    tls: { credentialName: DEFAULT_CREDENTIAL_NAME },
    istio: { install: true, ...ISTIO_MESH_DEFAULTS },
    pod: POD_DEFAULTS,
    routing: { api: "istio", allowVirtualServiceInAmbient: false, httpsRedirect: true },
    monitoring: {
        enabled: false,
        namespace: MONITORING_DEFAULTS.namespace,
        prometheusChartVersion: MONITORING_DEFAULTS.prometheusChartVersion,
        grafanaChartVersion: MONITORING_DEFAULTS.grafanaChartVersion,
        kialiChartVersion: MONITORING_DEFAULTS.kialiChartVersion,
    },
    rollout: {
        steps: [10, 25, 50, 100],
        // The counts are exact deltas since the shift, so the first look can come right after it.
        waitSeconds: 0,
        // Istio's metrics are scraped every 15 s by default: no new data arrives between scrapes.
        analysisIntervalSeconds: 15,
        // Tolerance in evidence and time, not looks: rollout/tolerance.ts says why these values.
        maxStepRequests: STEP_TOLERANCE_DEFAULTS.maxStepRequests,
        maxStepSeconds: STEP_TOLERANCE_DEFAULTS.maxStepSeconds,
        // Where the Monitoring component's Prometheus answers in its default namespace.
        prometheusUrl: monitoringUrls(MONITORING_DEFAULTS.namespace).prometheus,
        // The analysis's own defaults: one definition for `istio-canary analyze` and the rollout.
        maxErrorRate: ANALYSIS_DEFAULTS.maxErrorRate,
        maxP99Ms: ANALYSIS_DEFAULTS.maxP99Ms,
        minRequests: ANALYSIS_DEFAULTS.minRequests,
        reporter: ANALYSIS_DEFAULTS.reporter,
        approve: [],
        hooks: [],
        notifications: [],
    },
    gatewayApi: { installCrds: true, version: GATEWAY_API_VERSION },
    promotionOrder: ["dev", "staging", "prod"],
};

/** The config keys this project reads; any other `istio-canary:` key is a typo and is rejected. */
export const CONFIG_KEYS = [
    "app",
    "hosts",
    "versions",
    "tlsCert",
    "tlsKey",
    "tls",
    "istio",
    "pod",
    "routing",
    "monitoring",
    "gatewayApi",
    "rollout",
    "promotionOrder",
] as const;

/** Keys whose values are secrets. */
export const SECRET_KEYS = ["tlsCert", "tlsKey"] as const;
