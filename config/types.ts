/**
 * Typed, validated configuration of one stack. Every shape that a component decides is that
 * component's resolved args type (components/): config only adds the switches and the keys that
 * belong to no component (rollout, promotion order).
 */
import type { HookConfig } from "../rollout/hooks";
import type { NotificationTarget } from "../notify/types";
import type { AppArgs, ResolvedIstioMeshArgs, ResolvedMonitoringArgs, ResolvedPod, ResolvedRouting, ResolvedVersion } from "../components";

/** `app`: CanaryApp's app args with their defaults. */
export type AppConfig = Required<AppArgs>;

/** One entry of `versions`. */
export type VersionConfig = ResolvedVersion;

/** `pod`: CanaryApp's pod args with their defaults. */
export type PodConfig = ResolvedPod;

/** Which API routes the traffic. */
export const ROUTING_APIS = ["istio", "gateway-api"] as const;
/** `istio`: Istio Gateway, DestinationRule and VirtualService; `gateway-api`: Kubernetes Gateway API Gateway and HTTPRoute. */
export type RoutingApi = (typeof ROUTING_APIS)[number];

/** `routing`: the routing args of Traffic / GatewayApiTraffic with their defaults, and which API. */
export interface RoutingConfig extends ResolvedRouting {
    /** The routing API. Default `istio`. */
    api: RoutingApi;
    /**
     * Accept routing.api istio in ambient mode, where a VirtualService with subsets behind a
     * waypoint is Alpha in Istio. Default false (refused with the reason).
     */
    allowVirtualServiceInAmbient: boolean;
}

/** `gatewayApi`: the Kubernetes Gateway API CRDs, used with routing.api gateway-api and with ambient waypoints. */
export interface GatewayApiConfig {
    /** Install the standard-channel CRDs (Istio's charts do not). Default true; false on clusters that have them. */
    installCrds: boolean;
    /** Gateway API release of the CRDs. Default v1.3.0. */
    version: string;
}

/** The TLS secret the Gateway serves. */
export interface TlsConfig {
    /** Name of the kubernetes.io/tls Secret and the Gateway's credentialName. Default `apsis-tls`. */
    credentialName: string;
}

/** `istio`: IstioMesh's args (`ingressGateway` derived from routing.api) plus the switch and the selector. */
export interface IstioConfig extends ResolvedIstioMeshArgs {
    /** Install Istio (base, istiod, gateway charts). Default true; false when the cluster already runs Istio. */
    install: boolean;
    /**
     * Labels of the ingress gateway pods, used as the Gateway's selector. With `install`, derived
     * from `gatewayName` exactly as the chart does; without it, from config (default `istio: ingressgateway`).
     */
    gatewaySelector: Record<string, string>;
}

/** `monitoring`: the switch and Monitoring's chart args. */
export interface MonitoringConfig extends Pick<
    ResolvedMonitoringArgs,
    "namespace" | "prometheusChartVersion" | "grafanaChartVersion" | "kialiChartVersion"
> {
    /** Install the monitoring stack. Default false; the dev stack turns it on. */
    enabled: boolean;
}

/** How `istio-canary rollout` walks the canary up. */
export interface RolloutConfig {
    /** Canary weights in order, strictly increasing, ending at 100, with at least one analysed step below it. Default [10, 25, 50, 100]. */
    steps: number[];
    /** Seconds to wait after each traffic shift before the first analysis. Default 0 (the counts start at the shift). */
    waitSeconds: number;
    /** Seconds between analyses while a step is inconclusive: Prometheus's scrape interval of Istio's metrics. Default 15. */
    analysisIntervalSeconds: number;
    /** Canary requests a step may gather without a verdict before it is rolled back. Default 10000. */
    maxStepRequests: number;
    /** Seconds a step may last without a verdict before it is rolled back. Default 14400 (4 h). */
    maxStepSeconds: number;
    /** Prometheus base URL the analysis queries. */
    prometheusUrl: string;
    /** Absolute limit on the canary's 5xx ratio. Default 0.01. */
    maxErrorRate: number;
    /** Absolute limit on the canary's p99 latency in ms. Default 200. */
    maxP99Ms: number;
    /** Canary requests needed before a step can pass. Default 50. */
    minRequests: number;
    /** Istio metrics reporter label: `destination`, `source` or `waypoint`. Default `destination`. */
    reporter: string;
    /**
     * The canary weights (entries of `steps`) whose shift waits for `rollout --approve`: the steps
     * written `{weight: W, approve: true}`. Default none; prod gates 100.
     */
    approve: number[];
    /** Commands and webhooks run at named points of the rollout. Default none. */
    hooks: HookConfig[];
    /** Webhook targets told about the rollout's milestones (notify/). Default none. */
    notifications: NotificationTarget[];
}

/** The whole validated stack configuration. */
export interface CanaryConfig {
    /** The application. */
    app: AppConfig;
    /** Hostnames served. */
    hosts: string[];
    /** The running versions, baseline first. */
    versions: VersionConfig[];
    /** The TLS Secret's name. */
    tls: TlsConfig;
    /** Istio. */
    istio: IstioConfig;
    /** Pod settings. */
    pod: PodConfig;
    /** Routing features. */
    routing: RoutingConfig;
    /** In-cluster monitoring. */
    monitoring: MonitoringConfig;
    /** The Gateway API CRDs. */
    gatewayApi: GatewayApiConfig;
    /** The rollout. */
    rollout: RolloutConfig;
    /** Stacks in promotion order. Default [dev, staging, prod]. */
    promotionOrder: string[];
}
