import { stringify } from "yaml";
import { RecordedResource, isSecretValue } from "./run";

/** A recorded JSON object, read by the field paths Kubernetes and Istio define. */
type Json = RecordedResource["inputs"];

/** Placeholder written instead of secret values. */
export const SECRET_PLACEHOLDER = "[secret]";

/** Replaces every Pulumi secret in a value with a placeholder, so nothing secret is printed or written. */
export function redactSecrets(value: unknown): unknown {
    if (isSecretValue(value)) {
        // Keep the shape (e.g. the keys of a Secret's data), replace every leaf.
        const inner = (value as { value?: unknown }).value;
        return typeof inner === "object" && inner !== null ? redactLeaves(inner) : SECRET_PLACEHOLDER;
    }
    if (Array.isArray(value)) {
        return value.map(redactSecrets);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
    }
    return value;
}

function redactLeaves(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(redactLeaves);
    }
    if (typeof value === "object" && value !== null) {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactLeaves(v)]));
    }
    return SECRET_PLACEHOLDER;
}

/** True for resources that are Kubernetes objects (not components, Helm releases or providers). */
export function isKubernetesObject(r: RecordedResource): boolean {
    return (
        r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh") && !r.type.startsWith("pulumi:providers")
    );
}

/** `kubernetes:apps/v1:Deployment` -> `apps/v1:Deployment`; component tokens stay as they are. */
function shortType(type: string): string {
    return type.startsWith("kubernetes:") ? type.slice("kubernetes:".length) : type;
}

function details(r: RecordedResource): string {
    const i = r.inputs;
    switch (r.type) {
        case "kubernetes:helm.sh/v3:Release":
            return `chart ${i.chart} ${i.version}, release ${i.name ?? "auto-named"}`;
        case "kubernetes:apps/v1:Deployment": {
            const c = i.spec?.template?.spec?.containers?.[0];
            return `${i.spec?.replicas} x ${c?.image} (version ${i.spec?.template?.metadata?.labels?.version})`;
        }
        case "kubernetes:core/v1:Service":
            return `port ${i.spec?.ports?.[0]?.port} -> ${i.spec?.ports?.[0]?.targetPort}, selects ${JSON.stringify(i.spec?.selector)}`;
        case "kubernetes:core/v1:Secret":
            return `${i.type}, data ${SECRET_PLACEHOLDER}`;
        case "kubernetes:core/v1:Namespace":
        case "kubernetes:core/v1:NamespacePatch":
            return `labels ${JSON.stringify(i.metadata?.labels ?? {})}${r.type.endsWith("Patch") ? " (patch of an existing namespace)" : ""}`;
        case "kubernetes:networking.istio.io/v1:Gateway":
            return `selector ${JSON.stringify(i.spec?.selector)}, ${(i.spec?.servers ?? []).map((s: Json) => `${s.port?.number}/${s.port?.protocol}`).join(" + ")}`;
        case "kubernetes:networking.istio.io/v1:DestinationRule":
            return `host ${i.spec?.host}, subsets ${(i.spec?.subsets ?? []).map((s: Json) => s.name).join(", ")}`;
        case "kubernetes:networking.istio.io/v1:VirtualService":
            return `hosts ${(i.spec?.hosts ?? []).join(", ")}; gateways ${(i.spec?.gateways ?? []).join(", ")}`;
        case "kubernetes:gateway.networking.k8s.io/v1:Gateway":
            return `class ${i.spec?.gatewayClassName}, ${(i.spec?.listeners ?? []).map((l: Json) => `${l.port}/${l.protocol}${l.hostname ? ` ${l.hostname}` : ""}`).join(" + ")}`;
        case "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": {
            const rules: Json[] = i.spec?.rules ?? [];
            return rules.every((rule) => (rule.backendRefs ?? []).length === 0)
                ? "redirect to https (301)"
                : `${rules.length} rule${rules.length === 1 ? "" : "s"}; backends ${[...new Set(rules.flatMap((rule) => (rule.backendRefs ?? []).map((b: Json) => b.name)))].join(", ")}`;
        }
        default:
            return "";
    }
}

