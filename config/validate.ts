import {
    Checker,
    ConfigError,
    PROJECT,
    plainSecretProblem,
    isDnsLabel,
    isDnsSubdomain,
    isDuration,
    isHostname,
    isPinnedImage,
} from "./check";
import { REPORTERS } from "../analysis/options";
import { CONFIG_KEYS, DEFAULTS, SECRET_KEYS } from "./defaults";
import {
    AppConfig,
    CanaryConfig,
    HeaderRouteConfig,
    IstioConfig,
    MirrorConfig,
    MonitoringConfig,
    PodConfig,
    ProbeConfig,
    RetriesConfig,
    RolloutConfig,
    RoutingConfig,
    VersionConfig,
} from "./types";

/** Raw config of one stack: key (without the `istio-canary:` prefix) to its parsed value. */
export type RawConfig = Record<string, unknown>;

const MAX = Number.MAX_SAFE_INTEGER;
const DNS_LABEL: [(s: string) => boolean, string] = [isDnsLabel, "a DNS label (lower-case letters, digits and '-', at most 63 characters)"];
const DURATION: [(s: string) => boolean, string] = [isDuration, "a duration such as 500ms, 10s or 1m"];
const CHART_VERSION: [(s: string) => boolean, string] = [
    (s) => /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(s),
    "a chart version such as 1.28.0",
];
const RETRY_ON = new Set([
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
]);

/** The labels the Istio gateway chart puts on its pods for a release name (`istio` is the name minus `istio-`). */
export function gatewayChartPodLabels(releaseName: string): Record<string, string> {
    return { app: releaseName, istio: releaseName.replace(/^istio-/, "") };
}

/**
 * Validates a stack's raw config and returns it typed, with defaults applied.
 * Throws ConfigError listing every problem; nothing is registered before this passes.
 */
export function validateConfig(raw: RawConfig): CanaryConfig {
    const c = new Checker();
    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            c.problems.push(`${PROJECT}:${key} is not a known config key; known keys: ${CONFIG_KEYS.join(", ")}`);
        }
    }
    for (const key of SECRET_KEYS) {
        if (raw[key] !== undefined) {
            c.problems.push(plainSecretProblem(key));
        }
    }
    const app = readApp(c, raw.app);
    const hosts = readHosts(c, raw.hosts);
    const versions = readVersions(c, raw.versions);
    const names = versions.map((v) => v.name);
    const tlsRaw = c.object("tls", raw.tls, ["credentialName"]);
    const tls = {
        credentialName: c.string("tls.credentialName", tlsRaw.credentialName, DEFAULTS.tls.credentialName, [
            isDnsSubdomain,
            "a Kubernetes Secret name (lower-case DNS subdomain)",
        ]),
    };
    const config: CanaryConfig = {
        app,
        hosts,
        versions,
        tls,
        istio: readIstio(c, raw.istio),
        pod: readPod(c, raw.pod),
        routing: readRouting(c, raw.routing, names),
        monitoring: readMonitoring(c, raw.monitoring),
        rollout: readRollout(c, raw.rollout),
        promotionOrder: readPromotionOrder(c, raw.promotionOrder),
    };
    if (c.problems.length > 0) {
        throw new ConfigError(c.problems);
    }
    return config;
}

function readApp(c: Checker, value: unknown): AppConfig {
    const r = c.object("app", value, ["name", "namespace", "port", "targetPort", "createNamespace"]);
    const d = DEFAULTS.app;
    const namespace = c.string("app.namespace", r.namespace, d.namespace, DNS_LABEL);
    return {
        name: c.string("app.name", r.name, d.name, DNS_LABEL),
        namespace,
        port: c.integer("app.port", r.port, d.port, 1, 65535),
        targetPort: c.integer("app.targetPort", r.targetPort, d.targetPort, 1, 65535),
        createNamespace: c.boolean("app.createNamespace", r.createNamespace, namespace !== "default"),
    };
}

