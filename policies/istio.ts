/**
 * Shared helpers of the policy pack: reading resources as the engine sends them (unknowns, secrets,
 * any creator and apiVersion), Istio's host resolution, and the weight and label checks as pure
 * functions. Nothing here reports violations; the policies in rules/ do.
 */

/** What a policy receives for one resource (a subset of @pulumi/policy's PolicyResource). */
export interface ResourceLike {
    /** Pulumi type token, e.g. `kubernetes:networking.istio.io/v1:VirtualService`. */
    type: string;
    /** Pulumi resource name. */
    name: string;
    /** URN, used to attach stack-policy violations to the resource. */
    urn: string;
    /** Inputs as the engine sent them (possibly behind @pulumi/policy's unknown-checking proxy). */
    props: Record<string, unknown>;
}

/** A plain JSON object. */
export type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Unknowns and secrets
// ---------------------------------------------------------------------------------------------

/**
 * The sentinels the engine and @pulumi/policy use for values not known during preview. The engine
 * sends every unknown as the string one (04da6b54-...); the others appear after deserialisation.
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and what the engine sends for any unknown)
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** True when a value is unknown during preview. */
export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

/**
 * The plain inputs of a resource: @pulumi/policy hands policies a proxy that throws on any unknown
 * value it meets, which would turn a partly unknown VirtualService into one "can't run during preview"
 * note. Policies read the proxy's target instead and treat unknowns themselves, value by value.
 * Secret wrappers (as recorded under mocks) are unwrapped too.
 */
export function plainProps(props: unknown): Obj {
    let target: unknown = props;
    if (isObj(props) && (props as Record<string, unknown>)["__isSpecialProxy"] === true) {
        target = (props as Record<string, unknown>)["__getSpecialProxyTarget"];
    }
    const out = unwrapSecrets(target);
    return isObj(out) ? out : {};
}

