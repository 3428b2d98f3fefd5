import * as assert from "node:assert/strict";
import { httpRouteWeights } from "../../../policies/rules";
import { UNKNOWN, runResourcePolicy } from "../fixtures";
import { canaryRoute, gatewayApi, redirectRoute } from "../gateway-api-fixtures";

/** The canary route with its weighted rule's backendRefs replaced. */
function withBackends(backendRefs: unknown): ReturnType<typeof canaryRoute> {
    const route = canaryRoute();
    route.props.spec.rules[0].backendRefs = backendRefs;
    return route;
}

const backend = (name: string, weight?: unknown) => ({ name, port: 8080, ...(weight !== undefined ? { weight } : {}) });
const check = (r: ReturnType<typeof canaryRoute>) => runResourcePolicy(httpRouteWeights, r);

describe("policy httproute-weights", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(httpRouteWeights.name, "httproute-weights");
        assert.equal(httpRouteWeights.enforcementLevel, "mandatory");
        assert.match(httpRouteWeights.description, /^Every rule of an HTTPRoute .*\.$/);
    });

    it("accepts the compliant 90/10 rule and the redirect rule without backends", async () => {
        assert.deepEqual(await check(canaryRoute()), []);
        assert.deepEqual(await check(redirectRoute()), []);
    });

    it("rejects weights 90/20, with the weights found and Gateway API's real split", async () => {
        assert.deepEqual(await check(canaryRoute([90, 20])), [
            'HTTPRoute default/myapp-route rules[0] "weighted": the weights sum to 110, not 100 (weights found: myapp-v1=90, myapp-v2=20). ' +
                "Gateway API would accept this and send 81.8% / 18.2%.",
        ]);
    });

    it("rejects a missing weight next to others, saying Gateway API counts it as 1", async () => {
        assert.deepEqual(await check(withBackends([backend("myapp-v1", 100), backend("myapp-v2")])), [
            'HTTPRoute default/myapp-route rules[0] "weighted": backendRefs[1] has no weight (Gateway API then gives it 1) (weights found: myapp-v1=100, myapp-v2=(none)). ' +
                "Gateway API would accept this and send 99% / 1%.",
        ]);
    });

    it("rejects weights outside 0-100, fractional and string weights", async () => {
        assert.deepEqual(await check(withBackends([backend("myapp-v1", 1000), backend("myapp-v2", -900)])), [
            'HTTPRoute default/myapp-route rules[0] "weighted": backendRefs[0] has weight 1000, outside 0-100; backendRefs[1] has weight -900, outside 0-100 (weights found: myapp-v1=1000, myapp-v2=-900).',
        ]);
        const fractional = await check(withBackends([backend("myapp-v1", 50.5), backend("myapp-v2", 49.5)]));
        assert.match(fractional[0], /backendRefs\[0\] has weight 50\.5, not an integer; backendRefs\[1\] has weight 49\.5, not an integer/);
        const strings = await check(withBackends([backend("myapp-v1", "90"), backend("myapp-v2", "10")]));
        assert.match(strings[0], /backendRefs\[0\] has weight "90", a string; backendRefs\[1\] has weight "10", a string/);
    });

    it("accepts a single backendRef with no weight or 100 and rejects one with weight 0", async () => {
        assert.deepEqual(await check(withBackends([backend("myapp-v1")])), []);
        assert.deepEqual(await check(withBackends([backend("myapp-v1", 100)])), []);
        assert.deepEqual(await check(withBackends([backend("myapp-v1", 0)])), [
            'HTTPRoute default/myapp-route rules[0] "weighted": its only backendRef has weight 0; a single backendRef takes no weight or 100 (weights found: myapp-v1=0).',
        ]);
    });

    it("accepts three backends summing to 100, and names only the rule that is wrong", async () => {
        assert.deepEqual(await check(withBackends([backend("a", 50), backend("b", 30), backend("c", 20)])), []);
        const route = canaryRoute([90, 20]);
        route.props.spec.rules.unshift({
            name: "header-v2",
            matches: [{ headers: [{ type: "Exact", name: "x-canary", value: "true" }] }],
            backendRefs: [backend("myapp-v2")],
        });
        const messages = await check(route);
        assert.equal(messages.length, 1);
        assert.match(messages[0], /^HTTPRoute default\/myapp-route rules\[1\] "weighted": the weights sum to 110/);
    });

    it("checks an HTTPRoute of gateway.networking.k8s.io/v1beta1, and one recognised by apiVersion and kind only", async () => {
        const beta = gatewayApi(
            "HTTPRoute",
            "beta-route",
            { namespace: "default" },
            canaryRoute([60, 60]).props.spec,
            "gateway.networking.k8s.io/v1beta1",
        );
        assert.match((await check(beta))[0], /^HTTPRoute default\/beta-route rules\[0\] "weighted": the weights sum to 120, not 100/);
        const generic = canaryRoute([60, 60]);
        generic.type = "kubernetes:apiextensions.k8s.io/v1:CustomResource";
        assert.equal((await check(generic)).length, 1);
    });

    it("ignores other kinds with rules and backendRefs", async () => {
        const grpc = gatewayApi("GRPCRoute", "grpc", { namespace: "default" }, canaryRoute([60, 60]).props.spec);
        assert.deepEqual(await check(grpc), []);
    });

    it("says nothing when a weight, a backendRef, the backendRefs, a rule or the spec is unknown during preview", async () => {
        assert.deepEqual(await check(canaryRoute([UNKNOWN, 10])), []);
        assert.deepEqual(await check(withBackends([UNKNOWN, backend("myapp-v2", 10)])), []);
        assert.deepEqual(await check(withBackends(UNKNOWN)), []);
        const rule = canaryRoute();
        rule.props.spec.rules = [UNKNOWN];
        assert.deepEqual(await check(rule), []);
        const spec = canaryRoute();
        spec.props.spec = UNKNOWN as unknown as Record<string, unknown>;
        assert.deepEqual(await check(spec), []);
    });

    it("still rejects known weights already above 100 next to an unknown one", async () => {
        assert.deepEqual(await check(withBackends([backend("a", 80), backend("b", 40), backend("c", UNKNOWN)])), [
            'HTTPRoute default/myapp-route rules[0] "weighted": the known weights already sum to 120, more than 100 (weights found: a=80, b=40, c=(unknown)).',
        ]);
    });
});
