/**
 * Istio's host resolution: short names, FQDNs, the Service a host names, and which host covers which.
 */
import { CLUSTER_DOMAIN } from "../../components/facts";
/** The cluster domain Istio appends to short names. */
export { CLUSTER_DOMAIN };

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
