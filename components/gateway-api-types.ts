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

/** A Service a rule sends traffic to. */
export interface BackendRef {
    name: string;
    port: number;
    weight?: number;
}

/** A header match of a rule. */
export interface HTTPHeaderMatch {
    type: "Exact";
    name: string;
    value: string;
}

/** A filter of a rule (the two this project uses). */
export type HTTPRouteFilter =
    | { type: "RequestRedirect"; requestRedirect: { scheme: "https"; statusCode: 301 } }
    | { type: "RequestMirror"; requestMirror: { backendRef: { name: string; port: number }; percent?: number } };

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
