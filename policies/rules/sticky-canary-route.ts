import { ResourceValidationPolicy } from "@pulumi/policy";
import {
    Obj,
    describe,
    httpRouteStickyViews,
    isGatewayApi,
    isIstio,
    namespaceOf,
    obj,
    plainProps,
    stickyProblems,
    virtualServiceStickyViews,
} from "../istio";

/** The violations of one VirtualService or HTTPRoute's sticky routes. Pure. */
export function stickyCanaryViolations(r: { type: string; name: string; props: Obj }): string[] {
    const spec = obj(r.props.spec);
    const ns = namespaceOf(r.props);
    if (spec === undefined || ns === undefined) {
        return [];
    }
    const [kind, views] = isIstio(r, "VirtualService")
        ? ["VirtualService", virtualServiceStickyViews(spec, ns)]
        : isGatewayApi(r, "HTTPRoute")
          ? ["HTTPRoute", httpRouteStickyViews(spec, ns)]
          : ["", []];
    return stickyProblems(views).map((p) => `${describe(kind, r)} ${p}`);
}

/** A route matching the sticky cookie of a canary sends only to that canary, and only while its weight is between 0 and 100. */
export const stickyCanaryRoute: ResourceValidationPolicy = {
    name: "sticky-canary-route",
    description:
        "A VirtualService http route or HTTPRoute rule that matches a cookie another route's destination sets on its responses (a sticky canary route) sends only to that destination, and only while its weight on the setting route is above 0 and below 100; the cookie is set on that destination's responses, not on every response of the route.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        const r = { type: args.type, name: args.name, props };
        if (!isIstio(r, "VirtualService") && !isGatewayApi(r, "HTTPRoute")) {
            return;
        }
        for (const message of stickyCanaryViolations(r)) {
            reportViolation(message);
        }
    },
};
