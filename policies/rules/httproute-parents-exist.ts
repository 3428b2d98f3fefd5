import { StackValidationPolicy } from "@pulumi/policy";
import {
    GATEWAY_API_GROUP,
    ListenerInfo,
    Match,
    Obj,
    ObjectRef,
    ResourceLike,
    StackViolation,
    arr,
    describe,
    findObject,
    hostnamesIntersect,
    identityOf,
    isGatewayApi,
    isService,
    isUnknown,
    listenersOf,
    namespaceLabelsOf,
    namespaceSelectorMatches,
    obj,
    parentDefaults,
    plainResources,
    readRef,
    refLabel,
    refersToGateway,
    refersToService,
    show,
    showLabels,
    str,
} from "../istio";

/** Protocols whose listeners take HTTPRoutes when allowedRoutes.kinds is not set (Gateway API's defaults). */
const HTTP_PROTOCOLS = new Set(["HTTP", "HTTPS"]);
/** Protocols whose listeners take other route kinds only (TLSRoute, TCPRoute, UDPRoute). */
const NON_HTTP_PROTOCOLS = new Set(["TLS", "TCP", "UDP"]);

/** Why a listener does not accept the route: reasons, or unknown during preview; [] when it accepts it. */
function listenerRefusal(
    resources: readonly ResourceLike[],
    l: Obj,
    gatewayNamespace: string,
    routeNamespace: string,
    routeHostnames: unknown,
): string[] | "unknown" {
    const reasons: string[] = [];
    const unknown: Match[] = [];
    const allowed = obj(l.allowedRoutes);
    if (isUnknown(l.allowedRoutes) || (allowed !== undefined && (isUnknown(allowed.kinds) || isUnknown(allowed.namespaces)))) {
        return "unknown";
    }
    // Kinds.
    if (allowed?.kinds !== undefined) {
        const kinds = arr(allowed.kinds).map((k) => obj(k));
        if (kinds.some((k) => k === undefined || isUnknown(k.kind) || isUnknown(k.group))) {
            unknown.push("unknown");
        } else if (!kinds.some((k) => str(k!.kind) === "HTTPRoute" && (str(k!.group) ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP)) {
            reasons.push(`its allowedRoutes.kinds (${kinds.map((k) => str(k!.kind)).join(", ") || "none"}) leave out HTTPRoute`);
        }
    } else {
        const protocol = str(l.protocol);
        if (protocol !== undefined && NON_HTTP_PROTOCOLS.has(protocol)) {
            reasons.push(`a ${protocol} listener takes no HTTPRoute`);
        } else if (protocol === undefined || !HTTP_PROTOCOLS.has(protocol)) {
            unknown.push("unknown"); // unknown, or an implementation's own protocol: not judged
        }
    }
    // Namespaces.
    const namespaces = obj(allowed?.namespaces);
    const from = namespaces?.from === undefined ? "Same" : str(namespaces.from);
    if (from === undefined || (namespaces !== undefined && isUnknown(namespaces.selector))) {
        unknown.push("unknown");
    } else if (from === "Same" && routeNamespace !== gatewayNamespace) {
        reasons.push(`it admits routes of namespace ${gatewayNamespace} only (allowedRoutes.namespaces.from: Same)`);
    } else if (from === "Selector") {
        const nsLabels = namespaceLabelsOf(resources, routeNamespace);
        const m = namespaceSelectorMatches(nsLabels, namespaces?.selector);
        if (m === "unknown") {
            unknown.push(m);
        } else if (m === "no") {
            const selector = obj(namespaces?.selector) ?? {};
            const shown = obj(selector.matchLabels) !== undefined ? showLabels(obj(selector.matchLabels)!) : show(selector);
            const labels = nsLabels.status === "known" ? `, labelled ${showLabels(nsLabels.labels)},` : "";
            reasons.push(`it admits routes of namespaces selected by ${shown} only, and namespace ${routeNamespace}${labels} is not one`);
        }
    }
    // Hostnames.
    const hostname = l.hostname;
    const hostnames = arr(routeHostnames);
    if (isUnknown(hostname) || isUnknown(routeHostnames) || hostnames.some(isUnknown)) {
        unknown.push("unknown");
    } else if (
        typeof hostname === "string" &&
        hostnames.length > 0 &&
        !hostnames.some((h) => typeof h === "string" && hostnamesIntersect(hostname, h))
    ) {
        reasons.push(`it serves ${hostname}, which none of the route's hostnames (${hostnames.join(", ")}) matches`);
    }
    if (reasons.length > 0) {
        return reasons;
    }
    return unknown.length > 0 ? "unknown" : [];
}

/** The violation of one Gateway parentRef, if any. */
function gatewayParentProblem(
    resources: readonly ResourceLike[],
    ref: ObjectRef,
    routeNamespace: string,
    routeSpec: Obj,
): string | undefined {
    const { found, uncertain } = findObject(resources, (r) => isGatewayApi(r, "Gateway"), ref.name, ref.namespace);
    if (found === undefined) {
        if (uncertain) {
            return undefined;
        }
        const gateways = resources.filter((r) => isGatewayApi(r, "Gateway")).map((r) => describe("Gateway", r));
        return `the stack has no Gateway ${ref.name} in namespace ${ref.namespace}${gateways.length > 0 ? ` (its Gateways: ${gateways.join(", ")})` : ""}`;
    }
    const spec = obj(found.props.spec);
    if (spec === undefined || !Array.isArray(spec.listeners)) {
        return undefined;
    }
    const listeners = listenersOf(spec);
    if (listeners.length < spec.listeners.length) {
        return undefined; // a listener unknown during preview
    }
    const gw = describe("Gateway", found);
    const all = listeners.map((l) => l.label.replace(/^listener /, "")).join(", ");
    let candidates: ListenerInfo[] = listeners;
    if (ref.sectionName !== undefined) {
        if (listeners.some((l) => isUnknown(l.listener.name))) {
            return undefined;
        }
        candidates = candidates.filter((l) => str(l.listener.name) === ref.sectionName);
        if (candidates.length === 0) {
            return `${gw} has no listener named ${ref.sectionName} (its listeners: ${all || "none"})`;
        }
    }
    if (ref.port !== undefined) {
        if (candidates.some((l) => isUnknown(l.listener.port))) {
            return undefined;
        }
        candidates = candidates.filter((l) => l.listener.port === ref.port);
        if (candidates.length === 0) {
            return `${gw} has no listener on port ${ref.port}${ref.sectionName !== undefined ? ` named ${ref.sectionName}` : ""} (its listeners: ${all || "none"})`;
        }
    }
    if (candidates.length === 0) {
        return `${gw} has no listeners`;
    }
    const gatewayNamespace = identityOf(found.props).namespace;
    if (gatewayNamespace === undefined) {
        return undefined;
    }
    const refusals = candidates.map((l) => ({
        l,
        refusal: listenerRefusal(resources, l.listener, gatewayNamespace, routeNamespace, routeSpec.hostnames),
    }));
    if (refusals.some((x) => x.refusal === "unknown" || x.refusal.length === 0)) {
        return undefined; // one listener accepts the route (or may)
    }
    return `no listener of ${gw} it names accepts the route: ${refusals.map((x) => `${x.l.label}: ${(x.refusal as string[]).join("; ")}`).join("; ")}`;
}

/** The violation of one Service parentRef (GAMMA), if any. */
function serviceParentProblem(resources: readonly ResourceLike[], ref: ObjectRef): string | undefined {
    const { found, uncertain } = findObject(resources, isService, ref.name, ref.namespace);
    if (found === undefined) {
        return uncertain ? undefined : `the stack has no Service ${ref.name} in namespace ${ref.namespace}`;
    }
    const ports = arr(obj(found.props.spec)?.ports).map((p) => obj(p)?.port);
    if (
        ref.port !== undefined &&
        Array.isArray(obj(found.props.spec)?.ports) &&
        ports.every((p) => typeof p === "number") &&
        !ports.includes(ref.port)
    ) {
        return `${describe("Service", found)} has no port ${ref.port} (its ports: ${ports.join(", ") || "none"})`;
    }
    return undefined;
}

/** The violations of the whole stack: HTTPRoute parentRefs that resolve to no Gateway listener or Service of the stack. Pure. */
export function httpRouteParentViolations(resources: readonly ResourceLike[]): StackViolation[] {
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
        arr(spec.parentRefs).forEach((raw, i) => {
            const ref = readRef(raw, parentDefaults(ns));
            if (ref === undefined) {
                return; // unknown during preview (the Gateway's generated name, typically)
            }
            const problem = refersToGateway(ref)
                ? gatewayParentProblem(resources, ref, ns, spec)
                : refersToService(ref)
                  ? serviceParentProblem(resources, ref)
                  : undefined; // another kind of parent: not judged
            if (problem !== undefined) {
                out.push({
                    urn: route.urn,
                    message:
                        `${describe("HTTPRoute", route)} parentRefs[${i}] names ${refLabel(ref)}, but ${problem}. ` +
                        `The route would not attach there (Accepted: False) and would route nothing through it.`,
                });
            }
        });
    }
    return out;
}

/** Every parentRef of an HTTPRoute resolves to a Gateway listener or a Service of the stack that accepts it. */
export const httpRouteParentsExist: StackValidationPolicy = {
    name: "httproute-parents-exist",
    description:
        "Every parentRef of an HTTPRoute that names a Gateway or a Service names one the stack has: a Gateway with the listener it names (sectionName, port) that admits the route's kind, namespace and hostnames, or a Service with the port it names.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of httpRouteParentViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