function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (isObj(v)) {
        if (v[SECRET_SIG_KEY] === SECRET_SIG) {
            return unwrapSecrets(v.value);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

/** True for a non-null, non-array object. */
export function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object at `v`, or undefined when it is anything else (including unknown). */
export function obj(v: unknown): Obj | undefined {
    return isObj(v) ? v : undefined;
}

/** The array at `v`, or [] when it is missing or not an array. */
export function arr(v: unknown): unknown[] {
    return Array.isArray(v) ? v : [];
}

/** The string at `v`, or undefined when it is not a (known) string. */
export function str(v: unknown): string | undefined {
    return typeof v === "string" && !isUnknown(v) ? v : undefined;
}

/** Renders a value for a message: unknown, missing, or JSON. */
export function show(v: unknown): string {
    if (v === undefined) {
        return "(none)";
    }
    if (isUnknown(v)) {
        return "(unknown)";
    }
    return JSON.stringify(v) ?? String(v);
}

/** Renders labels as `{app: myapp, version: v1}`. */
export function showLabels(labels: Record<string, unknown>): string {
    return `{${Object.entries(labels)
        .map(([k, v]) => `${k}: ${typeof v === "string" ? v : show(v)}`)
        .join(", ")}}`;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes objects, whatever created them
// ---------------------------------------------------------------------------------------------

/** Istio networking kinds the pack reads. */
export type IstioKind = "VirtualService" | "DestinationRule" | "Gateway";

const ISTIO_TYPE = /^kubernetes:networking\.istio\.io\/[A-Za-z0-9]+:(VirtualService|DestinationRule|Gateway)$/;

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
    /** The workload, for messages: `Deployment default/myapp-v1`. */
    owner: string;
    /** Namespace of the pods; undefined when unknown. */
    namespace: string | undefined;
    /** Pod labels; undefined when unknown. */
    labels: Record<string, string> | undefined;
    /** The pod spec (containers, initContainers), possibly empty. */
    spec: Obj;
}

const WORKLOADS: Record<string, (props: Obj) => unknown> = {
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
    return {
        owner: describe(m[2], r),
        namespace: namespaceOf(r.props),
        labels: template === undefined ? undefined : knownLabels(obj(template.metadata)?.labels ?? {}),
        spec: obj(template?.spec) ?? {},
    };
}

// ---------------------------------------------------------------------------------------------
// Istio hosts
// ---------------------------------------------------------------------------------------------

/** The cluster domain Istio appends to short names. */
export const CLUSTER_DOMAIN = "cluster.local";

/**
 * Resolves a host the way Istio does (ResolveShortnameToFQDN): a short name (no dot) becomes
 * `<name>.<namespace of the rule>.svc.cluster.local`; anything with a dot, `*` and IPs stay as
 * written. Note that `name.namespace` is therefore NOT expanded by Istio.
 */
export function resolveHost(host: string, ruleNamespace: string): string {
    if (host === "*" || host.includes(".") || host.includes(":")) {
        return host;
    }
    return `${host}.${ruleNamespace}.svc.${CLUSTER_DOMAIN}`;
}

/**
 * What Kubernetes DNS would make of a host (`name.namespace` and `name.namespace.svc` become the FQDN);
 * used only to explain a mismatch that Istio's stricter resolution causes.
 */
export function dnsHost(host: string, ruleNamespace: string): string {
    const resolved = resolveHost(host, ruleNamespace);
    const parts = resolved.split(".");
    if (parts.length === 2 || (parts.length === 3 && parts[2] === "svc")) {
        return `${parts[0]}.${parts[1]}.svc.${CLUSTER_DOMAIN}`;
    }
    return resolved;
}

/** The Kubernetes Service a resolved host names (`name.ns.svc.cluster.local`), or undefined for other hosts. */
export function serviceOfHost(fqdn: string): { name: string; namespace: string } | undefined {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\.svc\.(.+)$/.exec(fqdn);
    return m && m[5] === CLUSTER_DOMAIN ? { name: m[1], namespace: m[3] } : undefined;
}

/**
 * How specifically a DestinationRule host (resolved) covers a destination host (resolved):
 * 0 = not at all, otherwise larger is more specific (an exact match beats any wildcard), as Istio
 * picks the most specific rule.
 */
export function hostCoverage(ruleHost: string, host: string): number {
    if (ruleHost === host) {
        return Number.MAX_SAFE_INTEGER;
    }
    if (ruleHost === "*") {
        return 1;
    }
    if (ruleHost.startsWith("*.") && host.endsWith(ruleHost.slice(1))) {
        return ruleHost.length;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------------
// VirtualService routes and weights
// ---------------------------------------------------------------------------------------------

/** Route kinds of a VirtualService that carry weighted destinations. */
export const ROUTE_KINDS = ["http", "tcp", "tls"] as const;

/** One route of a VirtualService. */
export interface RouteRef {
    /** `http`, `tcp` or `tls`. */
    kind: (typeof ROUTE_KINDS)[number];
    /** Index in spec[kind]. */
    index: number;
    /** How messages name it: `http[1]` or `http[1] "weighted"`. */
    label: string;
    /** The route object. */
    route: Obj;
    /** Its destinations (`route[]` entries). */
    destinations: Obj[];
}

/**
 * Every http, tcp and tls route of a VirtualService spec. A `route[]` entry that is unknown during
 * preview stands as `{destination: <unknown>, weight: <unknown>}`: its weight is unknown, not missing.
 */
export function routesOf(spec: Obj): RouteRef[] {
    const out: RouteRef[] = [];
    for (const kind of ROUTE_KINDS) {
        arr(spec[kind]).forEach((route, index) => {
            const r = obj(route) ?? {};
            const name = str(r.name);
            out.push({
                kind,
                index,
                label: `${kind}[${index}]${name !== undefined ? ` "${name}"` : ""}`,
                route: r,
                destinations: arr(r.route).map((d) => (isUnknown(d) ? { destination: d, weight: d } : (obj(d) ?? {}))),
            });
        });
    }
    return out;
}

/** How messages name a destination: `host/subset`, or `host`. */
export function destinationLabel(destination: unknown): string {
    if (isUnknown(destination)) {
        return "(unknown)";
    }
    const d = obj(destination) ?? {};
    const host = d.host === undefined ? "(no host)" : (str(d.host) ?? "(unknown host)");
    const subset = d.subset === undefined ? undefined : (str(d.subset) ?? "(unknown subset)");
    return subset === undefined ? host : `${host}/${subset}`;
}

/** Result of checking one route's weights. */
export type WeightCheck =
    | { status: "ok" }
    /** Some weight is unknown (preview) and nothing known is wrong: not a violation. */
    | { status: "unknown" }
    | { status: "invalid"; problems: string[] };

function weightProblem(w: unknown): string | undefined {
    if (w === undefined) {
        return "has no weight";
    }
    if (typeof w === "string") {
        return `has weight ${JSON.stringify(w)}, a string`;
    }
    if (typeof w !== "number" || !Number.isFinite(w)) {
        return `has weight ${show(w)}, not a number`;
    }
    if (!Number.isInteger(w)) {
        return `has weight ${w}, not an integer`;
    }
    if (w < 0 || w > 100) {
        return `has weight ${w}, outside 0-100`;
    }
    return undefined;
}

/**
 * The house rule on one route's weights, as a pure function of the raw weight values in
 * destination order. One destination: no weight or 100. Several: each an integer 0-100, summing
 * to exactly 100. Unknown weights are not violations; known ones that are wrong still are (as is a
 * known sum already above 100).
 */
export function checkWeights(weights: readonly unknown[]): WeightCheck {
    if (weights.length === 0) {
        return { status: "ok" };
    }
    if (weights.length === 1) {
        const w = weights[0];
        if (w === undefined || w === 100) {
            return { status: "ok" };
        }
        if (isUnknown(w)) {
            return { status: "unknown" };
        }
        return { status: "invalid", problems: [`its only destination has weight ${show(w)}; a single destination takes no weight or 100`] };
    }
    const problems: string[] = [];
    let unknown = false;
    let sum = 0;
    weights.forEach((w, i) => {
        if (isUnknown(w)) {
            unknown = true;
            return;
        }
        const problem = weightProblem(w);
        if (problem !== undefined) {
            problems.push(`destination ${i} ${problem}`);
        } else {
            sum += w as number;
        }
    });
    if (problems.length === 0 && !unknown && sum !== 100) {
        problems.push(`the weights sum to ${sum}, not 100`);
    } else if (unknown && sum > 100) {
        problems.push(`the known weights already sum to ${sum}, more than 100`);
    }
    if (problems.length > 0) {
        return { status: "invalid", problems };
    }
    return unknown ? { status: "unknown" } : { status: "ok" };
}

/**
 * What Istio (1.15+) would actually do with these weights: each destination gets weight/sum.
 * Returns percentages with one decimal, or undefined when the weights are not all valid numbers.
 */
export function effectiveSplit(weights: readonly unknown[]): number[] | undefined {
    if (!weights.every((w) => typeof w === "number" && Number.isFinite(w) && w >= 0)) {
        return undefined;
    }
    const sum = (weights as number[]).reduce((a, b) => a + b, 0);
    if (sum <= 0) {
        return undefined;
    }
    return (weights as number[]).map((w) => Math.round((w / sum) * 1000) / 10);
}

/**
 * The destination that receives all of a route's traffic, if one does: the only destination, or
 * the one with a positive weight when all others are 0. Undefined when traffic is split or unknown.
 */
export function fullDestination(destinations: readonly Obj[]): Obj | undefined {
    if (destinations.length === 1) {
        return obj(destinations[0].destination);
    }
    const weights = destinations.map((d) => d.weight);
    if (!weights.every((w) => typeof w === "number")) {
        return undefined;
    }
    const positive = destinations.filter((d) => (d.weight as number) > 0);
    return positive.length === 1 ? obj(positive[0].destination) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Ingress gateways the stack installs
// ---------------------------------------------------------------------------------------------

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
    return { app: name, istio: name.replace(/^istio-/, ""), ...extra };
}

function isGatewayChart(chart: string): boolean {
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

// ---------------------------------------------------------------------------------------------
// Stack policies
// ---------------------------------------------------------------------------------------------

/** A violation found by a stack policy, attached to one resource. */
export interface StackViolation {
    /** URN of the resource at fault. */
    urn: string;
    /** The message. */
    message: string;
}

/** The stack's resources with plain props (see plainProps). */
export function plainResources(resources: readonly ResourceLike[]): ResourceLike[] {
    return resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: plainProps(r.props) }));
}
