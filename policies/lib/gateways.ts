/**
 * The ingress gateways the stack installs (Helm releases of Istio's gateway chart) and Gateway servers.
 */
import { gatewayChartPodLabels as chartPodLabels } from "../../components/facts";
import { Obj, ResourceLike, arr, isUnknown, obj, plainProps, show, str } from "./values";
import { isIstio, knownLabels, labelsMatch, namespaceOf, podTemplateOf } from "./kubernetes";
import { autoNamePattern } from "./gateway-api";
/** Pods of an ingress gateway that the stack installs. */
export interface InstalledGateway {
    /** For messages: `Helm release istio-ingressgateway (chart gateway) in istio-system`. */
    what: string;
    /** Namespace of the gateway pods; undefined when unknown. */
    namespace: string | undefined;
    /** Pod labels; undefined when unknown. */
    labels: Record<string, string> | undefined;
}

/**
 * The pod labels of Istio's `gateway` chart for a release: `app: <name>` and `istio: <name without
 * "istio-">`, where name is values.name or the release name, then values.labels merged over them.
 */
export function gatewayChartPodLabels(releaseName: string, values: Obj = {}): Record<string, string> | undefined {
    const name = values.name === undefined ? releaseName : str(values.name);
    const extra = values.labels === undefined ? {} : knownLabels(values.labels);
    if (name === undefined || extra === undefined) {
        return undefined;
    }
    return { ...chartPodLabels(name), ...extra };
}

export function isGatewayChart(chart: string): boolean {
    return chart === "gateway" || chart.endsWith("/gateway");
}

/**
 * Ingress gateways installed by the stack: Helm releases (helm.sh/v3 Release, v4 Chart) of Istio's
 * `gateway` chart, and workloads whose pod template runs an `istio-proxy` container with an `istio`
 * label (a gateway deployed from plain manifests).
 */
export function installedGateways(resources: readonly ResourceLike[]): InstalledGateway[] {
    const out: InstalledGateway[] = [];
    for (const r of resources) {
        const props = plainProps(r.props);
        if (r.type === "kubernetes:helm.sh/v3:Release" || r.type === "kubernetes:helm.sh/v4:Chart") {
            const chart = str(props.chart);
            if (chart === undefined || !isGatewayChart(chart)) {
                continue;
            }
            // A v3 Release without a name gets a generated one; a v4 Chart defaults to the resource name.
            const release = props.name === undefined ? (r.type.includes("/v4:") ? r.name : undefined) : str(props.name);
            const namespace = props.namespace === undefined ? "default" : str(props.namespace);
            const labels = release === undefined ? undefined : gatewayChartPodLabels(release, obj(props.values) ?? {});
            out.push({
                what: `Helm release ${release ?? `${r.name} (name unknown)`} (chart ${chart}) in ${namespace ?? "(unknown namespace)"}`,
                namespace,
                labels,
            });
            continue;
        }
        const pod = podTemplateOf({ ...r, props });
        if (pod !== undefined && pod.labels?.istio !== undefined) {
            const proxied = arr(pod.spec.containers).some((c) => obj(c)?.name === "istio-proxy");
            if (proxied) {
                out.push({ what: pod.owner, namespace: pod.namespace, labels: pod.labels });
            }
        }
    }
    return out;
}

/** The gateway servers of a Gateway spec with their index. */
export function serversOf(spec: Obj): { index: number; server: Obj }[] {
    return arr(spec.servers).map((s, index) => ({ index, server: obj(s) ?? {} }));
}

/** How messages name a Gateway server: `servers[1] (port 80 HTTP)`. */
export function serverLabel(index: number, server: Obj): string {
    const port = obj(server.port) ?? {};
    return `servers[${index}] (port ${show(port.number)} ${str(port.protocol) ?? show(port.protocol)})`;
}

