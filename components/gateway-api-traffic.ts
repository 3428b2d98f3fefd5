import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { serviceFqdn, versionServiceName } from "./facts";
import {
    BackendRef,
    GATEWAY_API,
    GatewayApiGatewaySpec,
    HTTPRouteFilter,
    HTTPRouteRule,
    HTTPRouteSpec,
    Listener,
    ParentReference,
} from "./gateway-api-types";
import { DEFAULT_CREDENTIAL_NAME, DEFAULT_GATEWAY_NAMESPACE } from "./tls-secret";
import { ResolvedRouting, RoutingArgs, readHosts, readRouting, stickySplit } from "./traffic";
import { ResolvedVersion, Version, readVersions, weightsByVersion } from "./version";
import { Checker, DNS_1035_LABEL, DNS_LABEL, SECRET_NAME } from "./validation";

/** Arguments of GatewayApiTraffic. */
export interface GatewayApiTrafficArgs {
    /** Namespace of the app, its Services and the HTTPRoutes. Defaults to `default`. */
    namespace?: string;
    /** Name of the app's Service; each version's Service is `<service>-<version>` (CanaryApp's perVersionServices). Required. */
    service: string;
    /** Port of the Services. Defaults to 8080. */
    port?: number;
    /** Hostnames served, one HTTPS listener each; at least one, no duplicates, none covering another. Required. */
    hosts: readonly string[];
    /** Versions with their weights (integers summing to 100); one weighted backendRef each. Required. */
    versions: readonly Pick<Version, "name" | "weight">[];
    /**
     * Namespace of the Gateway, where Istio runs its gateway pods for it and where the TLS Secret must
     * be (Gateway API reads certificateRefs in the Gateway's namespace). Defaults to `istio-system`.
     */
    gatewayNamespace?: string;
    /** Name of the kubernetes.io/tls Secret in gatewayNamespace. Defaults to `apsis-tls` (TlsSecret's default). */
    credentialName?: string;
    /** Also attach the route to the app's Service (GAMMA), so in-mesh callers follow the same split. Defaults to true. */
    mesh?: boolean;
    /** HTTPS redirect, header route, mirror and timeout; retries have no standard-channel field and are refused. Defaults: see RoutingArgs. */
    routing?: RoutingArgs;
}

/** GatewayApiTraffic's arguments with every default applied and checked. */
export interface ResolvedGatewayApiTrafficArgs {
    /** App namespace. */
    namespace: string;
    /** App Service. */
    service: string;
    /** Service port. */
    port: number;
    /** Hostnames. */
    hosts: string[];
    /** Versions. */
    versions: Pick<ResolvedVersion, "name" | "weight">[];
    /** Gateway namespace. */
    gatewayNamespace: string;
    /** TLS Secret name. */
    credentialName: string;
    /** Attach to the Service too. */
    mesh: boolean;
    /** Routing. */
    routing: ResolvedRouting;
}

/** Gateway API's standard channel version whose CRDs the program installs (GatewayApiCrds); the route fields used here are standard in it. */
export const GATEWAY_API_VERSION = "v1.3.0";

/** A Gateway API Duration (GEP-2257): whole numbers of h, m, s, ms, e.g. `10s` or `1m30s`. */
const GATEWAY_DURATION: [(s: string) => boolean, string] = [
    (s) => /^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(s),
    "a Gateway API duration of whole units, such as 500ms, 10s or 1m30s",
];

/**
 * Checks GatewayApiTraffic's arguments and applies the defaults: Traffic's rules for hosts, weights
 * and routing, plus what the Gateway API's standard channel cannot express. Pure. Problems go to
 * `c`; without one, throws ArgsError listing every problem.
 */