function readHosts(c: Checker, value: unknown): string[] {
    if (value === undefined) {
        return [...DEFAULTS.hosts];
    }
    const list = c.array("hosts", value, "hostnames");
    if (list === undefined) {
        return [...DEFAULTS.hosts];
    }
    if (list.length === 0) {
        c.fail("hosts", value, "it must list at least one hostname");
    }
    const hosts: string[] = [];
    list.forEach((h, i) => {
        const host = c.string(`hosts[${i}]`, h, "", [
            isHostname,
            "a DNS hostname such as myapp.example.com (lower case; '*.' prefix allowed)",
        ]);
        if (host !== "" && hosts.includes(host)) {
            c.fail(`hosts[${i}]`, h, "each hostname may be listed once");
        }
        if (host !== "") {
            hosts.push(host);
        }
    });
    return hosts;
}

function readVersions(c: Checker, value: unknown): VersionConfig[] {
    if (value === undefined) {
        return DEFAULTS.versions.map((v) => ({ ...v }));
    }
    const list = c.array("versions", value, "{name, image, replicas, weight} entries");
    if (list === undefined) {
        return [];
    }
    if (list.length === 0) {
        c.fail("versions", value, "it must list at least one version");
        return [];
    }
    const versions: VersionConfig[] = [];
    list.forEach((entry, i) => {
        const key = `versions[${i}]`;
        const r = c.object(key, entry, ["name", "image", "replicas", "weight"]);
        for (const required of ["name", "image", "weight"]) {
            if (r[required] === undefined && typeof entry === "object" && entry !== null) {
                c.fail(`${key}.${required}`, undefined, `every version needs ${required}`);
            }
        }
        const name = c.string(`${key}.name`, r.name, "", DNS_LABEL);
        if (name !== "" && versions.some((v) => v.name === name)) {
            c.fail(`${key}.name`, r.name, "version names must be unique");
        }
        versions.push({
            name,
            image: c.string(`${key}.image`, r.image, "", [
                isPinnedImage,
                "an image reference with a tag or a sha256 digest, e.g. repo/app:v2 or repo/app@sha256:<64 hex>",
            ]),
            replicas: c.integer(`${key}.replicas`, r.replicas, 1, 0, 1000),
            weight: c.integer(`${key}.weight`, r.weight, 0, 0, 100),
        });
    });
    const weights = list.map((e) => (typeof e === "object" && e !== null ? (e as Record<string, unknown>).weight : undefined));
    if (weights.every((w) => typeof w === "number" && Number.isInteger(w) && w >= 0 && w <= 100)) {
        const sum = (weights as number[]).reduce((a, b) => a + b, 0);
        if (sum !== 100) {
            c.problems.push(
                `${PROJECT}:versions weights are ${versions.map((v) => `${v.name}=${v.weight}`).join(", ")} (sum ${sum}); they must sum to 100`,
            );
        }
    }
    return versions;
}

