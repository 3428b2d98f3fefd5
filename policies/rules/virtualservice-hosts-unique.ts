import { StackValidationPolicy } from "@pulumi/policy";
import {
    MESH_GATEWAY,
    ResourceLike,
    StackViolation,
    Visibility,
    arr,
    describe,
    exportToVisibility,
    gatewayPodNamespaces,
    gatewayRefs,
    installedGateways,
    isIstio,
    meshSettings,
    namespaceOf,
    obj,
    plainResources,
    resolveHost,
    routeCatchesAll,
    routesOf,
    str,
    visibleIn,
} from "../istio";

/** A VirtualService as far as this policy needs it known. */
interface VsInfo {
    r: ResourceLike;
    /** Known hosts, resolved as Istio resolves them (short names in the VirtualService's namespace). */
    hosts: string[];
    /** Where it is visible; undefined when unknown during preview. */
    visibility: Visibility | undefined;
    /** `mesh` and `namespace/name` of its gateways; undefined when unknown. */
    gateways: string[] | undefined;
    /** True when one of its http routes is known to match every request. */
    catchAll: boolean;
}

/** What two VirtualServices share: hosts for in-mesh callers (by scope) and hosts through a gateway. */
interface Overlap {
    a: VsInfo;
    b: VsInfo;
    /** scope (`*` or a namespace) -> hosts both route for the mesh there. */
    mesh: Map<string, Set<string>>;
    /** gateway reference -> hosts both route through it, each VirtualService with a catch-all route. */
    gateway: Map<string, Set<string>>;
}

function infoOf(r: ResourceLike, vsDefault: readonly string[] | undefined): VsInfo | undefined {
    const spec = obj(r.props.spec);
    const ns = namespaceOf(r.props);
    if (spec === undefined || ns === undefined) {
        return undefined;
    }
    const hosts = arr(spec.hosts)
        .map(str)
        .filter((h): h is string => h !== undefined)
        .map((h) => resolveHost(h, ns));
    return {
        r,
        hosts: [...new Set(hosts)],
        visibility: exportToVisibility(spec.exportTo, ns, vsDefault),
        gateways: gatewayRefs(spec, ns),
        catchAll: routesOf(spec).some((route) => route.kind === "http" && routeCatchesAll(route).catchesAll === true),
    };
}

/**
 * The scopes in which a VirtualService bound to the mesh claims its hosts, as istioctl analyze's
 * ConflictingMeshGatewayHostsAnalyzer keys them (IST0109): `*` when exported everywhere, else each
 * namespace it is exported to. A VirtualService exported to its own namespace only is the
 * documented way to override another one there, and does not conflict with a public one.
 */
function meshScopes(v: Visibility): string[] {
    return v.all ? ["*"] : [...v.namespaces];
}

function add(map: Map<string, Set<string>>, key: string, host: string): void {
    map.set(key, (map.get(key) ?? new Set()).add(host));
}

/** How a message lists what two VirtualServices both route. */
function overlapText(o: Overlap): string {
    const parts: string[] = [];
    for (const [scope, hosts] of o.mesh) {
        parts.push(`${[...hosts].sort().join(", ")} for in-mesh callers ${scope === "*" ? "in every namespace" : `in namespace ${scope}`}`);
    }
    for (const [ref, hosts] of o.gateway) {
        parts.push(`${[...hosts].sort().join(", ")} through Gateway ${ref}, with a catch-all route in each`);
    }
    return parts.join("; and ");
}

/**
 * The violations of the whole stack: two VirtualServices that route the same host for the same
 * proxies, where Istio's outcome does not depend on the stack. For in-mesh callers Istio does not
 * merge VirtualServices ("Host merging is not supported in sidecars", Traffic Management Best
 * Practices) and applies one of them: istioctl analyze reports it as an error (IST0109). For a
 * gateway Istio merges them, but "the cross-resource order is UNDEFINED" and, with a catch-all rule
 * in more than one of them, "whichever is applied first will essentially override and disable any
 * others" (same page): so two VirtualServices with a catch-all route (the weighted route is one)
 * for one host and gateway are reported; fragments split by path are not. Unknown hosts, exportTo
 * or gateways are never compared. Pure.
 */
export function duplicateHostViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const mesh = meshSettings(resources);
    const installed = installedGateways(resources);
    const infos = resources
        .filter((r) => isIstio(r, "VirtualService"))
        .map((r) => infoOf(r, mesh.virtualServiceExportTo))
        .filter((v): v is VsInfo => v !== undefined);
    const out: StackViolation[] = [];
    for (let i = 0; i < infos.length; i++) {
        for (let j = i + 1; j < infos.length; j++) {
            const o: Overlap = { a: infos[i], b: infos[j], mesh: new Map(), gateway: new Map() };
            const { a, b } = o;
            if (a.gateways === undefined || b.gateways === undefined || a.visibility === undefined || b.visibility === undefined) {
                continue;
            }
            const shared = a.hosts.filter((h) => b.hosts.includes(h));
            if (a.gateways.includes(MESH_GATEWAY) && b.gateways.includes(MESH_GATEWAY)) {
                const scopes = meshScopes(a.visibility).filter((s) => meshScopes(b.visibility!).includes(s));
                for (const scope of scopes) {
                    shared.forEach((h) => add(o.mesh, scope, h));
                }
            }
            if (a.catchAll && b.catchAll) {
                for (const ref of a.gateways.filter((g) => g !== MESH_GATEWAY && b.gateways!.includes(g))) {
                    // Both are merged only for gateway pods that see both: in a namespace each is exported to.
                    const pods = gatewayPodNamespaces(resources, installed, ref);
                    const together =
                        pods === undefined
                            ? a.visibility.all && b.visibility.all
                            : pods.some((ns) => visibleIn(a.visibility!, ns) && visibleIn(b.visibility!, ns));
                    if (together) {
                        shared.forEach((h) => add(o.gateway, ref, h));
                    }
                }
            }
            if (o.mesh.size === 0 && o.gateway.size === 0) {
                continue;
            }
            const consequences = [
                ...(o.mesh.size > 0
                    ? [
                          "Istio does not merge VirtualServices for in-mesh callers and applies only one of them, so the other's routes and weights are ignored (istioctl analyze: IST0109).",
                      ]
                    : []),
                ...(o.gateway.size > 0
                    ? [
                          "Istio merges VirtualServices bound to one gateway in an undefined order, and the first catch-all route takes every request.",
                      ]
                    : []),
            ];
            const message =
                `${describe("VirtualService", a.r)} and ${describe("VirtualService", b.r)} both route ${overlapText(o)}. ${consequences.join(" ")} ` +
                `Route each host from one VirtualService${o.mesh.size > 0 ? " (or, for in-mesh callers, scope one to its namespace with exportTo)" : ""}.`;
            out.push({ urn: a.r.urn, message }, { urn: b.r.urn, message });
        }
    }
    return out;
}

/** No two VirtualServices route the same host for the same callers. */
export const virtualServiceHostsUnique: StackValidationPolicy = {
    name: "virtualservice-hosts-unique",
    description:
        "No two VirtualServices route the same host for in-mesh callers where both are visible (Istio applies only one of them), nor through the same Gateway with a catch-all route in each (Istio merges them in an undefined order and the first catch-all takes every request).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of duplicateHostViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
