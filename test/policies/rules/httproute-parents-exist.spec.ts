import * as assert from "node:assert/strict";
import { httpRouteParentsExist } from "../../../policies/rules";
import { UNKNOWN, resource, runStackPolicy } from "../fixtures";
import { GATEWAY_NAME, compliantGatewayApiStack, gatewayApiStackList } from "../gateway-api-fixtures";

const run = (stack: ReturnType<typeof compliantGatewayApiStack>, extra: ReturnType<typeof resource>[] = []) =>
    runStackPolicy(httpRouteParentsExist, [...gatewayApiStackList(stack), ...extra]);
const TAIL = " The route would not attach there (Accepted: False) and would route nothing through it.";

describe("policy httproute-parents-exist", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(httpRouteParentsExist.name, "httproute-parents-exist");
        assert.equal(httpRouteParentsExist.enforcementLevel, "mandatory");
        assert.match(httpRouteParentsExist.description, /^Every parentRef of an HTTPRoute .*\.$/);
    });

    it("accepts the compliant stack (the auto-named Gateway's listeners and the app Service)", async () => {
        assert.deepEqual(await run(compliantGatewayApiStack()), []);
    });

    it("rejects a parentRef to a Gateway the stack does not have, listing its Gateways", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.parentRefs[0].name = "other-gateway";
        assert.deepEqual(await run(stack), [
            {
                urn: stack.route.urn,
                message:
                    "HTTPRoute default/myapp-route parentRefs[0] names Gateway istio-system/other-gateway listener https-0, but the stack has no Gateway other-gateway in namespace istio-system " +
                    "(its Gateways: Gateway default/myapp-waypoint, Gateway istio-system/myapp-gateway)." +
                    TAIL,
            },
        ]);
    });

    it("rejects a parentRef to the Gateway's name in the route's namespace (parentRefs default to it)", async () => {
        const stack = compliantGatewayApiStack();
        delete stack.route.props.spec.parentRefs[0].namespace;
        assert.match(
            (await run(stack))[0].message,
            new RegExp(
                `names Gateway default/${GATEWAY_NAME} listener https-0, but the stack has no Gateway ${GATEWAY_NAME} in namespace default`,
            ),
        );
    });

    it("rejects a sectionName that names no listener, listing the listeners", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.parentRefs[0].sectionName = "https";
        assert.deepEqual(
            (await run(stack)).map((v) => v.message),
            [
                `HTTPRoute default/myapp-route parentRefs[0] names Gateway istio-system/${GATEWAY_NAME} listener https, but Gateway istio-system/myapp-gateway has no listener named https ` +
                    "(its listeners: https-0 (443/HTTPS ambient.myapp.example.com), http (80/HTTP))." +
                    TAIL,
            ],
        );
    });

    it("rejects a port no listener has", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.parentRefs[0].port = 8443;
        assert.match((await run(stack))[0].message, /has no listener on port 8443 named https-0 \(its listeners: /);
    });

    it("rejects a listener that does not admit the route's namespace", async () => {
        const stack = compliantGatewayApiStack();
        stack.gateway.props.spec.listeners[0].allowedRoutes = { namespaces: { from: "Same" } };
        assert.match(
            (await run(stack))[0].message,
            /but no listener of Gateway istio-system\/myapp-gateway it names accepts the route: listener https-0 \(443\/HTTPS ambient\.myapp\.example\.com\): it admits routes of namespace istio-system only \(allowedRoutes\.namespaces\.from: Same\)\./,
        );
        const selector = compliantGatewayApiStack();
        selector.gateway.props.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels = { "kubernetes.io/metadata.name": "shop" };
        assert.match(
            (await run(selector))[0].message,
            /it admits routes of namespaces selected by \{kubernetes\.io\/metadata\.name: shop\} only, and namespace default, labelled \{.*\}, is not one\./,
        );
    });

    it("judges a selector on other namespace labels only from what the stack sets", async () => {
        const stack = compliantGatewayApiStack();
        stack.gateway.props.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels = { "istio.io/dataplane-mode": "ambient" };
        assert.deepEqual(await run(stack), []);
        stack.gateway.props.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels = { team: "shop" };
        assert.deepEqual(await run(stack), [], "the patched namespace may have other labels");
        stack.namespace = resource("kubernetes:core/v1:Namespace", "myapp-ns", {
            metadata: { name: "default", labels: { "istio.io/dataplane-mode": "ambient" } },
        });
        assert.match(
            (await run(stack))[0].message,
            /selected by \{team: shop\} only, and namespace default, labelled \{istio\.io\/dataplane-mode: ambient, kubernetes\.io\/metadata\.name: default\}, is not one/,
        );
    });

    it("rejects a listener whose hostname none of the route's hostnames matches, and a listener that takes no HTTPRoute", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.hostnames = ["other.example.com"];
        assert.match(
            (await run(stack))[0].message,
            /it serves ambient\.myapp\.example\.com, which none of the route's hostnames \(other\.example\.com\) matches\./,
        );
        const wildcard = compliantGatewayApiStack();
        wildcard.route.props.spec.hostnames = ["*.myapp.example.com"];
        assert.deepEqual(await run(wildcard), []);
        const tls = compliantGatewayApiStack();
        tls.gateway.props.spec.listeners[0].protocol = "TLS";
        assert.match((await run(tls))[0].message, /a TLS listener takes no HTTPRoute/);
        const kinds = compliantGatewayApiStack();
        kinds.gateway.props.spec.listeners[0].allowedRoutes.kinds = [{ kind: "GRPCRoute" }];
        assert.match((await run(kinds))[0].message, /its allowedRoutes\.kinds \(GRPCRoute\) leave out HTTPRoute/);
    });

    it("rejects a Service parentRef to a Service the stack does not have, or on a port it does not expose", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.parentRefs[1].name = "myap";
        assert.deepEqual(
            (await run(stack)).map((v) => v.message),
            [
                "HTTPRoute default/myapp-route parentRefs[1] names Service default/myap port 8080, but the stack has no Service myap in namespace default." +
                    TAIL,
            ],
        );
        const port = compliantGatewayApiStack();
        port.route.props.spec.parentRefs[1].port = 80;
        assert.match(
            (await run(port))[0].message,
            /names Service default\/myapp port 80, but Service default\/myapp has no port 80 \(its ports: 8080\)\./,
        );
    });

    it("finds a Gateway with metadata.name by that name, and an auto-named one only by the name Pulumi generates", async () => {
        const named = compliantGatewayApiStack();
        named.gateway.props.metadata.name = "public";
        named.route.props.spec.parentRefs[0].name = "public";
        named.redirect.props.spec.parentRefs[0].name = "public";
        assert.deepEqual(await run(named), []);
        const plain = compliantGatewayApiStack();
        plain.route.props.spec.parentRefs[0].name = "myapp-gateway";
        assert.equal((await run(plain)).length, 1, "an auto-named Gateway is never called by its resource name");
    });

    it("says nothing when parentRefs, a parentRef or its name (the Gateway's generated name) is unknown during preview", async () => {
        for (const edit of [
            (s: ReturnType<typeof compliantGatewayApiStack>) => (s.route.props.spec.parentRefs = UNKNOWN),
            (s: ReturnType<typeof compliantGatewayApiStack>) => (s.route.props.spec.parentRefs[0] = UNKNOWN),
            (s: ReturnType<typeof compliantGatewayApiStack>) => (s.route.props.spec.parentRefs[0].name = UNKNOWN),
        ]) {
            const stack = compliantGatewayApiStack();
            edit(stack);
            stack.gateway.props.spec.listeners[0].allowedRoutes = { namespaces: { from: "Same" } }; // would be wrong if known
            assert.deepEqual(await run(stack), []);
        }
    });

    it("says nothing when the Gateway's name, listeners or the namespace labels are unknown during preview", async () => {
        const name = compliantGatewayApiStack();
        name.route.props.spec.parentRefs[0].name = "other-gateway";
        name.gateway.props.metadata.name = UNKNOWN;
        assert.deepEqual(await run(name), []);
        const listeners = compliantGatewayApiStack();
        listeners.route.props.spec.parentRefs[0].sectionName = "https";
        listeners.gateway.props.spec.listeners = UNKNOWN;
        assert.deepEqual(await run(listeners), []);
        const labels = compliantGatewayApiStack();
        labels.gateway.props.spec.listeners[0].allowedRoutes.namespaces.selector.matchLabels = { team: "shop" };
        labels.namespace.props.metadata.labels = UNKNOWN;
        assert.deepEqual(await run(labels), []);
    });
});
