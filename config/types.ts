/**
 * Typed, validated configuration of one stack. Everything the program creates is
 * decided by these values; config/validate.ts produces them from raw stack config.
 */

/** The application: its label, namespace and ports. */
export interface AppConfig {
    /** `app` label of the pods, and the Service's name. Default `myapp`. */
    name: string;
    /** Namespace of the Deployments, Service, Gateway, DestinationRule and VirtualService. Default `default`. */
    namespace: string;
    /** Port the Service listens on. Default 8080. */
    port: number;
    /** Container port the Service forwards to. Default 80. */
    targetPort: number;
    /**
     * Create the namespace (labelled `istio-injection=enabled`). Default: true, except for
     * `default`, which always exists and is labelled with a patch instead.
     */
    createNamespace: boolean;
}

/** One running version of the application. Its Kubernetes resources are keyed by `name`. */
export interface VersionConfig {
    /** Version label value and DestinationRule subset name; a DNS label, unique. */
    name: string;
    /** Container image with a tag or digest. */
    image: string;
    /** Pod replicas, an integer >= 0. */
    replicas: number;
    /** Percentage of traffic, an integer 0-100; all weights sum to 100. */
    weight: number;
}

/** The TLS secret the Gateway serves. */
export interface TlsConfig {
    /** Name of the kubernetes.io/tls Secret and the Gateway's credentialName. Default `apsis-tls`. */
    credentialName: string;
}

/** Istio installation and the ingress gateway the app is exposed through. */
export interface IstioConfig {
    /** Install Istio (base, istiod, gateway charts). Default true; false when the cluster already runs Istio. */
    install: boolean;
    /** Chart version of base, istiod and gateway. Default 1.28.0. */
    version: string;
    /** Namespace of base and istiod. Default `istio-system`. */
    namespace: string;
    /** Namespace of the ingress gateway pods; the TLS secret goes here. Default: `namespace`. */
    gatewayNamespace: string;
    /** Helm release name of the gateway chart; the chart derives the pod label `istio` from it. Default `istio-ingressgateway`. */
    gatewayName: string;
    /**
     * Service type of the ingress gateway. Default `LoadBalancer`; use `NodePort` where the cluster has no
     * load-balancer implementation (plain kind): the install waits for the Service to be ready, and a
     * LoadBalancer Service without an address never is.
     */
    gatewayServiceType: "LoadBalancer" | "NodePort" | "ClusterIP";
    /** Helm repository of the charts. Default https://istio-release.storage.googleapis.com/charts. */
    chartRepo: string;
    /**
     * Labels of the ingress gateway pods, used as the Gateway's selector. With `install`, derived
     * from `gatewayName` exactly as the chart does; without it, from config (default `istio: ingressgateway`).
     */
    gatewaySelector: Record<string, string>;
}

/** An HTTP probe. */
export interface ProbeConfig {
    /** HTTP path probed on the container port. */
    path: string;
    /** Seconds before the first probe. */
    initialDelaySeconds: number;
    /** Seconds between probes. */
    periodSeconds: number;
}

/** CPU and memory quantities. */
export interface ResourceQuantities {
    /** CPU quantity, e.g. `100m`. */
    cpu: string;
    /** Memory quantity, e.g. `128Mi`. */
    memory: string;
}

/** Pod settings shared by every version's Deployment. */
export interface PodConfig {
    /** Requests and limits of the app container. */
    resources: { requests: ResourceQuantities; limits: ResourceQuantities };
    /** Readiness probe; a pod gets traffic only when it passes. */
    readinessProbe: ProbeConfig;
    /** Liveness probe; the container restarts when it fails. */
    livenessProbe: ProbeConfig;
    /** Refuse to start containers as root. Default true. */
    runAsNonRoot: boolean;
    /** UID of the container process. Default 10001. */
    runAsUser?: number;
}

/** Mirror (shadow) a share of traffic to a version; responses are discarded. */
export interface MirrorConfig {
    /** Version that receives the copy; must be in `versions`. */
    version: string;
    /** Share of requests copied, 0-100. */
    percentage: number;
}

/** Route requests carrying a header value to one version, ahead of the weighted route. */
export interface HeaderRouteConfig {
    /** Header name, lower case, e.g. `x-canary`. */
    header: string;
    /** Exact value to match, e.g. `"true"`. */
    value: string;
    /** Version that gets the matching requests; must be in `versions`. */
    version: string;
}

/** Retries of the weighted route. */
export interface RetriesConfig {
    /** Number of retries. */
    attempts: number;
    /** Timeout per try, e.g. `2s`. */
    perTryTimeout?: string;
    /** Envoy retry conditions, comma separated. */
    retryOn?: string;
}

/** Routing features of the VirtualService and the Gateway. */
export interface RoutingConfig {
    /** Add a port 80 server that redirects to HTTPS. Default true. */
    httpsRedirect: boolean;
    /** Mirror a share of traffic to a version. Default off. */
    mirror?: MirrorConfig;
    /** Header-matched route to a version ahead of the weighted route. Default off. */
    headerRoute?: HeaderRouteConfig;
    /** Timeout of the routes, e.g. `10s`. Default off (Istio's default: none). */
    timeout?: string;
    /** Retry policy. Default off (Istio's default: 2 attempts). */
    retries?: RetriesConfig;
}

/** In-cluster monitoring: Prometheus scraping Istio, Grafana with a canary dashboard, Kiali. */
export interface MonitoringConfig {
    /** Install the monitoring stack. Default false; the dev stack turns it on. */
    enabled: boolean;
    /** Namespace of the monitoring releases. Default `istio-system`. */
    namespace: string;
    /** prometheus-community/prometheus chart version. */
    prometheusChartVersion: string;
    /** grafana/grafana chart version. */
    grafanaChartVersion: string;
    /** kiali/kiali-server chart version. */
    kialiChartVersion: string;
}

/** How `istio-canary rollout` walks the canary up. */
export interface RolloutConfig {
    /** Canary weights in order, strictly increasing, ending at 100. Default [10, 25, 50, 100]. */
    steps: number[];
    /** Seconds to wait after each traffic shift before the first analysis. Default 60. */
    waitSeconds: number;
    /** Seconds between analyses while a step is inconclusive. Default 15. */
    analysisIntervalSeconds: number;
    /** Inconclusive analyses tolerated in one step before rolling back. Default 8. */
    maxInconclusive: number;
    /** Prometheus base URL the analysis queries. */
    prometheusUrl: string;
    /** Absolute limit on the canary's 5xx ratio. Default 0.01. */
    maxErrorRate: number;
    /** Absolute limit on the canary's p99 latency in ms. Default 200. */
    maxP99Ms: number;
    /** Canary requests needed before a step can pass. Default 50. */
    minRequests: number;
    /** Istio metrics reporter label: `destination` or `source`. Default `destination`. */
    reporter: string;
}

/** The whole validated stack configuration. */
export interface CanaryConfig {
    app: AppConfig;
    hosts: string[];
    versions: VersionConfig[];
    tls: TlsConfig;
    istio: IstioConfig;
    pod: PodConfig;
    routing: RoutingConfig;
    monitoring: MonitoringConfig;
    rollout: RolloutConfig;
    /** Stacks in promotion order. Default [dev, staging, prod]. */
    promotionOrder: string[];
}
