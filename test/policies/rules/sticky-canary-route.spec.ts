import * as assert from "node:assert/strict";
import { matcherAccepts, parseSetCookie } from "../../../policies/istio";
import { ALL_POLICIES, stickyCanaryRoute } from "../../../policies/rules";
import { HOST, UNKNOWN, clone, compliantStack, dest, runPolicy, runResourcePolicy, stackList, virtualService } from "../fixtures";
import { canaryRoute, compliantGatewayApiStack, gatewayApiStackList } from "../gateway-api-fixtures";

const SET_COOKIE = "istio-canary=v2; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax";
const REGEX = "^(.*;\\s*)?istio-canary=v2(;.*)?$";

/** The http routes the program emits with routing.stickyCanary at v1 90 / v2 10 (header route, sticky route, weighted route). */
function stickyHttp(weights: [unknown, unknown] = [90, 10]): Record<string, any>[] {
    return [
        { name: "header-v2", match: [{ headers: { "x-canary": { exact: "true" } } }], route: [dest("v2")] },
        { name: "sticky-v2", match: [{ headers: { cookie: { regex: REGEX } } }], route: [dest("v2")] },
        {
            name: "weighted",
            route: [dest("v1", weights[0]), { ...dest("v2", weights[1]), headers: { response: { add: { "set-cookie": SET_COOKIE } } } }],
        },
    ];
}

const check = (http: Record<string, any>[]) => runResourcePolicy(stickyCanaryRoute, virtualService(http));

/** The HTTPRoute the program emits with routing.stickyCanary and routing.api gateway-api. */
function stickyRoute(weights: [unknown, unknown] = [90, 10]) {
    const route = canaryRoute(weights);
    const [weighted] = route.props.spec.rules;
    weighted.backendRefs[1].filters = [
        { type: "ResponseHeaderModifier", responseHeaderModifier: { add: [{ name: "Set-Cookie", value: SET_COOKIE }] } },
    ];
    route.props.spec.rules = [
        {
            matches: [{ headers: [{ type: "RegularExpression", name: "Cookie", value: REGEX }] }],
            backendRefs: [{ name: "myapp-v2", port: 8080 }],
        },
        weighted,
    ];
    return route;
}

