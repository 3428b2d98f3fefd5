import { REPORTERS } from "../analysis/options";
import {
    APP_FIELDS,
    Checker,
    ISTIO_MESH_FIELDS,
    IstioMode,
    MONITORING_CHART_FIELDS,
    ROUTING_FIELDS,
    ResolvedRouting,
    gatewayChartPodLabels,
    resolveCanaryAppArgs,
    serviceFqdn as fqdnOf,
    resolveGatewayApiCrdsArgs,
    resolveGatewayApiTrafficArgs,
    resolveIstioMeshArgs,
    resolveMonitoringArgs,
    resolveTlsSecretArgs,
    resolveTrafficArgs,
} from "../components";
import { resolveNotificationTargets } from "../notify/targets";
import { ConfigError, PROJECT, plainSecretProblem } from "./check";
import { CONFIG_KEYS, DEFAULTS, SECRET_KEYS } from "./defaults";
import { CanaryConfig, IstioConfig, ROUTING_APIS, RolloutConfig, RoutingApi } from "./types";
import { GATING_HOOK_POINTS, HOOK_FAILURE_ACTIONS, HOOK_POINTS, HookConfig, HookFailureAction, HookPoint } from "../rollout/hooks";

/** Raw config of one stack: key (without the `istio-canary:` prefix) to its parsed value. */
export type RawConfig = Record<string, unknown>;

const MAX = Number.MAX_SAFE_INTEGER;

/** How the traffic components' fields are named in the stack. */
const TRAFFIC_RENAMES: Record<string, string> = {
    namespace: "app.namespace",
    service: "app.name",
    credentialName: "tls.credentialName",
    gatewaySelector: "istio.gatewaySelector",
    gatewayNamespace: "istio.gatewayNamespace",
};

/** The fields of `raw[key]` named in `fields`, when it is an object. */
function pick(value: Record<string, unknown>, fields: readonly string[]): Record<string, unknown> {
    return Object.fromEntries(fields.filter((f) => value[f] !== undefined).map((f) => [f, value[f]]));
}

/**
 * Validates a stack's raw config and returns it typed, with defaults applied. The rules are the
 * components' own resolvers (one rule set for the program and for anyone using the components),
 * called with the stack's key names and the `istio-canary:` prefix; config adds only what spans
 * components (the app's namespace against Istio's) and the keys of no component.
 * Throws ConfigError listing every problem; nothing is registered before this passes.
 */
