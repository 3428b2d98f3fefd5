import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { REPORTERS } from "../analysis/options";
import { escapeLabelValue } from "../analysis/promql";
import { CHART_VERSION, Checker, DNS_LABEL, StringRule } from "./validation";

/** Helm repository of the prometheus chart. */
export const PROMETHEUS_REPO = "https://prometheus-community.github.io/helm-charts";
/** Helm repository of the grafana chart. */
export const GRAFANA_REPO = "https://grafana.github.io/helm-charts";
/** Helm repository of the kiali-server chart. */
export const KIALI_REPO = "https://kiali.org/helm-charts";

/**
 * Service names of Prometheus and Grafana. Fixed (the charts' fullnameOverride), as Istio's own
 * addons do, because things outside this component find them by name: the rollout's
 * `rollout.prometheusUrl` (default http://prometheus.istio-system:9090), Kiali, `istioctl dashboard`.
 */
export const PROMETHEUS_SERVICE = "prometheus";
/** See PROMETHEUS_SERVICE. */
export const GRAFANA_SERVICE = "grafana";
/** Port of the Prometheus Service (Istio's documented 9090, not the chart's 80). */
export const PROMETHEUS_PORT = 9090;
/** Port of the Grafana Service (Istio's documented 3000). */
export const GRAFANA_PORT = 3000;

/** Arguments of Monitoring. */
export interface MonitoringArgs {
    /** Istio `destination_service` of the app, e.g. `shop.shop.svc.cluster.local`; the canary dashboard selects it. Required. */
    serviceFqdn: string;
    /** Namespace of the monitoring releases. Defaults to `istio-system`. */
    namespace?: string;
    /** Namespace of istiod, whose metrics the `istiod` scrape job reads. Defaults to `istio-system`. */
    istioNamespace?: string;
    /** Istio metrics reporter the dashboard reads: `destination`, `source` or `waypoint` (ambient). Defaults to `destination`, as the analysis. */
    reporter?: string;
    /** Prometheus scrape interval. Defaults to `15s` (Istio's addon value). */
    scrapeInterval?: string;
    /** prometheus-community/prometheus chart version. Defaults to 27.39.0. */
    prometheusChartVersion?: string;
    /** grafana/grafana chart version. Defaults to 10.1.4. */
    grafanaChartVersion?: string;
    /** kiali/kiali-server chart version. Defaults to 2.17.0. */
    kialiChartVersion?: string;
}

/** Monitoring's arguments with every default applied and checked. */
export type ResolvedMonitoringArgs = Required<MonitoringArgs>;

/** Defaults of MonitoringArgs. */
export const MONITORING_DEFAULTS = {
    namespace: "istio-system",
    istioNamespace: "istio-system",
    reporter: "destination",
    scrapeInterval: "15s",
    prometheusChartVersion: "27.39.0",
    grafanaChartVersion: "10.1.4",
    kialiChartVersion: "2.17.0",
} as const;

/** The fields of MonitoringArgs a stack sets (serviceFqdn, istioNamespace and reporter come from other keys). */
export const MONITORING_CHART_FIELDS = ["namespace", "prometheusChartVersion", "grafanaChartVersion", "kialiChartVersion"] as const;

const FQDN: StringRule = [
    (s) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(s),
    "a service FQDN such as myapp.default.svc.cluster.local",
];

/**
 * Checks Monitoring's arguments and applies the defaults. Pure. Problems go to `c`; without one,
 * throws ArgsError naming every bad value.
 */
