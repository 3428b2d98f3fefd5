import * as assert from "node:assert/strict";
import { POD_DEFAULTS, destinationRuleSpec, gatewaySpec, httpRoutes, podSpecFor, virtualServiceSpec } from "../../components";

const FQDN = "shop.shop.svc.cluster.local";
const SPLIT = [
    { name: "v1", weight: 90 },
    { name: "v2", weight: 10 },
];

describe("spec builders (pure)", () => {
    it("gatewaySpec serves HTTPS with the credential and adds the port 80 redirect only when asked", () => {
        const args = { hosts: ["shop.example.com"], gatewaySelector: { istio: "ingressgateway" }, credentialName: "shop-tls" };
        assert.deepEqual(gatewaySpec({ ...args, routing: { httpsRedirect: true } }), {
            selector: { istio: "ingressgateway" },
            servers: [
                {
                    port: { number: 443, name: "https", protocol: "HTTPS" },
                    tls: { mode: "SIMPLE", credentialName: "shop-tls" },
                    hosts: ["shop.example.com"],
                },
                { port: { number: 80, name: "http", protocol: "HTTP" }, tls: { httpsRedirect: true }, hosts: ["shop.example.com"] },
            ],
        });
        assert.equal(gatewaySpec({ ...args, routing: { httpsRedirect: false } }).servers.length, 1);
    });

    it("destinationRuleSpec gives each version a subset selecting its version label", () => {
        assert.deepEqual(destinationRuleSpec(FQDN, SPLIT), {
            host: FQDN,
            subsets: [
                { name: "v1", labels: { version: "v1" } },
                { name: "v2", labels: { version: "v2" } },
            ],
        });
    });

    it("httpRoutes keeps a weight-0 version in the weighted route and puts the header route first", () => {
        const routes = httpRoutes(
            FQDN,
            [
                { name: "v1", weight: 100 },
                { name: "v2", weight: 0 },
            ],
            { httpsRedirect: true, headerRoute: { header: "x-canary", value: "true", version: "v2" }, timeout: "5s" },
        );
        assert.deepEqual(routes, [
            {
                name: "header-v2",
                match: [{ headers: { "x-canary": { exact: "true" } } }],
                route: [{ destination: { host: FQDN, subset: "v2" } }],
                timeout: "5s",
            },
            {
                name: "weighted",
                route: [
                    { destination: { host: FQDN, subset: "v1" }, weight: 100 },
                    { destination: { host: FQDN, subset: "v2" }, weight: 0 },
                ],
                timeout: "5s",
            },
        ]);
    });

    it("httpRoutes mirrors on the weighted route only", () => {
        const [weighted] = httpRoutes(FQDN, SPLIT, { httpsRedirect: true, mirror: { version: "v2", percentage: 5 } });
        assert.deepEqual(weighted.mirror, { host: FQDN, subset: "v2" });
        assert.deepEqual(weighted.mirrorPercentage, { value: 5 });
    });

    it("virtualServiceSpec serves the public hosts and the Service FQDN, through the Gateway and the mesh", () => {
        const vs = virtualServiceSpec({
            hosts: ["shop.example.com"],
            serviceFqdn: FQDN,
            gatewayRef: "shop/gw",
            versions: SPLIT,
            routing: { httpsRedirect: true },
        });
        assert.deepEqual(vs.hosts, ["shop.example.com", FQDN]);
        assert.deepEqual(vs.gateways, ["shop/gw", "mesh"]);
        assert.equal(vs.http.length, 1);
    });

    it("podSpecFor probes the named http port, sets requests and limits and drops every capability", () => {
        const spec = podSpecFor({ name: "shop", targetPort: 8080 }, { image: "shop:1.0" }, POD_DEFAULTS);
        const [c] = spec.containers as any[];
        assert.equal(c.image, "shop:1.0");
        assert.deepEqual(c.ports, { http: 8080 });
        assert.deepEqual(c.readinessProbe, { httpGet: { path: "/", port: "http" }, initialDelaySeconds: 2, periodSeconds: 5 });
        assert.deepEqual(c.livenessProbe, { httpGet: { path: "/", port: "http" }, initialDelaySeconds: 10, periodSeconds: 10 });
        assert.deepEqual(c.resources, { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
        assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
        assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } });
    });
});