export function validateConfig(raw: RawConfig): CanaryConfig {
    const c = new Checker({ prefix: `${PROJECT}:` });
    for (const key of Object.keys(raw)) {
        if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
            c.add(`${PROJECT}:${key} is not a known config key; known keys: ${CONFIG_KEYS.join(", ")}`);
        }
    }
    for (const key of SECRET_KEYS) {
        if (raw[key] !== undefined) {
            c.add(plainSecretProblem(key));
        }
    }

    // app, versions, pod: CanaryApp's rules. A stack that sets `app` replaces the project's value, so the name falls back here.
    const appRaw = c.object("app", raw.app, APP_FIELDS);
    const appArgs: Record<string, unknown> = { name: DEFAULTS.app.name, ...appRaw };
    const versionsRaw = raw.versions ?? DEFAULTS.versions;
    const app = resolveCanaryAppArgs({ app: appArgs as never, versions: versionsRaw as never, pod: raw.pod as never }, c);

    // istio: IstioMesh's rules, plus the install switch and the selector of a mesh installed elsewhere.
    // routing.api decides which traffic component's rules apply and whether Istio's ingress gateway chart is installed.
    const routingRaw = c.object("routing", raw.routing, [...ROUTING_FIELDS, "api", "allowVirtualServiceInAmbient"]);
    const api: RoutingApi = c.oneOf("routing.api", routingRaw.api, DEFAULTS.routing.api, ROUTING_APIS);
    const allowVirtualServiceInAmbient = c.boolean(
        "routing.allowVirtualServiceInAmbient",
        routingRaw.allowVirtualServiceInAmbient,
        DEFAULTS.routing.allowVirtualServiceInAmbient,
    );
    const meshFields = ISTIO_MESH_FIELDS.filter((f) => f !== "ingressGateway");
    const istioRaw = c.object("istio", raw.istio, [...meshFields, "install", "gatewaySelector"]);
    const install = c.boolean("istio.install", istioRaw.install, DEFAULTS.istio.install);
    const mesh = resolveIstioMeshArgs(
        { ...pick(istioRaw, meshFields), ingressGateway: api === "istio" },
        c.scope({ prefix: `${PROJECT}:istio.` }),
    );
    if (mesh.mode === "ambient" && api === "istio" && !allowVirtualServiceInAmbient) {
        c.fail(
            "routing.api",
            api,
            "in ambient mode (istio.mode: ambient) a VirtualService with DestinationRule subsets behind a waypoint is Alpha in Istio, " +
                "and mixing it with an HTTPRoute for the same workload is undefined: set routing.api: gateway-api, " +
                "or set routing.allowVirtualServiceInAmbient: true to accept the Alpha behaviour",
        );
    }
    if (install && istioRaw.gatewaySelector !== undefined) {
        c.fail(
            "istio.gatewaySelector",
            istioRaw.gatewaySelector,
            "it is derived from istio.gatewayName when istio.install is true; set it only with istio.install: false",
        );
    }
    const istioKey =
        app.app.namespace === mesh.namespace
            ? "istio.namespace"
            : app.app.namespace === mesh.gatewayNamespace
              ? "istio.gatewayNamespace"
              : undefined;
    if (istioKey !== undefined) {
        c.fail(
            "app.namespace",
            app.app.namespace,
            `it must not be Istio's own namespace (${istioKey}); give the app a namespace of its own`,
        );
    }

    // tls: TlsSecret's rules; the Secret goes where the gateway pods run.
    const tlsRaw = c.object("tls", raw.tls, ["credentialName"]);
    const tls = resolveTlsSecretArgs(
        { credentialName: tlsRaw.credentialName as string | undefined, namespace: mesh.gatewayNamespace },
        c.scope({ rename: { credentialName: "tls.credentialName", namespace: "istio.gatewayNamespace" } }),
    );

    // hosts, weights, routing: the rules of the traffic component routing.api picks.
    const trafficNaming = c.scope({ rename: TRAFFIC_RENAMES });
    const trafficArgs = {
        // As written: a bad value gives CanaryApp's message once, not a second one about its fallback.
        namespace: appArgs.namespace as string | undefined,
        service: appArgs.name as string,
        hosts: (raw.hosts ?? DEFAULTS.hosts) as string[],
        versions: versionsRaw as never,
        credentialName: tls.credentialName,
        routing: pick(routingRaw, ROUTING_FIELDS),
    };
    let routing: ResolvedRouting;
    let hosts: string[];
    let gatewaySelector: Record<string, string>;
    let serviceFqdn: string;
    if (api === "istio") {
        const traffic = resolveTrafficArgs(
            {
                ...trafficArgs,
                gatewaySelector: install ? { istio: gatewayChartPodLabels(mesh.gatewayName).istio } : (istioRaw.gatewaySelector as never),
            },
            trafficNaming,
        );
        ({ routing, hosts, gatewaySelector, serviceFqdn } = traffic);
    } else {
        const traffic = resolveGatewayApiTrafficArgs(
            { ...trafficArgs, port: app.app.port, gatewayNamespace: mesh.gatewayNamespace },
            // The port is app.port, which CanaryApp's rules checked.
            c.scope({ rename: TRAFFIC_RENAMES, ignore: ["port"] }),
        );
        ({ routing, hosts } = traffic);
        gatewaySelector = install
            ? { istio: gatewayChartPodLabels(mesh.gatewayName).istio }
            : c.labels("istio.gatewaySelector", istioRaw.gatewaySelector, {});
        serviceFqdn = fqdnOf(app.app.name, app.app.namespace);
    }
    const istio: IstioConfig = { ...mesh, install, gatewaySelector };

    // gatewayApi: the CRDs for the Gateway API routes and for ambient waypoints.
    const gatewayApiRaw = c.object("gatewayApi", raw.gatewayApi, ["installCrds", "version"]);
    const gatewayApi = {
        installCrds: c.boolean("gatewayApi.installCrds", gatewayApiRaw.installCrds, DEFAULTS.gatewayApi.installCrds),
        version: resolveGatewayApiCrdsArgs(
            { version: gatewayApiRaw.version as string | undefined },
            c.scope({ prefix: `${PROJECT}:gatewayApi.` }),
        ).version,
    };

    const rollout = readRollout(c, raw.rollout, mesh.mode);

    // monitoring: the switch and Monitoring's rules (its dashboard reads the rollout's reporter).
    const monitoringRaw = c.object("monitoring", raw.monitoring, ["enabled", ...MONITORING_CHART_FIELDS]);
    const monitoringArgs = resolveMonitoringArgs(
        {
            serviceFqdn,
            istioNamespace: mesh.namespace,
            reporter: rollout.reporter,
            ...pick(monitoringRaw, MONITORING_CHART_FIELDS),
        },
        c.scope({
            rename: {
                namespace: "monitoring.namespace",
                prometheusChartVersion: "monitoring.prometheusChartVersion",
                grafanaChartVersion: "monitoring.grafanaChartVersion",
                kialiChartVersion: "monitoring.kialiChartVersion",
                istioNamespace: "istio.namespace",
                reporter: "rollout.reporter",
            },
            // Derived from app.name and app.namespace, which CanaryApp's rules checked.
            ignore: ["serviceFqdn"],
        }),
    );

    const config: CanaryConfig = {
        app: app.app,
        hosts,
        versions: app.versions,
        tls: { credentialName: tls.credentialName },
        istio,
        pod: app.pod,
        routing: { ...routing, api, allowVirtualServiceInAmbient },
        monitoring: {
            enabled: c.boolean("monitoring.enabled", monitoringRaw.enabled, DEFAULTS.monitoring.enabled),
            namespace: monitoringArgs.namespace,
            prometheusChartVersion: monitoringArgs.prometheusChartVersion,
            grafanaChartVersion: monitoringArgs.grafanaChartVersion,
            kialiChartVersion: monitoringArgs.kialiChartVersion,
        },
        gatewayApi,
        rollout,
        promotionOrder: readPromotionOrder(c, raw.promotionOrder),
    };
    if (c.problems.length > 0) {
        throw new ConfigError(c.problems);
    }
    return config;
}

