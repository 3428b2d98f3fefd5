import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, RouteRef, describe, destinationLabel, isIstio, obj, plainProps, routeCatchesAll, routesOf } from "../istio";
import { weightsFound } from "./virtualservice-weights";

/** How a message names a route that never receives traffic: its label and where it would have sent it. */
function unreachableLabel(route: RouteRef): string {
    if (!route.known) {
        return route.label;
    }
    if (route.destinations.length > 1) {
        return `${route.label} (${weightsFound(route.destinations)})`;
    }
    if (route.destinations.length === 1) {
        return `${route.label} (to ${destinationLabel(route.destinations[0].destination)})`;
    }
    return route.label;
}

/**
 * The violations of one VirtualService: a route that matches every request followed by other
 * routes of the same kind, which then never receive traffic. Istio hands a request to the first
 * route that matches ("The first rule matching an incoming request is used", VirtualService
 * reference) and stops building routes after a catch-all (BuildHTTPRoutesForVirtualService). A
 * catch-all before the weighted route sends it all the traffic; only known values decide. Pure.
 */
export function catchAllViolations(r: { name: string; props: Obj }): string[] {
    const spec = obj(r.props.spec);
    if (spec === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const kind of ["http", "tcp"] as const) {
        const routes = routesOf(spec).filter((x) => x.kind === kind);
        const first = routes.findIndex((x) => routeCatchesAll(x).catchesAll === true);
        if (first < 0 || first === routes.length - 1) {
            continue;
        }
        const catchAll = routes[first];
        const check = routeCatchesAll(catchAll);
        const reason = check.catchesAll === true ? check.reason : "";
        const after = routes.slice(first + 1);
        out.push(
            `${describe("VirtualService", r)} ${catchAll.label} matches every request (${reason}), so Istio never sends traffic to ` +
                `${after.map(unreachableLabel).join(", ")} after it. Istio uses the first route that matches a request: ` +
                `put the catch-all route last (istioctl analyze: IST0130).`,
        );
    }
    return out;
}

/** A VirtualService's route that matches every request is its last http (and tcp) route. */
export const virtualServiceCatchAllLast: ResourceValidationPolicy = {
    name: "virtualservice-catch-all-last",
    description:
        'In every VirtualService, an http or tcp route that matches every request (no match, or a match with no condition but a uri prefix "/" or regex ".*") is the last route of its kind: Istio uses the first route that matches, so routes after it, such as the weighted canary route, never receive traffic.',
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        if (!isIstio({ type: args.type, props }, "VirtualService")) {
            return;
        }
        for (const message of catchAllViolations({ name: args.name, props })) {
            reportViolation(message);
        }
    },
};
