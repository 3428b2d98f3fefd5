import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { serviceFqdn } from "./facts";
import {
    DestinationRuleSpec,
    GatewayServer,
    GatewaySpec,
    HTTPRoute,
    HTTPRouteDestination,
    ISTIO_NETWORKING_API,
    VirtualServiceSpec,
} from "./istio-types";
import { DEFAULT_CREDENTIAL_NAME } from "./tls-secret";
import { ResolvedVersion, Version, readVersions, weightsByVersion } from "./version";
import { Checker, DNS_1035_LABEL, DNS_LABEL, DURATION, SECRET_NAME, isHostname } from "./validation";

/** Mirror (shadow) a share of traffic to a version; responses are discarded. */
export interface MirrorArgs {
    /** Version that receives the copy; must be in `versions`. Required. */
    version: string;
    /** Share of requests copied, 0-100. Defaults to 100. */
    percentage?: number;
}

/** Route requests carrying a header value to one version, ahead of the weighted route. */
export interface HeaderRouteArgs {
    /** Header name, lower case, e.g. `x-canary`. Required. */
    header: string;
    /** Exact value to match, e.g. `"true"`. Required. */
    value: string;
    /** Version that gets the matching requests; must be in `versions`. Required. */
    version: string;
}

/** Retries of the routes. */
export interface RetriesArgs {
    /** Number of retries, 0-10. Required. */
    attempts: number;
    /** Timeout per try, e.g. `2s`. Defaults to Istio's (none). */
    perTryTimeout?: string;
    /** Envoy retry conditions, comma separated. Defaults to Istio's. */
    retryOn?: string;
}

/**
 * Sticky canary: a user the weighted route sent to the canary stays on it while the weights move.
 * The canary's responses on the weighted route set a cookie naming the canary version, and a route
 * ahead of the weighted one sends requests carrying that cookie to the canary. Emitted only while
 * the canary (the second version) has a weight above 0 and below 100, so a rollback to 0 removes the
 * route with the weights. (Istio's consistent hashing cannot do this: it picks an endpoint within
 * one destination, after the weighted choice between subsets.)
 */
export interface StickyCanaryArgs {
    /** Turn sticky routing on. Required when the block is given (a block without it is refused, never silently off). */
    enabled: boolean;
    /** Name of the cookie: letters, digits, `-`, `_` and `.`, at most 64 characters. Defaults to `istio-canary`. */
    cookieName?: string;
    /** Max-Age of the cookie in seconds, 1 to 2592000 (30 days). Defaults to 86400 (one day). */
    maxAgeSeconds?: number;
}

/** Sticky routing with its defaults applied; present only when enabled. */
export interface ResolvedStickyCanary {
    /** Always true: a block that is off resolves to no sticky routing at all. */
    enabled: true;
    /** Cookie name. */
    cookieName: string;
    /** Cookie Max-Age in seconds. */
    maxAgeSeconds: number;
}

/** Routing features of the VirtualService and the Gateway. */
export interface RoutingArgs {
    /** Add a port 80 server that redirects to HTTPS. Defaults to true. */
    httpsRedirect?: boolean;
    /** Mirror a share of traffic to a version. Defaults to off. */
    mirror?: MirrorArgs;
    /** Header-matched route to a version ahead of the weighted route. Defaults to off. */
    headerRoute?: HeaderRouteArgs;
    /** Timeout of the routes, e.g. `10s`. Defaults to off (Istio's default: none). */
    timeout?: string;
    /** Retry policy. Defaults to off (Istio's default: 2 attempts). */
    retries?: RetriesArgs;
    /** Keep users the canary served on the canary while the weights move. Defaults to off. */
    stickyCanary?: StickyCanaryArgs;
}

/** Routing with its defaults applied. */
export interface ResolvedRouting {
    /** Port 80 redirect server. */
    httpsRedirect: boolean;
    /** Mirror, when set. */
    mirror?: Required<MirrorArgs>;
    /** Header route, when set. */
    headerRoute?: HeaderRouteArgs;
    /** Route timeout, when set. */
    timeout?: string;
    /** Retries, when set. */
    retries?: RetriesArgs;
    /** Sticky canary, when enabled. */
    stickyCanary?: ResolvedStickyCanary;
}

