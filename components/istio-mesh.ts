import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gatewayChartPodLabels } from "./facts";
import { DEFAULT_GATEWAY_NAMESPACE } from "./tls-secret";
import { CHART_VERSION, Checker, DNS_LABEL } from "./validation";

/** Service types the gateway chart accepts. */
export const GATEWAY_SERVICE_TYPES = ["LoadBalancer", "NodePort", "ClusterIP"] as const;

/** Istio's data plane modes. */
export const ISTIO_MODES = ["sidecar", "ambient"] as const;
/** An Istio data plane mode: Envoy sidecars in every pod, or ambient (ztunnel per node, waypoints for L7). */
export type IstioMode = (typeof ISTIO_MODES)[number];

/** Arguments of IstioMesh. */
export interface IstioMeshArgs {
    /**
     * Data plane: `sidecar` (base, istiod, gateway) or `ambient` (base, istiod with the ambient profile,
     * cni, ztunnel, then the gateway), each release waiting on the one before. Defaults to `sidecar`.
     */
    mode?: IstioMode;
    /**
     * Install Istio's ingress gateway chart (for the Istio Gateway API, routing.api: istio). Defaults to
     * true; false with the Kubernetes Gateway API, where Istio deploys a gateway per Gateway resource.
     */
    ingressGateway?: boolean;
    /** Chart version of base, istiod and gateway. Defaults to 1.28.0. */
    version?: string;
    /** Namespace of base and istiod. Defaults to `istio-system`. */
    namespace?: string;
    /** Namespace of the ingress gateway pods (and so of the TLS Secret). Defaults to `namespace`. */
    gatewayNamespace?: string;
    /** Helm release name of the gateway chart; the chart derives the pod label `istio` from it. Defaults to `istio-ingressgateway`. */
    gatewayName?: string;
    /**
     * Service type of the ingress gateway. Defaults to `LoadBalancer`; use `NodePort` where the cluster
     * has no load-balancer implementation (plain kind): the install waits for the Service to be
     * ready, and a LoadBalancer Service without an address never is.
     */
    gatewayServiceType?: (typeof GATEWAY_SERVICE_TYPES)[number];
    /** Helm repository of the charts. Defaults to https://istio-release.storage.googleapis.com/charts. */
    chartRepo?: string;
}

/** IstioMesh's arguments with every default applied and checked. */
export type ResolvedIstioMeshArgs = Required<IstioMeshArgs>;

/** The fields of IstioMeshArgs. */
export const ISTIO_MESH_FIELDS = [
    "mode",
    "ingressGateway",
    "version",
    "namespace",
    "gatewayNamespace",
    "gatewayName",
    "gatewayServiceType",
    "chartRepo",
] as const;

/** Defaults of IstioMeshArgs (gatewayNamespace follows namespace). */
export const ISTIO_MESH_DEFAULTS = {
    mode: "sidecar",
    ingressGateway: true,
    version: "1.28.0",
    namespace: DEFAULT_GATEWAY_NAMESPACE,
    gatewayName: "istio-ingressgateway",
    gatewayServiceType: "LoadBalancer",
    chartRepo: "https://istio-release.storage.googleapis.com/charts",
} as const;

/**
 * Checks IstioMesh's arguments and applies the defaults. Pure. Problems go to `c`; without one,
 * throws ArgsError listing every problem.
 */
export function resolveIstioMeshArgs(args: IstioMeshArgs, c?: Checker): ResolvedIstioMeshArgs {
    const check = c ?? new Checker();
    const d = ISTIO_MESH_DEFAULTS;
    check.object("", args, ISTIO_MESH_FIELDS);
    const namespace = check.string("namespace", args.namespace, d.namespace, DNS_LABEL);
    const resolved: ResolvedIstioMeshArgs = {
        mode: check.oneOf("mode", args.mode, d.mode, ISTIO_MODES),
        ingressGateway: check.boolean("ingressGateway", args.ingressGateway, d.ingressGateway),
        version: check.string("version", args.version, d.version, CHART_VERSION),
        namespace,
        gatewayNamespace: check.string("gatewayNamespace", args.gatewayNamespace, namespace, DNS_LABEL),
        gatewayName: check.string("gatewayName", args.gatewayName, d.gatewayName, DNS_LABEL),
        gatewayServiceType: check.oneOf(
            "gatewayServiceType",
            args.gatewayServiceType,
            d.gatewayServiceType,
            GATEWAY_SERVICE_TYPES,
            " (NodePort on clusters without a load-balancer implementation, such as plain kind)",
        ),
        chartRepo: check.string("chartRepo", args.chartRepo, d.chartRepo, [
            (s) => /^(https?|oci):\/\/\S+$/.test(s),
            "an http(s) or oci:// chart repository URL",
        ]),
    };
    if (c === undefined) {
        check.throwIfAny("IstioMesh");
    }
    return resolved;
}

