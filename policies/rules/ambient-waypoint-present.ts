import { StackValidationPolicy } from "@pulumi/policy";
import {
    NamespaceLabels,
    ResourceLike,
    StackViolation,
    arr,
    describe,
    findObject,
    identityOf,
    isGatewayApi,
    isService,
    isUnknown,
    knownLabels,
    namespaceLabel,
    namespaceLabelsOf,
    obj,
    parentDefaults,
    plainResources,
    readRef,
    refersToService,
    str,
} from "../istio";

/** The label that puts a namespace's pods in ambient mode. */
export const DATAPLANE_MODE_LABEL = "istio.io/dataplane-mode";
/** The label that sends a Service's (or a namespace's) traffic through a waypoint, naming it. */
export const USE_WAYPOINT_LABEL = "istio.io/use-waypoint";
/** The label naming the waypoint's namespace when it is not the Service's. */
export const USE_WAYPOINT_NAMESPACE_LABEL = "istio.io/use-waypoint-namespace";
/** The label saying which traffic a waypoint takes: service (the default), workload, all or none. */
export const WAYPOINT_FOR_LABEL = "istio.io/waypoint-for";

/**
 * The waypoint a Service in an ambient namespace uses: its own labels first, then those the stack
 * gives its namespace (a Namespace or NamespacePatch). Undefined when unknown during preview.
 */
function waypointOf(
    serviceLabels: Record<string, string>,
    ns: NamespaceLabels,
    serviceNamespace: string,
): { name: string | undefined; namespace: string; from: string } | undefined {
    if (serviceLabels[USE_WAYPOINT_LABEL] !== undefined) {
        return {
            name: serviceLabels[USE_WAYPOINT_LABEL],
            namespace: serviceLabels[USE_WAYPOINT_NAMESPACE_LABEL] ?? serviceNamespace,
            from: "the Service's",
        };
    }
    // Only what the stack sets counts: a label given to the namespace outside the stack is no part of what it deploys.
    if (ns.status === "unknown") {
        return undefined;
    }
    return {
        name: ns.labels[USE_WAYPOINT_LABEL],
        namespace: ns.labels[USE_WAYPOINT_NAMESPACE_LABEL] ?? serviceNamespace,
        from: "its namespace's",
    };
}

/** What is wrong with the waypoint of a Service an HTTPRoute is attached to; undefined when nothing known is. */
function waypointProblem(resources: readonly ResourceLike[], serviceNs: string, service: ResourceLike): string | undefined {
    const meta = obj(service.props.metadata);
    const labels = knownLabels(meta?.labels ?? {});
    const ns = namespaceLabelsOf(resources, serviceNs);
    if (labels === undefined) {
        return undefined;
    }
    const waypoint = waypointOf(labels, ns, serviceNs);
    if (waypoint === undefined) {
        return undefined;
    }
    const svc = describe("Service", service);
    if (waypoint.name === undefined || waypoint.name === "none") {
        const why =
            waypoint.name === "none"
                ? `${waypoint.from} ${USE_WAYPOINT_LABEL} label is "none"`
                : `neither ${svc} nor namespace ${serviceNs} has an ${USE_WAYPOINT_LABEL} label`;
        return `${why}, so no waypoint serves it`;
    }
    const { found, uncertain } = findObject(resources, (r) => isGatewayApi(r, "Gateway"), waypoint.name, waypoint.namespace);
    if (found === undefined) {
        return uncertain
            ? undefined
            : `${waypoint.from} ${USE_WAYPOINT_LABEL} label names ${waypoint.name}, and the stack has no Gateway ${waypoint.name} in namespace ${waypoint.namespace}`;
    }
    const gw = describe("Gateway", found);
    const spec = obj(found.props.spec);
    const className = spec === undefined ? undefined : str(spec.gatewayClassName);
    if (className !== undefined && className !== "istio-waypoint") {
        return `${waypoint.from} ${USE_WAYPOINT_LABEL} label names ${gw}, which has class ${className}, not istio-waypoint`;
    }
    const gwLabels = knownLabels(obj(found.props.metadata)?.labels ?? {});
    const forWhat = gwLabels?.[WAYPOINT_FOR_LABEL];
    if (forWhat === "workload" || forWhat === "none") {
        return `${waypoint.from} ${USE_WAYPOINT_LABEL} label names ${gw}, whose ${WAYPOINT_FOR_LABEL} label is "${forWhat}", so it takes no traffic addressed to Services`;
    }
    return undefined;
}

/** The violations of the whole stack: Service-parented HTTPRoutes in ambient namespaces without a waypoint to apply them. Pure. */
export function ambientWaypointViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const out: StackViolation[] = [];
    for (const route of resources) {
        if (!isGatewayApi(route, "HTTPRoute")) {
            continue;
        }
        const routeNs = identityOf(route.props).namespace;
        const spec = obj(route.props.spec);
        if (routeNs === undefined || spec === undefined || isUnknown(spec.parentRefs)) {
            continue;
        }
        arr(spec.parentRefs).forEach((raw, i) => {
            const ref = readRef(raw, parentDefaults(routeNs));
            if (ref === undefined || !refersToService(ref)) {
                return;
            }
            const mode = namespaceLabel(namespaceLabelsOf(resources, ref.namespace), DATAPLANE_MODE_LABEL);
            if (mode.status === "unknown" || mode.value !== "ambient") {
                return; // not (known to be) an ambient namespace
            }
            const { found } = findObject(resources, isService, ref.name, ref.namespace);
            if (found === undefined) {
                return; // httproute-parents-exist reports a missing Service
            }
            const problem = waypointProblem(resources, ref.namespace, found);
            if (problem !== undefined) {
                out.push({
                    urn: route.urn,
                    message:
                        `${describe("HTTPRoute", route)} parentRefs[${i}] attaches to ${describe("Service", found)} in namespace ${ref.namespace}, labelled ${DATAPLANE_MODE_LABEL}=ambient, but ${problem}. ` +
                        `In ambient mode ztunnel carries in-mesh traffic at L4 only and ignores HTTPRoutes: in-mesh callers would not get this route's rules or split. ` +
                        `Label the Service ${USE_WAYPOINT_LABEL}: <name> with a Gateway of class istio-waypoint of that name in the stack.`,
                });
            }
        });
    }
    return out;
}

/** A Service-parented HTTPRoute in an ambient namespace has a waypoint of the stack to apply it. */
export const ambientWaypointPresent: StackValidationPolicy = {
    name: "ambient-waypoint-present",
    description:
        "Every Service an HTTPRoute is attached to (GAMMA) in a namespace labelled istio.io/dataplane-mode=ambient uses a waypoint, through its own or its namespace's istio.io/use-waypoint label, that is a Gateway of class istio-waypoint in the stack taking Service traffic; without one, ztunnel ignores the route.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of ambientWaypointViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
