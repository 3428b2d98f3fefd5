/**
 * The Kubernetes Gateway API (gateway.networking.k8s.io) as the pack reads it: its objects, the
 * references between them (parentRefs, backendRefs, certificateRefs) with the API's defaults, how a
 * reference resolves to an object of the stack (Pulumi auto-naming and preview unknowns included),
 * ReferenceGrants, hostname matching, what the stack says about a namespace's labels (ambient mode),
 * and HTTPRoute weights as pure functions. Nothing here reports violations; the rules do.
 */
import { checkWeights } from "./routes";
import { isKube } from "./kubernetes";
import { Obj, ResourceLike, arr, isUnknown, obj, show, str } from "./values";

/** The Gateway API's group. */
export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

/** Gateway API kinds the pack reads. */
export type GatewayApiKind = "Gateway" | "HTTPRoute" | "ReferenceGrant";

const GATEWAY_API_TYPE = /^kubernetes:gateway\.networking\.k8s\.io\/[A-Za-z0-9]+:([A-Za-z]+)$/;

/**
 * True when a resource is a Gateway API object of `kind` in any version (v1, v1beta1, v1alpha2),
 * whatever created it: a CustomResource or a YAML ConfigFile registers
 * `kubernetes:gateway.networking.k8s.io/<version>:<Kind>`; the props' apiVersion/kind are checked
 * for creators with another type token.
 */
export function isGatewayApi(r: { type: string; props: Obj }, kind: GatewayApiKind): boolean {
    const m = GATEWAY_API_TYPE.exec(r.type);
    if (m) {
        return m[1] === kind;
    }
    const apiVersion = str(r.props.apiVersion);
    return r.props.kind === kind && apiVersion !== undefined && apiVersion.startsWith(`${GATEWAY_API_GROUP}/`);
}

/** True for a Kubernetes Service of the stack. */
export function isService(r: { type: string; props: Obj }): boolean {
    return isKube(r, "", "Service");
}

/** Three-valued answer: unknown during preview is neither yes nor no. */
export type Match = "yes" | "no" | "unknown";

/** The name and namespace of an object as far as they are known. */
export interface ObjectIdentity {
    /** metadata.name; undefined when absent (auto-named) or unknown. */
    name: string | undefined;
    /** True when metadata.name is absent: the Kubernetes provider generates `<resource name>-<suffix>`. */
    autoNamed: boolean;
    /** The namespace (`default` when absent); undefined when unknown. */
    namespace: string | undefined;
    /** True when the name is unknown during preview (the whole metadata, or metadata.name). */
    nameUnknown: boolean;
}

/** Reads an object's name and namespace, keeping unknowns apart from absent values. */
export function identityOf(props: Obj): ObjectIdentity {
    if (isUnknown(props.metadata)) {
        return { name: undefined, autoNamed: false, namespace: undefined, nameUnknown: true };
    }
    const meta = obj(props.metadata) ?? {};
    return {
        name: str(meta.name),
        autoNamed: meta.name === undefined,
        namespace: meta.namespace === undefined ? "default" : str(meta.namespace),
        nameUnknown: meta.name !== undefined && str(meta.name) === undefined,
    };
}

/**
 * The names Pulumi's Kubernetes provider gives an object without metadata.name: the resource name,
 * a dash and 8 random lowercase letters or digits (the offline run's mocks use 8 hex digits).
 */
export function autoNamePattern(resourceName: string): RegExp {
    return new RegExp(`^${resourceName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[a-z0-9]{8}$`);
}

/** Whether `r` is the object named `name` in `namespace`: its metadata.name, or the name Pulumi generates for it. */
export function objectIs(r: ResourceLike, name: string, namespace: string): Match {
    const id = identityOf(r.props);
    const nameMatch: Match = id.nameUnknown
        ? "unknown"
        : id.autoNamed
          ? autoNamePattern(r.name).test(name)
              ? "yes"
              : "no"
          : id.name === name
            ? "yes"
            : "no";
    if (nameMatch === "no" || id.namespace === namespace) {
        return nameMatch;
    }
    return id.namespace === undefined ? "unknown" : "no";
}

