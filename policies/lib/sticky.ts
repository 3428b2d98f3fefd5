/**
 * Sticky canary routes as pure functions, for VirtualService http routes and HTTPRoute rules alike:
 * the cookies a route's responses set (Set-Cookie added or set on one destination or on the whole
 * route), the routes that match such a cookie in the Cookie header, and what is wrong with them.
 * Nothing here reports violations; the rule does.
 */
import { backendDefaults, readRef, refLabel } from "./gateway-api";
import { resolveHost } from "./hosts";
import { destinationLabel, routesOf } from "./routes";
import { Obj, arr, isUnknown, obj, str } from "./values";

/** A cookie a route's responses set: `name=value`. */
export interface SetCookie {
    /** Cookie name. */
    name: string;
    /** Cookie value. */
    value: string;
}

/** How a route matches the Cookie header. */
export interface CookieMatcher {
    /** Exact value, prefix of the value, or a regex over the whole value (Envoy matches regexes against the whole header). */
    type: "exact" | "prefix" | "regex";
    /** The matcher's value. */
    value: string;
}

/** Where a route sends traffic, as the sticky checks compare it. */
export interface RouteTarget {
    /** A key equal for two references to the same backend (resolved host and subset, or backend ref); undefined when unknown. */
    key: string | undefined;
    /** How messages name it. */
    label: string;
    /** The cookies this target's responses set. */
    cookies: SetCookie[];
}

/** One VirtualService http route or HTTPRoute rule, reduced to what the sticky checks read. */
export interface StickyRouteView {
    /** How messages name it: `http[0] "sticky-v2"`, `rules[1]`. */
    label: string;
    /** Its Cookie header matchers (known ones only). */
    cookieMatchers: CookieMatcher[];
    /** Its destinations or backendRefs; undefined when the list is unknown during preview. */
    targets: RouteTarget[] | undefined;
    /** The raw traffic weight of each target as the API applies it (a lone one counts 100); undefined when any is unknown or not a number. */
    weights: number[] | undefined;
    /** Cookies set on every response of the route (route-level header changes). */
    routeCookies: SetCookie[];
}

/** Reads `name=value` from a Set-Cookie header value; undefined when it has no cookie pair. Pure. */
export function parseSetCookie(value: unknown): SetCookie | undefined {
    const text = str(value);
    const m = text === undefined ? null : /^\s*([^=;\s]+)=([^;]*)/.exec(text);
    return m ? { name: m[1], value: m[2].trim() } : undefined;
}

/** Cookies set by Istio `headers` ({request, response: {add, set, remove}}): response add and set of Set-Cookie. Pure. */
export function istioSetCookies(headers: unknown): SetCookie[] {
    const response = obj(obj(headers)?.response);
    const out: SetCookie[] = [];
    for (const op of [response?.add, response?.set]) {
        for (const [name, value] of Object.entries(obj(op) ?? {})) {
            const cookie = name.toLowerCase() === "set-cookie" ? parseSetCookie(value) : undefined;
            if (cookie !== undefined) {
                out.push(cookie);
            }
        }
    }
    return out;
}

/** Cookies set by Gateway API filters: ResponseHeaderModifier add and set of Set-Cookie. Pure. */
export function gatewayApiSetCookies(filters: unknown): SetCookie[] {
    const out: SetCookie[] = [];
    for (const f of arr(filters)) {
        const modifier = obj(obj(f)?.responseHeaderModifier);
        for (const h of [...arr(modifier?.add), ...arr(modifier?.set)]) {
            const header = obj(h);
            const cookie = str(header?.name)?.toLowerCase() === "set-cookie" ? parseSetCookie(header?.value) : undefined;
            if (cookie !== undefined) {
                out.push(cookie);
            }
        }
    }
    return out;
}

/**
 * Whether a matcher takes a request whose Cookie header carries `cookie`, alone or next to others:
 * `yes`, `no`, or `unknown` for a regex JavaScript cannot compile (RE2-only syntax). Pure.
 */
export function matcherAccepts(matcher: CookieMatcher, cookie: SetCookie): "yes" | "no" | "unknown" {
    const pair = `${cookie.name}=${cookie.value}`;
    const headers = [pair, `other=1; ${pair}`, `${pair}; other=1`];
    if (matcher.type === "exact") {
        return headers.includes(matcher.value) ? "yes" : "no";
    }
    if (matcher.type === "prefix") {
        return headers.some((h) => h.startsWith(matcher.value)) ? "yes" : "no";
    }
    let re: RegExp;
    try {
        re = new RegExp(`^(?:${matcher.value})$`);
    } catch {
        return "unknown";
    }
    return headers.some((h) => re.test(h)) ? "yes" : "no";
}

