import * as assert from "node:assert/strict";
import { httpRouteBackendsExist } from "../../../policies/rules";
import { UNKNOWN, deployment, resource, runStackPolicy } from "../fixtures";
import { appService, compliantGatewayApiStack, gatewayApiStackList, referenceGrant } from "../gateway-api-fixtures";

const run = (stack: ReturnType<typeof compliantGatewayApiStack>, extra: ReturnType<typeof resource>[] = []) =>
    runStackPolicy(httpRouteBackendsExist, [...gatewayApiStackList(stack), ...extra]);

describe("policy httproute-backends-exist", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(httpRouteBackendsExist.name, "httproute-backends-exist");
        assert.equal(httpRouteBackendsExist.enforcementLevel, "mandatory");
        assert.match(httpRouteBackendsExist.description, /^Every backendRef of an HTTPRoute .*\.$/);
    });

    it("accepts the compliant stack (myapp-v1 and myapp-v2 select the pods of each version)", async () => {
        assert.deepEqual(await run(compliantGatewayApiStack()), []);
    });

    it("rejects a backendRef to a Service the stack does not have, listing the Services there", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.rules[0].backendRefs[1].name = "myapp-v3";
        assert.deepEqual(await run(stack), [
            {
                urn: stack.route.urn,
                message:
                    'HTTPRoute default/myapp-route rules[0] "weighted" backendRefs[1] names Service default/myapp-v3 port 8080, but the stack has no Service myapp-v3 in namespace default ' +
                    "(its Services there: myapp, myapp-v1, myapp-v2). Requests routed to it would fail (500; ResolvedRefs: BackendNotFound).",
            },
        ]);
    });

    it("rejects a backend Service whose selector matches no pod template, showing what the pods have", async () => {
        const stack = compliantGatewayApiStack();
        stack.v2 = deployment("v2", { labels: { app: "myapp", version: "v2-rc1" } });
        assert.deepEqual(
            (await run(stack)).map((v) => v.message),
            [
                'HTTPRoute default/myapp-route rules[0] "weighted" backendRefs[1] names Service default/myapp-v2 port 8080, but Service default/myapp-v2 selects pods labelled {app: myapp, version: v2}, ' +
                    "which no pod template of a workload of the stack in namespace default has; the pod templates there have Deployment default/myapp-v1 {app: myapp, version: v1}, " +
                    "Deployment default/myapp-v2 {app: myapp, version: v2-rc1}. Requests routed to it would find no endpoints (503).",
            ],
        );
    });

    it("rejects a backend Service without a selector, unless the stack gives it endpoints", async () => {
        const stack = compliantGatewayApiStack();
        delete stack.serviceV2.props.spec.selector;
        const found = await run(stack);
        assert.equal(found.length, 1);
        assert.match(found[0].message, /but Service default\/myapp-v2 has no selector, so it selects no pods\. /);
        const slice = resource("kubernetes:discovery.k8s.io/v1:EndpointSlice", "myapp-v2-eps", {
            metadata: { namespace: "default", labels: { "kubernetes.io/service-name": "myapp-v2" } },
        });
        assert.deepEqual(await run(stack, [slice]), []);
    });

    it("rejects a backendRef on a port the Service does not expose, and one without a port", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.rules[0].backendRefs[0].port = 80;
        assert.match(
            (await run(stack))[0].message,
            /backendRefs\[0\] names Service default\/myapp-v1 port 80, but Service default\/myapp-v1 has no port 80 \(its ports: 8080\)\./,
        );
        const noPort = compliantGatewayApiStack();
        delete noPort.route.props.spec.rules[0].backendRefs[0].port;
        assert.match(
            (await run(noPort))[0].message,
            /names Service default\/myapp-v1, but the backendRef gives no port, which Gateway API requires for a Service backend\./,
        );
    });

    it("checks a RequestMirror filter's backendRef too", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.rules[0].filters = [
            { type: "RequestMirror", requestMirror: { backendRef: { name: "myapp-shadow", port: 8080 } } },
        ];
        assert.match(
            (await run(stack))[0].message,
            /^HTTPRoute default\/myapp-route rules\[0\] "weighted"\.filters\[0\] RequestMirror names Service default\/myapp-shadow port 8080, but the stack has no Service myapp-shadow/,
        );
    });

    it("rejects a backendRef to another namespace without a ReferenceGrant there, and accepts it with one", async () => {
        const stack = compliantGatewayApiStack();
        const other = appService("v2");
        other.props.metadata.namespace = "canary";
        stack.serviceV2 = other;
        stack.v2 = deployment("v2", { namespace: "canary" });
        stack.route.props.spec.rules[0].backendRefs[1].namespace = "canary";
        assert.deepEqual(
            (await run(stack)).map((v) => v.message),
            [
                'HTTPRoute default/myapp-route rules[0] "weighted" backendRefs[1] names Service canary/myapp-v2 port 8080 in another namespace, but no ReferenceGrant in namespace canary ' +
                    "allows HTTPRoutes of namespace default to refer to it. Gateway API ignores the reference (ResolvedRefs: RefNotPermitted) and fails the requests sent to it (500).",
            ],
        );
        assert.deepEqual(await run(stack, [referenceGrant("canary", "HTTPRoute", "default", "Service")]), []);
        assert.equal((await run(stack, [referenceGrant("canary", "HTTPRoute", "default", "Service", "other")])).length, 1);
    });

    it("finds an auto-named Service by the name Pulumi generates for it", async () => {
        const stack = compliantGatewayApiStack();
        delete stack.serviceV2.props.metadata.name;
        stack.route.props.spec.rules[0].backendRefs[1].name = "myapp-v2-svc-0a1b2c3d";
        assert.deepEqual(await run(stack), []);
    });

    it("ignores backends of other kinds", async () => {
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.rules[0].backendRefs[1] = {
            group: "networking.istio.io",
            kind: "Hostname",
            name: "example.com",
            port: 443,
            weight: 10,
        };
        assert.deepEqual(await run(stack), []);
    });

    it("says nothing when a backendRef, its name, a Service's name or a pod template's labels are unknown during preview", async () => {
        const ref = compliantGatewayApiStack();
        ref.route.props.spec.rules[0].backendRefs[1] = UNKNOWN;
        assert.deepEqual(await run(ref), []);
        const name = compliantGatewayApiStack();
        name.route.props.spec.rules[0].backendRefs[1].name = UNKNOWN;
        assert.deepEqual(await run(name), []);
        const service = compliantGatewayApiStack();
        service.route.props.spec.rules[0].backendRefs[1].name = "myapp-v3";
        service.serviceV2.props.metadata.name = UNKNOWN;
        assert.deepEqual(await run(service), []);
        const labels = compliantGatewayApiStack();
        labels.v2.props.spec.template.metadata.labels = UNKNOWN;
        assert.deepEqual(await run(labels), []);
    });
});
