/**
 * Kubernetes objects, whatever created them (the Kubernetes provider or a raw CustomResource): type tests, namespaces, labels and pod templates.
 */
import { Obj, obj, str } from "./values";
/** Istio networking kinds the pack reads. */
export type IstioKind = "VirtualService" | "DestinationRule" | "Gateway";

export const ISTIO_TYPE = /^kubernetes:networking\.istio\.io\/[A-Za-z0-9]+:(VirtualService|DestinationRule|Gateway)$/;

/**
 * True when a resource is an Istio networking object of `kind`, in any apiVersion (v1, v1beta1,
 * v1alpha3) and whatever created it: a typed or raw CustomResource or a YAML ConfigFile all register
 * `kubernetes:networking.istio.io/<version>:<Kind>`. The props' apiVersion/kind are checked as well
 * for creators with another type token.
 */
export function isIstio(r: { type: string; props: Obj }, kind: IstioKind): boolean {
    const m = ISTIO_TYPE.exec(r.type);
    if (m) {
        return m[1] === kind;
    }
    const apiVersion = str(r.props.apiVersion);
    return r.props.kind === kind && apiVersion !== undefined && apiVersion.startsWith("networking.istio.io/");
}

/** True when a resource is a Kubernetes object of `group/version` any and `kind` (core group: ""). */
export function isKube(r: { type: string; props: Obj }, group: string, kind: string): boolean {
    const prefix = group === "" ? "kubernetes:core/" : `kubernetes:${group}/`;
    return r.type.startsWith(prefix) && r.type.endsWith(`:${kind}`);
}

/** The namespace a namespaced object lands in: metadata.namespace, else the provider default `default`. Undefined when unknown. */
export function namespaceOf(props: Obj): string | undefined {
    const ns = obj(props.metadata)?.namespace;
    if (ns === undefined) {
        return "default";
    }
    return str(ns);
}

/**
 * How a message names an object: `Kind namespace/name`, with metadata.name or, when Pulumi generates
 * it (auto-naming), the Pulumi resource name.
 */
export function describe(kind: string, r: { name: string; props: Obj }): string {
    const meta = obj(r.props.metadata);
    const ns = meta?.namespace === undefined ? "default" : (str(meta.namespace) ?? "(unknown namespace)");
    return `${kind} ${ns}/${str(meta?.name) ?? r.name}`;
}

/** Labels as a map when every key and value is known; undefined when missing or not known. */
export function knownLabels(v: unknown): Record<string, string> | undefined {
    const o = obj(v);
    if (o === undefined) {
        return undefined;
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) {
        const s = str(x);
        if (s === undefined) {
            return undefined;
        }
        out[k] = s;
    }
    return out;
}