/** Looks an object up by name and namespace among resources passing `test`; `uncertain` when an unknown one might be it. */
export function findObject(
    resources: readonly ResourceLike[],
    test: (r: ResourceLike) => boolean,
    name: string,
    namespace: string,
): { found?: ResourceLike; uncertain: boolean } {
    let uncertain = false;
    for (const r of resources) {
        if (!test(r)) {
            continue;
        }
        const m = objectIs(r, name, namespace);
        if (m === "yes") {
            return { found: r, uncertain };
        }
        uncertain = uncertain || m === "unknown";
    }
    return { uncertain };
}

/** A reference from one Gateway API object to another, with the API's defaults applied. */
export interface ObjectRef {
    /** API group; "" is the core group. */
    group: string;
    /** Kind. */
    kind: string;
    /** Name. */
    name: string;
    /** Namespace (the referring object's when the reference has none). */
    namespace: string;
    /** True when the reference names its namespace explicitly. */
    explicitNamespace: boolean;
    /** sectionName (parentRefs): a Gateway listener's name. */
    sectionName?: string;
    /** port (parentRefs and backendRefs), when given. */
    port?: number;
}

/**
 * Reads a reference (parentRef, backendRef or certificateRef) with defaults for group, kind and
 * namespace. Undefined when the reference or any of its fields is unknown during preview.
 */
export function readRef(v: unknown, defaults: { group: string; kind: string; namespace: string }): ObjectRef | undefined {
    const ref = obj(v);
    if (ref === undefined) {
        return undefined;
    }
    const fields = [ref.group, ref.kind, ref.name, ref.namespace, ref.sectionName, ref.port];
    if (fields.some(isUnknown)) {
        return undefined;
    }
    const name = str(ref.name);
    if (name === undefined) {
        return undefined;
    }
    return {
        group: str(ref.group) ?? defaults.group,
        kind: str(ref.kind) ?? defaults.kind,
        name,
        namespace: str(ref.namespace) ?? defaults.namespace,
        explicitNamespace: ref.namespace !== undefined,
        ...(str(ref.sectionName) !== undefined ? { sectionName: str(ref.sectionName) } : {}),
        ...(typeof ref.port === "number" ? { port: ref.port } : {}),
    };
}

/** The defaults of a parentRef: a Gateway in the route's namespace. */
export function parentDefaults(namespace: string): { group: string; kind: string; namespace: string } {
    return { group: GATEWAY_API_GROUP, kind: "Gateway", namespace };
}

/** The defaults of a backendRef (and a mirror's backendRef): a core Service in the route's namespace. */
export function backendDefaults(namespace: string): { group: string; kind: string; namespace: string } {
    return { group: "", kind: "Service", namespace };
}

/** The defaults of a listener's certificateRef: a core Secret in the Gateway's namespace. */
export function certificateDefaults(namespace: string): { group: string; kind: string; namespace: string } {
    return { group: "", kind: "Secret", namespace };
}

/** True for a reference to a Gateway (group gateway.networking.k8s.io). */
export function refersToGateway(ref: ObjectRef): boolean {
    return ref.group === GATEWAY_API_GROUP && ref.kind === "Gateway";
}

/** True for a reference to a core Service (GAMMA parents, backends). */
export function refersToService(ref: ObjectRef): boolean {
    return ref.group === "" && ref.kind === "Service";
}

/** How messages name a reference: `Gateway istio-system/myapp-gateway listener https-0`, `Service default/myapp port 8080`. */
export function refLabel(ref: ObjectRef): string {
    const section = ref.sectionName !== undefined ? ` listener ${ref.sectionName}` : "";
    const port = ref.port !== undefined ? ` port ${ref.port}` : "";
    const kind = ref.group === "" || ref.group === GATEWAY_API_GROUP ? ref.kind : `${ref.kind}.${ref.group}`;
    return `${kind} ${ref.namespace}/${ref.name}${section}${port}`;
}

