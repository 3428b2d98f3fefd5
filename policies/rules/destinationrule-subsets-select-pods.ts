import { StackValidationPolicy } from "@pulumi/policy";
import {
    PodTemplate,
    ResourceLike,
    arr,
    describe,
    isIstio,
    isKube,
    isUnknown,
    knownLabels,
    labelsMatch,
    namespaceOf,
    obj,
    plainResources,
    podTemplateOf,
    resolveHost,
    serviceOfHost,
    showLabels,
    StackViolation,
    str,
} from "../istio";

/** The Service named by a host, as far as the stack knows it. */
export interface ServiceInfo {
    /** For messages: `Service default/myapp`. */
    label: string;
    /** Its selector; undefined when unknown. */
    selector: Record<string, string> | undefined;
}

/**
 * The stack's Service `namespace/name`; `uncertain` when a Service whose name or namespace is unknown
 * during preview may be it.
 */
export function findService(
    resources: readonly ResourceLike[],
    name: string,
    namespace: string,
): { service?: ServiceInfo; uncertain: boolean } {
    let uncertain = false;
    for (const r of resources) {
        if (!isKube(r, "", "Service")) {
            continue;
        }
        const metaName = obj(r.props.metadata)?.name;
        const ns = namespaceOf(r.props);
        if (str(metaName) === undefined || ns === undefined) {
            // An auto-named Service (no metadata.name) gets a random suffix, so it is not the host's; one whose
            // name or namespace is unknown during preview may be.
            uncertain = uncertain || metaName !== undefined || ns === undefined;
            continue;
        }
        if (metaName === name && ns === namespace) {
            const spec = obj(r.props.spec);
            return {
                service: { label: describe("Service", r), selector: spec === undefined ? undefined : knownLabels(spec.selector ?? {}) },
                uncertain,
            };
        }
    }
    return { uncertain };
}

/** The violations of the whole stack: DestinationRule subsets whose labels select no pod template. Pure. */
export function subsetPodViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const pods: PodTemplate[] = resources.map(podTemplateOf).filter((p): p is PodTemplate => p !== undefined);
    const out: StackViolation[] = [];
    for (const dr of resources) {
        if (!isIstio(dr, "DestinationRule")) {
            continue;
        }
        const spec = obj(dr.props.spec);
        const ns = namespaceOf(dr.props);
        const rawHost = str(spec?.host);
        if (spec === undefined || ns === undefined || rawHost === undefined) {
            continue;
        }
        const target = serviceOfHost(resolveHost(rawHost, ns));
        if (target === undefined) {
            continue; // not a Kubernetes Service host (external, ServiceEntry, wildcard)
        }
        const inNamespace = pods.filter((p) => p.namespace === target.namespace);
        const podsUncertain = pods.some((p) => p.namespace === undefined);
        const { service, uncertain } = findService(resources, target.name, target.namespace);
        if (service === undefined && inNamespace.length === 0) {
            continue; // the stack runs neither the Service nor any pods there: nothing to compare with
        }
        if (service !== undefined && service.selector === undefined) {
            continue;
        }
        const candidates =
            service?.selector === undefined
                ? inNamespace
                : inNamespace.filter((p) => p.labels !== undefined && labelsMatch(service.selector!, p.labels));
        const where =
            service?.selector !== undefined
                ? `in namespace ${target.namespace} behind ${service.label} (selector ${showLabels(service.selector)})`
                : `in namespace ${target.namespace}`;
        arr(spec.subsets).forEach((s, i) => {
            if (isUnknown(s)) {
                return; // the whole subset is unknown during preview
            }
            const subset = obj(s) ?? {};
            const name = str(subset.name) ?? `subsets[${i}]`;
            const labels = knownLabels(subset.labels ?? {});
            if (labels === undefined) {
                return; // labels not known during preview
            }
            if (candidates.some((p) => p.labels !== undefined && labelsMatch(labels, p.labels))) {
                return;
            }
            if (uncertain || podsUncertain || inNamespace.some((p) => p.labels === undefined)) {
                return;
            }
            const found =
                candidates.length === 0
                    ? "there is no pod template there at all"
                    : `the pod templates there have ${candidates
                          .map(
                              (p) =>
                                  `${p.owner} ${showLabels(Object.fromEntries(Object.keys(labels).map((k) => [k, p.labels?.[k] ?? "(none)"])))}`,
                          )
                          .join(", ")}`;
            out.push({
                urn: dr.urn,
                message:
                    `${describe("DestinationRule", dr)} subset ${name} selects pods labelled ${showLabels(labels)}, but no workload ${where} has a pod template with those labels; ${found}. ` +
                    `Traffic routed to this subset would find no endpoints (503).`,
            });
        });
    }
    return out;
}

/** Every DestinationRule subset selects the pods of a workload in the stack, in the namespace of its host. */
export const destinationRuleSubsetsSelectPods: StackValidationPolicy = {
    name: "destinationrule-subsets-select-pods",
    description:
        "Every DestinationRule subset's labels match the pod template labels of a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or Pod) in the stack in the namespace of the rule's host (and behind its Service, when the stack has it).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = plainResources(args.resources);
        for (const v of subsetPodViolations(resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
