/**
 * The parts of Istio's networking.istio.io/v1 specs this project emits, typed so a typo is a
 * compile error rather than a silently ignored field. Field names follow Istio's API reference.
 */

/** A port on a Gateway server. */
export interface GatewayPort {
    number: number;
    name: string;
    protocol: "HTTP" | "HTTPS" | "HTTP2" | "GRPC" | "TCP" | "TLS";
}

/** TLS settings of a Gateway server. */
export interface ServerTlsSettings {
    mode?: "SIMPLE" | "MUTUAL" | "PASSTHROUGH" | "ISTIO_MUTUAL";
    credentialName?: string;
    httpsRedirect?: boolean;
}

/** A Gateway server: a port, the hosts it serves and its TLS settings. */
export interface GatewayServer {
    port: GatewayPort;
    hosts: string[];
    tls?: ServerTlsSettings;
}

/** spec of a Gateway. */
export interface GatewaySpec {
    selector: Record<string, string>;
    servers: GatewayServer[];
}

/** A DestinationRule subset: a named group of pods selected by labels. */
export interface Subset {
    name: string;
    labels: Record<string, string>;
}

/** spec of a DestinationRule. */
export interface DestinationRuleSpec {
    host: string;
    subsets: Subset[];
}

/** Where a route sends traffic. */
export interface Destination {
    host: string;
    subset?: string;
    port?: { number: number };
}

/** Header changes of one direction (Istio's HeaderOperations): `add` appends, `set` overwrites, `remove` drops. */
export interface HeaderOperations {
    set?: Record<string, string>;
    add?: Record<string, string>;
    remove?: string[];
}

/** Header changes of a route or of one destination (Istio's Headers). */
export interface Headers {
    request?: HeaderOperations;
    response?: HeaderOperations;
}

/** One weighted destination of an HTTP route; `headers` apply only to requests sent to it. */
export interface HTTPRouteDestination {
    destination: Destination;
    weight?: number;
    headers?: Headers;
}

/** A header match of an HTTP route. */
export interface StringMatch {
    exact?: string;
    prefix?: string;
    regex?: string;
}

/** Conditions an HTTP request must meet for a route to apply. */
export interface HTTPMatchRequest {
    name?: string;
    headers?: Record<string, StringMatch>;
}

/** Retry policy of an HTTP route. */
export interface HTTPRetry {
    attempts: number;
    perTryTimeout?: string;
    retryOn?: string;
}

/** One HTTP route of a VirtualService. */
export interface HTTPRoute {
    name?: string;
    match?: HTTPMatchRequest[];
    route: HTTPRouteDestination[];
    mirror?: Destination;
    mirrorPercentage?: { value: number };
    timeout?: string;
    retries?: HTTPRetry;
}

/** spec of a VirtualService (HTTP routes only: this project serves HTTP). */
export interface VirtualServiceSpec {
    hosts: string[];
    gateways: string[];
    http: HTTPRoute[];
}

/** apiVersion of every Istio object this project emits (GA since Istio 1.22). */
export const ISTIO_NETWORKING_API = "networking.istio.io/v1";