/** One rule of an HTTPRoute. */
export interface HttpRouteRule {
    /** Index in spec.rules. */
    index: number;
    /** How messages name it: `rules[1]` or `rules[1] "weighted"`. */
    label: string;
    /** The rule. */
    rule: Obj;
    /** Its backendRefs entries as sent (an entry may be unknown during preview). */
    backendRefs: unknown[];
    /** True when the whole backendRefs list is unknown during preview. */
    backendRefsUnknown: boolean;
}

/** The rules of an HTTPRoute spec; a rule that is unknown during preview is left out. */
export function httpRouteRules(spec: Obj): HttpRouteRule[] {
    const out: HttpRouteRule[] = [];
    arr(spec.rules).forEach((v, index) => {
        const rule = obj(v);
        if (rule === undefined) {
            return;
        }
        const name = str(rule.name);
        out.push({
            index,
            label: `rules[${index}]${name !== undefined ? ` "${name}"` : ""}`,
            rule,
            backendRefs: arr(rule.backendRefs),
            backendRefsUnknown: isUnknown(rule.backendRefs),
        });
    });
    return out;
}

/** Every backend an HTTPRoute spec names, with where: weighted backendRefs and RequestMirror filters (rule and backendRef level). */
export function httpRouteBackends(spec: Obj): { where: string; ref: unknown }[] {
    const out: { where: string; ref: unknown }[] = [];
    const mirrors = (filters: unknown, where: string) =>
        arr(filters).forEach((f, k) => {
            const mirror = obj(obj(f)?.requestMirror);
            if (mirror !== undefined && mirror.backendRef !== undefined) {
                out.push({ where: `${where}.filters[${k}] RequestMirror`, ref: mirror.backendRef });
            }
        });
    for (const rule of httpRouteRules(spec)) {
        rule.backendRefs.forEach((b, j) => {
            out.push({ where: `${rule.label} backendRefs[${j}]`, ref: b });
            mirrors(obj(b)?.filters, `${rule.label} backendRefs[${j}]`);
        });
        mirrors(rule.rule.filters, rule.label);
    }
    return out;
}

/** One listener of a Gateway spec. */
export interface ListenerInfo {
    /** Index in spec.listeners. */
    index: number;
    /** The listener. */
    listener: Obj;
    /** How messages name it: `listener https-0 (443/HTTPS ambient.example.com)`. */
    label: string;
}

/** The listeners of a Gateway spec; a listener that is unknown during preview is left out. */
export function listenersOf(spec: Obj): ListenerInfo[] {
    const out: ListenerInfo[] = [];
    arr(spec.listeners).forEach((v, index) => {
        const l = obj(v);
        if (l === undefined) {
            return;
        }
        const hostname = str(l.hostname);
        out.push({
            index,
            listener: l,
            label: `listener ${str(l.name) ?? `listeners[${index}]`} (${show(l.port)}/${str(l.protocol) ?? show(l.protocol)}${hostname !== undefined ? ` ${hostname}` : ""})`,
        });
    });
    return out;
}

/**
 * True when two hostnames can match the same request host, as Gateway API and Istio match them: a
 * wildcard `*.example.com` matches any name ending in `.example.com` (one or more labels, not
 * `example.com` itself), and `*` matches everything. Case-insensitive.
 */
export function hostnamesIntersect(a: string, b: string): boolean {
    const x = a.toLowerCase();
    const y = b.toLowerCase();
    if (x === y || x === "*" || y === "*") {
        return true;
    }
    const covers = (wild: string, other: string) =>
        wild.startsWith("*.") && other.endsWith(wild.slice(1)) && other.length > wild.length - 1;
    return covers(x, y) || covers(y, x);
}

