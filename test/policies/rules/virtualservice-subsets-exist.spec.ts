import * as assert from "node:assert/strict";
import { virtualServiceSubsetsExist } from "../../../policies/rules";
import { HOST, UNKNOWN, compliantStack, dest, destinationRule, istio, runStackPolicy, stackList, virtualService } from "../fixtures";

describe("policy virtualservice-subsets-exist", () => {
    it("accepts the compliant stack", async () => {
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, stackList()), []);
    });

    it("rejects a route to a subset the DestinationRule does not define, naming the subsets it does", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v1"]);
        const found = await runStackPolicy(virtualServiceSubsetsExist, stackList(stack));
        assert.deepEqual(found, [
            {
                urn: stack.vs.urn,
                message:
                    `VirtualService default/myapp-vs http[0] "weighted" route[1] routes to subset v2 of ${HOST}, but DestinationRule default/myapp-dr (host ${HOST}) defines only subset v1. ` +
                    "Istio accepts this and requests to the subset fail at run time (istioctl analyze: IST0101).",
            },
        ]);
    });

    it("rejects a subset when no DestinationRule has the host", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v1", "v2"], "other.default.svc.cluster.local");
        const found = await runStackPolicy(virtualServiceSubsetsExist, stackList(stack));
        assert.equal(found.length, 2);
        assert.equal(
            found[0].message,
            `VirtualService default/myapp-vs http[0] "weighted" route[0] routes to subset v1 of ${HOST}, but no DestinationRule in the stack has that host, so the subset is undefined. ` +
                "Istio accepts this and requests to the subset fail at run time (istioctl analyze: IST0101).",
        );
    });

    it("matches a short-name DestinationRule host to the FQDN in the rule's namespace", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v1", "v2"], "myapp");
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, stackList(stack)), []);
    });

    it("does not expand name.namespace, as Istio does not, and explains the mismatch", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v1", "v2"], "myapp.default");
        const found = await runStackPolicy(virtualServiceSubsetsExist, stackList(stack));
        assert.equal(found.length, 2);
        assert.match(
            found[0].message,
            /no DestinationRule in the stack has that host, so the subset is undefined\. DestinationRule default\/myapp-dr has host "myapp\.default": the same Service for Kubernetes DNS, but not for Istio, which expands only short names \(such as "myapp"\)/,
        );
    });

    it("checks mirror destinations and tcp routes too", async () => {
        const stack = compliantStack();
        stack.vs = virtualService([{ route: [dest("v1", 100)], mirror: { host: HOST, subset: "v3" } }], { tcp: [{ route: [dest("v4")] }] });
        const found = await runStackPolicy(virtualServiceSubsetsExist, stackList(stack));
        assert.deepEqual(
            found.map((f) => f.message.split(", but")[0]),
            [
                `VirtualService default/myapp-vs http[0] mirror routes to subset v3 of ${HOST}`,
                `VirtualService default/myapp-vs tcp[0] route[0] routes to subset v4 of ${HOST}`,
            ],
        );
    });

    it("accepts a destination without a subset", async () => {
        const stack = compliantStack();
        stack.vs = virtualService([{ route: [dest(undefined)] }]);
        stack.dr = destinationRule([]);
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, stackList(stack)), []);
    });

    it("says nothing when a DestinationRule's host or a destination's subset is unknown during preview", async () => {
        const unknownHost = compliantStack();
        unknownHost.dr = destinationRule(["v1"], UNKNOWN);
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, stackList(unknownHost)), []);
        const unknownSubset = compliantStack();
        unknownSubset.dr = destinationRule(["v1"]);
        unknownSubset.vs = virtualService([{ route: [dest("v1", 90), dest(UNKNOWN, 10)] }]);
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, stackList(unknownSubset)), []);
    });

    it("says nothing when a known DestinationRule lacks the subset but another one's host is unknown (it may define it)", async () => {
        const stack = compliantStack();
        stack.dr = destinationRule(["v1"]);
        const other = istio("DestinationRule", "myapp-canary-dr", { host: UNKNOWN, subsets: [{ name: "v2", labels: { version: "v2" } }] });
        assert.deepEqual(await runStackPolicy(virtualServiceSubsetsExist, [...stackList(stack), other]), []);
    });
});
