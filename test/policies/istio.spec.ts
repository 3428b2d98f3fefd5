import * as assert from "node:assert/strict";
import {
    ISTIO_MESH_DEFAULTS,
    checkWeights,
    dnsHost,
    effectiveSplit,
    exportToVisibility,
    gatewayChartPodLabels,
    gatewayOfRef,
    gatewayRefs,
    hostCoverage,
    isAutoNameOf,
    isIstio,
    meshSettings,
    plainProps,
    replicasOf,
    resolveHost,
    runsToCompletion,
    serviceOfHost,
} from "../../policies/istio";
import { UNKNOWN, gateway, release } from "./fixtures";

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

    describe("exportTo", () => {
        it('reads "*", "." and namespace names as Istio does, and "~" as no namespace', () => {
            assert.deepEqual(exportToVisibility(["*"], "shop", ["*"]), { all: true });
            assert.deepEqual(exportToVisibility(["."], "shop", ["*"]), { all: false, namespaces: new Set(["shop"]) });
            assert.deepEqual(exportToVisibility([".", "istio-system"], "shop", ["*"]), {
                all: false,
                namespaces: new Set(["shop", "istio-system"]),
            });
            assert.deepEqual(exportToVisibility(["~"], "shop", ["*"]), { all: false, namespaces: new Set() });
        });

        it('applies the mesh default when there is no exportTo, "." before "*"', () => {
            assert.deepEqual(exportToVisibility(undefined, "shop", ["*"]), { all: true });
            assert.deepEqual(exportToVisibility([], "shop", ["."]), { all: false, namespaces: new Set(["shop"]) });
            assert.deepEqual(exportToVisibility(undefined, "shop", [".", "*"]), { all: false, namespaces: new Set(["shop"]) });
            assert.equal(exportToVisibility(undefined, "shop", undefined), undefined);
        });

        it('is unknown when the list or an entry is unknown during preview, unless a known "*" decides', () => {
            assert.equal(exportToVisibility(UNKNOWN, "shop", ["*"]), undefined);
            assert.equal(exportToVisibility([".", UNKNOWN], "shop", ["*"]), undefined);
            assert.deepEqual(exportToVisibility(["*", UNKNOWN], "shop", ["*"]), { all: true });
        });

        it("reads istiod's meshConfig defaults and root namespace from its Helm release, and Istio's defaults without one", () => {
            assert.deepEqual(meshSettings([]), ISTIO_MESH_DEFAULTS);
            assert.deepEqual(meshSettings([release("istiod", "istiod", "istiod", "mesh-system")]), {
                virtualServiceExportTo: ["*"],
                destinationRuleExportTo: ["*"],
                rootNamespaces: ["istio-system", "mesh-system"],
            });
            const custom = release("istiod", "istiod", "istiod", "istio-system", {
                meshConfig: { defaultVirtualServiceExportTo: ["."], defaultDestinationRuleExportTo: ["."], rootNamespace: "istio-config" },
            });
            assert.deepEqual(meshSettings([custom]), {
                virtualServiceExportTo: ["."],
                destinationRuleExportTo: ["."],
                rootNamespaces: ["istio-config"],
            });
            const unknown = release("istiod", "istiod", "istiod", "istio-system", { meshConfig: UNKNOWN });
            assert.deepEqual(meshSettings([unknown]), {
                virtualServiceExportTo: undefined,
                destinationRuleExportTo: undefined,
                rootNamespaces: undefined,
            });
        });
    });

    describe("gateway references of a VirtualService", () => {
        it("resolves them as Istio does: none is mesh, a bare name is in the VirtualService's namespace", () => {
            assert.deepEqual(gatewayRefs({}, "shop"), ["mesh"]);
            assert.deepEqual(gatewayRefs({ gateways: [] }, "shop"), ["mesh"]);
            assert.deepEqual(gatewayRefs({ gateways: ["mesh", "web", "edge/public", "legacy.edge.svc.cluster.local"] }, "shop"), [
                "mesh",
                "shop/web",
                "edge/public",
                "edge/legacy",
            ]);
            assert.equal(gatewayRefs({ gateways: UNKNOWN }, "shop"), undefined);
            assert.equal(gatewayRefs({ gateways: ["mesh", UNKNOWN] }, "shop"), undefined);
        });

        it("finds the stack's Gateway by metadata.name or by the auto-name Pulumi gives it", () => {
            assert.ok(isAutoNameOf("myapp-gateway-27b67332", "myapp-gateway"));
            assert.ok(!isAutoNameOf("myapp-gateway-extra", "myapp-gateway"));
            assert.ok(!isAutoNameOf("myapp-gateway", "myapp-gateway"));
            const autoNamed = gateway();
            assert.equal(gatewayOfRef([autoNamed], "default/myapp-gateway-27b67332"), autoNamed);
            assert.equal(gatewayOfRef([autoNamed], "istio-system/myapp-gateway-27b67332"), undefined);
            const named = gateway();
            named.props.metadata.name = "public";
            assert.equal(gatewayOfRef([named], "default/public"), named);
            named.props.metadata.name = UNKNOWN;
            assert.equal(gatewayOfRef([named], "default/public"), "unknown");
        });
    });

    it("knows which pods run to completion: a Job's, a CronJob's, a Pod's with restartPolicy Never or OnFailure", () => {
        assert.equal(runsToCompletion("Job", undefined), true);
        assert.equal(runsToCompletion("CronJob", undefined), true);
        assert.equal(runsToCompletion("Deployment", "Always"), false);
        assert.equal(runsToCompletion("Pod", undefined), false);
        assert.equal(runsToCompletion("Pod", "Never"), true);
        assert.equal(runsToCompletion("Pod", "OnFailure"), true);
        assert.equal(runsToCompletion("Pod", UNKNOWN), undefined);
    });

    it("reads the fixed pod count: spec.replicas (1 when absent), 1 for a Pod, none for a DaemonSet or Job or when unknown", () => {
        assert.equal(replicasOf("Deployment", { spec: { replicas: 0 } }), 0);
        assert.equal(replicasOf("StatefulSet", { spec: {} }), 1);
        assert.equal(replicasOf("Pod", {}), 1);
        assert.equal(replicasOf("DaemonSet", { spec: {} }), undefined);
        assert.equal(replicasOf("Job", { spec: {} }), undefined);
        assert.equal(replicasOf("Deployment", { spec: { replicas: UNKNOWN } }), undefined);
        assert.equal(replicasOf("Deployment", { spec: UNKNOWN }), undefined);
    });

    it("unwraps Pulumi secret values in props", () => {
        const props = { stringData: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: { "tls.crt": "C" } } };
        assert.deepEqual(plainProps(props), { stringData: { "tls.crt": "C" } });
    });
});
