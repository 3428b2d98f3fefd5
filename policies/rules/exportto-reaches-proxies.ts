import { StackValidationPolicy } from "@pulumi/policy";
import {
    destinationRulesOf,
    InstalledGateway,
    MESH_GATEWAY,
    MeshSettings,
    ResourceLike,
    StackViolation,
    Visibility,
    describe,
    exportToVisibility,
    gatewayPods,
    gatewayRefs,
    hostCoverage,
    installedGateways,
    isIstio,
    meshSettings,
    namespaceOf,
    obj,
    plainResources,
    resolveHost,
    routesOf,
    serviceOfHost,
    exportToPhrase,
    showVisibility,
    str,
    visibleIn,
} from "../istio";

/** A DestinationRule as far as this policy needs it known. */
interface DrInfo {
    r: ResourceLike;
    namespace: string;
    /** spec.host resolved as Istio resolves it. */
    host: string;
    /** Subset names; undefined when not all known. */
    subsets: string[] | undefined;
    /** Where it is visible; undefined when unknown during preview. */
    visibility: Visibility | undefined;
    exportTo: unknown;
}

/** DestinationRules of the stack; undefined when one's host or namespace is unknown (it may be any rule). */
function destinationRules(resources: readonly ResourceLike[], mesh: MeshSettings): DrInfo[] | undefined {
    const { rules, unknown } = destinationRulesOf(resources);
    if (unknown) {
        return undefined;
    }
    return rules.map((d) => ({
        r: d.r,
        namespace: d.namespace,
        host: d.host,
        subsets: d.subsets,
        visibility: exportToVisibility(d.spec.exportTo, d.namespace, mesh.destinationRuleExportTo),
        exportTo: d.spec.exportTo,
    }));
}

/**
 * Whether proxies in `namespace` (or, for `undefined`, in any namespace not named anywhere) see a
 * DestinationRule. Istio looks a rule up in the proxy's own namespace, then the host's namespace,
 * then the root namespace, among the rules exported to the proxy's namespace (pilot
 * model/push_context.go destinationRule; DestinationRule reference: exportTo). `unknown` when the
 * rule's visibility or the root namespace is unknown during preview.
 */
function seenBy(dr: DrInfo, namespace: string | undefined, hostNamespace: string, mesh: MeshSettings): boolean | "unknown" {
    if (dr.visibility === undefined) {
        return "unknown";
    }
    const exported = namespace === undefined ? dr.visibility.all : visibleIn(dr.visibility, namespace);
    if (!exported) {
        return false;
    }
    if (dr.namespace === namespace || dr.namespace === hostNamespace) {
        return true;
    }
    if (mesh.rootNamespaces === undefined) {
        return "unknown";
    }
    return mesh.rootNamespaces.includes(dr.namespace);
}

/** Who applies a VirtualService's routes: gateway pods in a namespace, or in-mesh callers. */
interface Consumer {
    /** The proxies' namespace; undefined for in-mesh callers in any namespace not named (the VirtualService is exported everywhere). */
    namespace: string | undefined;
    /** For messages: `the gateway pods in istio-system (Helm release ...)`, `in-mesh callers in namespace team`. */
    label: string;
}

function gatewayLabel(pods: readonly InstalledGateway[]): string {
    return pods.map((g) => g.what).join(" and ");
}

/** Why proxies miss a DestinationRule's subsets: its exportTo, its namespace off the lookup path, or both. */
function hiddenRuleMessage(dr: DrInfo, subsets: string[], who: string[], vs: ResourceLike, mesh: MeshSettings): string {
    const hostNs = serviceOfHost(dr.host)?.namespace;
    const onPath = dr.namespace === hostNs || (mesh.rootNamespaces ?? []).includes(dr.namespace);
    const exported = dr.visibility !== undefined && dr.visibility.all;
    const causes: string[] = [];
    if (!exported) {
        causes.push(
            `${exportToPhrase(dr.exportTo, mesh.destinationRuleExportTo)} makes it visible ${dr.visibility === undefined ? "" : showVisibility(dr.visibility)}`,
        );
    }
    if (!onPath) {
        causes.push(
            `it is in namespace ${dr.namespace}, and Istio looks a DestinationRule up only in the caller's namespace, the host's namespace ` +
                `(${hostNs ?? "unknown"}) and the root namespace (${(mesh.rootNamespaces ?? []).join(" or ")})`,
        );
    }
    const fixes = [
        ...(!onPath ? [`move it to namespace ${hostNs ?? "of the host"}`] : []),
        ...(!exported ? ["export it everywhere the VirtualService is used, or drop exportTo"] : []),
    ];
    const fix = fixes.join(" and ");
    return (
        `${describe("DestinationRule", dr.r)} defines subset${subsets.length === 1 ? "" : "s"} ${subsets.join(", ")} that ${describe("VirtualService", vs)} routes to, ` +
        `but ${causes.join(", and ")}, so ${who.join(" and ")} never see ${subsets.length === 1 ? "it" : "them"}: ` +
        `their requests routed there fail with 503 (no cluster for the subset). ${fix.charAt(0).toUpperCase()}${fix.slice(1)}.`
    );
}