export function resolveGatewayApiTrafficArgs(args: GatewayApiTrafficArgs, c?: Checker): ResolvedGatewayApiTrafficArgs {
    const check = c ?? new Checker();
    const namespace = check.string("namespace", args.namespace, "default", DNS_LABEL);
    check.required("service", args.service, "the routes send traffic to the app's Services: give the app Service's name");
    const service = check.string("service", args.service, "", DNS_1035_LABEL);
    const versions = readVersions(check, args.versions, ["weight"]);
    const routing = readRouting(
        check,
        args.routing,
        versions.map((v) => v.name),
    );
    if (routing.retries !== undefined) {
        check.fail(
            "routing.retries",
            routing.retries,
            "HTTPRoute retries exist only in Gateway API's experimental channel (GEP-1731); remove them, or route with the Istio API (routing.api: istio)",
        );
    }
    if (routing.timeout !== undefined && !GATEWAY_DURATION[0](routing.timeout)) {
        check.fail("routing.timeout", routing.timeout, `with the Gateway API it must be ${GATEWAY_DURATION[1]}`);
    }
    if (routing.mirror !== undefined && !Number.isInteger(routing.mirror.percentage)) {
        check.fail(
            "routing.mirror.percentage",
            routing.mirror.percentage,
            "with the Gateway API it must be a whole percentage (the mirror filter's percent)",
        );
    }
    for (const v of versions) {
        if (v.name !== "" && service !== "" && !DNS_1035_LABEL[0](versionServiceName(service, v.name))) {
            check.fail(
                "versions",
                v.name,
                `the version's Service would be named ${JSON.stringify(versionServiceName(service, v.name))}, which is no DNS-1035 label; shorten the app or version name`,
            );
        }
    }
    const resolved: ResolvedGatewayApiTrafficArgs = {
        namespace,
        service,
        port: check.integer("port", args.port, 8080, 1, 65535),
        hosts: check.required("hosts", args.hosts, "the Gateway needs the hostnames it serves")
            ? readHosts(check, args.hosts, serviceFqdn(service, namespace))
            : [],
        versions: versions.map((v) => ({ name: v.name, weight: v.weight })),
        gatewayNamespace: check.string("gatewayNamespace", args.gatewayNamespace, DEFAULT_GATEWAY_NAMESPACE, DNS_LABEL),
        credentialName: check.string("credentialName", args.credentialName, DEFAULT_CREDENTIAL_NAME, SECRET_NAME),
        mesh: check.boolean("mesh", args.mesh, true),
        routing,
    };
    if (c === undefined) {
        check.throwIfAny("GatewayApiTraffic");
    }
    return resolved;
}

/** Routes from the app's namespace only may attach to the Gateway's listeners. */
function allowedRoutes(r: Pick<ResolvedGatewayApiTrafficArgs, "namespace" | "gatewayNamespace">): Listener["allowedRoutes"] {
    return r.namespace === r.gatewayNamespace
        ? { namespaces: { from: "Same" } }
        : { namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": r.namespace } } } };
}

/** The HTTPS listener's name for the i-th host. */
function httpsListener(i: number): string {
    return `https-${i}`;
}

/**
 * The Gateway spec: class `istio`, one HTTPS listener per host terminating TLS with the Secret in
 * the Gateway's namespace, and a plain HTTP listener for the redirect when asked. Pure.
 */
export function gatewayApiGatewaySpec(
    r: Pick<ResolvedGatewayApiTrafficArgs, "hosts" | "credentialName" | "routing" | "namespace" | "gatewayNamespace">,
): GatewayApiGatewaySpec {
    const listeners: Listener[] = r.hosts.map((hostname, i) => ({
        name: httpsListener(i),
        port: 443,
        protocol: "HTTPS",
        hostname,
        tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: r.credentialName }] },
        allowedRoutes: allowedRoutes(r),
    }));
    if (r.routing.httpsRedirect) {
        listeners.push({ name: "http", port: 80, protocol: "HTTP", allowedRoutes: allowedRoutes(r) });
    }
    return { gatewayClassName: "istio", listeners };
}

/** The port-80 redirect route: every request on the HTTP listener gets a 301 to https. Pure. */
export function redirectRouteSpec(
    gatewayName: string,
    r: Pick<ResolvedGatewayApiTrafficArgs, "hosts" | "gatewayNamespace">,
): HTTPRouteSpec {
    return {
        parentRefs: [{ name: gatewayName, namespace: r.gatewayNamespace, sectionName: "http" }],
        hostnames: [...r.hosts],
        rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
    };
}

/**
 * The canary route: attached to each HTTPS listener and (mesh) to the app's Service, the header rule
 * first (more header matches win in Gateway API precedence too; ties go to the earlier rule), then
 * the sticky rule while the canary has a weight between 0 and 100 (a RegularExpression match on the
 * Cookie header), then the weighted rule with one backendRef per version's Service (weight 0 kept, so
 * each version always has its entry), the canary's backendRef adding the sticky Set-Cookie with a
 * ResponseHeaderModifier filter. Pure.
 */
