import * as assert from "node:assert/strict";
import { OfflineRun } from "../../offline/run";
import { isSecretValue } from "../../offline/run";
import { gatewayChartPodLabels } from "../../components";
import { ofType, one, runStack, runWith } from "../support/program";

/** The Helm releases of the Istio install (the monitoring component has releases of its own). */
function istioReleases(run: OfflineRun) {
    return ofType(run, ":Release").filter((r) => r.parent?.endsWith("istio-canary:mesh:IstioMesh::istio"));
}

/** What each committed stack file says, written out literally (not derived from the config the program reads). */
const EXPECTED: Record<string, { weights: Record<string, number>; url: string; monitoring: boolean }> = {
    dev: { weights: { v1: 90, v2: 10 }, url: "https://dev.myapp.apsissolutions.com", monitoring: true },
    staging: { weights: { v1: 100 }, url: "https://staging.myapp.apsissolutions.com", monitoring: false },
    prod: { weights: { v1: 100 }, url: "https://myapp.apsissolutions.com", monitoring: false },
};

describe("the program under each committed stack", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        describe(`stack ${stack}`, () => {
            let run: OfflineRun;
            before(async () => {
                run = await runStack(stack);
            });

            it("installs Istio base, istiod and the gateway in order, at the configured version", () => {
                const releases = istioReleases(run);
                assert.deepEqual(
                    releases.map((r) => [r.inputs.chart, r.inputs.name, r.inputs.namespace, r.inputs.version]),
                    [
                        ["base", "istio-base", "istio-system", "1.28.0"],
                        ["istiod", "istiod", "istio-system", "1.28.0"],
                        ["gateway", "istio-ingressgateway", "istio-system", "1.28.0"],
                    ],
                );
                for (const r of releases) {
                    assert.equal(r.inputs.repositoryOpts.repo, "https://istio-release.storage.googleapis.com/charts");
                    assert.equal(r.inputs.skipAwait, false, `${r.name} must wait for readiness`);
                }
                const [base, istiod, gateway] = releases;
                assert.deepEqual(gateway.inputs.values, { service: { type: "LoadBalancer" } });
                assert.deepEqual(istiod.dependencies, [base.urn]);
                assert.deepEqual(gateway.dependencies, [istiod.urn]);
            });

            it("creates exactly the TLS Secret, the app, the traffic rules (and monitoring) only after the mesh is ready", () => {
                const gatewayRelease = istioReleases(run).find((r) => r.inputs.chart === "gateway");
                assert.ok(gatewayRelease !== undefined, "the gateway release exists");
                const waiting = run.resources
                    .filter((r) => !r.custom && r.dependencies.includes(gatewayRelease.urn))
                    .map((r) => `${r.type}::${r.name}`)
                    .sort();
                assert.deepEqual(
                    waiting,
                    [
                        "istio-canary:app:CanaryApp::myapp",
                        "istio-canary:tls:TlsSecret::tls",
                        "istio-canary:traffic:Traffic::myapp",
                        ...(EXPECTED[stack].monitoring ? ["istio-canary:monitoring:Monitoring::monitoring"] : []),
                    ].sort(),
                );
            });

            it("serves HTTPS 443 with TLS SIMPLE from the credentialName and redirects port 80", () => {
                const gw = one(run, ":Gateway");
                assert.equal(gw.inputs.apiVersion, "networking.istio.io/v1");
                const [https, http] = gw.inputs.spec.servers;
                assert.deepEqual(https.port, { number: 443, name: "https", protocol: "HTTPS" });
                assert.deepEqual(https.tls, { mode: "SIMPLE", credentialName: "apsis-tls" });
                assert.deepEqual(http.tls, { httpsRedirect: true });
            });

            it("keeps the TLS key a secret in the gateway pods' namespace under the credentialName", () => {
                const secret = one(run, "core/v1:Secret");
                assert.equal(secret.inputs.type, "kubernetes.io/tls");
                assert.equal(secret.inputs.metadata.name, "apsis-tls");
                assert.equal(secret.inputs.metadata.namespace, "istio-system");
                assert.ok(isSecretValue(secret.inputs.stringData), "stringData must stay a Pulumi secret");
                assert.doesNotMatch(JSON.stringify(run.outputs), /PRIVATE KEY|BEGIN CERTIFICATE/);
            });

            it("labels pods app and version, and the Service selects app only on a port named http", () => {
                const svc = one(run, "core/v1:Service");
                assert.deepEqual(svc.inputs.spec.selector, { app: "myapp" });
                assert.deepEqual(svc.inputs.spec.ports, [{ name: "http", port: 8080, targetPort: 80, appProtocol: "http" }]);
                for (const d of ofType(run, ":Deployment")) {
                    const labels = d.inputs.spec.template.metadata.labels;
                    assert.equal(labels.app, "myapp");
                    assert.ok(labels.version);
                    for (const [k, v] of Object.entries(svc.inputs.spec.selector)) {
                        assert.equal(labels[k], v, "Service selector must be a subset of every version's pod labels");
                    }
                }
            });

            it("gives every container probes, requests and limits, and a non-root security context", () => {
                for (const d of ofType(run, ":Deployment")) {
                    const spec = d.inputs.spec.template.spec;
                    const c = spec.containers[0];
                    assert.ok(c.readinessProbe.httpGet && c.livenessProbe.httpGet);
                    assert.ok(c.resources.requests.cpu && c.resources.limits.memory);
                    assert.equal(spec.securityContext.runAsNonRoot, true);
                    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
                }
            });

            it("has one DestinationRule subset per version, each selecting exactly that version's pods", () => {
                const dr = one(run, ":DestinationRule");
                assert.equal(dr.inputs.spec.host, "myapp.default.svc.cluster.local");
                const deployments = ofType(run, ":Deployment");
                assert.equal(dr.inputs.spec.subsets.length, deployments.length);
                for (const subset of dr.inputs.spec.subsets) {
                    const selected = deployments.filter((d) =>
                        Object.entries(subset.labels).every(([k, v]) => d.inputs.spec.template.metadata.labels[k] === v),
                    );
                    assert.equal(selected.length, 1, `subset ${subset.name} must select exactly one version's pods`);
                    assert.equal(selected[0].inputs.spec.template.metadata.labels.version, subset.name);
                }
            });

            it("routes to subsets that exist, on the DestinationRule host, through the Gateway and the mesh", () => {
                const dr = one(run, ":DestinationRule");
                const vs = one(run, ":VirtualService");
                const gw = one(run, ":Gateway");
                const subsets = dr.inputs.spec.subsets.map((s: { name: string }) => s.name);
                for (const route of vs.inputs.spec.http) {
                    for (const d of route.route) {
                        assert.equal(d.destination.host, dr.inputs.spec.host);
                        assert.ok(subsets.includes(d.destination.subset), `subset ${d.destination.subset} must exist`);
                    }
                }
                const gatewayName = ofType(run, ":Gateway")[0].id;
                assert.deepEqual(vs.inputs.spec.gateways, [`default/${gatewayName}`, "mesh"]);
                assert.deepEqual(gw.inputs.spec.selector, { istio: gatewayChartPodLabels("istio-ingressgateway").istio });
                assert.ok(vs.inputs.spec.hosts.includes("myapp.default.svc.cluster.local"), "in-mesh callers use the Service FQDN");
            });

            it("routes and exports the stack file's weights, its URL and the split query with the real FQDN", () => {
                const vs = one(run, ":VirtualService");
                const weighted = vs.inputs.spec.http[vs.inputs.spec.http.length - 1].route;
                assert.deepEqual(Object.fromEntries(weighted.map((d: any) => [d.destination.subset, d.weight])), EXPECTED[stack].weights);
                assert.deepEqual(run.outputs.weights, EXPECTED[stack].weights);
                assert.equal(run.outputs.url, EXPECTED[stack].url);
                assert.equal(
                    run.outputs.splitQuery,
                    'sum(rate(istio_requests_total{reporter="destination",destination_service="myapp.default.svc.cluster.local"}[5m])) by (destination_version)',
                );
            });
        });
    }

    it("routes the dev stack 90/10 between v1 and v2, as the workflow's step 3", async () => {
        const run = await runStack("dev");
        const vs = one(run, ":VirtualService");
        assert.deepEqual(
            vs.inputs.spec.http[0].route.map((d: any) => [d.destination.subset, d.weight]),
            [
                ["v1", 90],
                ["v2", 10],
            ],
        );
        assert.deepEqual(
            ofType(run, ":Deployment").map((d) => [d.inputs.spec.template.spec.containers[0].image, d.inputs.spec.replicas]),
            [
                ["jamaldevsecops/myapp:v1", 2],
                ["jamaldevsecops/myapp:v2", 1],
            ],
        );
    });

    it("creates and labels a namespace other than default instead of patching it", async () => {
        const run = await runWith({ app: { name: "shop", namespace: "shop" } });
        const ns = one(run, "core/v1:Namespace");
        assert.deepEqual(ns.inputs.metadata, { name: "shop", labels: { "istio-injection": "enabled" } });
        assert.equal(ofType(run, ":NamespacePatch").length, 0);
        assert.equal(one(run, ":DestinationRule").inputs.spec.host, "shop.shop.svc.cluster.local");
    });

    it("gives the ingress gateway a NodePort Service when configured, for clusters without a load balancer", async () => {
        const run = await runWith({ istio: { gatewayServiceType: "NodePort" } });
        const gateway = istioReleases(run).find((r) => r.inputs.chart === "gateway")!;
        assert.deepEqual(gateway.inputs.values, { service: { type: "NodePort" } });
    });

    it("skips the Istio install and uses the configured gateway when istio.install is false", async () => {
        const run = await runWith({ istio: { install: false, gatewayNamespace: "ingress", gatewaySelector: { istio: "ingress" } } });
        assert.equal(istioReleases(run).length, 0);
        assert.equal(run.resources.filter((r) => r.type === "istio-canary:mesh:IstioMesh").length, 0);
        assert.equal(one(run, "core/v1:Secret").inputs.metadata.namespace, "ingress");
        assert.deepEqual(one(run, ":Gateway").inputs.spec.selector, { istio: "ingress" });
    });

    it("puts the header route ahead of the weighted route, and adds mirror, timeout and retries from config", async () => {
        const run = await runWith({
            routing: {
                httpsRedirect: false,
                headerRoute: { header: "x-canary", value: "true", version: "v2" },
                mirror: { version: "v2", percentage: 5 },
                timeout: "10s",
                retries: { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,connect-failure" },
            },
        });
        const [header, weighted] = one(run, ":VirtualService").inputs.spec.http;
        assert.deepEqual(header.match, [{ headers: { "x-canary": { exact: "true" } } }]);
        assert.deepEqual(header.route, [{ destination: { host: "myapp.default.svc.cluster.local", subset: "v2" } }]);
        assert.deepEqual(weighted.mirror, { host: "myapp.default.svc.cluster.local", subset: "v2" });
        assert.deepEqual(weighted.mirrorPercentage, { value: 5 });
        assert.equal(weighted.timeout, "10s");
        assert.deepEqual(weighted.retries, { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,connect-failure" });
        assert.equal(one(run, ":Gateway").inputs.spec.servers.length, 1, "no port 80 server without httpsRedirect");
    });

    it("shows the weights when run as a preview", async () => {
        const run = await runWith({}, "dev", { preview: true });
        const vs = one(run, ":VirtualService");
        assert.deepEqual(
            vs.inputs.spec.http[0].route.map((d: any) => d.weight),
            [90, 10],
        );
    });
});

describe("rules defined once (issue 9)", () => {
    it("plans the dev stack (monitoring on) with rollout.reporter waypoint, which used to pass config and then crash the monitoring component", async () => {
        const run = await runWith({ rollout: { reporter: "waypoint" } });
        const grafana = run.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "grafana");
        assert.ok(grafana, "the monitoring component was created");
        const dashboard = JSON.parse(grafana.inputs.values.dashboards["istio-canary"].canary.json);
        assert.match(dashboard.panels[0].targets[0].expr, /reporter="waypoint"/);
    });
});
