import * as assert from "node:assert/strict";
import { DestinationRule } from "@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule";
import { Gateway } from "@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway";
import { VirtualService } from "@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService";
import { Gateway as GatewayApiGateway } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { RecordedResource } from "../../offline/run";
import { isKubernetesObject, redactSecrets } from "../../offline/plan-format";
import { runStack, runWith } from "../support/program";

type Model = { validate(): void };
/** Published schemas by type token. Istio's v1 has the same schema as v1beta1, which the Node 20 release of @kubernetes-models/istio covers. */
const MODELS: Record<string, (o: any) => Model> = {
    "kubernetes:apps/v1:Deployment": (o) => new Deployment(o),
    "kubernetes:core/v1:Service": (o) => new Service(o),
    "kubernetes:core/v1:Secret": (o) => new Secret(o),
    "kubernetes:core/v1:Namespace": (o) => new Namespace(o),
    "kubernetes:core/v1:NamespacePatch": (o) => new Namespace({ ...o, kind: "Namespace" }),
    "kubernetes:networking.istio.io/v1:Gateway": (o) => new Gateway({ ...o, apiVersion: "networking.istio.io/v1beta1" }),
    "kubernetes:networking.istio.io/v1:DestinationRule": (o) => new DestinationRule({ ...o, apiVersion: "networking.istio.io/v1beta1" }),
    "kubernetes:networking.istio.io/v1:VirtualService": (o) => new VirtualService({ ...o, apiVersion: "networking.istio.io/v1beta1" }),
    // Gateway API v1 as published in @kubernetes-models/gateway-api 0.5.1 (types and required fields are checked; unknown fields are not).
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": (o) => new GatewayApiGateway(o),
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": (o) => new HTTPRoute(o),
};

/** The object as the API server would receive it: the provider's auto-name filled in, secrets as placeholders. */
function asSubmitted(r: RecordedResource): any {
    const o = redactSecrets(r.inputs) as any;
    return { ...o, metadata: { name: r.id, ...o.metadata } };
}

function validateAll(resources: RecordedResource[]): string[] {
    const validated: string[] = [];
    for (const r of resources.filter(isKubernetesObject)) {
        const model = MODELS[r.type];
        assert.ok(model, `no schema for ${r.type}`);
        assert.doesNotThrow(() => model(asSubmitted(r)).validate(), `${r.type} ${r.name} must match the published schema`);
        validated.push(r.type);
    }
    return validated;
}

describe("emitted objects against the published Kubernetes and Istio schemas", () => {
    for (const stack of ["dev", "staging", "prod"]) {
        it(`validates every Kubernetes object of stack ${stack}`, async () => {
            const validated = validateAll((await runStack(stack)).resources);
            assert.ok(validated.includes("kubernetes:networking.istio.io/v1:VirtualService"));
            assert.ok(validated.includes("kubernetes:apps/v1:Deployment"));
        });
    }

    it("validates the routing features: header route, mirror, timeout and retries", async () => {
        const run = await runWith({
            app: { name: "shop", namespace: "shop" },
            routing: {
                headerRoute: { header: "x-canary", value: "true", version: "v2" },
                mirror: { version: "v2", percentage: 12.5 },
                timeout: "10s",
                retries: { attempts: 2, perTryTimeout: "2s", retryOn: "connect-failure,refused-stream" },
            },
        });
        assert.ok(validateAll(run.resources).includes("kubernetes:core/v1:Namespace"));
    });

    it("validates the Gateway API objects, per-version Services and the waypoint of an ambient gateway-api stack", async () => {
        const run = await runWith({
            istio: { mode: "ambient" },
            routing: { api: "gateway-api", headerRoute: { header: "x-canary", value: "true", version: "v2" }, timeout: "10s" },
        });
        const validated = validateAll(run.resources.filter((r) => r.type !== "kubernetes:yaml/v2:ConfigFile"));
        assert.equal(validated.filter((t) => t === "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").length, 2);
        assert.equal(
            validated.filter((t) => t === "kubernetes:gateway.networking.k8s.io/v1:Gateway").length,
            2,
            "the ingress Gateway and the waypoint",
        );
    });

    it("validates the sticky canary's cookie route and Set-Cookie, with both routing APIs", async () => {
        const versions = [
            { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 75 },
            { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: 25 },
        ];
        const routing = { stickyCanary: { enabled: true }, headerRoute: { header: "x-canary", value: "true", version: "v2" } };
        const istio = await runWith({ versions, routing });
        const vs = istio.resources.find((r) => r.type.endsWith(":VirtualService"))!;
        assert.deepEqual(
            vs.inputs.spec.http.map((h: { name: string }) => h.name),
            ["header-v2", "sticky-v2", "weighted"],
        );
        assert.ok(validateAll(istio.resources).includes("kubernetes:networking.istio.io/v1:VirtualService"));
        const gatewayApi = await runWith({ versions, routing: { ...routing, api: "gateway-api" } });
        const route = gatewayApi.resources.find((r) => r.name === "myapp-route")!;
        assert.equal(route.inputs.spec.rules.length, 3);
        assert.ok(validateAll(gatewayApi.resources.filter((r) => r.type !== "kubernetes:yaml/v2:ConfigFile")).includes(route.type));
    });

    it("would catch a Set-Cookie value of the wrong type on a destination (the schema check reaches the field)", () => {
        const vs = new VirtualService({
            metadata: { name: "x" },
            spec: {
                hosts: ["a"],
                http: [
                    { route: [{ destination: { host: "a" }, headers: { response: { add: { "set-cookie": 1 as unknown as string } } } }] },
                ],
            },
        });
        assert.throws(() => vs.validate(), /set-cookie must be string/);
    });

    it("would catch a Gateway API header match type the standard channel does not have", () => {
        const route = new HTTPRoute({
            metadata: { name: "x" },
            spec: {
                parentRefs: [{ name: "gw" }],
                rules: [
                    {
                        matches: [{ headers: [{ type: "Glob" as "Exact", name: "Cookie", value: "a" }] }],
                        backendRefs: [{ name: "a", port: 80 }],
                    },
                ],
            },
        });
        assert.throws(() => route.validate(), /must be equal to one of the allowed values/);
    });

    it("would catch a Gateway API weight of the wrong type (the schema check can fail)", () => {
        const route = new HTTPRoute({
            metadata: { name: "x" },
            spec: { parentRefs: [{ name: "gw" }], rules: [{ backendRefs: [{ name: "a", port: 80, weight: "90" as unknown as number }] }] },
        });
        assert.throws(() => route.validate(), /weight must be integer/);
    });

    it("would catch a weight of the wrong type (the schema check can fail)", () => {
        const vs = new VirtualService({
            metadata: { name: "x" },
            spec: { hosts: ["a"], http: [{ route: [{ destination: { host: "a" }, weight: "90" as unknown as number }] }] },
        });
        assert.throws(() => vs.validate(), /weight must be integer/);
    });
});