function readIstio(c: Checker, value: unknown): IstioConfig {
    const r = c.object("istio", value, [
        "install",
        "version",
        "namespace",
        "gatewayNamespace",
        "gatewayName",
        "gatewayServiceType",
        "chartRepo",
        "gatewaySelector",
    ]);
    const d = DEFAULTS.istio;
    const install = c.boolean("istio.install", r.install, d.install);
    const namespace = c.string("istio.namespace", r.namespace, d.namespace, DNS_LABEL);
    const gatewayName = c.string("istio.gatewayName", r.gatewayName, d.gatewayName, DNS_LABEL);
    let gatewaySelector: Record<string, string>;
    if (install) {
        if (r.gatewaySelector !== undefined) {
            c.fail(
                "istio.gatewaySelector",
                r.gatewaySelector,
                "it is derived from istio.gatewayName when istio.install is true; set it only with istio.install: false",
            );
        }
        gatewaySelector = { istio: gatewayChartPodLabels(gatewayName).istio };
    } else {
        gatewaySelector = readLabels(c, "istio.gatewaySelector", r.gatewaySelector, { istio: "ingressgateway" });
    }
    return {
        install,
        version: c.string("istio.version", r.version, d.version, CHART_VERSION),
        namespace,
        gatewayNamespace: c.string("istio.gatewayNamespace", r.gatewayNamespace, namespace, DNS_LABEL),
        gatewayName,
        gatewayServiceType: c.string("istio.gatewayServiceType", r.gatewayServiceType, d.gatewayServiceType, [
            (s) => ["LoadBalancer", "NodePort", "ClusterIP"].includes(s),
            "LoadBalancer, NodePort or ClusterIP (NodePort on clusters without a load-balancer implementation, such as plain kind)",
        ]) as IstioConfig["gatewayServiceType"],
        chartRepo: c.string("istio.chartRepo", r.chartRepo, d.chartRepo, [
            (s) => /^(https?|oci):\/\/\S+$/.test(s),
            "an http(s) or oci:// chart repository URL",
        ]),
        gatewaySelector,
    };
}

function readLabels(c: Checker, key: string, value: unknown, fallback: Record<string, string>): Record<string, string> {
    if (value === undefined) {
        return fallback;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
        c.fail(key, value, "it must be a non-empty map of label names to values");
        return fallback;
    }
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(value)) {
        if (
            !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k) ||
            typeof v !== "string" ||
            !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v)
        ) {
            c.fail(`${key}.${k}`, v, "labels must be valid Kubernetes label names and string values");
        } else {
            labels[k] = v;
        }
    }
    return labels;
}

function readProbe(c: Checker, key: string, value: unknown, d: ProbeConfig): ProbeConfig {
    const r = c.object(key, value, ["path", "initialDelaySeconds", "periodSeconds"]);
    return {
        path: c.string(`${key}.path`, r.path, d.path, [(s) => s.startsWith("/"), "an HTTP path starting with /"]),
        initialDelaySeconds: c.integer(`${key}.initialDelaySeconds`, r.initialDelaySeconds, d.initialDelaySeconds, 0, 3600),
        periodSeconds: c.integer(`${key}.periodSeconds`, r.periodSeconds, d.periodSeconds, 1, 3600),
    };
}

const QUANTITY: [(s: string) => boolean, string] = [
    (s) => /^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(s),
    "a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi",
];

function readPod(c: Checker, value: unknown): PodConfig {
    const r = c.object("pod", value, ["resources", "readinessProbe", "livenessProbe", "runAsNonRoot", "runAsUser"]);
    const d = DEFAULTS.pod;
    const res = c.object("pod.resources", r.resources, ["requests", "limits"]);
    const quantities = (kind: "requests" | "limits") => {
        const q = c.object(`pod.resources.${kind}`, res[kind], ["cpu", "memory"]);
        return {
            cpu: c.string(`pod.resources.${kind}.cpu`, typeof q.cpu === "number" ? String(q.cpu) : q.cpu, d.resources[kind].cpu, QUANTITY),
            memory: c.string(`pod.resources.${kind}.memory`, q.memory, d.resources[kind].memory, QUANTITY),
        };
    };
    const runAsNonRoot = c.boolean("pod.runAsNonRoot", r.runAsNonRoot, d.runAsNonRoot);
    const runAsUser =
        r.runAsUser === undefined
            ? runAsNonRoot
                ? d.runAsUser
                : undefined
            : c.integer("pod.runAsUser", r.runAsUser, 10001, 0, 2147483647);
    if (runAsNonRoot && runAsUser === 0) {
        c.fail("pod.runAsUser", 0, "it must not be 0 (root) while pod.runAsNonRoot is true");
    }
    return {
        resources: { requests: quantities("requests"), limits: quantities("limits") },
        readinessProbe: readProbe(c, "pod.readinessProbe", r.readinessProbe, d.readinessProbe),
        livenessProbe: readProbe(c, "pod.livenessProbe", r.livenessProbe, d.livenessProbe),
        runAsNonRoot,
        runAsUser,
    };
}