export function resolveMonitoringArgs(args: MonitoringArgs, c?: Checker): ResolvedMonitoringArgs {
    const check = c ?? new Checker();
    const d = MONITORING_DEFAULTS;
    check.required("serviceFqdn", args.serviceFqdn, "the canary dashboard selects the app's Service by its FQDN");
    const resolved: ResolvedMonitoringArgs = {
        serviceFqdn: check.string("serviceFqdn", args.serviceFqdn, "", FQDN),
        namespace: check.string("namespace", args.namespace, d.namespace, DNS_LABEL),
        istioNamespace: check.string("istioNamespace", args.istioNamespace, d.istioNamespace, DNS_LABEL),
        reporter: check.oneOf("reporter", args.reporter, d.reporter, REPORTERS),
        scrapeInterval: check.string("scrapeInterval", args.scrapeInterval, d.scrapeInterval, [
            (s) => /^\d+(ms|s|m)$/.test(s),
            "a Prometheus duration such as 15s",
        ]),
        prometheusChartVersion: check.string(
            "prometheusChartVersion",
            args.prometheusChartVersion,
            d.prometheusChartVersion,
            CHART_VERSION,
        ),
        grafanaChartVersion: check.string("grafanaChartVersion", args.grafanaChartVersion, d.grafanaChartVersion, CHART_VERSION),
        kialiChartVersion: check.string("kialiChartVersion", args.kialiChartVersion, d.kialiChartVersion, CHART_VERSION),
    };
    if (c === undefined) {
        check.throwIfAny("Monitoring");
    }
    return resolved;
}

/** In-cluster URLs of the monitoring services in a namespace. Pure. */
export function monitoringUrls(namespace: string): { prometheus: string; grafana: string } {
    return {
        prometheus: `http://${PROMETHEUS_SERVICE}.${namespace}:${PROMETHEUS_PORT}`,
        grafana: `http://${GRAFANA_SERVICE}.${namespace}:${GRAFANA_PORT}`,
    };
}

/** A PromQL string literal: the analysis's escaper between double quotes. */
export function promString(value: string): string {
    return `"${escapeLabelValue(value)}"`;
}

/** A Prometheus relabel rule (the subset used here). */
export interface RelabelConfig {
    source_labels?: string[];
    action?: "keep" | "drop" | "replace" | "labelmap" | "labeldrop";
    regex?: string;
    replacement?: string;
    target_label?: string;
}

/** A Prometheus scrape job (the subset used here). */
export interface ScrapeConfig {
    job_name: string;
    metrics_path?: string;
    static_configs?: { targets: string[] }[];
    kubernetes_sd_configs?: { role: "pod" | "endpoints"; namespaces?: { names: string[] } }[];
    relabel_configs?: RelabelConfig[];
}

/**
 * The scrape jobs: Prometheus itself, istiod (`http-monitoring` port of the istiod Service) and the
 * Envoy sidecars and gateways (`/stats/prometheus` on each container port named `*-envoy-prom`,
 * 15090), as in Istio's Prometheus integration guide. They replace the chart's default jobs, whose
 * annotation-based `kubernetes-pods` job would scrape the same Envoy metrics a second time through
 * Istio's merged-metrics port (15020) and double every istio_requests_total count. Pure.
 */
export function istioScrapeConfigs(istioNamespace: string): ScrapeConfig[] {
    return [
        { job_name: "prometheus", static_configs: [{ targets: [`localhost:${PROMETHEUS_PORT}`] }] },
        {
            job_name: "istiod",
            kubernetes_sd_configs: [{ role: "endpoints", namespaces: { names: [istioNamespace] } }],
            relabel_configs: [
                {
                    source_labels: ["__meta_kubernetes_service_name", "__meta_kubernetes_endpoint_port_name"],
                    action: "keep",
                    regex: "istiod;http-monitoring",
                },
            ],
        },
        {
            job_name: "envoy-stats",
            metrics_path: "/stats/prometheus",
            kubernetes_sd_configs: [{ role: "pod" }],
            relabel_configs: [
                { source_labels: ["__meta_kubernetes_pod_container_port_name"], action: "keep", regex: ".*-envoy-prom" },
                { source_labels: ["__meta_kubernetes_namespace"], action: "replace", target_label: "namespace" },
                { source_labels: ["__meta_kubernetes_pod_name"], action: "replace", target_label: "pod" },
            ],
        },
    ];
}

/** Values of the prometheus-community/prometheus chart: the server only, scraping Istio, at PROMETHEUS_SERVICE:9090. Pure. */
export function prometheusValues(r: ResolvedMonitoringArgs): Record<string, unknown> {
    return {
        // Only the server: the canary analysis and the dashboards need Istio's metrics, nothing else.
        alertmanager: { enabled: false },
        "kube-state-metrics": { enabled: false },
        "prometheus-node-exporter": { enabled: false },
        "prometheus-pushgateway": { enabled: false },
        server: {
            fullnameOverride: PROMETHEUS_SERVICE,
            service: { servicePort: PROMETHEUS_PORT },
            // Outside the mesh: Prometheus scrapes sidecars over plain HTTP on their metrics ports.
            podLabels: { "sidecar.istio.io/inject": "false" },
            persistentVolume: { enabled: false },
            global: { scrape_interval: r.scrapeInterval },
        },
        serverFiles: { "prometheus.yml": { scrape_configs: istioScrapeConfigs(r.istioNamespace) } },
    };
}

