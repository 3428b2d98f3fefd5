import * as assert from "node:assert/strict";
import { OfflineRun } from "../../offline/run";
import { trafficSplit } from "../../offline/plan-format";
import { checkStackPolicies, formatPolicyReport } from "../../policy-runner";
import { diffRuns, ofType, one, runStack, runWith } from "../support/program";

const GW = "kubernetes:gateway.networking.k8s.io/v1";
const v1 = { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2 };
const v2 = { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1 };

/** The chart of each Istio release, in registration order. */
function charts(run: OfflineRun): string[] {
    return ofType(run, ":Release")
        .filter((r) => r.parent?.endsWith("istio-canary:mesh:IstioMesh::istio"))
        .map((r) => r.inputs.chart as string);
}

/** The config error the program stops with. */
async function refusal(overrides: Record<string, unknown>): Promise<string> {
    try {
        await runWith(overrides);
    } catch (e) {
        return (e as Error).message;
    }
    return "";
}

describe("routing.api: gateway-api (Kubernetes Gateway API, sidecar mode)", () => {
    let run: OfflineRun;
    before(async () => {
        run = await runWith({ routing: { api: "gateway-api" } });
    });

    it("creates one Service per version selecting app and version, beside the app's Service", () => {
        const services = ofType(run, "core/v1:Service").map((s) => [s.inputs.metadata.name, s.inputs.spec.selector]);
        assert.deepEqual(services, [
            ["myapp", { app: "myapp" }],
            ["myapp-v1", { app: "myapp", version: "v1" }],
            ["myapp-v2", { app: "myapp", version: "v2" }],
        ]);
    });

    it("terminates TLS on a Gateway of class istio with the Secret in the Gateway's namespace, and redirects port 80 with a route of its own", () => {
        const gw = one(run, `${GW}:Gateway`);
        assert.equal(gw.inputs.metadata.namespace, "istio-system");
        assert.equal(
            one(run, "core/v1:Secret").inputs.metadata.namespace,
            "istio-system",
            "certificateRefs are read in the Gateway's namespace",
        );
        assert.deepEqual(gw.inputs.spec, {
            gatewayClassName: "istio",
            listeners: [
                {
                    name: "https-0",
                    port: 443,
                    protocol: "HTTPS",
                    hostname: "dev.myapp.apsissolutions.com",
                    tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "apsis-tls" }] },
                    allowedRoutes: {
                        namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } },
                    },
                },
                {
                    name: "http",
                    port: 80,
                    protocol: "HTTP",
                    allowedRoutes: {
                        namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } },
                    },
                },
            ],
        });
        const redirect = ofType(run, `${GW}:HTTPRoute`).find((r) => r.name === "myapp-redirect");
        assert.ok(redirect);
        assert.deepEqual(redirect.inputs.spec.rules, [
            { filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] },
        ]);
        assert.deepEqual(redirect.inputs.spec.parentRefs, [{ name: gw.id, namespace: "istio-system", sectionName: "http" }]);
    });

    it("splits 90/10 in one weighted rule, attached to the Gateway and to the app's Service for in-mesh callers", () => {
        const route = ofType(run, `${GW}:HTTPRoute`).find((r) => r.name === "myapp-route");
        assert.ok(route);
        const gw = one(run, `${GW}:Gateway`);
        assert.deepEqual(route.inputs.spec.parentRefs, [
            { name: gw.id, namespace: "istio-system", sectionName: "https-0" },
            { group: "", kind: "Service", name: "myapp", port: 8080 },
        ]);
        assert.deepEqual(route.inputs.spec.rules, [
            {
                backendRefs: [
                    { name: "myapp-v1", port: 8080, weight: 90 },
                    { name: "myapp-v2", port: 8080, weight: 10 },
                ],
            },
        ]);
    });

    it("creates no Istio routing objects and no ingress gateway chart, and installs the pinned Gateway API CRDs", () => {
        assert.equal(ofType(run, "networking.istio.io/v1:VirtualService").length, 0);
        assert.equal(ofType(run, "networking.istio.io/v1:DestinationRule").length, 0);
        assert.equal(ofType(run, "networking.istio.io/v1:Gateway").length, 0);
        assert.deepEqual(charts(run), ["base", "istiod"]);
        const crds = run.resources.filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile");
        assert.deepEqual(
            crds.map((r) => r.inputs.file),
            ["https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.3.0/standard-install.yaml"],
        );
        // The mesh waits for the CRDs (its children register only after it): istiod must see Gateway API kinds at start.
        const mesh = run.resources.find((r) => r.type === "istio-canary:mesh:IstioMesh");
        assert.deepEqual(mesh?.dependencies, [crds[0].urn]);
    });

    it("skips the CRDs on clusters that have them (gatewayApi.installCrds: false)", async () => {
        const without = await runWith({ routing: { api: "gateway-api" }, gatewayApi: { installCrds: false } });
        assert.equal(without.resources.filter((r) => r.type === "kubernetes:yaml/v2:ConfigFile").length, 0);
    });

    it("puts the header route ahead of the weighted rule, with the mirror filter and the request timeout", async () => {
        const features = await runWith({
            routing: {
                api: "gateway-api",
                headerRoute: { header: "x-canary", value: "true", version: "v2" },
                mirror: { version: "v2", percentage: 5 },
                timeout: "10s",
            },
        });
        const route = ofType(features, `${GW}:HTTPRoute`).find((r) => r.name === "myapp-route");
        assert.deepEqual(route?.inputs.spec.rules, [
            {
                matches: [{ headers: [{ type: "Exact", name: "x-canary", value: "true" }] }],
                backendRefs: [{ name: "myapp-v2", port: 8080 }],
                timeouts: { request: "10s" },
            },
            {
                backendRefs: [
                    { name: "myapp-v1", port: 8080, weight: 90 },
                    { name: "myapp-v2", port: 8080, weight: 10 },
                ],
                filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "myapp-v2", port: 8080 }, percent: 5 } }],
                timeouts: { request: "10s" },
            },
        ]);
        assert.match(
            trafficSplit(features.resources),
            /HTTPRoute myapp-route \(attached to Gateway listener https-0, Service myapp\)\n {2}rules\[0\] {2}when header x-canary = "true"/,
        );
        assert.match(
            trafficSplit(features.resources),
            /myapp-v1 +█{36}░{4} +90%\n {4}myapp-v2 +█{4}░{36} +10%\n {4}mirror myapp-v2: 5% of requests copied/,
        );
    });

    it("refuses retries, which the standard channel cannot express, naming the key and what to do", async () => {
        assert.match(
            await refusal({ routing: { api: "gateway-api", retries: { attempts: 2 } } }),
            /istio-canary:routing\.retries is \{"attempts":2\}; HTTPRoute retries exist only in Gateway API's experimental channel \(GEP-1731\); remove them, or route with the Istio API \(routing\.api: istio\)/,
        );
    });

    it("changes only the canary HTTPRoute when only the weights change", async () => {
        const at = (w1: number, w2: number) =>
            runWith({
                routing: { api: "gateway-api" },
                versions: [
                    { ...v1, weight: w1 },
                    { ...v2, weight: w2 },
                ],
            });
        assert.deepEqual(diffRuns(await at(90, 10), await at(50, 50)), {
            changed: [`${GW}:HTTPRoute::myapp-route`],
            added: [],
            removed: [],
        });
        assert.deepEqual(diffRuns(await at(50, 50), await at(100, 0)).changed, [`${GW}:HTTPRoute::myapp-route`]);
    });

    it("exports the split query over the versions' Services", () => {
        assert.equal(
            run.outputs.splitQuery,
            'sum(rate(istio_requests_total{reporter="destination",destination_service=~"myapp-v1\\\\.default\\\\.svc\\\\.cluster\\\\.local|myapp-v2\\\\.default\\\\.svc\\\\.cluster\\\\.local"}[5m])) by (destination_version)',
        );
    });
});