function readVersionRef(c: Checker, key: string, value: unknown, names: string[]): string {
    const name = c.string(key, value, "");
    if (name !== "" && names.length > 0 && !names.includes(name)) {
        c.fail(key, value, `it must name a version in versions (${names.join(", ")})`);
    }
    return name;
}

function readRouting(c: Checker, value: unknown, names: string[]): RoutingConfig {
    const r = c.object("routing", value, ["httpsRedirect", "mirror", "headerRoute", "timeout", "retries"]);
    const routing: RoutingConfig = { httpsRedirect: c.boolean("routing.httpsRedirect", r.httpsRedirect, DEFAULTS.routing.httpsRedirect) };
    if (r.mirror !== undefined) {
        const m = c.object("routing.mirror", r.mirror, ["version", "percentage"]);
        const mirror: MirrorConfig = {
            version: c.required("routing.mirror.version", m.version, "a mirror names the version that receives the copy")
                ? readVersionRef(c, "routing.mirror.version", m.version, names)
                : "",
            percentage: c.number("routing.mirror.percentage", m.percentage ?? 100, 100, 0, 100),
        };
        routing.mirror = mirror;
    }
    if (r.headerRoute !== undefined) {
        const h = c.object("routing.headerRoute", r.headerRoute, ["header", "value", "version"]);
        const headerRoute: HeaderRouteConfig = {
            header: c.required("routing.headerRoute.header", h.header, "a header route needs the header name, e.g. x-canary")
                ? c.string("routing.headerRoute.header", h.header, "", [
                      (s) => /^[a-z0-9][a-z0-9-]*$/.test(s),
                      "a lower-case HTTP header name such as x-canary",
                  ])
                : "",
            value: c.required("routing.headerRoute.value", h.value, 'a header route needs the exact value to match, e.g. "true"')
                ? c.string("routing.headerRoute.value", typeof h.value === "boolean" ? String(h.value) : h.value, "")
                : "",
            version: c.required(
                "routing.headerRoute.version",
                h.version,
                "a header route names the version that gets the matching requests",
            )
                ? readVersionRef(c, "routing.headerRoute.version", h.version, names)
                : "",
        };
        routing.headerRoute = headerRoute;
    }
    if (r.timeout !== undefined) {
        routing.timeout = c.string("routing.timeout", r.timeout, "", DURATION);
    }
    if (r.retries !== undefined) {
        const t = c.object("routing.retries", r.retries, ["attempts", "perTryTimeout", "retryOn"]);
        const retries: RetriesConfig = {
            attempts: c.required("routing.retries.attempts", t.attempts, "retries need the number of attempts, an integer from 0 to 10")
                ? c.integer("routing.retries.attempts", t.attempts, 0, 0, 10)
                : 0,
        };
        if (t.perTryTimeout !== undefined) {
            retries.perTryTimeout = c.string("routing.retries.perTryTimeout", t.perTryTimeout, "", DURATION);
        }
        if (t.retryOn !== undefined) {
            retries.retryOn = c.string("routing.retries.retryOn", t.retryOn, "", [
                (s) => s.split(",").every((x) => RETRY_ON.has(x.trim()) || /^[1-5]\d\d$/.test(x.trim())),
                `a comma-separated list of ${[...RETRY_ON].join(", ")} or HTTP status codes`,
            ]);
        }
        routing.retries = retries;
    }
    return routing;
}