/** One panel query of the canary dashboard. */
export interface DashboardQuery {
    /** Panel title. */
    title: string;
    /** Grafana unit. */
    unit: string;
    /** PromQL, with Grafana's `$__rate_interval`. */
    expr: string;
}

/**
 * The canary dashboard's queries, one series per `destination_version` of the app's service:
 * traffic share, 5xx ratio (0 for a version without errors, not "no data"), p99 latency and
 * request rate, on istio_requests_total and istio_request_duration_milliseconds_bucket. Pure.
 */
export function canaryDashboardQueries(serviceFqdn: string, reporter = "destination"): DashboardQuery[] {
    const sel = `reporter=${promString(reporter)},destination_service=${promString(serviceFqdn)}`;
    const rate = (extra = "") => `rate(istio_requests_total{${sel}${extra}}[$__rate_interval])`;
    return [
        {
            title: "Traffic split (share of requests per version)",
            unit: "percentunit",
            expr: `sum by (destination_version) (${rate()}) / scalar(sum(${rate()}))`,
        },
        {
            title: "5xx ratio per version",
            unit: "percentunit",
            expr:
                `(sum by (destination_version) (${rate(',response_code=~"5.."')}) or (0 * sum by (destination_version) (${rate()})))` +
                ` / sum by (destination_version) (${rate()})`,
        },
        {
            title: "p99 latency per version",
            unit: "ms",
            expr: `histogram_quantile(0.99, sum by (destination_version, le) (rate(istio_request_duration_milliseconds_bucket{${sel}}[$__rate_interval])))`,
        },
        {
            title: "Requests per second per version",
            unit: "reqps",
            expr: `sum by (destination_version) (${rate()})`,
        },
    ];
}

/** The canary dashboard as Grafana JSON: one time-series panel per query, two per row. Pure. */
export function canaryDashboard(serviceFqdn: string, reporter = "destination"): Record<string, unknown> {
    const panels = canaryDashboardQueries(serviceFqdn, reporter).map((q, i) => ({
        id: i + 1,
        type: "timeseries",
        title: q.title,
        datasource: { type: "prometheus", uid: "prometheus" },
        gridPos: { h: 9, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 9 },
        fieldConfig: { defaults: { unit: q.unit }, overrides: [] },
        targets: [
            { refId: "A", expr: q.expr, legendFormat: "{{destination_version}}", datasource: { type: "prometheus", uid: "prometheus" } },
        ],
    }));
    return {
        uid: "istio-canary",
        title: `Canary: ${serviceFqdn}`,
        tags: ["istio", "canary"],
        timezone: "browser",
        schemaVersion: 39,
        refresh: "10s",
        time: { from: "now-30m", to: "now" },
        panels,
    };
}

/** Values of the grafana/grafana chart: the Prometheus data source and the canary dashboard, provisioned. Pure. */
export function grafanaValues(r: ResolvedMonitoringArgs): Record<string, unknown> {
    const urls = monitoringUrls(r.namespace);
    return {
        fullnameOverride: GRAFANA_SERVICE,
        service: { port: GRAFANA_PORT },
        podLabels: { app: GRAFANA_SERVICE, "sidecar.istio.io/inject": "false" },
        testFramework: { enabled: false },
        // Read-only anonymous access for watching a rollout; the admin password stays the chart's generated secret.
        "grafana.ini": { "auth.anonymous": { enabled: true, org_role: "Viewer" } },
        datasources: {
            "datasources.yaml": {
                apiVersion: 1,
                datasources: [
                    {
                        name: "Prometheus",
                        type: "prometheus",
                        uid: "prometheus",
                        url: urls.prometheus,
                        access: "proxy",
                        isDefault: true,
                        jsonData: { timeInterval: r.scrapeInterval },
                    },
                ],
            },
        },
        dashboardProviders: {
            "dashboardproviders.yaml": {
                apiVersion: 1,
                providers: [
                    {
                        name: "istio-canary",
                        orgId: 1,
                        folder: "istio-canary",
                        type: "file",
                        disableDeletion: false,
                        options: { path: "/var/lib/grafana/dashboards/istio-canary" },
                    },
                ],
            },
        },
        dashboards: { "istio-canary": { canary: { json: JSON.stringify(canaryDashboard(r.serviceFqdn, r.reporter)) } } },
    };
}