describe("istio.mode: ambient", () => {
    let run: OfflineRun;
    before(async () => {
        run = await runWith({ istio: { mode: "ambient" }, routing: { api: "gateway-api" } });
    });

    it("installs base, istiod with the ambient profile, cni and ztunnel, each waiting on the one before", () => {
        const releases = ofType(run, ":Release").filter((r) => r.parent?.endsWith("istio-canary:mesh:IstioMesh::istio"));
        assert.deepEqual(
            releases.map((r) => [r.inputs.chart, r.inputs.values]),
            [
                ["base", { defaultRevision: "default" }],
                ["istiod", { profile: "ambient" }],
                ["cni", { profile: "ambient" }],
                ["ztunnel", {}],
            ],
        );
        for (let i = 1; i < releases.length; i++) {
            assert.deepEqual(
                releases[i].dependencies,
                [releases[i - 1].urn],
                `${releases[i].inputs.chart} waits on ${releases[i - 1].inputs.chart}`,
            );
        }
    });

    it("labels the app's namespace for ambient instead of sidecar injection", () => {
        assert.deepEqual(one(run, ":NamespacePatch").inputs.metadata.labels, { "istio.io/dataplane-mode": "ambient" });
    });

    it("gives the app a waypoint and labels its Service to use it, so in-mesh traffic is split at L7", () => {
        const waypoint = ofType(run, `${GW}:Gateway`).find((g) => g.inputs.spec.gatewayClassName === "istio-waypoint");
        assert.ok(waypoint);
        assert.deepEqual(waypoint.inputs.metadata, {
            name: "myapp-waypoint",
            namespace: "default",
            labels: { "istio.io/waypoint-for": "service" },
        });
        assert.deepEqual(waypoint.inputs.spec.listeners, [{ name: "mesh", port: 15008, protocol: "HBONE" }]);
        const svc = ofType(run, "core/v1:Service").find((s) => s.inputs.metadata.name === "myapp");
        assert.equal(svc?.inputs.metadata.labels["istio.io/use-waypoint"], "myapp-waypoint");
    });

    it("reads the waypoint's HTTP metrics by default, and refuses reporter destination (ztunnel has only TCP metrics)", async () => {
        assert.match(String(run.outputs.splitQuery), /reporter="waypoint"/);
        assert.match(
            await refusal({ istio: { mode: "ambient" }, routing: { api: "gateway-api" }, rollout: { reporter: "destination" } }),
            /istio-canary:rollout\.reporter is "destination"; in ambient mode the destination is ztunnel, which reports only TCP metrics/,
        );
    });

    it("refuses routing.api istio in ambient mode with the reason and what to set instead", async () => {
        assert.match(
            await refusal({ istio: { mode: "ambient" } }),
            /istio-canary:routing\.api is "istio"; in ambient mode \(istio\.mode: ambient\) a VirtualService with DestinationRule subsets behind a waypoint is Alpha in Istio, and mixing it with an HTTPRoute for the same workload is undefined: set routing\.api: gateway-api, or set routing\.allowVirtualServiceInAmbient: true/,
        );
    });

    it("accepts routing.api istio in ambient mode with the documented opt-in, keeping Istio's ingress gateway", async () => {
        const optIn = await runWith({ istio: { mode: "ambient" }, routing: { allowVirtualServiceInAmbient: true } });
        assert.deepEqual(charts(optIn), ["base", "istiod", "cni", "ztunnel", "gateway"]);
        assert.equal(ofType(optIn, "networking.istio.io/v1:VirtualService").length, 1);
    });
});

describe("the committed ambient example stack (Pulumi.ambient.yaml)", function () {
    this.timeout(120_000);

    it("plans as ambient with the Gateway API: waypoint, per-version Services, the HTTPRoute split 90/10", async () => {
        const run = await runStack("ambient");
        assert.deepEqual(charts(run), ["base", "istiod", "cni", "ztunnel"]);
        assert.ok(ofType(run, `${GW}:Gateway`).some((g) => g.inputs.spec.gatewayClassName === "istio-waypoint"));
        assert.equal(ofType(run, "networking.istio.io/v1:VirtualService").length, 0);
        assert.deepEqual(run.outputs.weights, { v1: 90, v2: 10 });
        assert.equal(run.outputs.url, "https://ambient.myapp.apsissolutions.com");
    });

    it("passes the policy check at its levels (policies/config/ambient.json)", async () => {
        const report = await checkStackPolicies("ambient");
        assert.equal(report.passed, true, formatPolicyReport(report));
        assert.match(String(report.policyConfigFile), /policies\/config\/ambient\.json$/);
    });
});
