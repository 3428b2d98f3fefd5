/**
 * VirtualService routes and the weight rules as pure functions.
 */
import { Obj, arr, isObj, isUnknown, obj, show, str } from "./values";
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
    /** False when the route entry itself is unknown during preview (or not an object): `route` is then `{}`. */
    known: boolean;
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
                known: isObj(route),
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

/** How weight messages name the weighted things: Istio route destinations or Gateway API backendRefs. */
export interface WeightNaming {
    /** The i-th item, e.g. `destination 1` or `backendRefs[1]`. */
    item(i: number): string;
    /** The thing in the singular, e.g. `destination`. */
    single: string;
    /** The problem of a missing weight, e.g. `has no weight`. */
    missing: string;
}

/** Istio's naming: `destination <i>`. */
export const DESTINATION_NAMING: WeightNaming = { item: (i) => `destination ${i}`, single: "destination", missing: "has no weight" };

export function weightProblem(w: unknown, missing = DESTINATION_NAMING.missing): string | undefined {
    if (w === undefined) {
        return missing;
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
export function checkWeights(weights: readonly unknown[], naming: WeightNaming = DESTINATION_NAMING): WeightCheck {
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
        return {
            status: "invalid",
            problems: [`its only ${naming.single} has weight ${show(w)}; a single ${naming.single} takes no weight or 100`],
        };
    }
    const problems: string[] = [];
    let unknown = false;
    let sum = 0;
    weights.forEach((w, i) => {
        if (isUnknown(w)) {
            unknown = true;
            return;
        }
        const problem = weightProblem(w, naming.missing);
        if (problem !== undefined) {
            problems.push(`${naming.item(i)} ${problem}`);
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

/** Whether a route takes every request that reaches it, and why (for messages). */
export type CatchAll = { catchesAll: true; reason: string } | { catchesAll: false } | { catchesAll: "unknown" };

/** HTTPMatchRequest fields that narrow a match to some requests (Istio turns them into Envoy header/query matchers). */
const HTTP_NARROWING = ["headers", "withoutHeaders", "queryParams", "method", "authority", "scheme"] as const;

/**
 * HTTPMatchRequest fields that make a match apply to some proxies or ports only. Istio drops such a
 * match where it does not apply, so a catch-all with them catches all only for some callers; the pack
 * does not count those as catch-alls.
 */
const HTTP_SCOPING = ["port", "sourceLabels", "gateways", "sourceNamespace"] as const;

/** True when a match field sets no condition: absent, null, "", 0, {} or []. */
function noCondition(v: unknown): boolean {
    return (
        v === undefined ||
        v === null ||
        v === "" ||
        v === 0 ||
        (Array.isArray(v) && v.length === 0) ||
        (isObj(v) && Object.keys(v).length === 0)
    );
}

/**
 * Whether one HTTPMatchRequest matches every request, as Istio decides it (pilot
 * networking/core/route/route.go: TranslateRouteMatch makes a match without uri a `/` prefix, and
 * IsCatchAllRoute is a `/` prefix or `.*` regex with no header, query or metadata matcher). Pure.
 */
export function httpMatchCatchesAll(match: unknown, index: number): CatchAll {
    if (isUnknown(match)) {
        return { catchesAll: "unknown" };
    }
    const m = obj(match);
    if (m === undefined) {
        return { catchesAll: false };
    }
    let unknown = false;
    for (const field of [...HTTP_NARROWING, ...HTTP_SCOPING]) {
        const v = m[field];
        if (isUnknown(v)) {
            unknown = true;
        } else if (!noCondition(v)) {
            return { catchesAll: false };
        }
    }
    let reason = `its match[${index}] has no condition`;
    const uri = m.uri;
    if (isUnknown(uri)) {
        unknown = true;
    } else if (!noCondition(uri)) {
        const u = obj(uri) ?? {};
        if (u.exact !== undefined) {
            return { catchesAll: false };
        }
        const [kind, value, everything] = u.prefix !== undefined ? ["prefix", u.prefix, "/"] : ["regex", u.regex, ".*"];
        if (isUnknown(value)) {
            unknown = true;
        } else if (value !== everything) {
            return { catchesAll: false };
        }
        reason = `its match[${index}] has only the uri ${kind} ${JSON.stringify(everything)}`;
    }
    return unknown ? { catchesAll: "unknown" } : { catchesAll: true, reason };
}

/**
 * Whether a route takes every request that reaches it: an http or tcp route without match (Istio's
 * validation warns "route without matches defined before" for the routes after one, and istioctl
 * analyze reports IST0130), or an http route one of whose matches catches all (matches are ORed).
 * A tls route always has sniHosts matches. Unknown during preview when the route, its match list
 * or a deciding field is unknown. Pure.
 */
export function routeCatchesAll(route: RouteRef): CatchAll {
    if (!route.known) {
        return { catchesAll: "unknown" };
    }
    const match = route.route.match;
    if (isUnknown(match)) {
        return { catchesAll: "unknown" };
    }
    if (match === undefined || match === null || (Array.isArray(match) && match.length === 0)) {
        return route.kind === "tls" ? { catchesAll: false } : { catchesAll: true, reason: "it has no match" };
    }
    if (route.kind !== "http" || !Array.isArray(match)) {
        return { catchesAll: false };
    }
    let unknown = false;
    for (const [i, m] of match.entries()) {
        const c = httpMatchCatchesAll(m, i);
        if (c.catchesAll === true) {
            return c;
        }
        unknown = unknown || c.catchesAll === "unknown";
    }
    return unknown ? { catchesAll: "unknown" } : { catchesAll: false };
}
