import * as assert from "node:assert/strict";
import { virtualServiceWeights } from "../../../policies/rules";
import { HOST, UNKNOWN, dest, istio, runResourcePolicy, virtualService } from "../fixtures";

const check = (http: Record<string, unknown>[], extra: Record<string, unknown> = {}, opts: { apiVersion?: string } = {}) =>
    runResourcePolicy(virtualServiceWeights, virtualService(http, extra, opts));

describe("policy virtualservice-weights", () => {
    it("accepts the compliant 90/10 route", async () => {
        assert.deepEqual(await check([{ name: "weighted", route: [dest("v1", 90), dest("v2", 10)] }]), []);
    });

    it("names only the second of several http routes when only it is wrong, with the weights found and Istio's real split", async () => {
        const messages = await check([
            { name: "header-v2", match: [{ headers: { "x-canary": { exact: "true" } } }], route: [dest("v2")] },
            { name: "weighted", route: [dest("v1", 90), dest("v2", 20)] },
            { route: [dest("v1")] },
        ]);
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs http[1] "weighted": the weights sum to 110, not 100 (weights found: v1=90, v2=20 to ${HOST}). ` +
                "Istio would accept this and send 81.8% / 18.2%.",
        ]);
    });

    it("checks tcp routes", async () => {
        const messages = await check([], { tcp: [{ route: [dest("v1", 50), dest("v2", 40)] }] });
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs tcp[0]: the weights sum to 90, not 100 (weights found: v1=50, v2=40 to ${HOST}). Istio would accept this and send 55.6% / 44.4%.`,
        ]);
    });

    it("checks tls routes", async () => {
        const tls = [{ match: [{ port: 443, sniHosts: ["a.example.com"] }], route: [dest("v1", 100), dest("v2", 100)] }];
        const messages = await check([], { tls });
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs tls[0]: the weights sum to 200, not 100 (weights found: v1=100, v2=100 to ${HOST}). Istio would accept this and send 50% / 50%.`,
        ]);
    });

    it("accepts a single destination with no weight or weight 100", async () => {
        assert.deepEqual(await check([{ route: [dest("v1")] }, { route: [dest("v2", 100)] }]), []);
    });

    it("rejects a single destination with a weight other than 100", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", 50)] }]), [
            `VirtualService default/myapp-vs http[0]: its only destination has weight 50; a single destination takes no weight or 100 (weights found: v1=50 to ${HOST}).`,
        ]);
    });

    it("accepts three destinations summing to 100 and rejects three summing to 110", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", 50), dest("v2", 30), dest("v3", 20)] }]), []);
        const messages = await check([{ route: [dest("v1", 50), dest("v2", 30), dest("v3", 30)] }]);
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs http[0]: the weights sum to 110, not 100 (weights found: v1=50, v2=30, v3=30 to ${HOST}). ` +
                "Istio would accept this and send 45.5% / 27.3% / 27.3%.",
        ]);
    });

    it("rejects weights given as strings, even when they would sum to 100", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", "90"), dest("v2", "10")] }]), [
            `VirtualService default/myapp-vs http[0]: destination 0 has weight "90", a string; destination 1 has weight "10", a string (weights found: v1="90", v2="10" to ${HOST}).`,
        ]);
    });

    it("rejects fractional weights, even when they sum to 100", async () => {
        const messages = await check([{ route: [dest("v1", 33.3), dest("v2", 33.3), dest("v3", 33.4)] }]);
        assert.deepEqual(messages, [
            "VirtualService default/myapp-vs http[0]: destination 0 has weight 33.3, not an integer; destination 1 has weight 33.3, not an integer; " +
                `destination 2 has weight 33.4, not an integer (weights found: v1=33.3, v2=33.3, v3=33.4 to ${HOST}).`,
        ]);
    });

    it("rejects a negative weight", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", 110), dest("v2", -10)] }]), [
            `VirtualService default/myapp-vs http[0]: destination 0 has weight 110, outside 0-100; destination 1 has weight -10, outside 0-100 (weights found: v1=110, v2=-10 to ${HOST}).`,
        ]);
    });

    it("rejects a missing weight when there are several destinations", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", 100), dest("v2")] }]), [
            `VirtualService default/myapp-vs http[0]: destination 1 has no weight (weights found: v1=100, v2=(none) to ${HOST}).`,
        ]);
    });

    it("checks a raw CustomResource of networking.istio.io/v1alpha3 and v1beta1 the same way", async () => {
        for (const apiVersion of ["networking.istio.io/v1alpha3", "networking.istio.io/v1beta1"]) {
            const messages = await check([{ route: [dest("v1", 90), dest("v2", 20)] }], {}, { apiVersion });
            assert.equal(messages.length, 1, apiVersion);
            assert.match(messages[0], /http\[0\]: the weights sum to 110, not 100/);
        }
    });

    it("recognises a VirtualService by apiVersion and kind when the type token is generic", async () => {
        const vs = virtualService([{ route: [dest("v1", 90), dest("v2", 20)] }]);
        vs.type = "kubernetes:apiextensions.k8s.io/v1:CustomResource";
        assert.equal((await runResourcePolicy(virtualServiceWeights, vs)).length, 1);
    });

    it("ignores other kinds that have an http field", async () => {
        const other = istio("DestinationRule", "dr", { http: [{ route: [dest("v1", 90), dest("v2", 20)] }] });
        assert.deepEqual(await runResourcePolicy(virtualServiceWeights, other), []);
    });

    it("says nothing when a weight is unknown during preview", async () => {
        assert.deepEqual(await check([{ route: [dest("v1", UNKNOWN), dest("v2", 10)] }]), []);
        assert.deepEqual(await check([{ route: [dest("v1", UNKNOWN)] }]), []);
    });

    it("takes a whole destination entry unknown during preview as an unknown weight, not a missing one", async () => {
        assert.deepEqual(await check([{ route: [UNKNOWN, dest("v2", 10)] }]), []);
        assert.deepEqual(await check([{ route: [dest("v1", 90), dest("v2", 20), UNKNOWN] }]), [
            `VirtualService default/myapp-vs http[0]: the known weights already sum to 110, more than 100 (weights found: ${HOST}/v1=90, ${HOST}/v2=20, (unknown)=(unknown)).`,
        ]);
    });

    it("says nothing when the whole spec or route list is unknown", async () => {
        assert.deepEqual(
            await runResourcePolicy(virtualServiceWeights, istio("VirtualService", "vs", UNKNOWN as unknown as Record<string, unknown>)),
            [],
        );
        assert.deepEqual(await check(UNKNOWN as unknown as Record<string, unknown>[]), []);
    });

    it("still rejects known weights that are wrong next to an unknown one", async () => {
        const messages = await check([{ route: [dest("v1", 80), dest("v2", 40), dest("v3", UNKNOWN)] }]);
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs http[0]: the known weights already sum to 120, more than 100 (weights found: v1=80, v2=40, v3=(unknown) to ${HOST}).`,
        ]);
    });
});
