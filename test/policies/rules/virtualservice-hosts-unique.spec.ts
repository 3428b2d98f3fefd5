import * as assert from "node:assert/strict";
import { virtualServiceHostsUnique } from "../../../policies/rules";
import { Fixture, GATEWAY_REF, HOST, UNKNOWN, compliantStack, dest, istio, release, runStackPolicy, stackList } from "../fixtures";

/** A second VirtualService: by default a copy of the program's, in `namespace`; `spec` replaces fields of its spec. */
function second(namespace = "default", spec: Record<string, unknown> = {}): Fixture {
    return istio(
        "VirtualService",
        "other-vs",
        {
            hosts: ["dev.myapp.example.com", HOST],
            gateways: [GATEWAY_REF, "mesh"],
            http: [{ name: "weighted", route: [dest("v1", 50), dest("v2", 50)] }],
            ...spec,
        },
        { namespace },
    );
}

const run = (...extra: Fixture[]) => runStackPolicy(virtualServiceHostsUnique, [...stackList(), ...extra]);

describe("policy virtualservice-hosts-unique", () => {
    it("is a mandatory stack policy named and described for what it checks", () => {
        assert.equal(virtualServiceHostsUnique.name, "virtualservice-hosts-unique");
        assert.equal(virtualServiceHostsUnique.enforcementLevel, "mandatory");
        assert.match(
            virtualServiceHostsUnique.description,
            /^No two VirtualServices route the same host for in-mesh callers where both are visible/,
        );
    });

    it("accepts the compliant stack: one VirtualService", async () => {
        assert.deepEqual(await run(), []);
    });

    it("rejects a second VirtualService for the same hosts in the same namespace, on both", async () => {
        const stack = compliantStack();
        const found = await runStackPolicy(virtualServiceHostsUnique, [...stackList(stack), second()]);
        const message =
            `VirtualService default/myapp-vs and VirtualService default/other-vs both route dev.myapp.example.com, ${HOST} for in-mesh callers in every namespace; ` +
            `and dev.myapp.example.com, ${HOST} through Gateway ${GATEWAY_REF}, with a catch-all route in each. ` +
            "Istio does not merge VirtualServices for in-mesh callers and applies only one of them, so the other's routes and weights are ignored (istioctl analyze: IST0109). " +
            "Istio merges VirtualServices bound to one gateway in an undefined order, and the first catch-all route takes every request. " +
            "Route each host from one VirtualService (or, for in-mesh callers, scope one to its namespace with exportTo).";
        assert.deepEqual(found, [
            { urn: stack.vs.urn, message },
            { urn: second().urn, message },
        ]);
    });

    it("rejects one in another namespace for in-mesh callers, with the host written as a short name where it resolves to the same FQDN", async () => {
        const found = await run(second("team", { hosts: [HOST], gateways: ["mesh"] }));
        assert.equal(found.length, 2);
        assert.match(
            found[0].message,
            new RegExp(
                `^VirtualService default/myapp-vs and VirtualService team/other-vs both route ${HOST.replace(/\./g, "\\.")} for in-mesh callers in every namespace\\. Istio does not merge`,
            ),
        );
        const short = await run(second("default", { hosts: ["myapp"], gateways: [] }));
        assert.equal(short.length, 2);
        assert.match(short[0].message, /both route myapp\.default\.svc\.cluster\.local for in-mesh callers in every namespace\./);
    });

    it("rejects two catch-all routes for one host through the same Gateway, even when neither is bound to the mesh", async () => {
        const found = await run(second("default", { hosts: ["dev.myapp.example.com"], gateways: [GATEWAY_REF] }));
        assert.equal(found.length, 2);
        assert.match(
            found[0].message,
            /both route dev\.myapp\.example\.com through Gateway default\/myapp-gateway-1a2b3c4d, with a catch-all route in each\. Istio merges VirtualServices bound to one gateway in an undefined order/,
        );
        assert.doesNotMatch(found[0].message, /IST0109/);
    });

    it("accepts a gateway fragment that routes one path only (Istio merges it before the catch-all)", async () => {
        const fragment = second("default", {
            hosts: ["dev.myapp.example.com"],
            gateways: [GATEWAY_REF],
            http: [{ match: [{ uri: { prefix: "/reports" } }], route: [dest(undefined, undefined, "reports.default.svc.cluster.local")] }],
        });
        assert.deepEqual(await run(fragment), []);
    });

    it("accepts the same host through another Gateway, and another host", async () => {
        assert.deepEqual(await run(second("default", { gateways: ["default/internal-gateway"] })), []);
        assert.deepEqual(await run(second("default", { hosts: ["api.example.com"] })), []);
    });

    it('accepts a VirtualService that overrides the host for its own namespace (exportTo "."), as IST0109\'s resolution says', async () => {
        assert.deepEqual(await run(second("team", { exportTo: ["."], gateways: ["mesh"] })), []);
    });

    it("accepts a gateway duplicate exported away from the gateway pods' namespace (istio-system): the gateway never merges it", async () => {
        assert.deepEqual(await run(second("default", { exportTo: ["."], gateways: [GATEWAY_REF] })), []);
    });

    it("follows istiod's meshConfig.defaultVirtualServiceExportTo for VirtualServices without exportTo", async () => {
        const stack = compliantStack();
        stack.istiod = release("istio-istiod", "istiod", "istiod", "istio-system", {
            meshConfig: { defaultVirtualServiceExportTo: ["."] },
        });
        assert.deepEqual(
            await runStackPolicy(virtualServiceHostsUnique, [...stackList(stack), second("team", { gateways: ["mesh"] })]),
            [],
        );
        assert.equal(
            (await runStackPolicy(virtualServiceHostsUnique, [...stackList(stack), second("default", { gateways: ["mesh"] })])).length,
            2,
        );
    });

    it("says nothing when the second one's hosts, exportTo or gateways, or istiod's values, are unknown during preview", async () => {
        for (const spec of [
            { hosts: [UNKNOWN] },
            { hosts: UNKNOWN },
            { exportTo: UNKNOWN },
            { exportTo: [UNKNOWN] },
            { gateways: UNKNOWN },
            { gateways: [UNKNOWN, "mesh"] },
        ]) {
            assert.deepEqual(await run(second("team", spec)), [], JSON.stringify(spec));
        }
        const stack = compliantStack();
        stack.istiod = release("istio-istiod", "istiod", "istiod", "istio-system", UNKNOWN as unknown as Record<string, unknown>);
        assert.deepEqual(
            await runStackPolicy(virtualServiceHostsUnique, [...stackList(stack), second("team", { gateways: ["mesh"] })]),
            [],
        );
    });

    it("still reports a known shared host when another host of the second one is unknown during preview", async () => {
        const found = await run(second("team", { hosts: [UNKNOWN, HOST], gateways: ["mesh"] }));
        assert.equal(found.length, 2);
    });
});
