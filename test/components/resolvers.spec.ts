import * as assert from "node:assert/strict";
import {
    ArgsError,
    Checker,
    resolveCanaryAppArgs,
    resolveIstioMeshArgs,
    resolveMonitoringArgs,
    resolveTlsSecretArgs,
    resolveTrafficArgs,
} from "../../components";

/** The message a resolver throws for `args`, or "" when it accepts them. */
function messageOf(resolve: () => unknown): string {
    try {
        resolve();
        return "";
    } catch (e) {
        assert.ok(e instanceof ArgsError, `an ArgsError, not ${String(e)}`);
        return e.message;
    }
}

describe("component args: defaults applied with ??", () => {
    it("CanaryApp needs only an app name and versions with images", () => {
        const r = resolveCanaryAppArgs({ app: { name: "shop" }, versions: [{ name: "v1", image: "shop:1.0" }] });
        assert.deepEqual(r.app, { name: "shop", namespace: "default", port: 8080, targetPort: 80, createNamespace: false });
        assert.deepEqual(r.versions, [{ name: "v1", image: "shop:1.0", replicas: 1, weight: 0 }]);
        assert.deepEqual(r.pod.resources, { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
        assert.equal(r.pod.runAsUser, 10001);
    });

    it("CanaryApp keeps falsy values that are valid: port numbers, runAsNonRoot false, replicas 0", () => {
        const r = resolveCanaryAppArgs({
            app: { name: "shop", namespace: "shop", createNamespace: false },
            versions: [{ name: "v1", image: "shop:1.0", replicas: 0 }],
            pod: { runAsNonRoot: false },
        });
        assert.equal(r.app.createNamespace, false);
        assert.equal(r.versions[0].replicas, 0);
        assert.equal(r.pod.runAsNonRoot, false);
        assert.equal(r.pod.runAsUser, undefined, "no UID is forced when root is allowed");
    });

    it("Traffic needs a Service, hosts and weighted versions; the rest defaults", () => {
        const r = resolveTrafficArgs({ service: "shop", hosts: ["shop.example.com"], versions: [{ name: "v1", weight: 100 }] });
        assert.equal(r.serviceFqdn, "shop.default.svc.cluster.local");
        assert.deepEqual(r.gatewaySelector, { istio: "ingressgateway" });
        assert.equal(r.credentialName, "apsis-tls");
        assert.deepEqual(r.routing, { httpsRedirect: true });
    });

    it("IstioMesh, TlsSecret and Monitoring work without args beyond the required ones", () => {
        assert.deepEqual(resolveIstioMeshArgs({}), {
            mode: "sidecar",
            ingressGateway: true,
            version: "1.28.0",
            namespace: "istio-system",
            gatewayNamespace: "istio-system",
            gatewayName: "istio-ingressgateway",
            gatewayServiceType: "LoadBalancer",
            chartRepo: "https://istio-release.storage.googleapis.com/charts",
        });
        assert.deepEqual(resolveIstioMeshArgs({ namespace: "mesh" }).gatewayNamespace, "mesh", "the gateway follows istiod's namespace");
        assert.deepEqual(resolveTlsSecretArgs({}), { credentialName: "apsis-tls", namespace: "istio-system" });
        assert.equal(resolveMonitoringArgs({ serviceFqdn: "shop.shop.svc.cluster.local" }).reporter, "destination");
    });

    it("Monitoring accepts every reporter the analysis reads, waypoint included (ambient mode)", () => {
        assert.equal(resolveMonitoringArgs({ serviceFqdn: "shop.shop.svc.cluster.local", reporter: "waypoint" }).reporter, "waypoint");
    });
});

describe("component args: one error listing every problem, word for word", () => {
    it("Traffic refuses weights that do not sum to 100 (90/20 is not silently 82/18)", () => {
        assert.equal(
            messageOf(() =>
                resolveTrafficArgs({
                    service: "shop",
                    hosts: ["shop.example.com"],
                    versions: [
                        { name: "v1", weight: 90 },
                        { name: "v2", weight: 20 },
                    ],
                }),
            ),
            "Traffic: invalid args (1 problem):\n  - versions weights are v1=90, v2=20 (sum 110); they must sum to 100",
        );
    });

    it("Traffic refuses fractional weights and routes to versions it does not have", () => {
        assert.equal(
            messageOf(() =>
                resolveTrafficArgs({
                    service: "shop",
                    hosts: ["shop.example.com"],
                    versions: [
                        { name: "v1", weight: 89.5 },
                        { name: "v2", weight: 10.5 },
                    ],
                    routing: { headerRoute: { header: "x-canary", value: "1", version: "v3" }, mirror: { version: "v9" } },
                }),
            ),
            "Traffic: invalid args (4 problems):\n" +
                "  - versions[0].weight is 89.5; it must be an integer from 0 to 100\n" +
                "  - versions[1].weight is 10.5; it must be an integer from 0 to 100\n" +
                '  - routing.mirror.version is "v9"; it must name a version in versions (v1, v2)\n' +
                '  - routing.headerRoute.version is "v3"; it must name a version in versions (v1, v2)',
        );
    });

    it("CanaryApp names every bad field at once", () => {
        assert.equal(
            messageOf(() =>
                resolveCanaryAppArgs({
                    app: { name: "Shop", port: 0 },
                    versions: [{ name: "v1", image: "shop" }],
                    pod: { resources: { requests: { memory: "1Gi" } } },
                }),
            ),
            "CanaryApp: invalid args (4 problems):\n" +
                "  - app.name is \"Shop\"; it must be a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)\n" +
                "  - app.port is 0; it must be an integer from 1 to 65535\n" +
                '  - versions[0].image is "shop"; it must be an image reference with a tag or a sha256 digest, e.g. repo/app:v2 or repo/app@sha256:<64 hex>\n' +
                '  - pod.resources.requests.memory is "1Gi"; it must not exceed pod.resources.limits.memory (256Mi); Kubernetes rejects such a pod',
        );
    });

    it("IstioMesh names an unknown field and a Service type Kubernetes does not have", () => {
        assert.equal(
            messageOf(() => resolveIstioMeshArgs({ gatewayServiceType: "Ingress", revision: "canary" } as never)),
            "IstioMesh: invalid args (2 problems):\n" +
                "  - revision is not a known field; known fields: mode, ingressGateway, version, namespace, gatewayNamespace, gatewayName, gatewayServiceType, chartRepo\n" +
                '  - gatewayServiceType is "Ingress"; it must be one of LoadBalancer, NodePort, ClusterIP (NodePort on clusters without a load-balancer implementation, such as plain kind)',
        );
    });

    it("TlsSecret refuses a Secret name Kubernetes would reject", () => {
        assert.equal(
            messageOf(() => resolveTlsSecretArgs({ credentialName: "Shop_TLS" })),
            'TlsSecret: invalid args (1 problem):\n  - credentialName is "Shop_TLS"; it must be a Kubernetes Secret name (lower-case DNS subdomain)',
        );
    });
});

describe("Checker key naming (how config reuses the components' rules)", () => {
    it("renames field paths to the stack's keys, prefixes them, and records a shared message once", () => {
        const c = new Checker({ prefix: "istio-canary:" });
        const scoped = c.scope({ rename: { namespace: "app.namespace" } });
        scoped.fail("namespace", "Bad", "it must be a DNS label");
        c.fail("app.namespace", "Bad", "it must be a DNS label");
        assert.deepEqual(c.problems, ['istio-canary:app.namespace is "Bad"; it must be a DNS label']);
    });

    it("does not record problems of fields the caller derived itself", () => {
        const c = new Checker().scope({ ignore: ["serviceFqdn"] });
        c.fail("serviceFqdn", "", "x");
        c.required("serviceFqdn", undefined, "y");
        assert.deepEqual(c.problems, []);
    });
});
