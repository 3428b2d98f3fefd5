import * as assert from "node:assert/strict";
import { virtualServiceCatchAllLast } from "../../../policies/rules";
import { HOST, UNKNOWN, dest, runResourcePolicy, virtualService } from "../fixtures";

/** The program's weighted route: a catch-all, last. */
const weighted = () => ({ name: "weighted", route: [dest("v1", 90), dest("v2", 10)] });
/** A route to the stable version, placed before the weighted one with the match given. */
const stable = (match?: unknown) => ({ name: "stable", ...(match !== undefined ? { match } : {}), route: [dest("v1")] });
const check = (http: unknown[]) => runResourcePolicy(virtualServiceCatchAllLast, virtualService(http as Record<string, unknown>[]));

const TAIL =
    'so Istio never sends traffic to http[1] "weighted" (v1=90, v2=10 to myapp.default.svc.cluster.local) after it. ' +
    "Istio uses the first route that matches a request: put the catch-all route last (istioctl analyze: IST0130).";

describe("policy virtualservice-catch-all-last", () => {
    it("is a mandatory resource policy named and described for what it checks", () => {
        assert.equal(virtualServiceCatchAllLast.name, "virtualservice-catch-all-last");
        assert.equal(virtualServiceCatchAllLast.enforcementLevel, "mandatory");
        assert.match(
            virtualServiceCatchAllLast.description,
            /^In every VirtualService, an http or tcp route that matches every request .* is the last route of its kind: /,
        );
    });

    it("accepts the weighted catch-all route as the only route", async () => {
        assert.deepEqual(await check([weighted()]), []);
    });

    it("accepts narrower routes before the catch-all: a header (test users to the canary), a path, a method", async () => {
        for (const match of [
            [{ headers: { "x-canary": { exact: "1" } } }],
            [{ uri: { prefix: "/api" } }],
            [{ uri: { exact: "/" } }],
            [{ uri: { prefix: "/" }, method: { exact: "GET" } }],
            [{ uri: { regex: "/v[0-9]+/.*" } }],
        ]) {
            assert.deepEqual(await check([stable(match), weighted()]), [], JSON.stringify(match));
        }
    });

    it("rejects a route without match placed before the weighted route: it takes all traffic", async () => {
        assert.deepEqual(await check([stable(), weighted()]), [
            `VirtualService default/myapp-vs http[0] "stable" matches every request (it has no match), ${TAIL}`,
        ]);
    });

    it('rejects an empty match list, a match with no condition, a prefix "/" and a regex ".*" before it', async () => {
        const cases: [unknown, string][] = [
            [[], "it has no match"],
            [[{}], "its match[0] has no condition"],
            [[{ uri: { prefix: "/" } }], 'its match[0] has only the uri prefix "/"'],
            [[{ uri: { regex: ".*" } }], 'its match[0] has only the uri regex ".*"'],
            [[{ uri: { prefix: "/" }, ignoreUriCase: true, name: "all" }], 'its match[0] has only the uri prefix "/"'],
        ];
        for (const [match, reason] of cases) {
            assert.deepEqual(
                await check([stable(match), weighted()]),
                [`VirtualService default/myapp-vs http[0] "stable" matches every request (${reason}), ${TAIL}`],
                JSON.stringify(match),
            );
        }
    });

    it("rejects a route one of whose matches catches all (matches are ORed)", async () => {
        const found = await check([stable([{ headers: { "x-canary": { exact: "1" } } }, { uri: { prefix: "/" } }]), weighted()]);
        assert.deepEqual(found, [
            `VirtualService default/myapp-vs http[0] "stable" matches every request (its match[1] has only the uri prefix "/"), ${TAIL}`,
        ]);
    });

    it("names every route after the catch-all, and reports a tcp catch-all too", async () => {
        const found = await runResourcePolicy(
            virtualServiceCatchAllLast,
            virtualService([stable(), { match: [{ uri: { prefix: "/api" } }], route: [dest("v2")] }, weighted()], {
                tcp: [{ route: [dest("v1")] }, { match: [{ port: 5432 }], route: [dest("v2")] }],
            }),
        );
        assert.deepEqual(found, [
            'VirtualService default/myapp-vs http[0] "stable" matches every request (it has no match), so Istio never sends traffic to ' +
                `http[1] (to ${HOST}/v2), http[2] "weighted" (v1=90, v2=10 to ${HOST}) after it. ` +
                "Istio uses the first route that matches a request: put the catch-all route last (istioctl analyze: IST0130).",
            "VirtualService default/myapp-vs tcp[0] matches every request (it has no match), so Istio never sends traffic to " +
                `tcp[1] (to ${HOST}/v2) after it. Istio uses the first route that matches a request: put the catch-all route last (istioctl analyze: IST0130).`,
        ]);
    });

    it("does not count a match scoped to some callers (sourceLabels, gateways, port, sourceNamespace) as a catch-all", async () => {
        for (const match of [
            [{ sourceLabels: { app: "tester" } }],
            [{ gateways: ["mesh"] }],
            [{ port: 8080 }],
            [{ sourceNamespace: "qa" }],
        ]) {
            assert.deepEqual(await check([stable(match), weighted()]), [], JSON.stringify(match));
        }
    });

    it("says nothing when the first route, its match list, a match or a deciding field is unknown during preview", async () => {
        for (const first of [
            UNKNOWN,
            stable(UNKNOWN),
            stable([UNKNOWN]),
            stable([{ uri: UNKNOWN }]),
            stable([{ uri: { prefix: UNKNOWN } }]),
            stable([{ headers: UNKNOWN }]),
            stable([{ uri: { prefix: "/" }, method: UNKNOWN }]),
        ]) {
            assert.deepEqual(await check([first, weighted()]), [], JSON.stringify(first));
        }
    });

    it("still reports a known catch-all when a route after it is unknown during preview (that route is unreachable whatever it is)", async () => {
        const found = await check([stable(), UNKNOWN]);
        assert.equal(found.length, 1);
        assert.match(
            found[0],
            /http\[0\] "stable" matches every request \(it has no match\), so Istio never sends traffic to http\[1\] after it\./,
        );
    });

    it("ignores other kinds of resources", async () => {
        const dr = virtualService([stable(), weighted()]);
        dr.type = "kubernetes:networking.istio.io/v1:DestinationRule";
        dr.props.kind = "DestinationRule";
        assert.deepEqual(await runResourcePolicy(virtualServiceCatchAllLast, dr), []);
    });
});