/** The http routes of a VirtualService spec in namespace `ns`, as the sticky checks read them. Pure. */
export function virtualServiceStickyViews(spec: Obj, ns: string): StickyRouteView[] {
    return routesOf(spec)
        .filter((r) => r.kind === "http")
        .map((route) => {
            const cookieMatchers: CookieMatcher[] = [];
            for (const m of arr(route.route.match)) {
                for (const [name, match] of Object.entries(obj(obj(m)?.headers) ?? {})) {
                    const sm = obj(match);
                    if (name.toLowerCase() !== "cookie" || sm === undefined) {
                        continue;
                    }
                    for (const type of ["exact", "prefix", "regex"] as const) {
                        const value = str(sm[type]);
                        if (value !== undefined) {
                            cookieMatchers.push({ type, value });
                        }
                    }
                }
            }
            const raw = route.destinations.map((d) => d.weight);
            const weights = raw.length === 1 && raw[0] === undefined ? [100] : raw;
            return {
                label: route.label,
                cookieMatchers,
                targets:
                    route.known && !isUnknown(route.route.route)
                        ? route.destinations.map((d) => {
                              const dest = obj(d.destination);
                              const host = str(dest?.host);
                              const subset = dest?.subset === undefined ? "" : str(dest.subset);
                              return {
                                  key: host === undefined || subset === undefined ? undefined : `${resolveHost(host, ns)}/${subset}`,
                                  label: destinationLabel(d.destination),
                                  cookies: istioSetCookies(d.headers),
                              };
                          })
                        : undefined,
                weights: weights.every((w) => typeof w === "number" && Number.isFinite(w)) ? (weights as number[]) : undefined,
                routeCookies: istioSetCookies(route.route.headers),
            };
        });
}

/** The rules of an HTTPRoute spec in namespace `ns`, as the sticky checks read them (a missing weight counts 1, as Gateway API applies it). Pure. */
export function httpRouteStickyViews(spec: Obj, ns: string): StickyRouteView[] {
    const out: StickyRouteView[] = [];
    arr(spec.rules).forEach((v, index) => {
        const rule = obj(v);
        if (rule === undefined) {
            return;
        }
        const cookieMatchers: CookieMatcher[] = [];
        for (const m of arr(rule.matches)) {
            for (const h of arr(obj(m)?.headers)) {
                const header = obj(h);
                const value = str(header?.value);
                const type = header?.type === undefined ? "Exact" : str(header.type);
                if (
                    str(header?.name)?.toLowerCase() === "cookie" &&
                    value !== undefined &&
                    (type === "Exact" || type === "RegularExpression")
                ) {
                    cookieMatchers.push({ type: type === "Exact" ? "exact" : "regex", value });
                }
            }
        }
        const backends = arr(rule.backendRefs);
        const raw = backends.map((b) => (obj(b) === undefined ? b : (obj(b)!.weight ?? 1)));
        const name = str(rule.name);
        out.push({
            label: `rules[${index}]${name !== undefined ? ` "${name}"` : ""}`,
            cookieMatchers,
            targets: isUnknown(rule.backendRefs)
                ? undefined
                : backends.map((b) => {
                      const ref = readRef(b, backendDefaults(ns));
                      return {
                          key: ref === undefined ? undefined : refLabel(ref),
                          label: ref === undefined ? "(unknown backendRef)" : refLabel(ref),
                          cookies: gatewayApiSetCookies(obj(b)?.filters),
                      };
                  }),
            weights: raw.every((w) => typeof w === "number" && Number.isFinite(w)) ? (raw as number[]) : undefined,
            routeCookies: gatewayApiSetCookies(rule.filters),
        });
    });
    return out;
}

/**
 * What is wrong with the sticky routes among `views`: a route that matches a cookie another route
 * sets (a sticky route) must send only to the target whose responses set it, only while that
 * target's weight is above 0 and below the route's total, and the cookie must be set by that target
 * alone, not on every response of the route. Unknown values are never violations. Pure.
 */
export function stickyProblems(views: readonly StickyRouteView[]): string[] {
    const out: string[] = [];
    for (const sticky of views) {
        if (sticky.cookieMatchers.length === 0) {
            continue;
        }
        for (const setter of views) {
            if (setter === sticky) {
                continue;
            }
            const matches = (c: SetCookie) => sticky.cookieMatchers.some((m) => matcherAccepts(m, c) === "yes");
            for (const cookie of setter.routeCookies.filter(matches)) {
                out.push(
                    `${sticky.label} matches the sticky cookie ${cookie.name}=${cookie.value}, which ${setter.label} sets on every response of the route, ` +
                        `not only the canary's: every user that route serves would stick. Set the cookie on the canary's destination only.`,
                );
            }
            (setter.targets ?? []).forEach((target, i) => {
                for (const cookie of target.cookies.filter(matches)) {
                    const prefix = `${sticky.label} matches the sticky cookie ${cookie.name}=${cookie.value} that ${setter.label} sets on the responses of ${target.label}`;
                    const targets = sticky.targets;
                    if (
                        targets !== undefined &&
                        target.key !== undefined &&
                        targets.every((t) => t.key !== undefined) &&
                        !(targets.length === 1 && targets[0].key === target.key)
                    ) {
                        out.push(
                            `${prefix}, but sends to ${targets.map((t) => t.label).join(", ") || "nothing"}: a sticky route sends only to the destination whose responses set its cookie.`,
                        );
                    }
                    const weights = setter.weights;
                    if (weights !== undefined && weights.length === (setter.targets ?? []).length) {
                        const sum = weights.reduce((a, b) => a + b, 0);
                        if (!(weights[i] > 0 && weights[i] < sum)) {
                            const share = sum > 0 ? Math.round((weights[i] / sum) * 1000) / 10 : 0;
                            out.push(
                                `${prefix}, while ${target.label} gets ${share}% of that route's traffic: a sticky route exists only while its canary's weight is above 0 and below 100. ` +
                                    `At 0 (before the first shift, after a rollback) it keeps the users the canary served on a version the weights took out of traffic; at 100 it has nothing left to do. ` +
                                    `Remove it with the weight change (routing.stickyCanary emits it only in between).`,
                            );
                        }
                    }
                }
            });
        }
    }
    return out;
}