export function canaryRouteSpec(
    gatewayName: string,
    r: Pick<ResolvedGatewayApiTrafficArgs, "hosts" | "gatewayNamespace" | "service" | "port" | "versions" | "routing" | "mesh">,
): HTTPRouteSpec {
    const parentRefs: ParentReference[] = r.hosts.map((_, i) => ({
        name: gatewayName,
        namespace: r.gatewayNamespace,
        sectionName: httpsListener(i),
    }));
    if (r.mesh) {
        parentRefs.push({ group: "", kind: "Service", name: r.service, port: r.port });
    }
    const backend = (version: string, weight?: number): BackendRef => ({
        name: versionServiceName(r.service, version),
        port: r.port,
        ...(weight !== undefined ? { weight } : {}),
    });
    const timeouts = r.routing.timeout !== undefined ? { timeouts: { request: r.routing.timeout } } : {};
    const rules: HTTPRouteRule[] = [];
    if (r.routing.headerRoute !== undefined) {
        const h = r.routing.headerRoute;
        rules.push({
            matches: [{ headers: [{ type: "Exact", name: h.header, value: h.value }] }],
            backendRefs: [backend(h.version)],
            ...timeouts,
        });
    }
    const sticky = stickySplit(r.versions, r.routing);
    if (sticky !== undefined) {
        rules.push({
            matches: [{ headers: [{ type: "RegularExpression", name: "Cookie", value: sticky.cookieRegex }] }],
            backendRefs: [backend(sticky.version)],
            ...timeouts,
        });
    }
    const setCookie: HTTPRouteFilter[] =
        sticky !== undefined
            ? [{ type: "ResponseHeaderModifier", responseHeaderModifier: { add: [{ name: "Set-Cookie", value: sticky.setCookie }] } }]
            : [];
    const filters: HTTPRouteFilter[] =
        r.routing.mirror !== undefined
            ? [
                  {
                      type: "RequestMirror",
                      requestMirror: {
                          backendRef: { name: versionServiceName(r.service, r.routing.mirror.version), port: r.port },
                          ...(r.routing.mirror.percentage !== 100 ? { percent: r.routing.mirror.percentage } : {}),
                      },
                  },
              ]
            : [];
    // The weighted rule is always the last one (the rollout and the policy pack read it there).
    rules.push({
        backendRefs: r.versions.map((v) => ({
            ...backend(v.name, v.weight),
            ...(sticky !== undefined && v.name === sticky.version ? { filters: setCookie } : {}),
        })),
        ...(filters.length > 0 ? { filters } : {}),
        ...timeouts,
    });
    return { parentRefs, rules };
}

/**
 * Traffic management with the Kubernetes Gateway API (gateway.networking.k8s.io/v1): a Gateway of
 * class `istio` terminating TLS, the port-80 redirect as its own HTTPRoute, and the canary
 * HTTPRoute whose weighted rule splits between the versions' Services. Only the canary HTTPRoute
 * depends on the weights, so a traffic shift changes only it.
 *
 * ## Example Usage
 * ```typescript
 * new GatewayApiTraffic("shop", {
 *     namespace: "shop",
 *     service: "shop",
 *     hosts: ["shop.example.com"],
 *     versions: [
 *         { name: "v1", weight: 90 },
 *         { name: "v2", weight: 10 },
 *     ],
 * });
 * ```
 */
export class GatewayApiTraffic extends pulumi.ComponentResource {
    /** The Gateway. */
    readonly gateway: k8s.apiextensions.CustomResource;
    /** The port-80 redirect route, when routing.httpsRedirect. */
    readonly redirectRoute?: k8s.apiextensions.CustomResource;
    /** The canary route: the one a traffic shift changes. */
    readonly route: k8s.apiextensions.CustomResource;
    /** The weights per version as routed, e.g. `{ v1: 90, v2: 10 }`. */
    readonly weights: Record<string, number>;

    constructor(name: string, args: GatewayApiTrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:traffic:GatewayApiTraffic", name, {}, opts);
        const r = resolveGatewayApiTrafficArgs(args);
        const self = { parent: this };
        this.gateway = new k8s.apiextensions.CustomResource(
            `${name}-gateway`,
            { apiVersion: GATEWAY_API, kind: "Gateway", metadata: { namespace: r.gatewayNamespace }, spec: gatewayApiGatewaySpec(r) },
            self,
        );
        // The Gateway's generated name is an Output in parentRefs only, so a preview shows the rules and weights.
        const gatewayName = this.gateway.metadata.name;
        const withGateway = (spec: HTTPRouteSpec) =>
            pulumi
                .output(gatewayName)
                .apply((gw) => spec.parentRefs.map((p) => ("kind" in p && p.kind === "Service" ? p : { ...p, name: gw })));
        if (r.routing.httpsRedirect) {
            const spec = redirectRouteSpec("", r);
            this.redirectRoute = new k8s.apiextensions.CustomResource(
                `${name}-redirect`,
                {
                    apiVersion: GATEWAY_API,
                    kind: "HTTPRoute",
                    metadata: { namespace: r.namespace },
                    spec: { ...spec, parentRefs: withGateway(spec) },
                },
                self,
            );
        }
        const spec = canaryRouteSpec("", r);
        this.route = new k8s.apiextensions.CustomResource(
            `${name}-route`,
            {
                apiVersion: GATEWAY_API,
                kind: "HTTPRoute",
                metadata: { namespace: r.namespace },
                spec: { ...spec, parentRefs: withGateway(spec) },
            },
            self,
        );
        this.weights = weightsByVersion(r.versions);
        this.registerOutputs({ gateway: this.gateway, redirectRoute: this.redirectRoute, route: this.route, weights: this.weights });
    }
}
