import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { RoutingConfig, VersionConfig } from "../config";
import {
    DestinationRuleSpec,
    GatewayServer,
    GatewaySpec,
    HTTPRoute,
    HTTPRouteDestination,
    ISTIO_NETWORKING_API,
    VirtualServiceSpec,
} from "./istio-types";

/** Arguments of Traffic. */
export interface TrafficArgs {
    /** Namespace of the Gateway, DestinationRule and VirtualService (the app's). */
    namespace: string;
    /** Hostnames served. */
    hosts: string[];
    /** The Service's cluster FQDN: DestinationRule host and route destination. */
    serviceFqdn: string;
    /** Versions with their weights; one subset and one weighted destination each. */
    versions: VersionConfig[];
    /** Labels of the ingress gateway pods. */
    gatewaySelector: Record<string, string>;
    /** Name of the TLS Secret in the gateway pods' namespace. */
    credentialName: string;
    /** Mirror, header route, timeout, retries, HTTPS redirect. */
    routing: RoutingConfig;
}

/** The Gateway spec: HTTPS 443 with TLS SIMPLE from credentialName, plus an optional port 80 redirect. Pure. */
export function gatewaySpec(args: Pick<TrafficArgs, "hosts" | "gatewaySelector" | "credentialName" | "routing">): GatewaySpec {
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
export function destinationRuleSpec(serviceFqdn: string, versions: VersionConfig[]): DestinationRuleSpec {
    return { host: serviceFqdn, subsets: versions.map((v) => ({ name: v.name, labels: { version: v.name } })) };
}

/**
 * The HTTP routes: an optional header-matched route to one version, then the weighted route with
 * one destination per version (weight 0 kept, so each version always has its route entry). Pure.
 */
export function httpRoutes(serviceFqdn: string, versions: VersionConfig[], routing: RoutingConfig): HTTPRoute[] {
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
    const weighted: HTTPRouteDestination[] = versions.map((v) => ({
        destination: { host: serviceFqdn, subset: v.name },
        weight: v.weight,
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
    hosts: string[];
    serviceFqdn: string;
    gatewayRef: string;
    versions: VersionConfig[];
    routing: RoutingConfig;
}): VirtualServiceSpec {
    return {
        hosts: [...args.hosts, args.serviceFqdn],
        gateways: [args.gatewayRef, "mesh"],
        http: httpRoutes(args.serviceFqdn, args.versions, args.routing),
    };
}

/** The weights per version, as routed. Pure. */
export function weightsByVersion(versions: VersionConfig[]): Record<string, number> {
    return Object.fromEntries(versions.map((v) => [v.name, v.weight]));
}

/**
 * Istio traffic management: Gateway, DestinationRule and VirtualService (networking.istio.io/v1).
 * Only the VirtualService depends on the weights, so a traffic shift changes only it.
 */
export class Traffic extends pulumi.ComponentResource {
    /** The Gateway. */
    readonly gateway: k8s.apiextensions.CustomResource;
    /** The DestinationRule. */
    readonly destinationRule: k8s.apiextensions.CustomResource;
    /** The VirtualService. */
    readonly virtualService: k8s.apiextensions.CustomResource;

    constructor(name: string, args: TrafficArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:traffic:Traffic", name, {}, opts);
        const self = { parent: this };
        const metadata = { namespace: args.namespace };
        this.gateway = new k8s.apiextensions.CustomResource(
            `${name}-gateway`,
            { apiVersion: ISTIO_NETWORKING_API, kind: "Gateway", metadata, spec: gatewaySpec(args) },
            self,
        );
        this.destinationRule = new k8s.apiextensions.CustomResource(
            `${name}-dr`,
            {
                apiVersion: ISTIO_NETWORKING_API,
                kind: "DestinationRule",
                metadata,
                spec: destinationRuleSpec(args.serviceFqdn, args.versions),
            },
            self,
        );
        const gatewayRef = pulumi.interpolate`${args.namespace}/${this.gateway.metadata.name}`;
        this.virtualService = new k8s.apiextensions.CustomResource(
            `${name}-vs`,
            {
                apiVersion: ISTIO_NETWORKING_API,
                kind: "VirtualService",
                metadata,
                // Plain data except the Gateway's generated name, which stays an Output in its own
                // field, so a preview shows the routes and weights even before the Gateway exists.
                spec: { ...virtualServiceSpec({ ...args, gatewayRef: "" }), gateways: [gatewayRef, "mesh"] },
            },
            // Subsets must exist before routes point at them.
            { ...self, dependsOn: [this.destinationRule] },
        );
        this.registerOutputs({});
    }
}
