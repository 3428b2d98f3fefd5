import { StackValidationPolicy } from "@pulumi/policy";
import {
    DestinationRuleView,
    Obj,
    ResourceLike,
    destinationRulesOf,
    arr,
    describe,
    dnsHost,
    hostCoverage,
    isIstio,
    namespaceOf,
    obj,
    plainResources,
    resolveHost,
    routesOf,
    StackViolation,
    str,
} from "../istio";

/** A DestinationRule as far as it is known (the pack's one reader, lib/destination-rules.ts). */
export type Rule = DestinationRuleView;

/** DestinationRules of the stack; `unknown` is true when one's host or namespace is not known. */
export const destinationRules = destinationRulesOf;

/** Every destination (route entries and mirrors) of a VirtualService spec, with where it is. */
function destinationsOf(spec: Obj): { where: string; destination: Obj }[] {
    const out: { where: string; destination: Obj }[] = [];
    for (const route of routesOf(spec)) {
        route.destinations.forEach((d, j) => {
            const destination = obj(d.destination);
            if (destination !== undefined) {
                out.push({ where: `${route.label} route[${j}]`, destination });
            }
        });
        const mirror = obj(route.route.mirror);
        if (mirror !== undefined) {
            out.push({ where: `${route.label} mirror`, destination: mirror });
        }
        arr(route.route.mirrors).forEach((m, j) => {
            const destination = obj(obj(m)?.destination);
            if (destination !== undefined) {
                out.push({ where: `${route.label} mirrors[${j}]`, destination });
            }
        });
    }
    return out;
}

/** The violations of the whole stack: subsets that no DestinationRule for their host defines. Pure. */
export function missingSubsetViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const { rules, unknown } = destinationRules(resources);
    const out: StackViolation[] = [];
    for (const vs of resources) {
        if (!isIstio(vs, "VirtualService")) {
            continue;
        }
        const spec = obj(vs.props.spec);
        const ns = namespaceOf(vs.props);
        if (spec === undefined || ns === undefined) {
            continue;
        }
        for (const { where, destination } of destinationsOf(spec)) {
            const subset = str(destination.subset);
            const rawHost = str(destination.host);
            if (subset === undefined || rawHost === undefined) {
                continue; // no subset asked for, or not known during preview
            }
            const host = resolveHost(rawHost, ns);
            const best = Math.max(0, ...rules.map((rule) => hostCoverage(rule.host, host)));
            const chosen = best === 0 ? [] : rules.filter((rule) => hostCoverage(rule.host, host) === best);
            if (unknown) {
                // A DestinationRule whose host is unknown may be for this host: the one Istio picks, or one merged with it.
                continue;
            }
            const head = `${describe("VirtualService", vs)} ${where} routes to subset ${subset} of ${host}`;
            const tail = "Istio accepts this and requests to the subset fail at run time (istioctl analyze: IST0101).";
            if (chosen.length === 0) {
                const near = rules.filter((rule) => dnsHost(rule.rawHost, rule.namespace) === dnsHost(rawHost, ns));
                const hint =
                    near.length > 0
                        ? ` ${near.map((rule) => `${rule.label} has host "${rule.rawHost}"`).join(", ")}: the same Service for Kubernetes DNS, but not for Istio, ` +
                          `which expands only short names (such as "${rawHost.split(".")[0]}") and takes any host with a dot literally; ` +
                          `write both as the short name or as ${dnsHost(rawHost, ns)}.`
                        : "";
                out.push({
                    urn: vs.urn,
                    message: `${head}, but no DestinationRule in the stack has that host, so the subset is undefined.${hint} ${tail}`,
                });
                continue;
            }
            if (chosen.some((rule) => rule.subsets === undefined)) {
                continue;
            }
            const defined = [...new Set(chosen.flatMap((rule) => rule.subsets ?? []))];
            if (!defined.includes(subset)) {
                const list = defined.length > 0 ? `only subset${defined.length === 1 ? "" : "s"} ${defined.join(", ")}` : "no subsets";
                out.push({
                    urn: vs.urn,
                    message: `${head}, but ${chosen.map((rule) => rule.label).join(" and ")} (host ${chosen[0].rawHost}) define${chosen.length === 1 ? "s" : ""} ${list}. ${tail}`,
                });
            }
        }
    }
    return out;
}

/** Every subset a VirtualService routes or mirrors to is defined by a DestinationRule for that host in the stack. */
export const virtualServiceSubsetsExist: StackValidationPolicy = {
    name: "virtualservice-subsets-exist",
    description:
        "Every subset a VirtualService routes or mirrors to is defined by a DestinationRule for that host in the stack, with hosts resolved as Istio does (short name, name.namespace, FQDN).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = plainResources(args.resources);
        for (const v of missingSubsetViolations(resources)) {
            reportViolation(v.message, v.urn);
        }
    },
};
