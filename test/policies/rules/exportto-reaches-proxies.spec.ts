import * as assert from "node:assert/strict";
import { exportToReachesProxies } from "../../../policies/rules";
import { GATEWAY_REF, UNKNOWN, compliantStack, destinationRule, gateway, release, runStackPolicy, stackList } from "../fixtures";

type Stack = ReturnType<typeof compliantStack>;
/** Runs the policy on the compliant stack after one change. */
async function run(edit: (stack: Stack) => void = () => undefined) {
    const stack = compliantStack();
    edit(stack);
    return runStackPolicy(exportToReachesProxies, stackList(stack));
}
const messages = async (edit: (stack: Stack) => void) => (await run(edit)).map((v) => v.message);

const GATEWAY_PODS = "the gateway pods in istio-system (Helm release istio-ingressgateway (chart gateway) in istio-system)";
const OTHER_CALLERS = "in-mesh callers in other namespaces (the VirtualService is exported to every namespace)";
const DR_TAIL = "their requests routed there fail with 503 (no cluster for the subset).";

describe("policy exportto-reaches-proxies", () => {
    it("is a mandatory stack policy named and described for what it checks", () => {
        assert.equal(exportToReachesProxies.name, "exportto-reaches-proxies");
        assert.equal(exportToReachesProxies.enforcementLevel, "mandatory");
        assert.match(
            exportToReachesProxies.description,
            /^A VirtualService is exported to the namespace of the gateway pods of every Gateway it is bound to, /,
        );
    });

    it("accepts the compliant stack: nothing restricts exportTo", async () => {
        assert.deepEqual(await run(), []);
    });

    it('accepts both exported to their own namespace and the gateway pods\' ("." and istio-system)', async () => {
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.exportTo = [".", "istio-system"];
                s.dr.props.spec.exportTo = [".", "istio-system"];
            }),
            [],
        );
    });

    it("rejects a VirtualService exported only to its own namespace: the ingress gateway pods run in istio-system", async () => {
        const stack = compliantStack();
        stack.vs.props.spec.exportTo = ["."];
        assert.deepEqual(await runStackPolicy(exportToReachesProxies, stackList(stack)), [
            {
                urn: stack.vs.urn,
                message:
                    `VirtualService default/myapp-vs is bound to Gateway ${GATEWAY_REF}, served by Helm release istio-ingressgateway (chart gateway) in istio-system, ` +
                    'but its exportTo ["."] makes it visible only in namespace default: a gateway applies only the VirtualServices exported to the namespace of its pods, ' +
                    "so these pods never route its hosts and answer 404. Export it to istio-system as well, or drop exportTo.",
            },
        ]);
    });

    it("rejects it for the namespace of the gateway pods, not of the Gateway resource, wherever the release installs them", async () => {
        const found = await messages((s) => {
            s.ingress = release("istio-gateway", "gateway", "istio-ingressgateway", "istio-ingress");
            s.vs.props.spec.exportTo = [".", "istio-system"];
            s.dr.props.spec.exportTo = ["*"];
        });
        assert.equal(found.length, 1);
        assert.match(
            found[0],
            /served by Helm release istio-ingressgateway \(chart gateway\) in istio-ingress, but its exportTo \[".","istio-system"\] makes it visible only in namespaces default, istio-system: .* Export it to istio-ingress as well/,
        );
    });

    it("finds a Gateway named by metadata.name, and follows istiod's defaultVirtualServiceExportTo", async () => {
        const named = await messages((s) => {
            s.gateway = gateway();
            s.gateway.props.metadata.name = "public";
            s.vs.props.spec.gateways = ["public", "mesh"];
            s.vs.props.spec.exportTo = ["."];
        });
        assert.equal(named.length, 1);
        assert.match(named[0], /^VirtualService default\/myapp-vs is bound to Gateway default\/public, served by/);
        const byDefault = await messages((s) => {
            s.istiod = release("istio-istiod", "istiod", "istiod", "istio-system", {
                meshConfig: { defaultVirtualServiceExportTo: ["."] },
            });
        });
        assert.equal(byDefault.length, 1);
        assert.match(
            byDefault[0],
            /but without exportTo, the mesh default \["\."\] makes it visible only in namespace default: a gateway applies only/,
        );
    });

    it("rejects a DestinationRule exported only to its own namespace: the gateway pods and in-mesh callers elsewhere miss its subsets", async () => {
        const stack = compliantStack();
        stack.dr.props.spec.exportTo = ["."];
        assert.deepEqual(await runStackPolicy(exportToReachesProxies, stackList(stack)), [
            {
                urn: stack.dr.urn,
                message:
                    'DestinationRule default/myapp-dr defines subsets v1, v2 that VirtualService default/myapp-vs routes to, but its exportTo ["."] makes it visible only in namespace default, ' +
                    `so ${GATEWAY_PODS} and ${OTHER_CALLERS} never see them: ${DR_TAIL} Export it everywhere the VirtualService is used, or drop exportTo.`,
            },
        ]);
    });

    it("rejects a DestinationRule exported to the gateway pods only, for the in-mesh callers", async () => {
        assert.deepEqual(await messages((s) => (s.dr.props.spec.exportTo = ["istio-system"])), [
            'DestinationRule default/myapp-dr defines subsets v1, v2 that VirtualService default/myapp-vs routes to, but its exportTo ["istio-system"] makes it visible only in namespace istio-system, ' +
                `so ${OTHER_CALLERS} never see them: ${DR_TAIL} Export it everywhere the VirtualService is used, or drop exportTo.`,
        ]);
    });

    it("rejects a DestinationRule hidden by istiod's defaultDestinationRuleExportTo", async () => {
        const found = await messages((s) => {
            s.istiod = release("istio-istiod", "istiod", "istiod", "istio-system", {
                meshConfig: { defaultDestinationRuleExportTo: ["."] },
            });
        });
        assert.equal(found.length, 1);
        assert.match(
            found[0],
            /but without exportTo, the mesh default \["\."\] makes it visible only in namespace default, so the gateway pods/,
        );
    });

    it("rejects a DestinationRule in a namespace off Istio's lookup path (neither the caller's, the host's nor the root)", async () => {
        assert.deepEqual(await messages((s) => (s.dr.props.metadata.namespace = "team")), [
            "DestinationRule team/myapp-dr defines subsets v1, v2 that VirtualService default/myapp-vs routes to, but it is in namespace team, and Istio looks a DestinationRule up only " +
                "in the caller's namespace, the host's namespace (default) and the root namespace (istio-system), " +
                `so ${GATEWAY_PODS} and ${OTHER_CALLERS} never see them: ${DR_TAIL} Move it to namespace default.`,
        ]);
    });

    it("accepts a DestinationRule in the root namespace exported everywhere, and one exported to each namespace the VirtualService is", async () => {
        assert.deepEqual(await run((s) => (s.dr.props.metadata.namespace = "istio-system")), []);
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.exportTo = ["."];
                s.vs.props.spec.gateways = ["mesh"];
                s.dr.props.spec.exportTo = ["."];
            }),
            [],
        );
    });

    it("says nothing for a Gateway outside the stack (its pods' namespace is unknown)", async () => {
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.gateways = ["istio-system/shared-gateway", "mesh"];
                s.vs.props.spec.exportTo = ["."];
            }),
            [],
        );
    });

    it("says nothing when an exportTo, the gateways, the Gateway's selector, istiod's values or another rule's host is unknown during preview", async () => {
        const cases: [string, (s: Stack) => void][] = [
            ["VirtualService exportTo", (s) => (s.vs.props.spec.exportTo = UNKNOWN)],
            ["a VirtualService exportTo entry", (s) => (s.vs.props.spec.exportTo = [UNKNOWN])],
            ["VirtualService gateways", (s) => ((s.vs.props.spec.gateways = [UNKNOWN, "mesh"]), (s.vs.props.spec.exportTo = ["."]))],
            ["Gateway selector", (s) => ((s.gateway.props.spec.selector = { istio: UNKNOWN }), (s.vs.props.spec.exportTo = ["."]))],
            ["DestinationRule exportTo", (s) => (s.dr.props.spec.exportTo = [UNKNOWN])],
            ["istiod values", (s) => ((s.istiod.props.values = UNKNOWN), (s.dr.props.metadata.namespace = "istio-system"))],
            [
                "another DestinationRule's host",
                (s) => {
                    s.dr.props.spec.exportTo = ["."];
                    (s as Record<string, unknown>).other = { ...destinationRule(["v1"], UNKNOWN), name: "other-dr", urn: "urn:other-dr" };
                },
            ],
        ];
        for (const [what, edit] of cases) {
            assert.deepEqual(await run(edit), [], what);
        }
    });

    it("still reports the known subset when another route's subset is unknown during preview", async () => {
        const found = await messages((s) => {
            s.dr.props.spec.exportTo = ["."];
            s.vs.props.spec.http[0].route[1].destination.subset = UNKNOWN;
        });
        assert.equal(found.length, 1);
        assert.match(
            found[0],
            /^DestinationRule default\/myapp-dr defines subset v1 that VirtualService default\/myapp-vs routes to, .* never see it:/,
        );
    });
});
