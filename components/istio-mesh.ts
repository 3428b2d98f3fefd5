import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { gatewayChartPodLabels } from "./facts";
import { DEFAULT_GATEWAY_NAMESPACE } from "./tls-secret";
import { CHART_VERSION, Checker, DNS_LABEL } from "./validation";

/** Service types the gateway chart accepts. */
export const GATEWAY_SERVICE_TYPES = ["LoadBalancer", "NodePort", "ClusterIP"] as const;

/** Arguments of IstioMesh. */
export interface IstioMeshArgs {
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
export const ISTIO_MESH_FIELDS = ["version", "namespace", "gatewayNamespace", "gatewayName", "gatewayServiceType", "chartRepo"] as const;

/** Defaults of IstioMeshArgs (gatewayNamespace follows namespace). */
export const ISTIO_MESH_DEFAULTS = {
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
 * Istio from its official Helm charts: `base` (CRDs) -> `istiod` -> `gateway`, each a helm.v3.Release
 * that waits for its resources to be ready and depends on the one before, so istiod is up (and its
 * validating and injecting webhooks with it) before anything depends on the mesh.
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
    /** The ingress gateway release; its pods carry the labels the Gateway selects. */
    readonly gateway: k8s.helm.v3.Release;
    /** Labels of the ingress gateway pods, e.g. `{ istio: "ingressgateway" }`: the Istio Gateway's selector. */
    readonly gatewaySelector: Record<string, string>;
    /** Namespace of the ingress gateway pods, where the TLS Secret belongs. */
    readonly gatewayNamespace: string;

    constructor(name: string, args: IstioMeshArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:mesh:IstioMesh", name, {}, opts);
        const istio = resolveIstioMeshArgs(args);
        const self = { parent: this };
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
            { ...chart("istiod"), name: "istiod", namespace: istio.namespace, values: {} },
            { ...self, dependsOn: [this.base] },
        );
        // The chart labels its pods `app: <release>` and `istio: <release minus "istio-">`.
        this.gateway = new k8s.helm.v3.Release(
            `${name}-gateway`,
            {
                ...chart("gateway"),
                name: istio.gatewayName,
                namespace: istio.gatewayNamespace,
                createNamespace: istio.gatewayNamespace !== istio.namespace,
                values: { service: { type: istio.gatewayServiceType } },
            },
            { ...self, dependsOn: [this.istiod] },
        );
        this.gatewaySelector = { istio: gatewayChartPodLabels(istio.gatewayName).istio };
        this.gatewayNamespace = istio.gatewayNamespace;
        this.registerOutputs({
            base: this.base,
            istiod: this.istiod,
            gateway: this.gateway,
            gatewaySelector: this.gatewaySelector,
            gatewayNamespace: this.gatewayNamespace,
        });
    }
}
