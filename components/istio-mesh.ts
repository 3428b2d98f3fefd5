import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IstioConfig } from "../config";

/** Arguments of IstioMesh. */
export interface IstioMeshArgs {
    /** Validated `istio` config: version, namespaces, gateway release name, chart repository. */
    istio: IstioConfig;
}

/**
 * Istio from its official Helm charts: `base` (CRDs) -> `istiod` -> `gateway`, each a helm.v3.Release
 * that waits for its resources to be ready and depends on the one before, so istiod is up (and its
 * validating and injecting webhooks with it) before anything depends on the mesh.
 */
export class IstioMesh extends pulumi.ComponentResource {
    /** The base chart release (CRDs). */
    readonly base: k8s.helm.v3.Release;
    /** The istiod release (control plane, webhooks). */
    readonly istiod: k8s.helm.v3.Release;
    /** The ingress gateway release; its pods carry the labels the Gateway selects. */
    readonly gateway: k8s.helm.v3.Release;

    constructor(name: string, args: IstioMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:mesh:IstioMesh", name, {}, opts);
        const self = { parent: this };
        const { istio } = args;
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
        // The chart labels its pods `app: <release>` and `istio: <release minus "istio-">`;
        // config/validate.ts derives the Gateway selector from the same name.
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
        this.registerOutputs({});
    }
}