/**
 * Istio from its official Helm charts, each a helm.v3.Release that waits for its resources to be
 * ready and depends on the one before, so istiod is up (and its validating and injecting webhooks
 * with it) before anything depends on the mesh: `base` (CRDs) -> `istiod` -> `gateway` in sidecar
 * mode; `base` -> `istiod` (profile ambient) -> `cni` -> `ztunnel` [-> `gateway`] in ambient mode.
 *
 * ## Example Usage
 * ```typescript
 * const mesh = new IstioMesh("istio", { version: "1.28.0", gatewayServiceType: "NodePort" });
 * // Everything Istio validates goes after the mesh:
 * new Traffic("shop", { ... , gatewaySelector: mesh.gatewaySelector }, { dependsOn: [mesh] });
 * ```
 */
export class IstioMesh extends pulumi.ComponentResource {
    /** The base chart release (CRDs). */
    readonly base: k8s.helm.v3.Release;
    /** The istiod release (control plane, webhooks). */
    readonly istiod: k8s.helm.v3.Release;
    /** The CNI node agent (ambient mode). */
    readonly cni?: k8s.helm.v3.Release;
    /** ztunnel, the per-node L4 proxy (ambient mode). */
    readonly ztunnel?: k8s.helm.v3.Release;
    /** The ingress gateway release, when ingressGateway; its pods carry the labels the Istio Gateway selects. */
    readonly gateway?: k8s.helm.v3.Release;
    /** Labels of the ingress gateway pods, e.g. `{ istio: "ingressgateway" }`: the Istio Gateway's selector. */
    readonly gatewaySelector: Record<string, string>;
    /** Namespace of the ingress gateway pods, where the TLS Secret belongs. */
    readonly gatewayNamespace: string;
    /** The data plane mode. */
    readonly mode: IstioMode;

    constructor(name: string, args: IstioMeshArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:mesh:IstioMesh", name, {}, opts);
        const istio = resolveIstioMeshArgs(args);
        const self = { parent: this };
        const ambient = istio.mode === "ambient";
        const chart = (chartName: string) => ({
            chart: chartName,
            version: istio.version,
            repositoryOpts: { repo: istio.chartRepo },
            // Wait for the release's resources to be ready, and remove a failed install.
            skipAwait: false,
            atomic: true,
            cleanupOnFail: true,
            timeout: 600,
        });
        const after = (r: k8s.helm.v3.Release) => ({ ...self, dependsOn: [r] });
        this.base = new k8s.helm.v3.Release(
            `${name}-base`,
            {
                ...chart("base"),
                name: "istio-base",
                namespace: istio.namespace,
                createNamespace: true,
                values: { defaultRevision: "default" },
            },
            self,
        );
        this.istiod = new k8s.helm.v3.Release(
            `${name}-istiod`,
            { ...chart("istiod"), name: "istiod", namespace: istio.namespace, values: ambient ? { profile: "ambient" } : {} },
            after(this.base),
        );
        let last = this.istiod;
        if (ambient) {
            this.cni = new k8s.helm.v3.Release(
                `${name}-cni`,
                { ...chart("cni"), name: "istio-cni", namespace: istio.namespace, values: { profile: "ambient" } },
                after(last),
            );
            this.ztunnel = new k8s.helm.v3.Release(
                `${name}-ztunnel`,
                { ...chart("ztunnel"), name: "ztunnel", namespace: istio.namespace, values: {} },
                after(this.cni),
            );
            last = this.ztunnel;
        }
        // The chart labels its pods `app: <release>` and `istio: <release minus "istio-">`.
        if (istio.ingressGateway) {
            this.gateway = new k8s.helm.v3.Release(
                `${name}-gateway`,
                {
                    ...chart("gateway"),
                    name: istio.gatewayName,
                    namespace: istio.gatewayNamespace,
                    createNamespace: istio.gatewayNamespace !== istio.namespace,
                    values: { service: { type: istio.gatewayServiceType } },
                },
                after(last),
            );
        }
        this.gatewaySelector = { istio: gatewayChartPodLabels(istio.gatewayName).istio };
        this.gatewayNamespace = istio.gatewayNamespace;
        this.mode = istio.mode;
        this.registerOutputs({
            base: this.base,
            istiod: this.istiod,
            cni: this.cni,
            ztunnel: this.ztunnel,
            gateway: this.gateway,
            gatewaySelector: this.gatewaySelector,
            gatewayNamespace: this.gatewayNamespace,
            mode: this.mode,
        });
    }
}
