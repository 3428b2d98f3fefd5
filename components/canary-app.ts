import * as k8s from "@pulumi/kubernetes";
import * as kx from "@pulumi/kubernetesx";
import * as pulumi from "@pulumi/pulumi";
import { serviceFqdn, versionServiceName } from "./facts";
import { ISTIO_MODES, IstioMode } from "./istio-mesh";
import { DEFAULT_REPLICAS, ResolvedVersion, Version, readVersions } from "./version";
import { Checker, DNS_1035_LABEL, DNS_LABEL, QUANTITY, quantityValue } from "./validation";

/** The application: its name, namespace and ports. */
export interface AppArgs {
    /** `app` label of the pods, the Service's name and the Deployments' base name; a DNS-1035 label. Required. */
    name: string;
    /** Namespace of the Deployments and the Service. Defaults to `default`. */
    namespace?: string;
    /** Port the Service listens on. Defaults to 8080. */
    port?: number;
    /** Container port the Service forwards to (named `http`). Defaults to 80. */
    targetPort?: number;
    /**
     * Create the namespace (labelled `istio-injection=enabled`). Defaults to true, except for
     * `default`, which always exists and is labelled with a patch instead.
     */
    createNamespace?: boolean;
}

/** An HTTP probe on the container's `http` port. */
export interface ProbeArgs {
    /** HTTP path probed. Defaults to `/`. */
    path?: string;
    /** Seconds before the first probe. Defaults to 2 (readiness) or 10 (liveness). */
    initialDelaySeconds?: number;
    /** Seconds between probes. Defaults to 5 (readiness) or 10 (liveness). */
    periodSeconds?: number;
}

/** CPU and memory quantities. */
export interface QuantitiesArgs {
    /** CPU quantity, e.g. `100m`. */
    cpu?: string;
    /** Memory quantity, e.g. `128Mi`. */
    memory?: string;
}

/** Pod settings shared by every version's Deployment. */
export interface PodArgs {
    /** Requests and limits of the app container. Defaults to requests 100m/128Mi, limits 500m/256Mi. */
    resources?: { requests?: QuantitiesArgs; limits?: QuantitiesArgs };
    /** Readiness probe; a pod gets traffic only when it passes. Defaults to `/`, 2 s delay, every 5 s. */
    readinessProbe?: ProbeArgs;
    /** Liveness probe; the container restarts when it fails. Defaults to `/`, 10 s delay, every 10 s. */
    livenessProbe?: ProbeArgs;
    /** Refuse to start containers as root. Defaults to true. */
    runAsNonRoot?: boolean;
    /** UID of the container process. Defaults to 10001 when runAsNonRoot, else unset (the image's user). */
    runAsUser?: number;
}

/** Arguments of CanaryApp. */
export interface CanaryAppArgs {
    /** The application. */
    app: AppArgs;
    /** The running versions; one Deployment each, keyed by version name. At least one. */
    versions: readonly Pick<Version, "name" | "image" | "replicas">[];
    /** Probes, resources and security context shared by every version. Defaults: see PodArgs. */
    pod?: PodArgs;
    /**
     * How the namespace joins the mesh: `sidecar` labels it `istio-injection=enabled`, `ambient`
     * labels it `istio.io/dataplane-mode=ambient` (ztunnel, no sidecars). Defaults to `sidecar`.
     */
    dataplane?: IstioMode;
    /**
     * Also create one Service per version, `<app>-<version>`, selecting `app` and `version`: the
     * backends of Gateway API routes, which cannot address DestinationRule subsets. Defaults to false.
     */
    perVersionServices?: boolean;
    /** Name of a waypoint (ambient mode) the app's Service uses for L7 traffic: its `istio.io/use-waypoint` label. Defaults to none. */
    useWaypoint?: string;
}

/** A probe with its defaults applied. */
export type ResolvedProbe = Required<ProbeArgs>;
/** Quantities with their defaults applied. */
export type ResolvedQuantities = Required<QuantitiesArgs>;

/** Pod settings with every default applied. */
export interface ResolvedPod {
    /** Requests and limits. */
    resources: { requests: ResolvedQuantities; limits: ResolvedQuantities };
    /** Readiness probe. */
    readinessProbe: ResolvedProbe;
    /** Liveness probe. */
    livenessProbe: ResolvedProbe;
    /** Refuse root. */
    runAsNonRoot: boolean;
    /** UID, when set. */
    runAsUser?: number;
}

/** CanaryApp's arguments with every default applied and checked. */
export interface ResolvedCanaryAppArgs {
    /** The application. */
    app: Required<AppArgs>;
    /** The versions (weight is not CanaryApp's concern and is 0 unless given). */
    versions: ResolvedVersion[];
    /** Pod settings. */
    pod: ResolvedPod;
    /** Namespace data plane label. */
    dataplane: IstioMode;
    /** One Service per version. */
    perVersionServices: boolean;
    /** Waypoint the Service uses, when any. */
    useWaypoint?: string;
}

