import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, checkWeights, describe, destinationLabel, effectiveSplit, isIstio, obj, plainProps, routesOf, show, str } from "../istio";

/** How a message lists the weights found: `v1=90, v2=20 to myapp.default.svc.cluster.local`, or `host/subset=w, ...` for mixed hosts. */
export function weightsFound(destinations: readonly Obj[]): string {
    const hosts = new Set(destinations.map((d) => str(obj(d.destination)?.host) ?? "?"));
    if (hosts.size === 1 && destinations.every((d) => str(obj(d.destination)?.subset) !== undefined)) {
        const list = destinations.map((d) => `${str(obj(d.destination)?.subset)}=${show(d.weight)}`).join(", ");
        return `${list} to ${[...hosts][0]}`;
    }
    return destinations.map((d) => `${destinationLabel(d.destination)}=${show(d.weight)}`).join(", ");
}

/** The violations of one VirtualService's weights, one message per bad route. Pure. */
export function weightViolations(r: { name: string; props: Obj }): string[] {
    const spec = obj(r.props.spec);
    if (spec === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const route of routesOf(spec)) {
        const weights = route.destinations.map((d) => d.weight);
        const check = checkWeights(weights);
        if (check.status !== "invalid") {
            continue;
        }
        const split = effectiveSplit(weights);
        const istio =
            split !== undefined && weights.length > 1 && check.problems.some((p) => p.startsWith("the weights sum"))
                ? ` Istio would accept this and send ${split.map((p) => `${p}%`).join(" / ")}.`
                : "";
        out.push(
            `${describe("VirtualService", r)} ${route.label}: ${check.problems.join("; ")} (weights found: ${weightsFound(route.destinations)}).${istio}`,
        );
    }
    return out;
}

/** Every weighted route of every VirtualService sums to exactly 100, whatever created it and whatever its apiVersion. */
export const virtualServiceWeights: ResourceValidationPolicy = {
    name: "virtualservice-weights",
    description:
        "Every http, tcp and tls route of a VirtualService with more than one destination gives each destination an integer weight from 0 to 100, and the weights sum to exactly 100; a route with one destination has no weight or 100.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        if (!isIstio({ type: args.type, props }, "VirtualService")) {
            return;
        }
        for (const message of weightViolations({ name: args.name, props })) {
            reportViolation(message);
        }
    },
};