/** The fields of `rollout`. */
export const ROLLOUT_FIELDS = [
    "steps",
    "waitSeconds",
    "analysisIntervalSeconds",
    "maxStepRequests",
    "maxStepSeconds",
    "prometheusUrl",
    "maxErrorRate",
    "maxP99Ms",
    "minRequests",
    "reporter",
    "hooks",
    "notifications",
] as const;

/** The fields of an entry of `rollout.hooks`. */
export const HOOK_FIELDS = ["name", "at", "command", "url", "timeoutSeconds", "onFailure"] as const;

/** A hook's timeout when it gives none, in seconds. */
export const DEFAULT_HOOK_TIMEOUT_SECONDS = 60;

/**
 * Reads `rollout`. In ambient mode ztunnel reports no HTTP metrics, so the reporter defaults to
 * `waypoint` there, and `destination` (which would see nothing) is refused.
 */
function readRollout(c: Checker, value: unknown, mode: IstioMode): RolloutConfig {
    // rollout.maxInconclusive (a count of looks) was replaced: say by what, rather than only "not a known field".
    let fields = value;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && "maxInconclusive" in value) {
        const { maxInconclusive, ...rest } = value as Record<string, unknown>;
        c.fail(
            "rollout.maxInconclusive",
            maxInconclusive,
            "it was replaced by rollout.maxStepRequests (canary requests a step may gather without a verdict) and rollout.maxStepSeconds " +
                "(seconds it may last): a count of looks says nothing about the evidence gathered",
        );
        fields = rest;
    }
    const r = c.object("rollout", fields, ROLLOUT_FIELDS);
    const d = DEFAULTS.rollout;
    let steps = [...d.steps];
    let approve = [...d.approve];
    if (r.steps !== undefined) {
        const read = readGatedSteps(c, r.steps);
        approve = read.approve;
        const list = read.weights;
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
        } else if (list !== undefined && list.length < 2) {
            c.fail(
                "rollout.steps",
                r.steps,
                "it must have at least one step below 100, e.g. [10, 100]: only steps below 100 are analysed, so [100] would send all traffic to the canary without any analysis",
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
        maxStepRequests: c.integer("rollout.maxStepRequests", r.maxStepRequests, d.maxStepRequests, 1, MAX),
        maxStepSeconds: c.integer("rollout.maxStepSeconds", r.maxStepSeconds, d.maxStepSeconds, 1, 7 * 86400),
        prometheusUrl: c.string("rollout.prometheusUrl", r.prometheusUrl, d.prometheusUrl, [
            (s) => /^https?:\/\/[^\s/]+(\/\S*)?$/.test(s),
            "an http(s) URL such as http://prometheus.istio-system:9090",
        ]),
        maxErrorRate: c.number("rollout.maxErrorRate", r.maxErrorRate, d.maxErrorRate, 0, 1, { min: true, max: true }),
        maxP99Ms: c.number("rollout.maxP99Ms", r.maxP99Ms, d.maxP99Ms, 0, 3600000, { min: true }),
        minRequests: c.integer("rollout.minRequests", r.minRequests, d.minRequests, 1, MAX),
        reporter: readReporter(c, r.reporter, mode),
        approve,
        hooks: readHooks(c, r.hooks),
        // The notification targets' own rules (notify/targets.ts).
        notifications: resolveNotificationTargets(r.notifications, c),
    };
}