/** The installed gateways a Gateway's selector matches (an absent selector matches them all); undefined when not known. */
export function selectedGateways(gateway: ResourceLike, installed: readonly InstalledGateway[]): InstalledGateway[] | undefined {
    const spec = obj(gateway.props.spec);
    if (spec === undefined) {
        return undefined;
    }
    const selector = spec.selector === undefined ? {} : knownLabels(spec.selector);
    if (selector === undefined) {
        return undefined;
    }
    return installed.filter((g) => g.labels !== undefined && labelsMatch(selector, g.labels));
}

/** Istio's reserved gateway name for the sidecars of the mesh. */
export const MESH_GATEWAY = "mesh";

/**
 * The gateways a VirtualService spec is bound to, as Istio resolves spec.gateways: none means
 * `mesh`; `ns/name` names a Gateway in ns; a bare name one in the VirtualService's namespace; the
 * legacy `name.ns[.svc.cluster.local]` one in ns. Returns `mesh` or `namespace/name` per entry;
 * undefined when the list or an entry is unknown during preview. Pure.
 */
export function gatewayRefs(spec: Obj, vsNamespace: string): string[] | undefined {
    if (isUnknown(spec.gateways)) {
        return undefined;
    }
    const list = arr(spec.gateways);
    if (list.length === 0) {
        return [MESH_GATEWAY];
    }
    const out: string[] = [];
    for (const g of list) {
        const ref = str(g);
        if (ref === undefined) {
            return undefined;
        }
        if (ref === MESH_GATEWAY || ref.includes("/")) {
            out.push(ref);
        } else if (ref.includes(".")) {
            const [name, ns] = ref.split(".");
            out.push(`${ns}/${name}`);
        } else {
            out.push(`${vsNamespace}/${ref}`);
        }
    }
    return out;
}

/**
 * True when `name` is what Pulumi's auto-naming makes of a resource named `resourceName` (see
 * autoNamePattern). Another naming (a custom autonaming pattern) leaves the Gateway unresolved, so
 * nothing is reported on it.
 */
export function isAutoNameOf(name: string, resourceName: string): boolean {
    return autoNamePattern(resourceName).test(name);
}

/**
 * The Gateway resource of the stack a `namespace/name` reference names (by metadata.name, or by
 * Pulumi's auto-name when it has none). `unknown` when another Gateway's name or namespace is
 * unknown during preview and no Gateway matches; undefined when the stack has no such Gateway.
 */
export function gatewayOfRef(resources: readonly ResourceLike[], ref: string): ResourceLike | "unknown" | undefined {
    const [namespace, name] = ref.split("/");
    let uncertain = false;
    for (const r of resources) {
        if (!isIstio(r, "Gateway")) {
            continue;
        }
        const ns = namespaceOf(r.props);
        const metaName = obj(r.props.metadata)?.name;
        if (ns === undefined || (metaName !== undefined && str(metaName) === undefined)) {
            uncertain = true;
            continue;
        }
        if (ns === namespace && (metaName === undefined ? isAutoNameOf(name, r.name) : metaName === name)) {
            return r;
        }
    }
    return uncertain ? "unknown" : undefined;
}

/**
 * The installed ingress gateways whose pods serve a Gateway reference: those its selector matches.
 * Undefined when not known (a Gateway outside the stack, a selector or namespace unknown during
 * preview, or a stack that installs no gateway).
 */
export function gatewayPods(
    resources: readonly ResourceLike[],
    installed: readonly InstalledGateway[],
    ref: string,
): InstalledGateway[] | undefined {
    const gw = gatewayOfRef(resources, ref);
    if (gw === undefined || gw === "unknown" || installed.length === 0) {
        return undefined;
    }
    const selected = selectedGateways(gw, installed);
    if (selected === undefined || selected.some((g) => g.namespace === undefined)) {
        return undefined;
    }
    return selected;
}

/** The namespaces of the gateway pods that serve a Gateway reference (see gatewayPods); undefined when not known. */
export function gatewayPodNamespaces(
    resources: readonly ResourceLike[],
    installed: readonly InstalledGateway[],
    ref: string,
): string[] | undefined {
    const pods = gatewayPods(resources, installed, ref);
    return pods === undefined ? undefined : [...new Set(pods.map((g) => g.namespace as string))];
}
