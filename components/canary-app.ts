import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig, PodConfig, VersionConfig } from "../config";

/** Arguments of CanaryApp. */
export interface CanaryAppArgs {
    /** Validated `app` config. */
    app: AppConfig;
    /** The running versions; one Deployment each, keyed by version name. */
    versions: VersionConfig[];
    /** Probes, resources and security context shared by every version. */
    pod: PodConfig;
}

/** Labels of a version's pods: the Service selects `app`, the DestinationRule subset selects `version`. */
export function podLabels(appName: string, version: string): Record<string, string> {
    return { app: appName, version, "app.kubernetes.io/name": appName, "app.kubernetes.io/version": version };
}

/** The Service's FQDN inside the cluster: the DestinationRule host and Istio's `destination_service` label. */
export function serviceFqdn(app: AppConfig): string {
    return `${app.name}.${app.namespace}.svc.cluster.local`;
}

/** The pod spec of one version, as input to kubernetesx's PodBuilder. Pure. */
export function podSpecFor(app: AppConfig, version: VersionConfig, pod: PodConfig): kx.types.PodSpec {
    const probe = (p: PodConfig["readinessProbe"]) => ({
        httpGet: { path: p.path, port: "http" },
        initialDelaySeconds: p.initialDelaySeconds,
        periodSeconds: p.periodSeconds,
    });
    return {
        securityContext: {
            runAsNonRoot: pod.runAsNonRoot,
            ...(pod.runAsUser !== undefined ? { runAsUser: pod.runAsUser } : {}),
            seccompProfile: { type: "RuntimeDefault" },
        },
        containers: [
            {
                name: app.name,
                image: version.image,
                ports: { http: app.targetPort },
                readinessProbe: probe(pod.readinessProbe),
                livenessProbe: probe(pod.livenessProbe),
                resources: { requests: { ...pod.resources.requests }, limits: { ...pod.resources.limits } },
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            },
        ],
    };
}

/**
 * The application: its namespace labelled for sidecar injection, one Deployment per version and one
 * Service selecting all of them. Adding or removing a version adds or removes only its Deployment.
 */
export class CanaryApp extends pulumi.ComponentResource {
    /** Deployments by version name. */
    readonly deployments: Record<string, k8s.apps.v1.Deployment> = {};
    /** The Service (name fixed to app.name: it is the DNS name callers and Istio rules use). */
    readonly service: k8s.core.v1.Service;
    /** The namespace, created or patched. */
    readonly namespace: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;

    constructor(name: string, args: CanaryAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:app:CanaryApp", name, {}, opts);
        const self = { parent: this };
        const { app, versions, pod } = args;
        const nsMeta = { name: app.namespace, labels: { "istio-injection": "enabled" } };
        // `default` (or any namespace marked createNamespace: false) already exists: label it with a patch.
        this.namespace = app.createNamespace
            ? new k8s.core.v1.Namespace(`${name}-ns`, { metadata: nsMeta }, self)
            : new k8s.core.v1.NamespacePatch(`${name}-ns`, { metadata: nsMeta }, self);
        const inNamespace = { ...self, dependsOn: [this.namespace] };
        for (const version of versions) {
            const labels = podLabels(app.name, version.name);
            const builder = new kx.PodBuilder(podSpecFor(app, version, pod));
            this.deployments[version.name] = new k8s.apps.v1.Deployment(
                `${name}-${version.name}`,
                {
                    metadata: { namespace: app.namespace, labels },
                    spec: {
                        replicas: version.replicas,
                        selector: { matchLabels: { app: app.name, version: version.name } },
                        template: { metadata: { labels }, spec: builder.podSpec },
                    },
                },
                inNamespace,
            );
        }
        this.service = new k8s.core.v1.Service(
            `${name}-svc`,
            {
                metadata: { name: app.name, namespace: app.namespace, labels: { app: app.name, "app.kubernetes.io/name": app.name } },
                spec: {
                    selector: { app: app.name },
                    ports: [{ name: "http", port: app.port, targetPort: app.targetPort, appProtocol: "http" }],
                },
            },
            inNamespace,
        );
        this.registerOutputs({});
    }
}