/** The labels that put a namespace in the mesh for a data plane mode. Pure. */
export function meshNamespaceLabels(dataplane: IstioMode): Record<string, string> {
    return dataplane === "ambient" ? { "istio.io/dataplane-mode": "ambient" } : { "istio-injection": "enabled" };
}

/** Defaults of AppArgs (name has none). */
export const APP_DEFAULTS = { namespace: "default", port: 8080, targetPort: 80 } as const;

/** Defaults of PodArgs. */
export const POD_DEFAULTS: ResolvedPod = {
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    readinessProbe: { path: "/", initialDelaySeconds: 2, periodSeconds: 5 },
    livenessProbe: { path: "/", initialDelaySeconds: 10, periodSeconds: 10 },
    runAsNonRoot: true,
    runAsUser: 10001,
};

/** Namespaces an app must never go to: Kubernetes' own. */
export const SYSTEM_NAMESPACES: readonly string[] = ["kube-system", "kube-public", "kube-node-lease"];

/** The fields of AppArgs. */
export const APP_FIELDS = ["name", "namespace", "port", "targetPort", "createNamespace"] as const;

/** Reads `app`. */
export function readApp(c: Checker, value: unknown): Required<AppArgs> {
    const r = c.object("app", value, APP_FIELDS);
    c.required("app.name", r.name, "the app needs a name (its Service and Deployments are named after it)");
    const namespace = c.string("app.namespace", r.namespace, APP_DEFAULTS.namespace, DNS_LABEL);
    if (SYSTEM_NAMESPACES.includes(namespace)) {
        c.fail("app.namespace", namespace, `an app must not go to a Kubernetes system namespace (${SYSTEM_NAMESPACES.join(", ")})`);
    }
    return {
        name: c.string("app.name", r.name, "", DNS_1035_LABEL),
        namespace,
        port: c.integer("app.port", r.port, APP_DEFAULTS.port, 1, 65535),
        targetPort: c.integer("app.targetPort", r.targetPort, APP_DEFAULTS.targetPort, 1, 65535),
        createNamespace: c.boolean("app.createNamespace", r.createNamespace, namespace !== "default"),
    };
}

function readProbe(c: Checker, key: string, value: unknown, d: ResolvedProbe): ResolvedProbe {
    const r = c.object(key, value, ["path", "initialDelaySeconds", "periodSeconds"]);
    return {
        path: c.string(`${key}.path`, r.path, d.path, [(s) => s.startsWith("/"), "an HTTP path starting with /"]),
        initialDelaySeconds: c.integer(`${key}.initialDelaySeconds`, r.initialDelaySeconds, d.initialDelaySeconds, 0, 3600),
        periodSeconds: c.integer(`${key}.periodSeconds`, r.periodSeconds, d.periodSeconds, 1, 3600),
    };
}

/** Reads `pod`: requests must not exceed limits (Kubernetes rejects such a pod). */
export function readPod(c: Checker, value: unknown): ResolvedPod {
    const r = c.object("pod", value, ["resources", "readinessProbe", "livenessProbe", "runAsNonRoot", "runAsUser"]);
    const d = POD_DEFAULTS;
    const res = c.object("pod.resources", r.resources, ["requests", "limits"]);
    const quantities = (kind: "requests" | "limits"): ResolvedQuantities => {
        const q = c.object(`pod.resources.${kind}`, res[kind], ["cpu", "memory"]);
        return {
            cpu: c.string(`pod.resources.${kind}.cpu`, typeof q.cpu === "number" ? String(q.cpu) : q.cpu, d.resources[kind].cpu, QUANTITY),
            memory: c.string(`pod.resources.${kind}.memory`, q.memory, d.resources[kind].memory, QUANTITY),
        };
    };
    const requests = quantities("requests");
    const limits = quantities("limits");
    for (const resource of ["cpu", "memory"] as const) {
        if (quantityValue(requests[resource]) > quantityValue(limits[resource])) {
            c.fail(
                `pod.resources.requests.${resource}`,
                requests[resource],
                `it must not exceed pod.resources.limits.${resource} (${limits[resource]}); Kubernetes rejects such a pod`,
            );
        }
    }
    const runAsNonRoot = c.boolean("pod.runAsNonRoot", r.runAsNonRoot, d.runAsNonRoot);
    const runAsUser =
        r.runAsUser === undefined
            ? runAsNonRoot
                ? d.runAsUser
                : undefined
            : c.integer("pod.runAsUser", r.runAsUser, d.runAsUser ?? 10001, 0, 2147483647);
    if (runAsNonRoot && runAsUser === 0) {
        c.fail("pod.runAsUser", 0, "it must not be 0 (root) while pod.runAsNonRoot is true");
    }
    return {
        resources: { requests, limits },
        readinessProbe: readProbe(c, "pod.readinessProbe", r.readinessProbe, d.readinessProbe),
        livenessProbe: readProbe(c, "pod.livenessProbe", r.livenessProbe, d.livenessProbe),
        runAsNonRoot,
        ...(runAsUser !== undefined ? { runAsUser } : {}),
    };
}

