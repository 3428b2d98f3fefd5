import * as assert from "node:assert/strict";
import { httpRouteNoVirtualServiceOverlap } from "../../../policies/rules";
import { UNKNOWN, resource, runStackPolicy } from "../fixtures";
import { PUBLIC_HOST, compliantGatewayApiStack, gatewayApiStackList, plainVirtualService } from "../gateway-api-fixtures";

const run = (stack: ReturnType<typeof compliantGatewayApiStack>, extra: ReturnType<typeof resource>[] = []) =>
    runStackPolicy(httpRouteNoVirtualServiceOverlap, [...gatewayApiStackList(stack), ...extra]);
const WHY =
    "Istio does not define which of the two applies when a VirtualService and an HTTPRoute cover the same host or Service (ambient migration guide; istio/istio#57704): route it with one API only (routing.api).";

describe("policy httproute-no-virtualservice-overlap", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(httpRouteNoVirtualServiceOverlap.name, "httproute-no-virtualservice-overlap");
        assert.equal(httpRouteNoVirtualServiceOverlap.enforcementLevel, "mandatory");
        assert.match(httpRouteNoVirtualServiceOverlap.description, /^No VirtualService of the stack .*\.$/);
    });

    it("accepts the compliant stack, and a VirtualService for other hosts beside it", async () => {
        assert.deepEqual(await run(compliantGatewayApiStack()), []);
        assert.deepEqual(await run(compliantGatewayApiStack(), [plainVirtualService(["reviews", "api.example.com"])]), []);
    });

    it("rejects a VirtualService for the public host the route gets from its Gateway listener (and the redirect's hostname)", async () => {
        const stack = compliantGatewayApiStack();
        const vs = plainVirtualService([PUBLIC_HOST]);
        assert.deepEqual(await run(stack, [vs]), [
            {
                urn: stack.redirect.urn,
                message: `HTTPRoute default/myapp-redirect and VirtualService default/legacy-vs route the same host: the route's hostname ${PUBLIC_HOST} and the VirtualService's host ${PUBLIC_HOST}. ${WHY}`,
            },
            {
                urn: stack.route.urn,
                message:
                    `HTTPRoute default/myapp-route and VirtualService default/legacy-vs route the same host: the route's hostname ${PUBLIC_HOST} of Gateway istio-system/myapp-gateway listener https-0 ` +
                    `and the VirtualService's host ${PUBLIC_HOST}. ${WHY}`,
            },
        ]);
    });

    it("rejects a VirtualService for the Service the route is attached to, its host written short", async () => {
        const stack = compliantGatewayApiStack();
        const found = await run(stack, [plainVirtualService(["myapp"])]);
        assert.deepEqual(found, [
            {
                urn: stack.route.urn,
                message:
                    "HTTPRoute default/myapp-route and VirtualService default/legacy-vs route the same host: the route's Service default/myapp (myapp.default.svc.cluster.local) " +
                    `and the VirtualService's host myapp (myapp.default.svc.cluster.local). ${WHY}`,
            },
        ]);
    });

    it("matches wildcards both ways", async () => {
        assert.equal((await run(compliantGatewayApiStack(), [plainVirtualService(["*.example.com"])])).length, 2);
        const stack = compliantGatewayApiStack();
        stack.redirect.props.spec.hostnames = ["*.myapp.example.com"];
        assert.equal((await run(stack, [plainVirtualService(["api.myapp.example.com"])])).length, 1);
        assert.deepEqual(await run(compliantGatewayApiStack(), [plainVirtualService(["*.other.example.com", "example.com"])]), []);
    });

    it("says nothing when the VirtualService's hosts or the route's parentRefs are unknown during preview", async () => {
        const vs = plainVirtualService([PUBLIC_HOST, "myapp"]);
        vs.props.spec.hosts = UNKNOWN;
        assert.deepEqual(await run(compliantGatewayApiStack(), [vs]), []);
        const stack = compliantGatewayApiStack();
        stack.route.props.spec.parentRefs = UNKNOWN;
        stack.redirect.props.spec.parentRefs = UNKNOWN;
        stack.redirect.props.spec.hostnames = UNKNOWN;
        assert.deepEqual(await run(stack, [plainVirtualService([PUBLIC_HOST, "myapp"])]), []);
    });
});
