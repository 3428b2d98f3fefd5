/**
 * The ingress gateways the stack installs (Helm releases of Istio's gateway chart) and Gateway servers.
 */
import { gatewayChartPodLabels as chartPodLabels } from "../../components/facts";
import { Obj, ResourceLike, arr, obj, plainProps, show, str } from "./values";
import { knownLabels, podTemplateOf } from "./kubernetes";
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
