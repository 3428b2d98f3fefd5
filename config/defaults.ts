import { CanaryConfig } from "./types";

/**
 * Field defaults. Pulumi.yaml declares the same values (a test keeps the two equal); they are
 * needed here too because a stack that sets an object key (say `app`) replaces the whole
 * project-level value, so missing fields fall back field by field.
 */
export const DEFAULTS: Omit<CanaryConfig, "versions" | "istio" | "app"> & {
    app: Omit<CanaryConfig["app"], "createNamespace">;
    istio: Omit<CanaryConfig["istio"], "gatewaySelector" | "gatewayNamespace">;
    versions: CanaryConfig["versions"];
} = {
    app: { name: "myapp", namespace: "default", port: 8080, targetPort: 80 },
    hosts: ["myapp.apsissolutions.com"],
    versions: [{ name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 100 }],
    tls: { credentialName: "apsis-tls" },
    istio: {
        install: true,
        version: "1.28.0",
        namespace: "istio-system",
        gatewayName: "istio-ingressgateway",
        gatewayServiceType: "LoadBalancer",
        chartRepo: "https://istio-release.storage.googleapis.com/charts",
    },
    pod: {
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
        readinessProbe: { path: "/", initialDelaySeconds: 2, periodSeconds: 5 },
        livenessProbe: { path: "/", initialDelaySeconds: 10, periodSeconds: 10 },
        runAsNonRoot: true,
        runAsUser: 10001,
    },
    routing: { httpsRedirect: true },
    monitoring: {
        enabled: false,
        namespace: "istio-system",
        prometheusChartVersion: "27.39.0",
        grafanaChartVersion: "10.1.4",
        kialiChartVersion: "2.17.0",
    },
    rollout: {
        steps: [10, 25, 50, 100],
        waitSeconds: 60,
        analysisIntervalSeconds: 15,
        maxInconclusive: 8,
        prometheusUrl: "http://prometheus.istio-system:9090",
        maxErrorRate: 0.01,
        maxP99Ms: 200,
        minRequests: 50,
        reporter: "destination",
    },
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
    "rollout",
    "promotionOrder",
] as const;

/** Keys whose values are secrets. */
export const SECRET_KEYS = ["tlsCert", "tlsKey"] as const;