/** Pads columns into a plain-text table. */
export function table(rows: string[][]): string {
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
    return rows
        .map((r) =>
            r
                .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c])))
                .join("  ")
                .trimEnd(),
        )
        .join("\n");
}

/** The resource table: type, name, namespace and what matters about each. Components are listed as parents. */
export function resourceTable(resources: RecordedResource[]): string {
    const rows = [["TYPE", "NAME", "NAMESPACE", "DETAILS"]];
    // Each component, then its children, in registration order.
    const ordered: RecordedResource[] = [];
    const visit = (parent: string | undefined, depth: number) => {
        for (const r of resources.filter((x) => x.parent === parent && x.type !== "pulumi:pulumi:Stack")) {
            ordered.push({ ...r, name: r.name, inputs: r.inputs, depth } as RecordedResource & { depth: number });
            visit(r.urn, depth + 1);
        }
    };
    const root = resources.find((x) => x.type === "pulumi:pulumi:Stack");
    visit(root?.urn, 0);
    for (const r of ordered as (RecordedResource & { depth: number })[]) {
        const indent = "  ".repeat(r.depth);
        const name = r.inputs.metadata?.name !== undefined && isKubernetesObject(r) ? `${r.name} (${r.inputs.metadata.name})` : r.name;
        rows.push([indent + shortType(r.type), name, r.inputs.metadata?.namespace ?? r.inputs.namespace ?? "", details(r)]);
    }
    return table(rows);
}

function bar(weight: number, width = 40): string {
    const filled = Math.round((weight / 100) * width);
    return "█".repeat(filled) + "░".repeat(width - filled);
}

/** The lines under a destination whose responses set a cookie (the sticky canary's): which cookie, for how long. */
function setCookieLines(headers: Record<string, unknown>): string[] {
    return Object.entries(headers)
        .filter(([name, value]) => name.toLowerCase() === "set-cookie" && typeof value === "string")
        .map(([, value]) => {
            const [pair, ...attributes] = (value as string).split(";").map((p) => p.trim());
            const maxAge = attributes.find((a) => /^max-age=/i.test(a));
            return `      its responses set cookie ${pair}${maxAge !== undefined ? ` (${maxAge.replace(/^max-age=/i, "Max-Age ")} s)` : ""}: requests carrying it take the sticky route`;
        });
}

/**
 * The traffic split of every VirtualService route and HTTPRoute rule, drawn as bars so the split is
 * seen at a glance; a sticky canary shows as its cookie route and the cookie its destination sets.
 */
