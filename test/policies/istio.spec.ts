import * as assert from "node:assert/strict";
import {
    checkWeights,
    dnsHost,
    effectiveSplit,
    gatewayChartPodLabels,
    hostCoverage,
    isIstio,
    plainProps,
    resolveHost,
    serviceOfHost,
} from "../../policies/istio";
import { UNKNOWN } from "./fixtures";

describe("policy pack helpers (policies/istio.ts)", () => {
    describe("host resolution", () => {
        it("expands a short name in the rule's namespace, as Istio does", () => {
            assert.equal(resolveHost("myapp", "shop"), "myapp.shop.svc.cluster.local");
        });

        it("keeps name.namespace, FQDNs, wildcards and IPs as written, as Istio does", () => {
            assert.equal(resolveHost("myapp.shop", "default"), "myapp.shop");
            assert.equal(resolveHost("myapp.shop.svc.cluster.local", "default"), "myapp.shop.svc.cluster.local");
            assert.equal(resolveHost("*", "default"), "*");
            assert.equal(resolveHost("10.0.0.1", "default"), "10.0.0.1");
        });

        it("knows what Kubernetes DNS would make of name.namespace and name.namespace.svc (for hints only)", () => {
            assert.equal(dnsHost("myapp.shop", "default"), "myapp.shop.svc.cluster.local");
            assert.equal(dnsHost("myapp.shop.svc", "default"), "myapp.shop.svc.cluster.local");
            assert.equal(dnsHost("api.example.com", "default"), "api.example.com");
        });

        it("finds the Service of a cluster FQDN only", () => {
            assert.deepEqual(serviceOfHost("myapp.shop.svc.cluster.local"), { name: "myapp", namespace: "shop" });
            assert.equal(serviceOfHost("api.example.com"), undefined);
        });

        it("prefers an exact DestinationRule host over a wildcard", () => {
            const host = "myapp.shop.svc.cluster.local";
            assert.ok(hostCoverage(host, host) > hostCoverage("*.shop.svc.cluster.local", host));
            assert.ok(hostCoverage("*.shop.svc.cluster.local", host) > hostCoverage("*", host));
            assert.equal(hostCoverage("*.other.svc.cluster.local", host), 0);
        });
    });

    describe("checkWeights", () => {
        it("accepts 100 split over integers, and no weight or 100 on one destination", () => {
            assert.deepEqual(checkWeights([90, 10]), { status: "ok" });
            assert.deepEqual(checkWeights([undefined]), { status: "ok" });
            assert.deepEqual(checkWeights([100]), { status: "ok" });
        });

        it("reports each bad weight, and the sum only when every weight is valid", () => {
            assert.deepEqual(checkWeights([90, 20]), { status: "invalid", problems: ["the weights sum to 110, not 100"] });
            assert.deepEqual(checkWeights([50.5, 49.5]), {
                status: "invalid",
                problems: ["destination 0 has weight 50.5, not an integer", "destination 1 has weight 49.5, not an integer"],
            });
        });

        it("is unknown, not invalid, when a weight is unknown and nothing known is wrong", () => {
            assert.deepEqual(checkWeights([UNKNOWN, 10]), { status: "unknown" });
        });

        it("computes the split Istio really applies (weight / sum)", () => {
            assert.deepEqual(effectiveSplit([90, 20]), [81.8, 18.2]);
            assert.equal(effectiveSplit([0, 0]), undefined);
        });
    });

    it("derives the gateway chart's pod labels from the release name, values.name and values.labels", () => {
        assert.deepEqual(gatewayChartPodLabels("istio-ingressgateway"), { app: "istio-ingressgateway", istio: "ingressgateway" });
        assert.deepEqual(gatewayChartPodLabels("istio-ingress"), { app: "istio-ingress", istio: "ingress" });
        assert.deepEqual(gatewayChartPodLabels("x", { name: "istio-edge" }), { app: "istio-edge", istio: "edge" });
        assert.deepEqual(gatewayChartPodLabels("istio-ingress", { labels: { istio: "ingressgateway" } }), {
            app: "istio-ingress",
            istio: "ingressgateway",
        });
    });

    it("matches Istio kinds of any networking.istio.io version and not the Kubernetes Gateway API", () => {
        assert.ok(isIstio({ type: "kubernetes:networking.istio.io/v1alpha3:Gateway", props: {} }, "Gateway"));
        assert.ok(!isIstio({ type: "kubernetes:gateway.networking.k8s.io/v1:Gateway", props: {} }, "Gateway"));
        assert.ok(!isIstio({ type: "kubernetes:networking.istio.io/v1:VirtualService", props: {} }, "Gateway"));
    });

    it("unwraps Pulumi secret values in props", () => {
        const props = { stringData: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { "tls.crt": "C" } } };
        assert.deepEqual(plainProps(props), { stringData: { "tls.crt": "C" } });
    });
});
