import * as assert from "node:assert/strict";
import { gatewaySelectsInstalledIngress } from "../../../policies/rules";
import { UNKNOWN, compliantStack, gateway, release, runStackPolicy, stackList } from "../fixtures";

describe("policy gateway-selects-installed-ingress", () => {
    it("accepts the compliant stack (release istio-ingressgateway labels its pods istio: ingressgateway)", async () => {
        assert.deepEqual(await runStackPolicy(gatewaySelectsInstalledIngress, stackList()), []);
    });

    it("rejects the seed's selector when the gateway release is named istio-ingress", async () => {
        const stack = compliantStack();
        stack.ingress = release("istio-gateway", "gateway", "istio-ingress");
        const found = await runStackPolicy(gatewaySelectsInstalledIngress, stackList(stack));
        assert.deepEqual(found, [
            {
                urn: stack.gateway.urn,
                message:
                    "Gateway default/myapp-gateway selects pods labelled {istio: ingressgateway}, but no ingress gateway this stack installs has those labels: " +
                    "Helm release istio-ingress (chart gateway) in istio-system labels its pods {app: istio-ingress, istio: ingress}. " +
                    'The Gateway would configure no proxy; change the selector, name the gateway release so its pods get these labels (the chart labels pods istio: <release name without "istio-">), or set the chart\'s values.labels.',
            },
        ]);
    });

    it("takes the chart's values.labels into account", async () => {
        const stack = compliantStack();
        stack.ingress = release("istio-gateway", "gateway", "istio-ingress", "istio-system", { labels: { istio: "ingressgateway" } });
        assert.deepEqual(await runStackPolicy(gatewaySelectsInstalledIngress, stackList(stack)), []);
    });

    it("rejects a selector label the installed gateway's pods do not have", async () => {
        const stack = compliantStack();
        stack.gateway = gateway({ istio: "ingressgateway", team: "web" });
        const found = await runStackPolicy(gatewaySelectsInstalledIngress, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /selects pods labelled \{istio: ingressgateway, team: web\}, but no ingress gateway this stack installs has those labels/,
        );
    });

    it("says nothing when the stack installs no ingress gateway", async () => {
        const stack = compliantStack();
        const { ingress: _ingress, ...rest } = stack;
        rest.gateway = gateway({ istio: "whatever" });
        assert.deepEqual(await runStackPolicy(gatewaySelectsInstalledIngress, Object.values(rest)), []);
    });

    it("says nothing when the selector or the release name is unknown during preview", async () => {
        const unknownSelector = compliantStack();
        unknownSelector.gateway = gateway({ istio: UNKNOWN });
        assert.deepEqual(await runStackPolicy(gatewaySelectsInstalledIngress, stackList(unknownSelector)), []);
        const unknownRelease = compliantStack();
        unknownRelease.ingress = release("istio-gateway", "gateway", UNKNOWN);
        unknownRelease.gateway = gateway({ istio: "nope" });
        assert.deepEqual(await runStackPolicy(gatewaySelectsInstalledIngress, stackList(unknownRelease)), []);
    });
});