export function trafficSplit(resources: RecordedResource[]): string {
    const lines: string[] = [];
    for (const vs of resources.filter((r) => r.type.endsWith(":VirtualService"))) {
        const spec = vs.inputs.spec ?? {};
        lines.push(`VirtualService ${vs.name} (hosts ${(spec.hosts ?? []).join(", ")})`);
        (spec.http ?? []).forEach((route: Json, index: number) => {
            const match = (route.match ?? [])
                .map((m: Json) =>
                    Object.entries((m.headers ?? {}) as Record<string, Json>)
                        .map(([h, v]) =>
                            v.regex !== undefined && v.exact === undefined && v.prefix === undefined
                                ? `header ${h} ~ ${JSON.stringify(v.regex)}`
                                : `header ${h} = ${JSON.stringify(v.exact ?? v.prefix)}`,
                        )
                        .join(" and "),
                )
                .join(" or ");
            lines.push(`  http[${index}] ${route.name ?? ""}${match ? `  when ${match}` : "  (all other requests)"}`);
            const dests: Json[] = route.route ?? [];
            for (const d of dests) {
                const weight: number = d.weight ?? (dests.length === 1 ? 100 : 0);
                const label = `${d.destination?.subset ?? d.destination?.host}`;
                lines.push(`    ${label.padEnd(10)} ${bar(weight)} ${String(weight).padStart(3)}%`);
                const response = d.headers?.response ?? {};
                lines.push(...setCookieLines({ ...(response.add ?? {}), ...(response.set ?? {}) }));
            }
            if (route.mirror) {
                lines.push(
                    `    mirror ${route.mirror.subset ?? route.mirror.host}: ${route.mirrorPercentage?.value ?? 100}% of requests copied, responses discarded`,
                );
            }
            if (route.timeout) {
                lines.push(`    timeout ${route.timeout}`);
            }
            if (route.retries) {
                lines.push(
                    `    retries ${route.retries.attempts}${route.retries.perTryTimeout ? ` x ${route.retries.perTryTimeout}` : ""}${route.retries.retryOn ? ` on ${route.retries.retryOn}` : ""}`,
                );
            }
        });
    }
    for (const route of resources.filter((r) => r.type === "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")) {
        const spec = route.inputs.spec ?? {};
        const rules: Json[] = spec.rules ?? [];
        if (!rules.some((rule) => (rule.backendRefs ?? []).length > 0)) {
            continue; // the port-80 redirect: no backends
        }
        const parents = Array.isArray(spec.parentRefs)
            ? (spec.parentRefs as Json[])
                  .map((p) => (p.kind === "Service" ? `Service ${p.name}` : `Gateway listener ${p.sectionName ?? ""}`))
                  .join(", ")
            : "the Gateway and the Service";
        lines.push(`HTTPRoute ${route.name} (attached to ${parents})`);
        rules.forEach((rule, index) => {
            const match = (rule.matches ?? [])
                .map((m: Json) =>
                    ((m.headers ?? []) as Json[])
                        .map((h) => `header ${h.name} ${h.type === "RegularExpression" ? "~" : "="} ${JSON.stringify(h.value)}`)
                        .join(" and "),
                )
                .join(" or ");
            lines.push(`  rules[${index}]${match ? `  when ${match}` : "  (all other requests)"}`);
            const backends: Json[] = rule.backendRefs ?? [];
            for (const b of backends) {
                const weight: number = b.weight ?? (backends.length === 1 ? 100 : 1);
                lines.push(`    ${String(b.name).padEnd(10)} ${bar(weight)} ${String(weight).padStart(3)}%`);
                for (const f of (b.filters ?? []) as Json[]) {
                    const modifier = f.type === "ResponseHeaderModifier" ? (f.responseHeaderModifier ?? {}) : {};
                    const headers = [...(modifier.add ?? []), ...(modifier.set ?? [])] as Json[];
                    lines.push(...setCookieLines(Object.fromEntries(headers.map((h) => [h.name, h.value]))));
                }
            }
            for (const f of (rule.filters ?? []) as Json[]) {
                if (f.type === "RequestMirror") {
                    lines.push(
                        `    mirror ${f.requestMirror?.backendRef?.name}: ${f.requestMirror?.percent ?? 100}% of requests copied, responses discarded`,
                    );
                }
            }
            if (rule.timeouts?.request) {
                lines.push(`    timeout ${rule.timeouts.request}`);
            }
        });
    }
    return lines.join("\n");
}

/** A Kubernetes object as a YAML manifest, secrets replaced by a placeholder. */
export function manifest(r: RecordedResource): string {
    const object = redactSecrets(r.inputs) as Json;
    if (object.metadata !== undefined && object.metadata.name === undefined) {
        // Auto-named by the provider; the plan shows the name the offline run assigned.
        object.metadata = { name: r.id, ...object.metadata };
    }
    return stringify(object);
}

/** A file name for a resource's manifest: `<kind>-<pulumi name>.yaml`. */
export function manifestFileName(r: RecordedResource): string {
    const kind = r.type.split(":").pop() ?? "object";
    return `${kind.toLowerCase()}-${r.name}.yaml`;
}