/** What the stack says about a namespace's labels. */
export type NamespaceLabels =
    /** `complete`: a Namespace object of the stack (every label known); otherwise only the labels a NamespacePatch sets or the automatic one. */
    | { status: "known"; labels: Record<string, string>; complete: boolean }
    /** A Namespace or NamespacePatch whose name or labels are unknown during preview might be this one. */
    | { status: "unknown" };

/**
 * The labels of namespace `ns` as far as the stack says: a Namespace object (complete), the labels
 * NamespacePatches add (incomplete: the namespace may have others), and always the automatic
 * `kubernetes.io/metadata.name`.
 */
export function namespaceLabelsOf(resources: readonly ResourceLike[], ns: string): NamespaceLabels {
    const labels: Record<string, string> = {};
    let complete = false;
    for (const r of resources) {
        const full = isKube(r, "", "Namespace");
        if (!full && !isKube(r, "", "NamespacePatch")) {
            continue;
        }
        const id = identityOf(r.props);
        if (id.nameUnknown) {
            return { status: "unknown" };
        }
        // A NamespacePatch needs metadata.name; an auto-named Namespace is `<resource name>-<suffix>`.
        if (id.autoNamed ? !(full && autoNamePattern(r.name).test(ns)) : id.name !== ns) {
            continue;
        }
        const meta = obj(r.props.metadata) ?? {};
        const own = obj(meta.labels);
        if (meta.labels !== undefined && own === undefined) {
            return { status: "unknown" };
        }
        for (const [k, v] of Object.entries(own ?? {})) {
            const s = str(v);
            if (s === undefined) {
                return { status: "unknown" };
            }
            labels[k] = s;
        }
        complete = complete || full;
    }
    return { status: "known", labels: { ...labels, "kubernetes.io/metadata.name": ns }, complete };
}

/** The value of one namespace label: a string, absent (undefined) or unknown. */
export function namespaceLabel(ns: NamespaceLabels, key: string): { status: "known"; value: string | undefined } | { status: "unknown" } {
    if (ns.status === "unknown") {
        return ns;
    }
    if (key in ns.labels) {
        return { status: "known", value: ns.labels[key] };
    }
    return ns.complete ? { status: "known", value: undefined } : { status: "unknown" };
}

/** Whether a label selector (matchLabels, matchExpressions) selects a namespace as the stack knows it. */
export function namespaceSelectorMatches(ns: NamespaceLabels, selector: unknown): Match {
    const sel = obj(selector);
    if (sel === undefined || (sel.matchLabels !== undefined && obj(sel.matchLabels) === undefined) || isUnknown(sel.matchExpressions)) {
        return "unknown";
    }
    const results: Match[] = [];
    for (const [key, want] of Object.entries(obj(sel.matchLabels) ?? {})) {
        const got = namespaceLabel(ns, key);
        results.push(got.status === "unknown" || str(want) === undefined ? "unknown" : got.value === want ? "yes" : "no");
    }
    for (const e of arr(sel.matchExpressions)) {
        const expr = obj(e);
        const key = str(expr?.key);
        const op = str(expr?.operator);
        const values = arr(expr?.values).map(str);
        if (expr === undefined || key === undefined || op === undefined || values.some((v) => v === undefined)) {
            results.push("unknown");
            continue;
        }
        const got = namespaceLabel(ns, key);
        if (got.status === "unknown") {
            results.push("unknown");
            continue;
        }
        const present = got.value !== undefined;
        const inValues = present && values.includes(got.value);
        const ok =
            op === "In" ? inValues : op === "NotIn" ? !inValues : op === "Exists" ? present : op === "DoesNotExist" ? !present : undefined;
        results.push(ok === undefined ? "unknown" : ok ? "yes" : "no");
    }
    return results.includes("no") ? "no" : results.includes("unknown") ? "unknown" : "yes";
}

