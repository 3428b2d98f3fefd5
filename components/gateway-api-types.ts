/**
 * The parts of the Kubernetes Gateway API (gateway.networking.k8s.io/v1, standard channel) this
 * project emits, typed so a typo is a compile error. Field names follow the Gateway API reference.
 */

/** apiVersion of every Gateway API object this project emits. */
export const GATEWAY_API = "gateway.networking.k8s.io/v1";

/** A reference to a Secret holding a listener's certificate. */
export interface SecretObjectReference {
    group: "";
    kind: "Secret";
    name: string;
    namespace?: string;
}

/** Which namespaces may attach routes to a listener. */
export interface AllowedRoutes {
    namespaces: { from: "Same" | "All" } | { from: "Selector"; selector: { matchLabels: Record<string, string> } };
}

/** A listener of a Gateway. */
export interface Listener {
    name: string;
    port: number;
    protocol: "HTTP" | "HTTPS" | "HBONE";
    hostname?: string;
    tls?: { mode: "Terminate"; certificateRefs: SecretObjectReference[] };
    allowedRoutes?: AllowedRoutes;
}

/** spec of a Gateway. */
export interface GatewayApiGatewaySpec {
    gatewayClassName: "istio" | "istio-waypoint";
    listeners: Listener[];
}

/** Where a route attaches: a Gateway listener, or a Service for in-mesh callers (GAMMA). */
export type ParentReference =
    | { group?: "gateway.networking.k8s.io"; kind?: "Gateway"; name: string; namespace?: string; sectionName?: string }
    | { group: ""; kind: "Service"; name: string; port?: number };

/** A header name and value, as filters add or set it. */
export interface HTTPHeader {
    name: string;
    value: string;
}

/** A filter of a rule (the three this project uses). */
export type HTTPRouteFilter =
    | { type: "RequestRedirect"; requestRedirect: { scheme: "https"; statusCode: 301 } }
    | { type: "RequestMirror"; requestMirror: { backendRef: { name: string; port: number }; percent?: number } }
    | { type: "ResponseHeaderModifier"; responseHeaderModifier: { add?: HTTPHeader[]; set?: HTTPHeader[]; remove?: string[] } };

/**
 * A Service a rule sends traffic to. `filters` apply only to requests sent to this backend (standard
 * channel, implementation-specific support; Istio implements the header modifiers there).
 */
export interface BackendRef {
    name: string;
    port: number;
    weight?: number;
    filters?: HTTPRouteFilter[];
}

/**
 * A header match of a rule. `Exact` is core; `RegularExpression` is in the standard channel with
 * implementation-specific support (Istio passes it to Envoy as an RE2 regex).
 */
export interface HTTPHeaderMatch {
    type: "Exact" | "RegularExpression";
    name: string;
    value: string;
}

/**
 * One rule of an HTTPRoute. No `name`: rule names (GEP-995) are not in the v1.3 standard channel,
 * and the API server refuses an undeclared field on apply (found by the e2e tier).
 */
export interface HTTPRouteRule {
    matches?: { headers?: HTTPHeaderMatch[] }[];
    filters?: HTTPRouteFilter[];
    backendRefs?: BackendRef[];
    timeouts?: { request?: string };
}

/** spec of an HTTPRoute. */
export interface HTTPRouteSpec {
    parentRefs: ParentReference[];
    hostnames?: string[];
    rules: HTTPRouteRule[];
}