function readMonitoring(c: Checker, value: unknown): MonitoringConfig {
    const r = c.object("monitoring", value, ["enabled", "namespace", "prometheusChartVersion", "grafanaChartVersion", "kialiChartVersion"]);
    const d = DEFAULTS.monitoring;
    return {
        enabled: c.boolean("monitoring.enabled", r.enabled, d.enabled),
        namespace: c.string("monitoring.namespace", r.namespace, d.namespace, DNS_LABEL),
        prometheusChartVersion: c.string(
            "monitoring.prometheusChartVersion",
            r.prometheusChartVersion,
            d.prometheusChartVersion,
            CHART_VERSION,
        ),
        grafanaChartVersion: c.string("monitoring.grafanaChartVersion", r.grafanaChartVersion, d.grafanaChartVersion, CHART_VERSION),
        kialiChartVersion: c.string("monitoring.kialiChartVersion", r.kialiChartVersion, d.kialiChartVersion, CHART_VERSION),
    };
}

function readRollout(c: Checker, value: unknown): RolloutConfig {
    const r = c.object("rollout", value, [
        "steps",
        "waitSeconds",
        "analysisIntervalSeconds",
        "maxInconclusive",
        "prometheusUrl",
        "maxErrorRate",
        "maxP99Ms",
        "minRequests",
        "reporter",
    ]);
    const d = DEFAULTS.rollout;
    let steps = [...d.steps];
    if (r.steps !== undefined) {
        const list = c.array("rollout.steps", r.steps, "canary weights");
        const ok =
            list !== undefined &&
            list.length > 0 &&
            list.every(
                (s, i) => typeof s === "number" && Number.isInteger(s) && s >= 1 && s <= 100 && (i === 0 || s > (list[i - 1] as number)),
            ) &&
            list[list.length - 1] === 100;
        if (list !== undefined && !ok) {
            c.fail(
                "rollout.steps",
                r.steps,
                "it must be strictly increasing integer weights from 1 to 100 that end at 100, e.g. [10, 25, 50, 100]",
            );
        } else if (list !== undefined) {
            steps = list as number[];
        }
    }
    return {
        steps,
        waitSeconds: c.integer("rollout.waitSeconds", r.waitSeconds, d.waitSeconds, 0, 86400),
        analysisIntervalSeconds: c.integer(
            "rollout.analysisIntervalSeconds",
            r.analysisIntervalSeconds,
            d.analysisIntervalSeconds,
            1,
            3600,
        ),
        maxInconclusive: c.integer("rollout.maxInconclusive", r.maxInconclusive, d.maxInconclusive, 0, 10000),
        prometheusUrl: c.string("rollout.prometheusUrl", r.prometheusUrl, d.prometheusUrl, [
            (s) => /^https?:\/\/[^\s/]+(\/\S*)?$/.test(s),
            "an http(s) URL such as http://prometheus.istio-system:9090",
        ]),
        maxErrorRate: c.number("rollout.maxErrorRate", r.maxErrorRate, d.maxErrorRate, 0, 1, { min: true, max: true }),
        maxP99Ms: c.number("rollout.maxP99Ms", r.maxP99Ms, d.maxP99Ms, 0, 3600000, { min: true }),
        minRequests: c.integer("rollout.minRequests", r.minRequests, d.minRequests, 1, MAX),
        reporter: c.string("rollout.reporter", r.reporter, d.reporter, [(s) => REPORTERS.includes(s), `one of ${REPORTERS.join(", ")}`]),
    };
}

function readPromotionOrder(c: Checker, value: unknown): string[] {
    if (value === undefined) {
        return [...DEFAULTS.promotionOrder];
    }
    const list = c.array("promotionOrder", value, "stack names");
    const ok =
        list !== undefined &&
        list.length >= 2 &&
        list.every((s) => typeof s === "string" && /^[A-Za-z0-9_.-]+$/.test(s)) &&
        new Set(list).size === list.length;
    if (list !== undefined && !ok) {
        c.fail("promotionOrder", value, "it must list at least two distinct stack names in promotion order, e.g. [dev, staging, prod]");
        return [...DEFAULTS.promotionOrder];
    }
    return (list as string[] | undefined) ?? [...DEFAULTS.promotionOrder];
}
