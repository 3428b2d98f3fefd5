import * as assert from "node:assert/strict";
import {
    autoNamePattern,
    backendSplit,
    checkBackendWeights,
    hostnamesIntersect,
    isGatewayApi,
    namespaceLabelsOf,
    namespaceSelectorMatches,
    objectIs,
    readRef,
    referenceGrantAllows,
} from "../../../policies/istio";
import { UNKNOWN, resource } from "../fixtures";
import { ambientNamespace, canaryRoute, ingressGateway, referenceGrant } from "../gateway-api-fixtures";

describe("policy pack helpers for the Gateway API (policies/lib/gateway-api.ts)", () => {
    it("recognises Gateway API objects of any version by type token, or by apiVersion and kind", () => {
        assert.equal(isGatewayApi(canaryRoute(), "HTTPRoute"), true);
        assert.equal(isGatewayApi(canaryRoute(), "Gateway"), false);
        assert.equal(
            isGatewayApi(
                {
                    type: "kubernetes:apiextensions.k8s.io/v1:CustomResource",
                    props: { apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "Gateway" },
                },
                "Gateway",
            ),
            true,
        );
        assert.equal(isGatewayApi({ type: "kubernetes:networking.istio.io/v1:Gateway", props: {} }, "Gateway"), false);
    });

    it("matches hostnames as Gateway API does: wildcards cover one or more labels, never the bare domain", () => {
        assert.equal(hostnamesIntersect("a.example.com", "A.Example.com"), true);
        assert.equal(hostnamesIntersect("*.example.com", "a.b.example.com"), true);
        assert.equal(hostnamesIntersect("a.example.com", "*.example.com"), true);
        assert.equal(hostnamesIntersect("*.example.com", "example.com"), false);
        assert.equal(hostnamesIntersect("*.example.com", "*.a.example.com"), true);
        assert.equal(hostnamesIntersect("*.a.example.com", "*.b.example.com"), false);
        assert.equal(hostnamesIntersect("*", "anything.example.com"), true);
    });

    it("finds an auto-named object only by `<resource name>-<8 lowercase letters or digits>`", () => {
        const gw = ingressGateway();
        assert.equal(autoNamePattern("myapp-gateway").test("myapp-gateway-27b67332"), true);
        assert.equal(autoNamePattern("myapp-gateway").test("myapp-gateway"), false);
        assert.equal(objectIs(gw, "myapp-gateway-0a1b2c3d", "istio-system"), "yes");
        assert.equal(objectIs(gw, "myapp-gateway-0a1b2c3d", "default"), "no");
        gw.props.metadata = UNKNOWN;
        assert.equal(objectIs(gw, "myapp-gateway-0a1b2c3d", "istio-system"), "unknown");
    });

    it("reads references with Gateway API's defaults, and not at all when a field is unknown", () => {
        const defaults = { group: "", kind: "Service", namespace: "default" };
        assert.deepEqual(readRef({ name: "myapp-v1", port: 8080 }, defaults), {
            group: "",
            kind: "Service",
            name: "myapp-v1",
            namespace: "default",
            explicitNamespace: false,
            port: 8080,
        });
        assert.equal(readRef({ name: "myapp-v1", port: UNKNOWN }, defaults), undefined);
        assert.equal(readRef(UNKNOWN, defaults), undefined);
    });

    it("evaluates namespace selectors on what the stack says, unknown where it says nothing", () => {
        const patched = namespaceLabelsOf([ambientNamespace()], "default");
        assert.equal(namespaceSelectorMatches(patched, { matchLabels: { "kubernetes.io/metadata.name": "default" } }), "yes");
        assert.equal(namespaceSelectorMatches(patched, { matchLabels: { "istio.io/dataplane-mode": "ambient" } }), "yes");
        assert.equal(namespaceSelectorMatches(patched, { matchLabels: { team: "shop" } }), "unknown");
        assert.equal(
            namespaceSelectorMatches(patched, {
                matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["default"] }],
            }),
            "no",
        );
        const full = namespaceLabelsOf(
            [resource("kubernetes:core/v1:Namespace", "shop", { metadata: { name: "shop", labels: { team: "shop" } } })],
            "shop",
        );
        assert.equal(namespaceSelectorMatches(full, { matchExpressions: [{ key: "team", operator: "In", values: ["shop"] }] }), "yes");
        assert.equal(namespaceSelectorMatches(full, { matchExpressions: [{ key: "env", operator: "Exists" }] }), "no");
        assert.deepEqual(namespaceLabelsOf([resource("kubernetes:core/v1:Namespace", "x", { metadata: UNKNOWN })], "shop"), {
            status: "unknown",
        });
    });

    it("finds a ReferenceGrant by its namespace, from and to", () => {
        const grant = referenceGrant("certs", "Gateway", "istio-system", "Secret", "apsis-tls");
        const from = { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "istio-system" };
        assert.equal(referenceGrantAllows([grant], from, { group: "", kind: "Secret", name: "apsis-tls", namespace: "certs" }), "yes");
        assert.equal(referenceGrantAllows([grant], from, { group: "", kind: "Secret", name: "other", namespace: "certs" }), "no");
        assert.equal(
            referenceGrantAllows(
                [grant],
                { ...from, namespace: "default" },
                { group: "", kind: "Secret", name: "apsis-tls", namespace: "certs" },
            ),
            "no",
        );
        grant.props.spec.to = UNKNOWN;
        assert.equal(referenceGrantAllows([grant], from, { group: "", kind: "Secret", name: "apsis-tls", namespace: "certs" }), "unknown");
    });

    it("checks backendRef weights as the house rule wants and computes Gateway API's proportional split", () => {
        assert.deepEqual(checkBackendWeights([90, 10]), { status: "ok" });
        assert.deepEqual(checkBackendWeights([90, 20]), { status: "invalid", problems: ["the weights sum to 110, not 100"] });
        assert.deepEqual(checkBackendWeights([UNKNOWN, 10]), { status: "unknown" });
        assert.deepEqual(checkBackendWeights([undefined]), { status: "ok" });
        assert.deepEqual(backendSplit([90, 20]), [81.8, 18.2]);
        assert.deepEqual(backendSplit([3, undefined]), [75, 25]);
        assert.equal(backendSplit([0, 0]), undefined);
    });
});