/** True when every label of `selector` is in `labels` with the same value. */
export function labelsMatch(selector: Record<string, string>, labels: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** A pod template found in a workload. */
export interface PodTemplate {
    /** The workload's kind: `Deployment`, `Job`, `Pod`... */
    kind: string;
    /** The workload, for messages: `Deployment default/myapp-v1`. */
    owner: string;
    /** Namespace of the pods; undefined when unknown. */
    namespace: string | undefined;
    /** Pod labels; undefined when unknown. */
    labels: Record<string, string> | undefined;
    /** The pod spec (containers, initContainers), possibly empty. */
    spec: Obj;
    /**
     * True when the pods run to completion rather than serve: a Job's or CronJob's (the Job
     * controller accepts only restartPolicy Never or OnFailure there), or a bare Pod whose
     * restartPolicy is Never or OnFailure. Undefined when a bare Pod's restartPolicy is unknown.
     */
    runsToCompletion: boolean | undefined;
    /**
     * How many pods the spec asks for, when it fixes a count: spec.replicas of a Deployment,
     * StatefulSet or ReplicaSet (1 when absent, the API default), 1 for a bare Pod. Undefined when
     * unknown during preview or not a fixed count (DaemonSet: one per node; Job, CronJob).
     */
    replicas: number | undefined;
}

export const WORKLOADS: Record<string, (props: Obj) => unknown> = {
    Deployment: (p) => obj(obj(p.spec)?.template),
    StatefulSet: (p) => obj(obj(p.spec)?.template),
    DaemonSet: (p) => obj(obj(p.spec)?.template),
    ReplicaSet: (p) => obj(obj(p.spec)?.template),
    Job: (p) => obj(obj(p.spec)?.template),
    CronJob: (p) => obj(obj(obj(obj(p.spec)?.jobTemplate)?.spec)?.template),
    Pod: (p) => p,
};

/** The pod template of a workload resource (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod), or undefined. */
export function podTemplateOf(r: { type: string; name: string; props: Obj }): PodTemplate | undefined {
    const m = /^kubernetes:(apps|batch|core)\/[A-Za-z0-9]+:([A-Za-z]+)$/.exec(r.type);
    if (!m || !(m[2] in WORKLOADS)) {
        return undefined;
    }
    const template = obj(WORKLOADS[m[2]](r.props));
    const spec = obj(template?.spec) ?? {};
    return {
        kind: m[2],
        owner: describe(m[2], r),
        namespace: namespaceOf(r.props),
        labels: template === undefined ? undefined : knownLabels(obj(template.metadata)?.labels ?? {}),
        spec,
        runsToCompletion: runsToCompletion(m[2], spec.restartPolicy),
        replicas: replicasOf(m[2], r.props),
    };
}

/** The fixed pod count of a workload (see PodTemplate.replicas). */
export function replicasOf(kind: string, props: Obj): number | undefined {
    if (kind === "Pod") {
        return 1;
    }
    if (kind !== "Deployment" && kind !== "StatefulSet" && kind !== "ReplicaSet") {
        return undefined;
    }
    const spec = obj(props.spec);
    if (spec === undefined) {
        return undefined;
    }
    const replicas = spec.replicas;
    if (replicas === undefined || replicas === null) {
        return 1;
    }
    return typeof replicas === "number" && Number.isInteger(replicas) && replicas >= 0 ? replicas : undefined;
}

/**
 * Whether a workload's pods run to completion (see PodTemplate.runsToCompletion). A Pod's
 * restartPolicy defaults to Always (Kubernetes PodSpec); an unknown one gives undefined.
 */
export function runsToCompletion(kind: string, restartPolicy: unknown): boolean | undefined {
    if (kind === "Job" || kind === "CronJob") {
        return true;
    }
    if (kind !== "Pod") {
        return false;
    }
    if (restartPolicy === undefined) {
        return false;
    }
    const policy = str(restartPolicy);
    return policy === undefined ? undefined : policy === "Never" || policy === "OnFailure";
}

/** True for a cert-manager Certificate (group cert-manager.io, any version), whatever created it. */
export function isCertManagerCertificate(r: { type: string; props: Obj }): boolean {
    if (/^kubernetes:cert-manager\.io\/[A-Za-z0-9]+:Certificate$/.test(r.type)) {
        return true;
    }
    const apiVersion = str(r.props.apiVersion);
    return r.props.kind === "Certificate" && apiVersion !== undefined && apiVersion.startsWith("cert-manager.io/");
}

/** A kubernetes.io/tls Secret that a cert-manager Certificate of the stack creates. */
export interface IssuedSecret {
    /** spec.secretName; undefined when unknown during preview. */
    name: string | undefined;
    /** The Certificate's namespace, where cert-manager creates the Secret; undefined when unknown. */
    namespace: string | undefined;
    /** For messages: `Secret istio-system/apsis-tls (issued by Certificate istio-system/apsis-cert)`. */
    label: string;
    /** True when its name or namespace is unknown during preview: it may be any Secret. */
    uncertain: boolean;
}

/**
 * The Secrets the stack's cert-manager Certificates create: cert-manager stores the issued key pair
 * in a kubernetes.io/tls Secret named spec.secretName (tls.crt, tls.key) in the Certificate's own
 * namespace (cert-manager docs, concepts/certificate). A Certificate without secretName is rejected
 * by its CRD and left out.
 */
export function certManagerSecrets(resources: readonly { type: string; name: string; props: Obj }[]): IssuedSecret[] {
    const out: IssuedSecret[] = [];
    for (const r of resources) {
        if (!isCertManagerCertificate(r)) {
            continue;
        }
        const secretName = obj(r.props.spec)?.secretName;
        if (secretName === undefined) {
            continue;
        }
        const name = str(secretName);
        const namespace = namespaceOf(r.props);
        out.push({
            name,
            namespace,
            label: `Secret ${namespace ?? "(unknown namespace)"}/${name ?? "(unknown)"} (issued by ${describe("Certificate", r)})`,
            uncertain: name === undefined || namespace === undefined,
        });
    }
    return out;
}
