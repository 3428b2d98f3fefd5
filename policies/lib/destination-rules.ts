/**
 * The stack's DestinationRules as the policies need them: namespace, host resolved as Istio
 * resolves it, subset names. One reader for every rule that looks DestinationRules up.
 */
import { resolveHost } from "./hosts";
import { describe, isIstio, namespaceOf } from "./kubernetes";
import { Obj, ResourceLike, arr, obj, str } from "./values";

/** A DestinationRule as far as it is known. */
export interface DestinationRuleView {
    /** The resource. */
    r: ResourceLike;
    /** For messages: `DestinationRule default/myapp-dr`. */
    label: string;
    /** Its namespace. */
    namespace: string;
    /** spec.host as written. */
    rawHost: string;
    /** spec.host resolved as Istio resolves it. */
    host: string;
    /** Its spec. */
    spec: Obj;
    /** Subset names; undefined when not all known. */
    subsets: string[] | undefined;
}

/**
 * The DestinationRules of the stack whose spec, namespace and host are known; `unknown` is true
 * when some rule's are not (during preview: that rule may be any rule).
 */
export function destinationRulesOf(resources: readonly ResourceLike[]): { rules: DestinationRuleView[]; unknown: boolean } {
    const rules: DestinationRuleView[] = [];
    let unknown = false;
    for (const r of resources) {
        if (!isIstio(r, "DestinationRule")) {
            continue;
        }
        const spec = obj(r.props.spec);
        const ns = namespaceOf(r.props);
        const rawHost = str(spec?.host);
        if (spec === undefined || ns === undefined || rawHost === undefined) {
            unknown = true;
            continue;
        }
        const names = arr(spec.subsets).map((s) => str(obj(s)?.name));
        const known = Array.isArray(spec.subsets) || spec.subsets === undefined;
        rules.push({
            r,
            label: describe("DestinationRule", r),
            namespace: ns,
            rawHost,
            host: resolveHost(rawHost, ns),
            spec,
            subsets: known && names.every((n) => n !== undefined) ? (names as string[]) : undefined,
        });
    }
    return { rules, unknown };
}
