import * as assert from "node:assert/strict";
import {
    ArgsError,
    ResolvedRouting,
    canaryRouteSpec,
    httpRoutes,
    resolveGatewayApiTrafficArgs,
    resolveTrafficArgs,
    stickySplit,
} from "../../components";

const FQDN = "shop.shop.svc.cluster.local";
const STICKY: ResolvedRouting = { httpsRedirect: true, stickyCanary: { enabled: true, cookieName: "istio-canary", maxAgeSeconds: 3600 } };
const split = (canary: number) => [
    { name: "v1", weight: 100 - canary },
    { name: "v2", weight: canary },
];

/** The message a resolver throws, or "" when it accepts the args. */
function messageOf(resolve: () => unknown): string {
    try {
        resolve();
        return "";
    } catch (e) {
        assert.ok(e instanceof ArgsError, `an ArgsError, not ${String(e)}`);
        return e.message;
    }
}

/** Whether Envoy (which matches the whole header value) would take a request with this Cookie header. */
function matchesCookieHeader(regex: string, header: string): boolean {
    return new RegExp(regex).test(header);
}

describe("sticky canary (routing.stickyCanary)", () => {
    describe("resolving the args", () => {
        it("is off unless asked for, and off when enabled is false", () => {
            const base = { service: "shop", hosts: ["shop.example.com"], versions: split(10) };
            assert.equal(resolveTrafficArgs(base).routing.stickyCanary, undefined);
            assert.equal(
                resolveTrafficArgs({ ...base, routing: { stickyCanary: { enabled: false, cookieName: "x" } } }).routing.stickyCanary,
                undefined,
            );
        });

        it("applies the defaults: cookie istio-canary, one day", () => {
            const r = resolveTrafficArgs({
                service: "shop",
                hosts: ["shop.example.com"],
                versions: split(10),
                routing: { stickyCanary: { enabled: true } },
            });
            assert.deepEqual(r.routing.stickyCanary, { enabled: true, cookieName: "istio-canary", maxAgeSeconds: 86400 });
        });

        it("names every bad field: a missing enabled, a cookie name it cannot match literally, a max-age out of range", () => {
            assert.equal(
                messageOf(() =>
                    resolveTrafficArgs({
                        service: "shop",
                        hosts: ["shop.example.com"],
                        versions: split(10),
                        routing: { stickyCanary: { cookieName: "a b;", maxAgeSeconds: 0, path: "/" } as never },
                    }),
                ),
                "Traffic: invalid args (4 problems):\n" +
                    "  - routing.stickyCanary.path is not a known field; known fields: enabled, cookieName, maxAgeSeconds\n" +
                    "  - routing.stickyCanary.enabled is missing; say whether sticky routing is on (enabled: true), or remove routing.stickyCanary\n" +
                    "  - routing.stickyCanary.cookieName is \"a b;\"; it must be a cookie name of letters, digits, '-', '_' and '.' (at most 64 characters), such as istio-canary\n" +
                    "  - routing.stickyCanary.maxAgeSeconds is 0; it must be an integer from 1 to 2592000",
            );
        });

        it("says once what the block must be when it is not an object", () => {
            assert.equal(
                messageOf(() =>
                    resolveTrafficArgs({
                        service: "shop",
                        hosts: ["shop.example.com"],
                        versions: split(10),
                        routing: { stickyCanary: true as never },
                    }),
                ),
                "Traffic: invalid args (1 problem):\n" +
                    "  - routing.stickyCanary is true; it must be an object with fields enabled, cookieName, maxAgeSeconds",
            );
        });

        it("refuses more than two versions: which one is the canary would be a guess", () => {
            assert.equal(
                messageOf(() =>
                    resolveTrafficArgs({
                        service: "shop",
                        hosts: ["shop.example.com"],
                        versions: [
                            { name: "v1", weight: 80 },
                            { name: "v2", weight: 10 },
                            { name: "v3", weight: 10 },
                        ],
                        routing: { stickyCanary: { enabled: true } },
                    }),
                ),
                "Traffic: invalid args (1 problem):\n" +
                    "  - routing.stickyCanary.enabled is true; it keeps users on the canary, the second entry of versions, and needs exactly the baseline and one canary; versions lists 3 (v1, v2, v3): remove the others, or turn sticky routing off",
            );
        });

        it("accepts a single version (after finalize): there is no canary to stick to", () => {
            const r = resolveTrafficArgs({
                service: "shop",
                hosts: ["shop.example.com"],
                versions: [{ name: "v2", weight: 100 }],
                routing: { stickyCanary: { enabled: true } },
            });
            assert.equal(stickySplit(r.versions, r.routing), undefined);
        });
    });

    describe("the cookie", () => {
        it("names the canary's version, with Max-Age, for the whole site, out of reach of scripts", () => {
            assert.deepEqual(stickySplit(split(10), STICKY), {
                version: "v2",
                cookieName: "istio-canary",
                setCookie: "istio-canary=v2; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax",
                cookieRegex: "^(.*;\\s*)?istio-canary=v2(;.*)?$",
            });
        });

        it("exists only while the canary's weight is above 0 and below 100", () => {
            assert.deepEqual(
                [0, 1, 50, 99, 100].map((w) => stickySplit(split(w), STICKY)?.version),
                [undefined, "v2", "v2", "v2", undefined],
            );
        });

        it("matches the Cookie header that carries it, wherever it is, and nothing else", () => {
            const { cookieRegex } = stickySplit(split(10), STICKY)!;
            for (const header of ["istio-canary=v2", "a=1; istio-canary=v2", "istio-canary=v2; b=2", "a=1;istio-canary=v2;b=2"]) {
                assert.ok(matchesCookieHeader(cookieRegex, header), header);
            }
            for (const header of [
                "istio-canary=v1",
                "istio-canary=v22",
                "xistio-canary=v2",
                "a=istio-canary=v2",
                "istio-canary=v2x; b=1",
                "",
            ]) {
                assert.ok(!matchesCookieHeader(cookieRegex, header), header);
            }
        });

        it("escapes a dot in the cookie name, so it matches only itself", () => {
            const { cookieRegex } = stickySplit(split(10), {
                httpsRedirect: true,
                stickyCanary: { enabled: true, cookieName: "c.v", maxAgeSeconds: 60 },
            })!;
            assert.equal(cookieRegex, "^(.*;\\s*)?c\\.v=v2(;.*)?$");
            assert.ok(matchesCookieHeader(cookieRegex, "c.v=v2"));
            assert.ok(!matchesCookieHeader(cookieRegex, "cxv=v2"));
        });
    });

    describe("VirtualService routes", () => {
        it("puts the cookie route to the canary ahead of the weighted route, whose canary destination sets the cookie", () => {
            assert.deepEqual(httpRoutes(FQDN, split(10), { ...STICKY, timeout: "5s" }), [
                {
                    name: "sticky-v2",
                    match: [{ headers: { cookie: { regex: "^(.*;\\s*)?istio-canary=v2(;.*)?$" } } }],
                    route: [{ destination: { host: FQDN, subset: "v2" } }],
                    timeout: "5s",
                },
                {
                    name: "weighted",
                    route: [
                        { destination: { host: FQDN, subset: "v1" }, weight: 90 },
                        {
                            destination: { host: FQDN, subset: "v2" },
                            weight: 10,
                            headers: {
                                response: { add: { "set-cookie": "istio-canary=v2; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax" } },
                            },
                        },
                    ],
                    timeout: "5s",
                },
            ]);
        });

        it("keeps the header route first, then the cookie route", () => {
            const routes = httpRoutes(FQDN, split(25), { ...STICKY, headerRoute: { header: "x-canary", value: "true", version: "v2" } });
            assert.deepEqual(
                routes.map((r) => r.name),
                ["header-v2", "sticky-v2", "weighted"],
            );
            assert.deepEqual(routes[0].match, [{ headers: { "x-canary": { exact: "true" } } }]);
        });

        it("emits neither the cookie route nor the cookie at 0 (rollback) and at 100", () => {
            for (const w of [0, 100]) {
                const routes = httpRoutes(FQDN, split(w), STICKY);
                assert.deepEqual(
                    routes.map((r) => r.name),
                    ["weighted"],
                    String(w),
                );
                assert.ok(
                    routes[0].route.every((d) => d.headers === undefined),
                    String(w),
                );
            }
        });
    });

    describe("HTTPRoute rules (routing.api gateway-api)", () => {
        const args = (canary: number, routing: ResolvedRouting = STICKY) =>
            resolveGatewayApiTrafficArgs({
                namespace: "shop",
                service: "shop",
                hosts: ["shop.example.com"],
                versions: split(canary),
                routing,
            });

        it("matches the Cookie header with a RegularExpression rule ahead of the weighted rule, and sets the cookie with a ResponseHeaderModifier on the canary's backendRef", () => {
            const spec = canaryRouteSpec("gw", args(10));
            assert.deepEqual(spec.rules, [
                {
                    matches: [{ headers: [{ type: "RegularExpression", name: "Cookie", value: "^(.*;\\s*)?istio-canary=v2(;.*)?$" }] }],
                    backendRefs: [{ name: "shop-v2", port: 8080 }],
                },
                {
                    backendRefs: [
                        { name: "shop-v1", port: 8080, weight: 90 },
                        {
                            name: "shop-v2",
                            port: 8080,
                            weight: 10,
                            filters: [
                                {
                                    type: "ResponseHeaderModifier",
                                    responseHeaderModifier: {
                                        add: [
                                            { name: "Set-Cookie", value: "istio-canary=v2; Max-Age=3600; Path=/; HttpOnly; SameSite=Lax" },
                                        ],
                                    },
                                },
                            ],
                        },
                    ],
                },
            ]);
        });

        it("keeps the header rule first and the weighted rule last", () => {
            const spec = canaryRouteSpec("gw", args(50, { ...STICKY, headerRoute: { header: "x-canary", value: "1", version: "v2" } }));
            assert.deepEqual(
                spec.rules.map((r) => r.matches?.[0].headers?.[0].type ?? "weighted"),
                ["Exact", "RegularExpression", "weighted"],
            );
        });

        it("emits no cookie rule and no filter at 0 and at 100", () => {
            for (const w of [0, 100]) {
                const spec = canaryRouteSpec("gw", args(w));
                assert.equal(spec.rules.length, 1, String(w));
                assert.ok(
                    spec.rules[0].backendRefs!.every((b) => b.filters === undefined),
                    String(w),
                );
            }
        });
    });
});