/**
 * Whether a ReferenceGrant in the target's namespace lets objects of `from` (group, kind, namespace)
 * refer to the target (group, kind, name): Gateway API requires one for every reference that
 * crosses namespaces (a certificateRef, a backendRef).
 */
export function referenceGrantAllows(
    resources: readonly ResourceLike[],
    from: { group: string; kind: string; namespace: string },
    to: { group: string; kind: string; name: string; namespace: string },
): Match {
    let uncertain = false;
    for (const r of resources) {
        if (!isGatewayApi(r, "ReferenceGrant")) {
            continue;
        }
        const id = identityOf(r.props);
        if (id.namespace === undefined) {
            uncertain = true;
            continue;
        }
        if (id.namespace !== to.namespace) {
            continue;
        }
        const spec = obj(r.props.spec);
        if (spec === undefined || isUnknown(spec.from) || isUnknown(spec.to)) {
            uncertain = true;
            continue;
        }
        const fromOk: Match[] = arr(spec.from).map((f) => {
            const e = obj(f);
            const values = [e?.group, e?.kind, e?.namespace];
            if (e === undefined || values.some(isUnknown)) {
                return "unknown";
            }
            return str(e.group) === from.group && str(e.kind) === from.kind && str(e.namespace) === from.namespace ? "yes" : "no";
        });
        const toOk: Match[] = arr(spec.to).map((t) => {
            const e = obj(t);
            const values = [e?.group, e?.kind, e?.name];
            if (e === undefined || values.some(isUnknown)) {
                return "unknown";
            }
            const name = e.name === undefined || str(e.name) === to.name;
            return str(e.group) === to.group && str(e.kind) === to.kind && name ? "yes" : "no";
        });
        if (fromOk.includes("yes") && toOk.includes("yes")) {
            return "yes";
        }
        uncertain = uncertain || fromOk.includes("unknown") || toOk.includes("unknown");
    }
    return uncertain ? "unknown" : "no";
}

/** The weight Gateway API gives a backendRef without one. */
export const GATEWAY_API_DEFAULT_WEIGHT = 1;

/** Result of checking one rule's backendRef weights. */
export type BackendWeightCheck =
    | { status: "ok" }
    /** Some weight is unknown (preview) and nothing known is wrong: not a violation. */
    | { status: "unknown" }
    | { status: "invalid"; problems: string[] };

/**
 * The house rule on one rule's backendRef weights, as a pure function of the raw weights in
 * backendRefs order: the same rule as for Istio's destinations (routes.ts checkWeights), named for
 * backendRefs. Gateway API itself takes any integers 0-1,000,000 and splits proportionally, a
 * missing weight counting 1, so a wrong sum is accepted and silently changes the split.
 */
export function checkBackendWeights(weights: readonly unknown[]): BackendWeightCheck {
    return checkWeights(weights, {
        item: (i) => `backendRefs[${i}]`,
        single: "backendRef",
        missing: `has no weight (Gateway API then gives it ${GATEWAY_API_DEFAULT_WEIGHT})`,
    });
}

/**
 * What a Gateway API implementation (Istio included) does with these weights: each backend gets
 * weight/sum, a missing weight counting 1. Percentages with one decimal; undefined when a weight is
 * not a non-negative number or the sum is 0 (then every request fails).
 */
export function backendSplit(weights: readonly unknown[]): number[] | undefined {
    const ws = weights.map((w) => (w === undefined ? GATEWAY_API_DEFAULT_WEIGHT : w));
    if (!ws.every((w) => typeof w === "number" && Number.isFinite(w) && w >= 0)) {
        return undefined;
    }
    const sum = (ws as number[]).reduce((a, b) => a + b, 0);
    if (sum <= 0) {
        return undefined;
    }
    return (ws as number[]).map((w) => Math.round((w / sum) * 1000) / 10);
}
