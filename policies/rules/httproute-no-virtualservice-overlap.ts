import { StackValidationPolicy } from "@pulumi/policy";
import {
    CLUSTER_DOMAIN,
    Obj,
    ResourceLike,
    StackViolation,
    arr,
    describe,
    findObject,
    hostnamesIntersect,
    identityOf,
    isGatewayApi,
    isIstio,
    isUnknown,
    listenersOf,
    obj,
    parentDefaults,
    plainResources,
    readRef,
    refersToGateway,
    refersToService,
    resolveHost,
    str,
} from "../istio";

/** A host an HTTPRoute routes, with why. */
interface RouteHost {
    /** The hostname or Service FQDN. */
    host: string;
    /** For messages: `hostname a.example.com`, `Service default/myapp (myapp.default.svc.cluster.local)`. */
    why: string;
}

/**
 * The hosts an HTTPRoute routes, as far as known: its hostnames, or (without any) the hostnames of
 * the Gateway listeners it attaches to, and the FQDN of every Service it is attached to (GAMMA).
 * Listeners without a hostname add nothing (they match any host, which is no claim on one).
 */
export function httpRouteHosts(resources: readonly ResourceLike[], spec: Obj, ns: string): RouteHost[] {
    const out: RouteHost[] = [];
    const hostnames = arr(spec.hostnames)
        .map(str)
        .filter((h): h is string => h !== undefined);
    hostnames.forEach((h) => out.push({ host: h, why: `hostname ${h}` }));
    for (const raw of arr(spec.parentRefs)) {
        const ref = readRef(raw, parentDefaults(ns));
        if (ref === undefined) {
            continue;
        }
        if (refersToService(ref)) {
            const fqdn = `${ref.name}.${ref.namespace}.svc.${CLUSTER_DOMAIN}`;
            out.push({ host: fqdn, why: `Service ${ref.namespace}/${ref.name} (${fqdn})` });
            continue;
        }
        // The route's own hostnames, when it has any (or they are unknown), say which hosts it claims.
        if (!refersToGateway(ref) || isUnknown(spec.hostnames) || arr(spec.hostnames).length > 0) {
            continue;
        }
        const gw = findObject(resources, (r) => isGatewayApi(r, "Gateway"), ref.name, ref.namespace).found;
        const gwSpec = obj(gw?.props.spec);
        if (gw === undefined || gwSpec === undefined) {
            continue;
        }
        for (const { listener } of listenersOf(gwSpec)) {
            const hostname = str(listener.hostname);
            const selected =
                (ref.sectionName === undefined || str(listener.name) === ref.sectionName) &&
                (ref.port === undefined || listener.port === ref.port);
            if (hostname !== undefined && selected) {
                out.push({
                    host: hostname,
                    why: `hostname ${hostname} of ${describe("Gateway", gw)} listener ${str(listener.name) ?? "?"}`,
                });
            }
        }
    }
    return out;
}

/** The violations of the whole stack: an HTTPRoute and a VirtualService for the same host or Service. Pure. */
export function virtualServiceOverlapViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const services: { vs: ResourceLike; hosts: { raw: string; host: string }[] }[] = [];
    for (const vs of resources) {
        const ns = identityOf(vs.props).namespace;
        const spec = obj(vs.props.spec);
        if (!isIstio(vs, "VirtualService") || ns === undefined || spec === undefined) {
            continue;
        }
        const hosts = arr(spec.hosts)
            .map(str)
            .filter((h): h is string => h !== undefined)
            .map((raw) => ({ raw, host: resolveHost(raw, ns) }));
        services.push({ vs, hosts });
    }
    if (services.length === 0) {
        return [];
    }
    const out: StackViolation[] = [];
    for (const route of resources) {
        if (!isGatewayApi(route, "HTTPRoute")) {
            continue;
        }
        const ns = identityOf(route.props).namespace;
        const spec = obj(route.props.spec);
        if (ns === undefined || spec === undefined) {
            continue;
        }
        const routeHosts = httpRouteHosts(resources, spec, ns);
        for (const { vs, hosts } of services) {
            const pairs = routeHosts.flatMap((rh) =>
                hosts
                    .filter((h) => hostnamesIntersect(rh.host, h.host))
                    .map((h) => `the route's ${rh.why} and the VirtualService's host ${h.raw}${h.raw !== h.host ? ` (${h.host})` : ""}`),
            );
            if (pairs.length === 0) {
                continue;
            }
            out.push({
                urn: route.urn,
                message:
                    `${describe("HTTPRoute", route)} and ${describe("VirtualService", vs)} route the same host: ${[...new Set(pairs)].join("; ")}. ` +
                    `Istio does not define which of the two applies when a VirtualService and an HTTPRoute cover the same host or Service (ambient migration guide; istio/istio#57704): ` +
                    `route it with one API only (routing.api).`,
            });
        }
    }
    return out;
}

/** No VirtualService and HTTPRoute of the stack route the same host or Service. */
export const httpRouteNoVirtualServiceOverlap: StackValidationPolicy = {
    name: "httproute-no-virtualservice-overlap",
    description:
        "No VirtualService of the stack has a host that an HTTPRoute of the stack also routes: one of the route's hostnames (or, without any, a hostname of the Gateway listener it attaches to) or the Service it is attached to, since Istio leaves undefined which of the two applies.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of virtualServiceOverlapViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
