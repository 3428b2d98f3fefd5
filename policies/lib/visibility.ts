/**
 * Istio's exportTo: in which namespaces a VirtualService or DestinationRule is visible to proxies,
 * with the mesh-wide defaults of the istiod the stack installs.
 */
import { isGatewayChart } from "./gateways";
import { ResourceLike, arr, isUnknown, obj, plainProps, str } from "./values";

/** Where an object is visible: to the proxies of every namespace, or of those listed (possibly none). */
export type Visibility = { all: true } | { all: false; namespaces: ReadonlySet<string> };

/** The istiod settings the pack reads (Helm values.meshConfig); undefined where unknown during preview. */
export interface MeshSettings {
    /** meshConfig.defaultVirtualServiceExportTo; Istio's default when unset: ["*"]. */
    virtualServiceExportTo: readonly string[] | undefined;
    /** meshConfig.defaultDestinationRuleExportTo; Istio's default when unset: ["*"]. */
    destinationRuleExportTo: readonly string[] | undefined;
    /**
     * The namespaces that may be the root (config) namespace, whose DestinationRules every proxy
     * looks up: meshConfig.rootNamespace when set, else istio-system and istiod's own namespace.
     */
    rootNamespaces: readonly string[] | undefined;
}

/** Istio's defaults, used when the stack installs no istiod (its mesh config is then not the stack's to know). */
export const ISTIO_MESH_DEFAULTS: MeshSettings = {
    virtualServiceExportTo: ["*"],
    destinationRuleExportTo: ["*"],
    rootNamespaces: ["istio-system"],
};

function stringList(v: unknown, fallback: readonly string[]): readonly string[] | undefined {
    if (v === undefined || v === null) {
        return fallback;
    }
    if (!Array.isArray(v)) {
        return undefined;
    }
    const out = v.map(str);
    return out.every((x) => x !== undefined) ? (out as string[]) : undefined;
}

/** The mesh settings of the istiod Helm release the stack installs (chart istiod), or Istio's defaults without one. */
export function meshSettings(resources: readonly ResourceLike[]): MeshSettings {
    for (const r of resources) {
        if (r.type !== "kubernetes:helm.sh/v3:Release" && r.type !== "kubernetes:helm.sh/v4:Chart") {
            continue;
        }
        const props = plainProps(r.props);
        const chart = str(props.chart);
        if (chart === undefined || !(chart === "istiod" || chart.endsWith("/istiod")) || isGatewayChart(chart)) {
            continue;
        }
        const values = props.values === undefined ? {} : obj(props.values);
        const mesh = values === undefined ? undefined : values.meshConfig === undefined ? {} : obj(values.meshConfig);
        if (mesh === undefined) {
            return { virtualServiceExportTo: undefined, destinationRuleExportTo: undefined, rootNamespaces: undefined };
        }
        const releaseNamespace = props.namespace === undefined ? "default" : str(props.namespace);
        const root = mesh.rootNamespace === undefined ? undefined : str(mesh.rootNamespace);
        return {
            virtualServiceExportTo: stringList(mesh.defaultVirtualServiceExportTo, ["*"]),
            destinationRuleExportTo: stringList(mesh.defaultDestinationRuleExportTo, ["*"]),
            rootNamespaces:
                mesh.rootNamespace !== undefined
                    ? root === undefined
                        ? undefined
                        : [root]
                    : releaseNamespace === undefined
                      ? undefined
                      : [...new Set(["istio-system", releaseNamespace])],
        };
    }
    return ISTIO_MESH_DEFAULTS;
}

/**
 * Where an object with this exportTo, in `namespace`, is visible (Istio's visibility rules, pilot
 * model/push_context.go): "*" everywhere, "." its own namespace, any other value that namespace;
 * no exportTo means the mesh default, of which Istio honours "." first, then "*". "~" (nobody) is
 * accepted for ServiceEntries only and counts as no namespace. Undefined when an entry that could
 * change the answer is unknown during preview. Pure.
 */
export function exportToVisibility(
    exportTo: unknown,
    namespace: string,
    meshDefault: readonly string[] | undefined,
): Visibility | undefined {
    if (isUnknown(exportTo)) {
        return undefined;
    }
    const list = arr(exportTo);
    if (list.length === 0) {
        if (meshDefault === undefined) {
            return undefined;
        }
        if (meshDefault.includes(".")) {
            return { all: false, namespaces: new Set([namespace]) };
        }
        return meshDefault.includes("*") ? { all: true } : { all: false, namespaces: new Set() };
    }
    if (list.includes("*")) {
        return { all: true };
    }
    const namespaces = new Set<string>();
    for (const e of list) {
        const v = str(e);
        if (v === undefined) {
            return undefined;
        }
        if (v === ".") {
            namespaces.add(namespace);
        } else if (v !== "~") {
            namespaces.add(v);
        }
    }
    return { all: false, namespaces };
}

/** True when `v` includes the proxies of `namespace`. */
export function visibleIn(v: Visibility, namespace: string): boolean {
    return v.all || v.namespaces.has(namespace);
}

/** How a message names what decides visibility: `its exportTo ["."]`, or `without exportTo, the mesh default ["."]`. */
export function exportToPhrase(exportTo: unknown, meshDefault: readonly string[] | undefined): string {
    const list = arr(exportTo);
    if (list.length === 0) {
        return `without exportTo, the mesh default ${JSON.stringify(meshDefault ?? ["*"])}`;
    }
    return `its exportTo ${JSON.stringify(list)}`;
}

/** How a message lists where something is visible: `only in namespace default`, `in no namespace`. */
export function showVisibility(v: Visibility): string {
    if (v.all) {
        return "in every namespace";
    }
    const list = [...v.namespaces].sort();
    return list.length === 0 ? "in no namespace" : `only in namespace${list.length === 1 ? "" : "s"} ${list.join(", ")}`;
}