/**
 * Checks CanaryApp's arguments and applies the defaults. Pure. Problems go to `c`; without one,
 * throws ArgsError listing every problem.
 */
export function resolveCanaryAppArgs(args: CanaryAppArgs, c?: Checker): ResolvedCanaryAppArgs {
    const check = c ?? new Checker();
    const useWaypoint = args.useWaypoint === undefined ? undefined : check.string("useWaypoint", args.useWaypoint, "", DNS_LABEL);
    const resolved: ResolvedCanaryAppArgs = {
        app: readApp(check, args.app),
        versions: readVersions(check, args.versions, ["image"]),
        pod: readPod(check, args.pod),
        dataplane: check.oneOf("dataplane", args.dataplane, "sidecar", ISTIO_MODES),
        perVersionServices: check.boolean("perVersionServices", args.perVersionServices, false),
        ...(useWaypoint !== undefined ? { useWaypoint } : {}),
    };
    if (c === undefined) {
        check.throwIfAny("CanaryApp");
    }
    return resolved;
}

/** Labels of a version's pods: the Service selects `app`, the DestinationRule subset selects `version`. */
export function podLabels(appName: string, version: string): Record<string, string> {
    return { app: appName, version, "app.kubernetes.io/name": appName, "app.kubernetes.io/version": version };
}

/** The pod spec of one version, as input to kubernetesx's PodBuilder. Pure. */
export function podSpecFor(
    app: Pick<Required<AppArgs>, "name" | "targetPort">,
    version: Pick<Version, "image">,
    pod: ResolvedPod,
): kx.types.PodSpec {
    const probe = (p: ResolvedProbe) => ({
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
 * The application: its namespace labelled for the mesh (sidecar injection or ambient), one Deployment
 * per version and one Service selecting all of them, plus one Service per version for Gateway API
 * routes when asked. Adding or removing a version adds or removes only its own resources.
 *
 * ## Example Usage
 * ```typescript
 * const app = new CanaryApp("shop", {
 *     app: { name: "shop", namespace: "shop" },
 *     versions: [
 *         { name: "v1", image: "registry.example.com/shop:1.4.0", replicas: 3 },
 *         { name: "v2", image: "registry.example.com/shop:1.5.0" },
 *     ],
 * });
 * export const fqdn = app.serviceFqdn; // shop.shop.svc.cluster.local
 * ```
 */
export class CanaryApp extends pulumi.ComponentResource {
    /** Deployments by version name. */
    readonly deployments: Record<string, k8s.apps.v1.Deployment> = {};
    /** The Service (name fixed to app.name: it is the DNS name callers and Istio rules use). */
    readonly service: k8s.core.v1.Service;
    /** The namespace, created or patched. */
    readonly namespace: k8s.core.v1.Namespace | k8s.core.v1.NamespacePatch;
    /** The Service's cluster FQDN, e.g. `shop.shop.svc.cluster.local` (known at preview). */
    readonly serviceFqdn: string;
    /** The per-version Services by version name (perVersionServices), named `<app>-<version>`. */
    readonly versionServices: Record<string, k8s.core.v1.Service> = {};

    constructor(name: string, args: CanaryAppArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:app:CanaryApp", name, {}, opts);
        const { app, versions, pod, dataplane, perVersionServices, useWaypoint } = resolveCanaryAppArgs(args);
        const self = { parent: this };
        const nsMeta = { name: app.namespace, labels: meshNamespaceLabels(dataplane) };
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
                        replicas: version.replicas ?? DEFAULT_REPLICAS,
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
                metadata: {
                    name: app.name,
                    namespace: app.namespace,
                    labels: {
                        app: app.name,
                        "app.kubernetes.io/name": app.name,
                        ...(useWaypoint !== undefined ? { "istio.io/use-waypoint": useWaypoint } : {}),
                    },
                },
                spec: {
                    selector: { app: app.name },
                    ports: [{ name: "http", port: app.port, targetPort: app.targetPort, appProtocol: "http" }],
                },
            },
            inNamespace,
        );
        if (perVersionServices) {
            for (const version of versions) {
                // Named, because routes address it by name: <app>-<version>.
                const svcName = versionServiceName(app.name, version.name);
                this.versionServices[version.name] = new k8s.core.v1.Service(
                    `${name}-${version.name}-svc`,
                    {
                        metadata: { name: svcName, namespace: app.namespace, labels: podLabels(app.name, version.name) },
                        spec: {
                            selector: { app: app.name, version: version.name },
                            ports: [{ name: "http", port: app.port, targetPort: app.targetPort, appProtocol: "http" }],
                        },
                    },
                    inNamespace,
                );
            }
        }
        this.serviceFqdn = serviceFqdn(app.name, app.namespace);
        this.registerOutputs({
            deployments: this.deployments,
            service: this.service,
            namespace: this.namespace,
            serviceFqdn: this.serviceFqdn,
        });
    }
}