describe("policy sticky-canary-route", () => {
    it("is mandatory and says what it checks", () => {
        assert.equal(stickyCanaryRoute.name, "sticky-canary-route");
        assert.equal(stickyCanaryRoute.enforcementLevel, "mandatory");
        assert.match(stickyCanaryRoute.description, /only while its weight on the setting route is above 0 and below 100/);
    });

    it("accepts the program's sticky VirtualService: header route, cookie route to the canary, weighted route setting the cookie", async () => {
        assert.deepEqual(await check(stickyHttp()), []);
    });

    it("lets every other policy of the pack accept the sticky route (weights, catch-all last, subsets, replicas, hosts)", async () => {
        const stack = compliantStack();
        stack.vs = virtualService(stickyHttp());
        for (const policy of ALL_POLICIES) {
            assert.deepEqual(await runPolicy(policy, stackList(stack)), [], policy.name);
        }
    });

    it("rejects a sticky route that sends to the baseline", async () => {
        const http = stickyHttp();
        http[1].route = [dest("v1")];
        assert.deepEqual(await check(http), [
            `VirtualService default/myapp-vs http[1] "sticky-v2" matches the sticky cookie istio-canary=v2 that http[2] "weighted" sets on the responses of ${HOST}/v2, ` +
                `but sends to ${HOST}/v1: a sticky route sends only to the destination whose responses set its cookie.`,
        ]);
    });

    it("rejects a sticky route that splits between the versions", async () => {
        const http = stickyHttp();
        http[1].route = [dest("v1", 50), dest("v2", 50)];
        assert.deepEqual(await check(http), [
            `VirtualService default/myapp-vs http[1] "sticky-v2" matches the sticky cookie istio-canary=v2 that http[2] "weighted" sets on the responses of ${HOST}/v2, ` +
                `but sends to ${HOST}/v1, ${HOST}/v2: a sticky route sends only to the destination whose responses set its cookie.`,
        ]);
    });

    it("compares hosts as Istio resolves them: a short host is the same destination", async () => {
        const http = stickyHttp();
        http[1].route = [dest("v2", undefined, "myapp")];
        assert.deepEqual(await check(http), []);
    });

    for (const [weights, share] of [
        [[100, 0], 0],
        [[0, 100], 100],
    ] as [[number, number], number][]) {
        it(`rejects the sticky route while the canary's weight is ${weights[1]} (${weights[1] === 0 ? "a rollback that left it" : "promoted"})`, async () => {
            assert.deepEqual(await check(stickyHttp(weights)), [
                `VirtualService default/myapp-vs http[1] "sticky-v2" matches the sticky cookie istio-canary=v2 that http[2] "weighted" sets on the responses of ${HOST}/v2, ` +
                    `while ${HOST}/v2 gets ${share}% of that route's traffic: a sticky route exists only while its canary's weight is above 0 and below 100. ` +
                    "At 0 (before the first shift, after a rollback) it keeps the users the canary served on a version the weights took out of traffic; at 100 it has nothing left to do. " +
                    "Remove it with the weight change (routing.stickyCanary emits it only in between).",
            ]);
        });
    }

    it("rejects the cookie set on every response of the weighted route, the baseline's too", async () => {
        const http = stickyHttp();
        delete http[2].route[1].headers;
        http[2].headers = { response: { set: { "Set-Cookie": SET_COOKIE } } };
        assert.deepEqual(await check(http), [
            'VirtualService default/myapp-vs http[1] "sticky-v2" matches the sticky cookie istio-canary=v2, which http[2] "weighted" sets on every response of the route, ' +
                "not only the canary's: every user that route serves would stick. Set the cookie on the canary's destination only.",
        ]);
    });

    it("recognizes a hand-written sticky route by what its matcher accepts: exact, prefix and other regexes", async () => {
        for (const matcher of [{ exact: "istio-canary=v2" }, { prefix: "istio-canary=v2" }, { regex: ".*istio-canary=v2.*" }]) {
            const http = stickyHttp();
            http[1].match = [{ headers: { Cookie: matcher } }];
            http[1].route = [dest("v1")];
            assert.equal((await check(http)).length, 1, JSON.stringify(matcher));
        }
    });

    it("leaves cookie routes alone that match no cookie a route sets (an opt-in cookie of the app)", async () => {
        const http = stickyHttp();
        http[1].match = [{ headers: { cookie: { regex: ".*beta=1.*" } } }];
        http[1].route = [dest("v1")];
        assert.deepEqual(await check(http), []);
    });

    it("says nothing when the weights, the sticky route's destination or its matcher are unknown during preview", async () => {
        assert.deepEqual(await check(stickyHttp([UNKNOWN, UNKNOWN])), []);
        const http = stickyHttp();
        http[1].route = [UNKNOWN];
        assert.deepEqual(await check(http), []);
        const unknownMatch = stickyHttp([100, 0]);
        unknownMatch[1].match = [{ headers: { cookie: { regex: UNKNOWN } } }];
        assert.deepEqual(await check(unknownMatch), []);
    });

    describe("HTTPRoute (routing.api gateway-api)", () => {
        it("accepts the program's sticky HTTPRoute, and every other policy accepts it too", async () => {
            assert.deepEqual(await runResourcePolicy(stickyCanaryRoute, stickyRoute()), []);
            const stack = compliantGatewayApiStack();
            stack.route = stickyRoute();
            for (const policy of ALL_POLICIES) {
                assert.deepEqual(await runPolicy(policy, gatewayApiStackList(stack)), [], policy.name);
            }
        });

        it("rejects a sticky rule to the baseline's Service", async () => {
            const route = stickyRoute();
            route.props.spec.rules[0].backendRefs = [{ name: "myapp-v1", port: 8080 }];
            assert.deepEqual(await runResourcePolicy(stickyCanaryRoute, route), [
                'HTTPRoute default/myapp-route rules[0] matches the sticky cookie istio-canary=v2 that rules[1] "weighted" sets on the responses of Service default/myapp-v2 port 8080, ' +
                    "but sends to Service default/myapp-v1 port 8080: a sticky route sends only to the destination whose responses set its cookie.",
            ]);
        });

        it("rejects the sticky rule after a rollback to 0", async () => {
            const messages = await runResourcePolicy(stickyCanaryRoute, stickyRoute([100, 0]));
            assert.equal(messages.length, 1);
            assert.match(
                messages[0],
                /while Service default\/myapp-v2 port 8080 gets 0% of that route's traffic: a sticky route exists only while/,
            );
        });

        it("rejects the cookie set by a rule-level filter", async () => {
            const route = stickyRoute();
            const weighted = route.props.spec.rules[1];
            weighted.filters = clone(weighted.backendRefs[1].filters);
            delete weighted.backendRefs[1].filters;
            const messages = await runResourcePolicy(stickyCanaryRoute, route);
            assert.equal(messages.length, 1);
            assert.match(messages[0], /which rules\[1\] "weighted" sets on every response of the route/);
        });
    });

    describe("its helpers", () => {
        it("reads the cookie pair of a Set-Cookie value", () => {
            assert.deepEqual(parseSetCookie(SET_COOKIE), { name: "istio-canary", value: "v2" });
            assert.equal(parseSetCookie("; nothing"), undefined);
            assert.equal(parseSetCookie(3), undefined);
        });

        it("answers unknown for a regex JavaScript cannot compile (RE2-only syntax), never yes", () => {
            assert.equal(
                matcherAccepts({ type: "regex", value: "(?P<x>istio-canary=v2)" }, { name: "istio-canary", value: "v2" }),
                "unknown",
            );
            assert.equal(matcherAccepts({ type: "regex", value: REGEX }, { name: "istio-canary", value: "v1" }), "no");
        });
    });
});