/**
 * `rollout.steps` entries are canary weights, or `{weight, approve: true}` for a step whose shift
 * waits for `rollout --approve`. Returns the weights (undefined when it is not a list or an entry
 * object has a problem of its own; an entry that is neither a number nor an object stays as written,
 * for the list's message) and the gated ones.
 */
function readGatedSteps(c: Checker, value: unknown): { weights: unknown[] | undefined; approve: number[] } {
    const list = c.array("rollout.steps", value, "canary weights (or {weight, approve} entries)");
    if (list === undefined) {
        return { weights: undefined, approve: [] };
    }
    const approve: number[] = [];
    const before = c.problems.length;
    const weights = list.map((entry, i) => {
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            return entry;
        }
        const key = `rollout.steps[${i}]`;
        const o = c.object(key, entry, ["weight", "approve"]);
        if (
            !c.required(`${key}.weight`, o.weight, "a step written as an object gives its canary weight, e.g. {weight: 100, approve: true}")
        ) {
            return undefined;
        }
        if (c.boolean(`${key}.approve`, o.approve, false) && typeof o.weight === "number") {
            approve.push(o.weight);
        }
        return o.weight;
    });
    // An entry's own problem is the message; the list's would repeat it.
    return c.problems.length > before ? { weights: undefined, approve: [] } : { weights, approve };
}

