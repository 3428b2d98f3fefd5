import { StackValidationPolicy } from "@pulumi/policy";
import {
    destinationRulesOf,
    PodTemplate,
    ResourceLike,
    StackViolation,
    arr,
    describe,
    effectiveSplit,
    hostCoverage,
    isIstio,
    isUnknown,
    knownLabels,
    labelsMatch,
    namespaceOf,
    obj,
    plainResources,
    podTemplateOf,
    resolveHost,
    routesOf,
    serviceOfHost,
    str,
} from "../istio";
import { findService } from "./destinationrule-subsets-select-pods";

/**
 * The labels of subset `name` of the DestinationRule Istio picks for `host` (the most specific host
 * match). Undefined when not known: no rule defines it (virtualservice-subsets-exist says so),
 * a rule's host, namespace or subsets are unknown during preview, or equally specific rules
 * disagree on the labels.
 */
function subsetLabels(resources: readonly ResourceLike[], host: string, name: string): Record<string, string> | undefined {
    const { rules, unknown } = destinationRulesOf(resources);
    if (unknown) {
        return undefined;
    }
    const best = Math.max(0, ...rules.map((rule) => hostCoverage(rule.host, host)));
    if (best === 0) {
        return undefined;
    }
    const found = new Set<string>();
    let labels: Record<string, string> | undefined;
    for (const rule of rules.filter((x) => hostCoverage(x.host, host) === best)) {
        for (const s of arr(rule.spec.subsets)) {
            if (isUnknown(s) || isUnknown(obj(s)?.name)) {
                return undefined;
            }
            if (obj(s)?.name !== name) {
                continue;
            }
            labels = knownLabels(obj(s)?.labels ?? {});
            if (labels === undefined) {
                return undefined;
            }
            found.add(JSON.stringify(Object.entries(labels).sort()));
        }
    }
    return found.size === 1 ? labels : undefined;
}

/**
 * The workloads whose pods a subset selects: pod templates in the host's namespace, behind the
 * host's Service when the stack has it (Istio's subset endpoints are the Service's endpoints whose
 * pods also carry the subset labels). Undefined when a pod template's or the Service's labels or
 * namespace are unknown during preview.
 */
function subsetWorkloads(
    resources: readonly ResourceLike[],
    service: { name: string; namespace: string },
    labels: Record<string, string>,
): PodTemplate[] | undefined {
    const pods = resources.map(podTemplateOf).filter((p): p is PodTemplate => p !== undefined);
    if (pods.some((p) => p.namespace === undefined || (p.namespace === service.namespace && p.labels === undefined))) {
        return undefined;
    }
    const found = findService(resources, service.name, service.namespace);
    if (found.uncertain || (found.service !== undefined && found.service.selector === undefined)) {
        return undefined;
    }
    const selector = found.service?.selector ?? {};
    return pods.filter((p) => p.namespace === service.namespace && labelsMatch(selector, p.labels!) && labelsMatch(labels, p.labels!));
}

/** How a message says what share a destination gets: `10% of its traffic (weight 10)`, or `all of its traffic`. */
function shareText(weights: readonly unknown[], index: number): string {
    if (weights.length === 1) {
        return "all of its traffic";
    }
    const split = effectiveSplit(weights);
    return split === undefined
        ? `weight ${weights[index] as number}`
        : `${split[index]}% of its traffic (weight ${weights[index] as number})`;
}

/**
 * The violations of the whole stack: a VirtualService route that gives a subset traffic (a positive
 * weight, or the only destination) when every workload whose pods the subset selects is scaled to 0
 * replicas. The subset then has no endpoints and Envoy answers 503 for its share. A weight of 0 sends
 * nothing (Istio drops 0-weighted destinations: pilot route.go applyHTTPRouteDestination). Workloads
 * without a fixed count (DaemonSet, Job) and unknown replicas, weights, labels or selectors are never
 * violations; a subset that selects no workload at all is destinationrule-subsets-select-pods'. Pure.
 */
export function zeroReplicaViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const out: StackViolation[] = [];
    for (const vs of resources) {
        if (!isIstio(vs, "VirtualService")) {
            continue;
        }
        const spec = obj(vs.props.spec);
        const ns = namespaceOf(vs.props);
        if (spec === undefined || ns === undefined) {
            continue;
        }
        for (const route of routesOf(spec)) {
            const weights = route.destinations.map((d) => d.weight);
            route.destinations.forEach((d, i) => {
                const w = weights[i];
                const sendsTraffic =
                    weights.length === 1 ? w === undefined || (typeof w === "number" && w > 0) : typeof w === "number" && w > 0;
                const destination = obj(d.destination);
                const subset = str(destination?.subset);
                const rawHost = str(destination?.host);
                if (!sendsTraffic || subset === undefined || rawHost === undefined) {
                    return;
                }
                const host = resolveHost(rawHost, ns);
                const service = serviceOfHost(host);
                const labels = service === undefined ? undefined : subsetLabels(resources, host, subset);
                if (service === undefined || labels === undefined) {
                    return;
                }
                const workloads = subsetWorkloads(resources, service, labels);
                if (workloads === undefined || workloads.length === 0 || !workloads.every((p) => p.replicas === 0)) {
                    return;
                }
                const which =
                    workloads.length === 1
                        ? `the only workload there, ${workloads[0].owner}, has`
                        : `every workload there (${workloads.map((p) => p.owner).join(", ")}) has`;
                out.push({
                    urn: vs.urn,
                    message:
                        `${describe("VirtualService", vs)} ${route.label} sends ${shareText(weights, i)} to subset ${subset} of ${host}, but ${which} replicas: 0: ` +
                        `the subset has no endpoints and those requests fail with 503. Scale the workload up before giving its subset weight, or give the subset weight 0.`,
                });
            });
        }
    }
    return out;
}

/** No route gives traffic to a subset whose workloads are all scaled to 0 replicas. */
export const virtualServiceWeightedSubsetsHaveReplicas: StackValidationPolicy = {
    name: "virtualservice-weighted-subsets-have-replicas",
    description:
        "Every subset a VirtualService route gives traffic to (a weight above 0, or the only destination) selects at least one workload in the stack that is not scaled to 0 replicas.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of zeroReplicaViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