/** Arguments of Traffic. */
export interface TrafficArgs {
    /** Namespace of the app's Service and of the Gateway, DestinationRule and VirtualService. Defaults to `default`. */
    namespace?: string;
    /** Name of the app's Service (CanaryApp names it after the app). Required. */
    service: string;
    /** Hostnames the Gateway and the VirtualService serve; at least one, no duplicates, none covering another. Required. */
    hosts: readonly string[];
    /** Versions with their weights (integers summing to 100); one subset and one weighted destination each. Required. */
    versions: readonly Pick<Version, "name" | "weight">[];
    /** Labels of the ingress gateway pods. Defaults to `{ istio: "ingressgateway" }` (IstioMesh's gatewaySelector when Istio is installed here). */
    gatewaySelector?: Record<string, string>;
    /** Name of the TLS Secret in the gateway pods' namespace. Defaults to `apsis-tls` (TlsSecret's default). */
    credentialName?: string;
    /** Mirror, header route, timeout, retries, HTTPS redirect. Defaults: see RoutingArgs. */
    routing?: RoutingArgs;
}

/** Traffic's arguments with every default applied and checked. */
export interface ResolvedTrafficArgs {
    /** Namespace. */
    namespace: string;
    /** Service name. */
    service: string;
    /** The Service's FQDN: DestinationRule host and route destination. */
    serviceFqdn: string;
    /** Hostnames. */
    hosts: string[];
    /** Versions (only name and weight matter here). */
    versions: Pick<ResolvedVersion, "name" | "weight">[];
    /** Gateway pod labels. */
    gatewaySelector: Record<string, string>;
    /** TLS Secret name. */
    credentialName: string;
    /** Routing. */
    routing: ResolvedRouting;
}

/** Default labels of the ingress gateway pods (Istio's documented `istio: ingressgateway`). */
export const DEFAULT_GATEWAY_SELECTOR: Readonly<Record<string, string>> = { istio: "ingressgateway" };

