import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, backendSplit, checkBackendWeights, describe, httpRouteRules, isGatewayApi, obj, plainProps, show, str } from "../istio";

/** How a message lists the weights found: `myapp-v1=90, myapp-v2=20`. */
export function backendWeightsFound(backendRefs: readonly unknown[]): string {
    return backendRefs
        .map((b) => {
            const ref = obj(b);
            return `${ref === undefined ? "(unknown)" : (str(ref.name) ?? show(ref.name))}=${show(ref === undefined ? b : ref.weight)}`;
        })
        .join(", ");
}

/** The violations of one HTTPRoute's weights, one message per bad rule. Pure. */
export function httpRouteWeightViolations(r: { name: string; props: Obj }): string[] {
    const spec = obj(r.props.spec);
    if (spec === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const rule of httpRouteRules(spec)) {
        // An entry unknown during preview stands for an unknown weight, not a missing one.
        const weights = rule.backendRefs.map((b) => (obj(b) === undefined ? b : obj(b)!.weight));
        const check = checkBackendWeights(weights);
        if (check.status !== "invalid") {
            continue;
        }
        const split = backendSplit(weights);
        const note =
            split !== undefined &&
            weights.length > 1 &&
            check.problems.some((p) => p.startsWith("the weights sum") || p.includes("has no weight"))
                ? ` Gateway API would accept this and send ${split.map((p) => `${p}%`).join(" / ")}.`
                : "";
        out.push(
            `${describe("HTTPRoute", r)} ${rule.label}: ${check.problems.join("; ")} (weights found: ${backendWeightsFound(rule.backendRefs)}).${note}`,
        );
    }
    return out;
}

/** Every rule of an HTTPRoute with several backendRefs gives each an integer weight 0-100, summing to exactly 100. */
export const httpRouteWeights: ResourceValidationPolicy = {
    name: "httproute-weights",
    description:
        "Every rule of an HTTPRoute with more than one backendRef gives each backendRef an integer weight from 0 to 100, and the weights sum to exactly 100; a rule with one backendRef has no weight or 100. Gateway API splits proportionally (weight/sum, a missing weight counting 1), so any other sum is accepted and silently changes the split.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        if (!isGatewayApi({ type: args.type, props }, "HTTPRoute")) {
            return;
        }
        for (const message of httpRouteWeightViolations({ name: args.name, props })) {
            reportViolation(message);
        }
    },
};