/** Values of the kiali-server chart: read-only, anonymous, pointed at this Prometheus and Grafana. Pure. */
export function kialiValues(r: ResolvedMonitoringArgs): Record<string, unknown> {
    const urls = monitoringUrls(r.namespace);
    return {
        istio_namespace: r.istioNamespace,
        auth: { strategy: "anonymous" },
        deployment: {
            // Anonymous access is acceptable only because nothing can be changed through it.
            view_only_mode: true,
            pod_labels: { "sidecar.istio.io/inject": "false" },
            ingress: { enabled: false },
        },
        external_services: {
            prometheus: { url: urls.prometheus },
            grafana: { enabled: true, internal_url: urls.grafana },
            // Kiali does not start without a tracing backend unless tracing is off.
            tracing: { enabled: false },
            istio: { root_namespace: r.istioNamespace },
        },
    };
}

/**
 * In-cluster monitoring for canary releases: Prometheus scraping Istio, Grafana with a canary
 * dashboard (split, 5xx ratio and p99 per version), and Kiali pointed at that Prometheus; one
 * helm.v3.Release each, at the chart versions given, in `namespace`.
 * `prometheusUrl` is the URL `rollout.prometheusUrl` should hold (reachable in the cluster; from a
 * workstation use `kubectl -n <namespace> port-forward svc/prometheus 9090`).
 *
 * ## Example Usage
 * ```typescript
 * const monitoring = new Monitoring("monitoring", { serviceFqdn: "shop.shop.svc.cluster.local" });
 * export const prometheusUrl = monitoring.prometheusUrl; // http://prometheus.istio-system:9090
 * ```
 */
export class Monitoring extends pulumi.ComponentResource {
    /** The Prometheus release. */
    readonly prometheus: k8s.helm.v3.Release;
    /** The Grafana release. */
    readonly grafana: k8s.helm.v3.Release;
    /** The Kiali release. */
    readonly kiali: k8s.helm.v3.Release;
    /** In-cluster URL of Prometheus, e.g. http://prometheus.istio-system:9090 (known at preview: the service name is fixed). */
    readonly prometheusUrl: string;
    /** In-cluster URL of Grafana, e.g. http://grafana.istio-system:3000. */
    readonly grafanaUrl: string;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:monitoring:Monitoring", name, {}, opts);
        const r = resolveMonitoringArgs(args);
        const self = { parent: this };
        const release = (chart: string, version: string, repo: string, values: Record<string, unknown>) => ({
            chart,
            version,
            repositoryOpts: { repo },
            namespace: r.namespace,
            createNamespace: true,
            values,
            skipAwait: false,
            atomic: true,
            cleanupOnFail: true,
            timeout: 600,
        });
        this.prometheus = new k8s.helm.v3.Release(
            `${name}-prometheus`,
            release("prometheus", r.prometheusChartVersion, PROMETHEUS_REPO, prometheusValues(r)),
            self,
        );
        this.grafana = new k8s.helm.v3.Release(
            `${name}-grafana`,
            release("grafana", r.grafanaChartVersion, GRAFANA_REPO, grafanaValues(r)),
            self,
        );
        this.kiali = new k8s.helm.v3.Release(`${name}-kiali`, release("kiali-server", r.kialiChartVersion, KIALI_REPO, kialiValues(r)), {
            ...self,
            dependsOn: [this.prometheus],
        });
        const urls = monitoringUrls(r.namespace);
        this.prometheusUrl = urls.prometheus;
        this.grafanaUrl = urls.grafana;
        this.registerOutputs({
            prometheus: this.prometheus,
            grafana: this.grafana,
            kiali: this.kiali,
            prometheusUrl: this.prometheusUrl,
            grafanaUrl: this.grafanaUrl,
        });
    }
}