/** Envoy retry conditions Istio accepts in retryOn (besides HTTP status codes). */
export const RETRY_ON: ReadonlySet<string> = new Set([
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

/** True when wildcard host `pattern` (`*.example.com`) covers `host`. */
function covers(pattern: string, host: string): boolean {
    return pattern.startsWith("*.") && host !== pattern && host.endsWith(pattern.slice(1));
}

/** Reads `hosts`: DNS names, optionally `*.` wildcards; never `*`, the Service's own FQDN, a duplicate or a host another covers. */
export function readHosts(c: Checker, value: unknown, fqdn: string): string[] {
    const list = c.array("hosts", value, "hostnames");
    if (list === undefined) {
        return [];
    }
    if (list.length === 0) {
        c.fail("hosts", value, "it must list at least one hostname");
    }
    const hosts: string[] = [];
    list.forEach((h, i) => {
        const key = `hosts[${i}]`;
        if (h === "*") {
            c.fail(key, h, "a Gateway serving every hostname would take traffic meant for other apps; name the hosts");
            return;
        }
        const host = c.string(key, h, "", [isHostname, "a DNS hostname such as myapp.example.com (lower case; '*.' prefix allowed)"]);
        if (host === "") {
            return;
        }
        if (hosts.includes(host)) {
            c.fail(key, h, "each hostname may be listed once");
            return;
        }
        if (host === fqdn || host.endsWith(".svc.cluster.local")) {
            c.fail(
                key,
                h,
                "it must be a public hostname; the Service's cluster name is routed already (the VirtualService adds it for in-mesh callers)",
            );
            return;
        }
        const coveredBy = hosts.find((other) => covers(other, host) || covers(host, other));
        if (coveredBy !== undefined) {
            c.fail(key, h, `it overlaps ${JSON.stringify(coveredBy)}; list either the wildcard or the names it covers, not both`);
            return;
        }
        hosts.push(host);
    });
    return hosts;
}

function readVersionRef(c: Checker, key: string, value: unknown, names: readonly string[]): string {
    const name = c.string(key, value, "");
    if (name !== "" && names.length > 0 && !names.includes(name)) {
        c.fail(key, value, `it must name a version in versions (${names.join(", ")})`);
    }
    return name;
}

/** The fields of RoutingArgs. */
export const ROUTING_FIELDS = ["httpsRedirect", "mirror", "headerRoute", "timeout", "retries", "stickyCanary"] as const;

/** The fields of StickyCanaryArgs. */
export const STICKY_CANARY_FIELDS = ["enabled", "cookieName", "maxAgeSeconds"] as const;

/** Defaults of StickyCanaryArgs. */
export const STICKY_CANARY_DEFAULTS: Omit<ResolvedStickyCanary, "enabled"> = { cookieName: "istio-canary", maxAgeSeconds: 86400 };

/** Longest cookie Max-Age accepted: 30 days. */
export const MAX_STICKY_AGE_SECONDS = 2592000;

/** A cookie name the sticky route can match literally: an RFC 6265 token limited to letters, digits, `-`, `_` and `.`. */
const COOKIE_NAME: [(s: string) => boolean, string] = [
    (s) => /^[A-Za-z0-9_.-]{1,64}$/.test(s),
    "a cookie name of letters, digits, '-', '_' and '.' (at most 64 characters), such as istio-canary",
];

function readStickyCanary(c: Checker, value: unknown, names: readonly string[]): ResolvedStickyCanary | undefined {
    const s = c.object("routing.stickyCanary", value, STICKY_CANARY_FIELDS);
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return undefined; // c.object said what it must be; one message is enough
    }
    const enabled = c.required(
        "routing.stickyCanary.enabled",
        s.enabled,
        "say whether sticky routing is on (enabled: true), or remove routing.stickyCanary",
    )
        ? c.boolean("routing.stickyCanary.enabled", s.enabled, false)
        : false;
    const sticky: ResolvedStickyCanary = {
        enabled: true,
        cookieName: c.string("routing.stickyCanary.cookieName", s.cookieName, STICKY_CANARY_DEFAULTS.cookieName, COOKIE_NAME),
        maxAgeSeconds: c.integer(
            "routing.stickyCanary.maxAgeSeconds",
            s.maxAgeSeconds,
            STICKY_CANARY_DEFAULTS.maxAgeSeconds,
            1,
            MAX_STICKY_AGE_SECONDS,
        ),
    };
    if (!enabled) {
        return undefined;
    }
    if (names.length > 2) {
        c.fail(
            "routing.stickyCanary.enabled",
            true,
            `it keeps users on the canary, the second entry of versions, and needs exactly the baseline and one canary; versions lists ${names.length} (${names.join(", ")}): remove the others, or turn sticky routing off`,
        );
    }
    return sticky;
}

/** Reads `routing`; versions it names must be in `names`. */
export function readRouting(c: Checker, value: unknown, names: readonly string[]): ResolvedRouting {
    const r = c.object("routing", value, ROUTING_FIELDS);
    const routing: ResolvedRouting = { httpsRedirect: c.boolean("routing.httpsRedirect", r.httpsRedirect, true) };
    if (r.mirror !== undefined) {
        const m = c.object("routing.mirror", r.mirror, ["version", "percentage"]);
        routing.mirror = {
            version: c.required("routing.mirror.version", m.version, "a mirror names the version that receives the copy")
                ? readVersionRef(c, "routing.mirror.version", m.version, names)
                : "",
            percentage: c.number("routing.mirror.percentage", m.percentage, 100, 0, 100),
        };
    }
    if (r.headerRoute !== undefined) {
        const h = c.object("routing.headerRoute", r.headerRoute, ["header", "value", "version"]);
        routing.headerRoute = {
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
    }
    if (r.timeout !== undefined) {
        routing.timeout = c.string("routing.timeout", r.timeout, "", DURATION);
    }
    if (r.retries !== undefined) {
        const t = c.object("routing.retries", r.retries, ["attempts", "perTryTimeout", "retryOn"]);
        const retries: RetriesArgs = {
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
    if (r.stickyCanary !== undefined) {
        const sticky = readStickyCanary(c, r.stickyCanary, names);
        if (sticky !== undefined) {
            routing.stickyCanary = sticky;
        }
    }
    return routing;
}

/** The sticky route of a split, as both routing APIs emit it. */
export interface StickySplit {
    /** The canary version: the second entry of versions. */
    version: string;
    /** The cookie name. */
    cookieName: string;
    /** The Set-Cookie value the canary's responses on the weighted route carry, e.g. `istio-canary=v2; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`. */
    setCookie: string;
    /** An RE2 regex (also valid JavaScript) matching a whole Cookie header that carries the cookie with the canary's version. */
    cookieRegex: string;
}

/**
 * The sticky route for these weights: the canary (second version) while its weight is above 0 and
 * below 100; undefined with sticky routing off, with a single version, at 0 (before the first shift
 * and after a rollback) and at 100 (the canary serves everyone). The cookie's value is the canary's
 * version, so a cookie from an earlier canary never matches a later one. Pure.
 */
export function stickySplit(versions: readonly Pick<Version, "name" | "weight">[], routing: ResolvedRouting): StickySplit | undefined {
    const sticky = routing.stickyCanary;
    const canary = versions[1];
    if (sticky === undefined || versions.length !== 2 || canary.weight <= 0 || canary.weight >= 100) {
        return undefined;
    }
    const name = sticky.cookieName.replace(/\./g, "\\.");
    return {
        version: canary.name,
        cookieName: sticky.cookieName,
        setCookie: `${sticky.cookieName}=${canary.name}; Max-Age=${sticky.maxAgeSeconds}; Path=/; HttpOnly; SameSite=Lax`,
        cookieRegex: `^(.*;\\s*)?${name}=${canary.name}(;.*)?$`,
    };
}

/**
 * Checks Traffic's arguments and applies the defaults: weights are integers summing to 100, versions
 * named by the routing exist, hosts are served once. Pure. Problems go to `c`; without one, throws
 * ArgsError listing every problem.
 */
export function resolveTrafficArgs(args: TrafficArgs, c?: Checker): ResolvedTrafficArgs {
    const check = c ?? new Checker();
    const namespace = check.string("namespace", args.namespace, "default", DNS_LABEL);
    check.required("service", args.service, "Traffic routes to the app's Service: give its name");
    const service = check.string("service", args.service, "", DNS_1035_LABEL);
    const fqdn = serviceFqdn(service, namespace);
    const versions = readVersions(check, args.versions, ["weight"]);
    const resolved: ResolvedTrafficArgs = {
        namespace,
        service,
        serviceFqdn: fqdn,
        hosts: check.required("hosts", args.hosts, "Traffic needs the hostnames it serves") ? readHosts(check, args.hosts, fqdn) : [],
        versions: versions.map((v) => ({ name: v.name, weight: v.weight })),
        gatewaySelector: check.labels("gatewaySelector", args.gatewaySelector, { ...DEFAULT_GATEWAY_SELECTOR }),
        credentialName: check.string("credentialName", args.credentialName, DEFAULT_CREDENTIAL_NAME, SECRET_NAME),
        routing: readRouting(
            check,
            args.routing,
            versions.map((v) => v.name),
        ),
    };
    if (c === undefined) {
        check.throwIfAny("Traffic");
    }
    return resolved;
}

/** The Gateway spec: HTTPS 443 with TLS SIMPLE from credentialName, plus an optional port 80 redirect. Pure. */
export function gatewaySpec(args: Pick<ResolvedTrafficArgs, "hosts" | "gatewaySelector" | "credentialName" | "routing">): GatewaySpec {
    const servers: GatewayServer[] = [
        {
            port: { number: 443, name: "https", protocol: "HTTPS" },
            tls: { mode: "SIMPLE", credentialName: args.credentialName },
            hosts: [...args.hosts],
        },
    ];
    if (args.routing.httpsRedirect) {
        servers.push({ port: { number: 80, name: "http", protocol: "HTTP" }, tls: { httpsRedirect: true }, hosts: [...args.hosts] });
    }
    return { selector: { ...args.gatewaySelector }, servers };
}

/** The DestinationRule spec: one subset per version, selected by its `version` label. Pure. */
export function destinationRuleSpec(serviceFqdn: string, versions: readonly Pick<Version, "name">[]): DestinationRuleSpec {
    return { host: serviceFqdn, subsets: versions.map((v) => ({ name: v.name, labels: { version: v.name } })) };
}

/**
 * The HTTP routes: an optional header-matched route to one version, then the weighted route with
 * one destination per version (weight 0 kept, so each version always has its route entry). Pure.
 */
export function httpRoutes(
    serviceFqdn: string,
    versions: readonly Pick<Version, "name" | "weight">[],
    routing: ResolvedRouting,
): HTTPRoute[] {
    const resilience: Pick<HTTPRoute, "timeout" | "retries"> = {
        ...(routing.timeout !== undefined ? { timeout: routing.timeout } : {}),
        ...(routing.retries !== undefined ? { retries: { ...routing.retries } } : {}),
    };
    const routes: HTTPRoute[] = [];
    if (routing.headerRoute !== undefined) {
        const h = routing.headerRoute;
        routes.push({
            name: `header-${h.version}`,
            match: [{ headers: { [h.header]: { exact: h.value } } }],
            route: [{ destination: { host: serviceFqdn, subset: h.version } }],
            ...resilience,
        });
    }
    const sticky = stickySplit(versions, routing);
    if (sticky !== undefined) {
        routes.push({
            name: `sticky-${sticky.version}`,
            match: [{ headers: { cookie: { regex: sticky.cookieRegex } } }],
            route: [{ destination: { host: serviceFqdn, subset: sticky.version } }],
            ...resilience,
        });
    }
    const weighted: HTTPRouteDestination[] = versions.map((v) => ({
        destination: { host: serviceFqdn, subset: v.name },
        weight: v.weight,
        ...(sticky !== undefined && v.name === sticky.version
            ? { headers: { response: { add: { "set-cookie": sticky.setCookie } } } }
            : {}),
    }));
    routes.push({
        name: "weighted",
        route: weighted,
        ...(routing.mirror !== undefined
            ? { mirror: { host: serviceFqdn, subset: routing.mirror.version }, mirrorPercentage: { value: routing.mirror.percentage } }
            : {}),
        ...resilience,
    });
    return routes;
}

/**
 * The VirtualService spec. `gateways` lists the Gateway and `mesh`, and `hosts` adds the Service FQDN
 * to the public hosts, so callers inside the mesh follow the same split as ingress traffic. Pure.
 */
export function virtualServiceSpec(args: {
    hosts: readonly string[];
    serviceFqdn: string;
    gatewayRef: string;
    versions: readonly Pick<Version, "name" | "weight">[];
    routing: ResolvedRouting;
}): VirtualServiceSpec {
    return {
        hosts: [...args.hosts, args.serviceFqdn],
        gateways: [args.gatewayRef, "mesh"],
        http: httpRoutes(args.serviceFqdn, args.versions, args.routing),
    };
}

/**
 * Istio traffic management: Gateway, DestinationRule and VirtualService (networking.istio.io/v1).
 * Only the VirtualService depends on the weights, so a traffic shift changes only it.
 *
 * ## Example Usage
 * ```typescript
 * new Traffic("shop", {
 *     namespace: "shop",
 *     service: "shop", // the Service CanaryApp created for app.name "shop"
 *     hosts: ["shop.example.com"],
 *     versions: [
 *         { name: "v1", weight: 90 },
 *         { name: "v2", weight: 10 },
 *     ],
 *     routing: { headerRoute: { header: "x-canary", value: "true", version: "v2" } },
 * });
 * ```
 */
export class Traffic extends pulumi.ComponentResource {
    /** The Gateway. */
    readonly gateway: k8s.apiextensions.CustomResource;
    /** The DestinationRule. */
    readonly destinationRule: k8s.apiextensions.CustomResource;
    /** The VirtualService. */
    readonly virtualService: k8s.apiextensions.CustomResource;
    /** The weights per version as routed, e.g. `{ v1: 90, v2: 10 }`. */
    readonly weights: Record<string, number>;

    constructor(name: string, args: TrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:traffic:Traffic", name, {}, opts);
        const r = resolveTrafficArgs(args);
        const self = { parent: this };
        const metadata = { namespace: r.namespace };
        this.gateway = new k8s.apiextensions.CustomResource(
            `${name}-gateway`,
            { apiVersion: ISTIO_NETWORKING_API, kind: "Gateway", metadata, spec: gatewaySpec(r) },
            self,
        );
        this.destinationRule = new k8s.apiextensions.CustomResource(
            `${name}-dr`,
            {
                apiVersion: ISTIO_NETWORKING_API,
                kind: "DestinationRule",
                metadata,
                spec: destinationRuleSpec(r.serviceFqdn, r.versions),
            },
            self,
        );
        const gatewayRef = pulumi.interpolate`${r.namespace}/${this.gateway.metadata.name}`;
        this.virtualService = new k8s.apiextensions.CustomResource(
            `${name}-vs`,
            {
                apiVersion: ISTIO_NETWORKING_API,
                kind: "VirtualService",
                metadata,
                // Plain data except the Gateway's generated name, which stays an Output in its own
                // field, so a preview shows the routes and weights even before the Gateway exists.
                spec: { ...virtualServiceSpec({ ...r, gatewayRef: "" }), gateways: [gatewayRef, "mesh"] },
            },
            // Subsets must exist before routes point at them.
            { ...self, dependsOn: [this.destinationRule] },
        );
        this.weights = weightsByVersion(r.versions);
        this.registerOutputs({
            gateway: this.gateway,
            destinationRule: this.destinationRule,
            virtualService: this.virtualService,
            weights: this.weights,
        });
    }
}
