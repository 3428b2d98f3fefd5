import * as assert from "node:assert/strict";
import { destinationRuleSubsetsSelectPods } from "../../../policies/rules";
import { UNKNOWN, compliantStack, deployment, destinationRule, istio, runStackPolicy, service, stackList } from "../fixtures";

describe("policy destinationrule-subsets-select-pods", () => {
    it("accepts the compliant stack", async () => {
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList()), []);
    });

    it("rejects a subset whose labels no pod template has, showing what the pods have", async () => {
        const stack = compliantStack();
        stack.v2 = deployment("v2", { labels: { app: "myapp", version: "v2-rc1" } });
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.deepEqual(found, [
            {
                urn: stack.dr.urn,
                message:
                    "DestinationRule default/myapp-dr subset v2 selects pods labelled {version: v2}, but no workload in namespace default behind Service default/myapp " +
                    "(selector {app: myapp}) has a pod template with those labels; the pod templates there have Deployment default/myapp-v1 {version: v1}, " +
                    "Deployment default/myapp-v2 {version: v2-rc1}. Traffic routed to this subset would find no endpoints (503).",
            },
        ]);
    });

    it("rejects a subset whose pods are in another namespace than the host's", async () => {
        const stack = compliantStack();
        stack.v2 = deployment("v2", { namespace: "canary" });
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /^DestinationRule default\/myapp-dr subset v2 selects pods labelled \{version: v2\}, but no workload in namespace default/,
        );
    });

    it("rejects a subset whose pods the Service does not select", async () => {
        const stack = compliantStack();
        stack.v2 = deployment("v2", { labels: { app: "other", version: "v2" } });
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /subset v2 selects pods labelled \{version: v2\}, but no workload in namespace default behind Service default\/myapp \(selector \{app: myapp\}\)/,
        );
    });

    it("uses the host's namespace, not the rule's, for an FQDN host", async () => {
        const stack = compliantStack();
        stack.dr = istio(
            "DestinationRule",
            "myapp-dr",
            { host: "myapp.default.svc.cluster.local", subsets: [{ name: "v1", labels: { version: "v1" } }] },
            { namespace: "istio-system" },
        );
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack)), []);
        stack.dr.props.spec.subsets.push({ name: "v3", labels: { version: "v3" } });
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /^DestinationRule istio-system\/myapp-dr subset v3 selects pods labelled \{version: v3\}, but no workload in namespace default behind Service default\/myapp/,
        );
    });

    it("names any kind of workload: a StatefulSet's pods count, and the message names it", async () => {
        const stack = compliantStack();
        stack.v2.type = "kubernetes:apps/v1:StatefulSet";
        stack.v2.urn = stack.v2.urn.replace("Deployment", "StatefulSet");
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack)), []);
        stack.dr = destinationRule(["v1", "v2", "v3"]);
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.deepEqual(
            found.map((f) => f.message),
            [
                "DestinationRule default/myapp-dr subset v3 selects pods labelled {version: v3}, but no workload in namespace default behind Service default/myapp " +
                    "(selector {app: myapp}) has a pod template with those labels; the pod templates there have Deployment default/myapp-v1 {version: v1}, " +
                    "StatefulSet default/myapp-v2 {version: v2}. Traffic routed to this subset would find no endpoints (503).",
            ],
        );
    });

    it("says nothing for a host whose Service and pods the stack does not run", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v9"], "payments.shop.svc.cluster.local");
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack)), []);
    });

    it("compares with every Deployment in the namespace when the stack has no Service for the host", async () => {
        const stack = compliantStack();
        stack.service = service();
        stack.service.props.metadata.name = "something-else";
        stack.dr = destinationRule(["v1", "v3"]);
        const found = await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /subset v3 selects pods labelled \{version: v3\}, but no workload in namespace default has a pod template with those labels/,
        );
    });

    it("says nothing when a subset's labels or a pod template's labels are unknown during preview", async () => {
        const unknownSubset = compliantStack();
        unknownSubset.dr = istio("DestinationRule", "myapp-dr", {
            host: "myapp.default.svc.cluster.local",
            subsets: [{ name: "v3", labels: { version: UNKNOWN } }],
        });
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(unknownSubset)), []);
        const unknownPods = compliantStack();
        unknownPods.v2 = deployment("v2", { labels: { app: "myapp", version: UNKNOWN } });
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(unknownPods)), []);
    });

    it("says nothing about a whole subset unknown during preview, even where no pod is selected", async () => {
        const stack = compliantStack();
        stack.service = service({ app: "nothing-runs-this" });
        stack.dr = istio("DestinationRule", "myapp-dr", { host: "myapp", subsets: [UNKNOWN] });
        assert.deepEqual(await runStackPolicy(destinationRuleSubsetsSelectPods, stackList(stack)), []);
    });
});