/**
 * The violations of the whole stack: exportTo that hides a VirtualService from the gateway pods of a
 * Gateway it is bound to (they then answer 404 for its hosts), or hides a DestinationRule whose
 * subsets a VirtualService routes to from proxies that apply those routes (503: no cluster for the
 * subset). Istio: "Exporting a virtual service allows it to be used by sidecars and gateways defined
 * in other namespaces" (VirtualService reference, exportTo); a gateway proxy sees the
 * VirtualServices exported to its own namespace (PushContext.VirtualServicesForGateway), i.e. the
 * namespace of the gateway pods, not of the Gateway resource. In-mesh callers of a VirtualService
 * are wherever it is exported: their namespaces are unknown, so only a DestinationRule they cannot
 * see is reported for them, never a VirtualService exported to fewer namespaces. Unknown exportTo,
 * gateways, hosts or subsets are never violations. Pure.
 */
export function exportToViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const mesh = meshSettings(resources);
    const installed = installedGateways(resources);
    const rules = destinationRules(resources, mesh);
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
        const visibility = exportToVisibility(spec.exportTo, ns, mesh.virtualServiceExportTo);
        const refs = gatewayRefs(spec, ns);
        if (visibility === undefined || refs === undefined) {
            continue;
        }
        const consumers: Consumer[] = [];
        for (const ref of refs.filter((g) => g !== MESH_GATEWAY)) {
            const pods = gatewayPods(resources, installed, ref);
            for (const podNs of [...new Set((pods ?? []).map((g) => g.namespace as string))]) {
                const here = pods!.filter((g) => g.namespace === podNs);
                if (visibleIn(visibility, podNs)) {
                    consumers.push({ namespace: podNs, label: `the gateway pods in ${podNs} (${gatewayLabel(here)})` });
                    continue;
                }
                out.push({
                    urn: vs.urn,
                    message:
                        `${describe("VirtualService", vs)} is bound to Gateway ${ref}, served by ${gatewayLabel(here)}, but ${exportToPhrase(spec.exportTo, mesh.virtualServiceExportTo)} ` +
                        `makes it visible ${showVisibility(visibility)}: a gateway applies only the VirtualServices exported to the namespace of its pods, so these pods never route its hosts and answer 404. ` +
                        `Export it to ${podNs} as well, or drop exportTo.`,
                });
            }
        }
        if (refs.includes(MESH_GATEWAY)) {
            if (visibility.all) {
                consumers.push({
                    namespace: undefined,
                    label: "in-mesh callers in other namespaces (the VirtualService is exported to every namespace)",
                });
            }
            for (const n of visibility.all ? [] : [...visibility.namespaces].sort()) {
                consumers.push({ namespace: n, label: `in-mesh callers in namespace ${n}` });
            }
        }
        if (rules === undefined || consumers.length === 0) {
            continue; // a DestinationRule whose host or namespace is unknown may be the one that serves them
        }
        // DestinationRule at fault -> the subsets it defines that this VirtualService routes to, and who cannot see them.
        const hidden = new Map<DrInfo, { subsets: Set<string>; consumers: Set<string> }>();
        for (const route of routesOf(spec)) {
            for (const d of route.destinations) {
                const destination = obj(d.destination);
                const subset = str(destination?.subset);
                const rawHost = str(destination?.host);
                if (subset === undefined || rawHost === undefined) {
                    continue;
                }
                const host = resolveHost(rawHost, ns);
                const service = serviceOfHost(host);
                if (service === undefined) {
                    continue; // not a Kubernetes Service host: no host namespace to look the rule up in
                }
                const defining = rules.filter((dr) => hostCoverage(dr.host, host) > 0 && dr.subsets?.includes(subset));
                if (defining.length === 0 || rules.some((dr) => hostCoverage(dr.host, host) > 0 && dr.subsets === undefined)) {
                    continue; // no rule defines it (virtualservice-subsets-exist says so), or one's subsets are unknown
                }
                for (const c of consumers) {
                    const seen = defining.map((dr) => seenBy(dr, c.namespace, service.namespace, mesh));
                    if (seen.some((x) => x !== false)) {
                        continue;
                    }
                    for (const dr of defining) {
                        const entry = hidden.get(dr) ?? { subsets: new Set<string>(), consumers: new Set<string>() };
                        entry.subsets.add(subset);
                        entry.consumers.add(c.label);
                        hidden.set(dr, entry);
                    }
                }
            }
        }
        for (const [dr, { subsets, consumers: who }] of hidden) {
            out.push({ urn: dr.r.urn, message: hiddenRuleMessage(dr, [...subsets].sort(), [...who], vs, mesh) });
        }
    }
    return out;
}

/** exportTo lets every proxy that applies a VirtualService see it and the DestinationRule subsets it routes to. */
export const exportToReachesProxies: StackValidationPolicy = {
    name: "exportto-reaches-proxies",
    description:
        "A VirtualService is exported to the namespace of the gateway pods of every Gateway it is bound to, and a DestinationRule whose subsets a VirtualService routes to is visible, by its exportTo and namespace, to every proxy that applies those routes: the gateway pods, and in-mesh callers wherever the VirtualService is exported.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of exportToViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
