import * as assert from "node:assert/strict";
import { virtualServiceMirror } from "../../../policies/rules";
import { HOST, UNKNOWN, dest, runResourcePolicy, virtualService } from "../fixtures";

const weighted = (extra: Record<string, unknown>) => [{ name: "weighted", route: [dest("v1", 90), dest("v2", 10)], ...extra }];
const check = (http: Record<string, unknown>[]) => runResourcePolicy(virtualServiceMirror, virtualService(http));

describe("policy virtualservice-mirror", () => {
    it("accepts a 10% mirror to the canary subset", async () => {
        assert.deepEqual(await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value: 10 } })), []);
    });

    it("accepts a fractional mirror percentage and the ends of the range", async () => {
        for (const value of [0, 0.5, 100]) {
            assert.deepEqual(
                await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value } })),
                [],
                String(value),
            );
        }
    });

    it("rejects mirrorPercentage.value above 100", async () => {
        assert.deepEqual(await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value: 150 } })), [
            'VirtualService default/myapp-vs http[0] "weighted": mirrorPercentage.value is 150; it must be a number from 0 to 100 (the share of requests copied).',
        ]);
    });

    it("rejects a negative mirrorPercentage.value and one given as a string", async () => {
        const negative = await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value: -1 } }));
        assert.deepEqual(negative, [
            'VirtualService default/myapp-vs http[0] "weighted": mirrorPercentage.value is -1; it must be a number from 0 to 100 (the share of requests copied).',
        ]);
        const text = await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value: "10" } }));
        assert.deepEqual(text, [
            'VirtualService default/myapp-vs http[0] "weighted": mirrorPercentage.value is "10"; it must be a number from 0 to 100 (the share of requests copied).',
        ]);
    });

    it("checks the percentage of each entry of mirrors", async () => {
        const messages = await check(weighted({ mirrors: [{ destination: { host: HOST, subset: "v2" }, percentage: { value: 101 } }] }));
        assert.deepEqual(messages, [
            'VirtualService default/myapp-vs http[0] "weighted": mirrors[0].percentage.value is 101; it must be a number from 0 to 100 (the share of requests copied).',
        ]);
    });

    it("rejects a mirror to the subset that already receives all of the route's traffic", async () => {
        const messages = await check([
            { route: [dest("v1", 100), dest("v2", 0)], mirror: { host: HOST, subset: "v1" }, mirrorPercentage: { value: 50 } },
        ]);
        assert.deepEqual(messages, [
            `VirtualService default/myapp-vs http[0]: mirror copies traffic to ${HOST}/v1, the destination that already receives 100% of this route's traffic; ` +
                "mirror to another subset (the canary) or remove the mirror.",
        ]);
    });

    it("compares hosts as Istio resolves them: a short name mirrors to the same FQDN", async () => {
        const messages = await check([{ route: [dest("v1")], mirror: { host: "myapp", subset: "v1" } }]);
        assert.deepEqual(messages, [
            "VirtualService default/myapp-vs http[0]: mirror copies traffic to myapp/v1, the destination that already receives 100% of this route's traffic; " +
                "mirror to another subset (the canary) or remove the mirror.",
        ]);
    });

    it("accepts a mirror to a subset that gets only part of the traffic", async () => {
        assert.deepEqual(await check(weighted({ mirror: { host: HOST, subset: "v1" } })), []);
    });

    it("says nothing when the percentage or the mirror's subset is unknown during preview", async () => {
        assert.deepEqual(await check(weighted({ mirror: { host: HOST, subset: "v2" }, mirrorPercentage: { value: UNKNOWN } })), []);
        assert.deepEqual(await check([{ route: [dest("v1")], mirror: { host: HOST, subset: UNKNOWN } }]), []);
        // Two unknown subsets are not the same subset: the sentinel strings must not be compared as values.
        assert.deepEqual(await check([{ route: [dest(UNKNOWN)], mirror: { host: HOST, subset: UNKNOWN } }]), []);
        assert.deepEqual(await check([{ route: [dest("v1")], mirror: { host: UNKNOWN, subset: "v1" } }]), []);
    });
});