/** Reads `rollout.hooks`: a list of commands and webhooks, each with a unique name, a point and exactly one of command and url. */
function readHooks(c: Checker, value: unknown): HookConfig[] {
    if (value === undefined) {
        return [];
    }
    const list = c.array("rollout.hooks", value, "hooks ({name, at, command or url, timeoutSeconds, onFailure})");
    if (list === undefined) {
        return [];
    }
    const hooks: HookConfig[] = [];
    const names = new Set<string>();
    list.forEach((entry, i) => {
        const key = `rollout.hooks[${i}]`;
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            c.fail(key, entry, `it must be an object with fields ${HOOK_FIELDS.join(", ")}`);
            return;
        }
        const h = c.object(key, entry, HOOK_FIELDS);
        const before = c.problems.length;
        let name = "";
        if (c.required(`${key}.name`, h.name, "every hook has a name, e.g. smoke-test")) {
            name = c.string(`${key}.name`, h.name, "", [
                (s) => /^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$/.test(s),
                "a name of lower-case letters, digits, '-', '_' and '.', at most 63 characters, e.g. smoke-test",
            ]);
            if (name !== "" && names.has(name)) {
                c.fail(`${key}.name`, name, "it must be unique among rollout.hooks: the state records each hook's runs by name");
            }
            names.add(name);
        }
        let at: HookPoint = "pre-step";
        if (c.required(`${key}.at`, h.at, `a hook says when it runs: one of ${HOOK_POINTS.join(", ")}`)) {
            at = c.oneOf(`${key}.at`, h.at, at, HOOK_POINTS);
        }
        const hasCommand = h.command !== undefined;
        const hasUrl = h.url !== undefined;
        if (hasCommand === hasUrl) {
            c.add(
                `${c.keyOf(key)} ${hasCommand ? "has both command and url" : "has neither command nor url"}; a hook is exactly one of ` +
                    "command (a list: the program and its arguments, run without a shell, e.g. [./smoke.sh, --fast]) and url (an http(s) URL that receives a POST)",
            );
        }
        let command: string[] | undefined;
        if (hasCommand) {
            const argv = h.command;
            if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === "string") || argv[0] === "") {
                c.fail(
                    `${key}.command`,
                    argv,
                    "it must be a non-empty list of strings, the program first and then its arguments, e.g. [./smoke.sh, --fast]; " +
                        'it is run without a shell, so write [sh, -c, "..."] for shell syntax',
                );
            } else {
                command = argv as string[];
            }
        }
        let url: string | undefined;
        if (hasUrl) {
            url = c.string(`${key}.url`, h.url, "", [
                (s) => /^https?:\/\/[^\s/]+(\/\S*)?$/.test(s),
                "an http(s) URL such as https://ci.example.com/hooks/smoke",
            ]);
        }
        const timeoutSeconds = c.integer(`${key}.timeoutSeconds`, h.timeoutSeconds, DEFAULT_HOOK_TIMEOUT_SECONDS, 1, 3600);
        let onFailure: HookFailureAction = "rollback";
        if (h.onFailure !== undefined && !GATING_HOOK_POINTS.includes(at)) {
            c.fail(
                `${key}.onFailure`,
                h.onFailure,
                `it applies only to ${GATING_HOOK_POINTS.join(", ")} hooks; a failing ${at} hook is recorded and changes nothing, so leave it out`,
            );
        } else {
            onFailure = c.oneOf(`${key}.onFailure`, h.onFailure, onFailure, HOOK_FAILURE_ACTIONS);
        }
        if (c.problems.length === before) {
            hooks.push({ name, at, ...(command !== undefined ? { command } : { url }), timeoutSeconds, onFailure });
        }
    });
    return hooks;
}

function readReporter(c: Checker, value: unknown, mode: IstioMode): string {
    const reporter = c.oneOf("rollout.reporter", value, mode === "ambient" ? "waypoint" : DEFAULTS.rollout.reporter, REPORTERS);
    if (mode === "ambient" && reporter === "destination") {
        c.fail(
            "rollout.reporter",
            reporter,
            "in ambient mode the destination is ztunnel, which reports only TCP metrics (istio_tcp_*): use waypoint " +
                "(in-mesh HTTP through the app's waypoint, the default in ambient mode) or source (what the ingress gateway saw)",
        );
    }
    return reporter;
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
