import { StackValidationPolicy } from "@pulumi/policy";
import {
    GATEWAY_API_GROUP,
    ObjectRef,
    PodTemplate,
    ResourceLike,
    StackViolation,
    arr,
    backendDefaults,
    describe,
    findObject,
    httpRouteBackends,
    identityOf,
    isGatewayApi,
    isKube,
    isService,
    isUnknown,
    knownLabels,
    labelsMatch,
    obj,
    plainResources,
    podTemplateOf,
    readRef,
    refLabel,
    referenceGrantAllows,
    refersToService,
    showLabels,
    str,
} from "../istio";

/** True when the stack gives Service `name` endpoints by hand (an Endpoints object or an EndpointSlice labelled for it). */
function hasManualEndpoints(resources: readonly ResourceLike[], name: string, namespace: string): boolean {
    return resources.some((r) => {
        const id = identityOf(r.props);
        if (id.namespace !== namespace) {
            return false;
        }
        if (isKube(r, "", "Endpoints")) {
            return id.name === name;
        }
        return (
            isKube(r, "discovery.k8s.io", "EndpointSlice") &&
            str(obj(obj(r.props.metadata)?.labels)?.["kubernetes.io/service-name"]) === name
        );
    });
}

/** What is wrong with a backend Service of the stack (port, selector, pods); undefined when nothing known is. */
function serviceProblem(
    resources: readonly ResourceLike[],
    svc: ResourceLike,
    ref: ObjectRef,
    pods: readonly PodTemplate[],
): string | undefined {
    const spec = obj(svc.props.spec);
    if (spec === undefined || isUnknown(spec.type) || str(spec.type) === "ExternalName") {
        return undefined; // unknown during preview, or an ExternalName Service (no pods to select)
    }
    const label = describe("Service", svc);
    if (ref.port === undefined) {
        return "the backendRef gives no port, which Gateway API requires for a Service backend";
    }
    const ports = arr(spec.ports).map((p) => obj(p)?.port);
    if (Array.isArray(spec.ports) && ports.every((p) => typeof p === "number") && !ports.includes(ref.port)) {
        return `${label} has no port ${ref.port} (its ports: ${ports.join(", ") || "none"})`;
    }
    if (isUnknown(spec.selector)) {
        return undefined;
    }
    const selector = knownLabels(spec.selector ?? {});
    if (selector === undefined) {
        return undefined;
    }
    if (Object.keys(selector).length === 0) {
        return hasManualEndpoints(resources, ref.name, ref.namespace) ? undefined : `${label} has no selector, so it selects no pods`;
    }
    const there = pods.filter((p) => p.namespace === ref.namespace);
    if (there.some((p) => p.labels !== undefined && labelsMatch(selector, p.labels))) {
        return undefined;
    }
    if (pods.some((p) => p.namespace === undefined) || there.some((p) => p.labels === undefined)) {
        return undefined; // a pod template whose namespace or labels are unknown during preview may be selected
    }
    const found =
        there.length === 0
            ? "there is no pod template in that namespace at all"
            : `the pod templates there have ${there
                  .map(
                      (p) =>
                          `${p.owner} ${showLabels(Object.fromEntries(Object.keys(selector).map((k) => [k, p.labels?.[k] ?? "(none)"])))}`,
                  )
                  .join(", ")}`;
    return `${label} selects pods labelled ${showLabels(selector)}, which no pod template of a workload of the stack in namespace ${ref.namespace} has; ${found}`;
}

/** The violations of the whole stack: HTTPRoute backends that are not Services of the stack selecting pods. Pure. */
export function httpRouteBackendViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const pods = resources.map(podTemplateOf).filter((p): p is PodTemplate => p !== undefined);
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
        for (const { where, ref: raw } of httpRouteBackends(spec)) {
            const ref = readRef(raw, backendDefaults(ns));
            if (ref === undefined || !refersToService(ref)) {
                continue; // unknown during preview, or another kind of backend (not judged)
            }
            const head = `${describe("HTTPRoute", route)} ${where} names ${refLabel(ref)}`;
            if (ref.namespace !== ns) {
                const grant = referenceGrantAllows(
                    resources,
                    { group: GATEWAY_API_GROUP, kind: "HTTPRoute", namespace: ns },
                    { group: "", kind: "Service", name: ref.name, namespace: ref.namespace },
                );
                if (grant === "no") {
                    out.push({
                        urn: route.urn,
                        message:
                            `${head} in another namespace, but no ReferenceGrant in namespace ${ref.namespace} allows HTTPRoutes of namespace ${ns} to refer to it. ` +
                            `Gateway API ignores the reference (ResolvedRefs: RefNotPermitted) and fails the requests sent to it (500).`,
                    });
                    continue;
                }
            }
            const { found, uncertain } = findObject(resources, isService, ref.name, ref.namespace);
            if (found === undefined) {
                if (uncertain) {
                    continue;
                }
                const names = resources
                    .filter((r) => isService(r) && identityOf(r.props).namespace === ref.namespace)
                    .map((r) => identityOf(r.props).name ?? `${r.name} (auto-named)`);
                out.push({
                    urn: route.urn,
                    message:
                        `${head}, but the stack has no Service ${ref.name} in namespace ${ref.namespace}` +
                        `${names.length > 0 ? ` (its Services there: ${names.join(", ")})` : ""}. ` +
                        `Requests routed to it would fail (500; ResolvedRefs: BackendNotFound).`,
                });
                continue;
            }
            const problem = serviceProblem(resources, found, ref, pods);
            if (problem !== undefined) {
                out.push({ urn: route.urn, message: `${head}, but ${problem}. Requests routed to it would find no endpoints (503).` });
            }
        }
    }
    return out;
}

/** Every backendRef of an HTTPRoute names a Service of the stack that selects pods of a workload of the stack. */
export const httpRouteBackendsExist: StackValidationPolicy = {
    name: "httproute-backends-exist",
    description:
        "Every backendRef of an HTTPRoute (weighted or mirrored) that names a Service names one the stack has, on a port it exposes, whose selector matches the pod template of a workload of the stack in its namespace; a backendRef to another namespace needs a ReferenceGrant there.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of httpRouteBackendViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
