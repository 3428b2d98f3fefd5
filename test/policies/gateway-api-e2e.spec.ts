/**
 * The Gateway API and ambient policies end to end over gRPC: the real pack in policies/, started as
 * the engine starts it, fed by the resources the real program registers for the committed ambient +
 * gateway-api stack (Pulumi.ambient.yaml), which must pass, and by broken variants of it, one change
 * each. One pack serves the whole file; each case configures it anew.
 */
import * as assert from "node:assert/strict";
import { RecordedResource, runStackOffline } from "../../offline/run";
import {
    POLICY_PACK_DIR,
    PolicyPackProcess,
    PolicyViolation,
    checkResources,
    checkStackPolicies,
    formatPolicyReport,
    readPolicyConfigFile,
    stackPolicyConfigFile,
} from "../../policy-runner";
import { ALL_POLICIES } from "../../policies/rules";
import { UNKNOWN, certificate, clone } from "./fixtures";

const HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const SERVICE = "kubernetes:core/v1:Service";
const HOST = "ambient.myapp.apsissolutions.com";

/** The Gateway API and ambient policies, with their kind. */
const NEW_POLICIES: Record<string, "resource" | "stack"> = {
    "ambient-waypoint-present": "stack",
    "gateway-api-tls-secret-readable": "stack",
    "httproute-backends-exist": "stack",
    "httproute-no-virtualservice-overlap": "stack",
    "httproute-parents-exist": "stack",
    "httproute-weights": "resource",
};

/** The policy, level and resource of each violation, for compact assertions. */
function summary(violations: PolicyViolation[]): string[] {
    return violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.name}`);
}

/** A resource added to the stack, as the mock monitor would record it (no parent). */
function added(type: string, name: string, inputs: Record<string, any>): RecordedResource {
    return { urn: `urn:pulumi:ambient::istio-canary::${type}::${name}`, type, name, custom: true, id: name, inputs, dependencies: [] };
}

describe("Gateway API and ambient policies end to end over the Analyzer protocol (stack ambient)", function () {
    this.timeout(180_000);
    let pack: PolicyPackProcess;
    let ambient: RecordedResource[];

    before(async () => {
        pack = PolicyPackProcess.launch(POLICY_PACK_DIR, {
            env: { PULUMI_NODEJS_STACK: "ambient", PULUMI_NODEJS_PROJECT: "istio-canary" },
        });
        ambient = (await runStackOffline("ambient", { preview: true })).resources;
        await pack.ready();
    });

    after(async () => {
        await pack?.close();
    });

    /** The resource of the ambient stack with this type and name, in `resources`. */
    function find(resources: RecordedResource[], type: string, name: string): RecordedResource {
        const r = resources.find((x) => x.type === type && x.name === name);
        assert.ok(r, `ambient stack has no ${type} ${name}`);
        return r;
    }

    /** A deep copy of the ambient stack's resources with one resource changed. */
    function ambientWith(type: string, name: string, edit: (inputs: Record<string, any>) => void): RecordedResource[] {
        const copy = clone(ambient);
        edit(find(copy, type, name).inputs);
        return copy;
    }

    const analyze = async (resources: RecordedResource[], config = "ambient") =>
        (await checkResources("ambient", resources, { pack, policyConfig: readPolicyConfigFile(stackPolicyConfigFile(config)) }))
            .violations;

    it("serves the six policies with their default levels, as GetAnalyzerInfo", async () => {
        const info = await pack.getAnalyzerInfo();
        const served = info.policies.filter((p) => p.name in NEW_POLICIES).map((p) => `${p.name} ${p.enforcementLevel} ${p.kind}`);
        assert.deepEqual(
            served.sort(),
            Object.entries(NEW_POLICIES).map(([name, kind]) => `${name} mandatory ${kind}`),
        );
    });

    it("has each of them in every stack's policy config, mandatory everywhere", () => {
        for (const stack of ["dev", "staging", "prod", "ambient"]) {
            const config = readPolicyConfigFile(stackPolicyConfigFile(stack));
            assert.deepEqual(Object.keys(config).sort(), ALL_POLICIES.map((p) => p.name).sort(), stack);
            for (const name of Object.keys(NEW_POLICIES)) {
                assert.equal(config[name].enforcementLevel, "mandatory", `${stack} ${name}`);
            }
        }
    });

    it("finds no violation in the ambient stack (Gateway, HTTPRoutes, per-version Services, waypoint), with policies/config/ambient.json", async () => {
        assert.ok(ambient.some((r) => r.type === HTTPROUTE && r.name === "myapp-route"));
        const report = await checkStackPolicies("ambient", { pack });
        assert.deepEqual(summary(report.violations), []);
        assert.equal(report.passed, true);
        assert.equal(report.policyConfigFile, stackPolicyConfigFile("ambient"));
        assert.match(formatPolicyReport(report), /✅ istio-canary-policies@v0\.1\.0/);
        assert.deepEqual(summary(await analyze(ambient, "prod")), [], "nor with prod's levels");
    });

    it("fails HTTPRoute weights 90/20, with the message, as a mandatory violation", async () => {
        const resources = ambientWith(HTTPROUTE, "myapp-route", (i) => (i.spec.rules[0].backendRefs[1].weight = 20));
        const report = await checkResources("ambient", resources, {
            pack,
            policyConfig: readPolicyConfigFile(stackPolicyConfigFile("ambient")),
        });
        assert.equal(report.passed, false);
        assert.deepEqual(summary(report.violations), ["mandatory httproute-weights myapp-route"]);
        const description = ALL_POLICIES.find((p) => p.name === "httproute-weights")!.description;
        assert.equal(
            report.violations[0].message,
            `${description}\nHTTPRoute default/myapp-route rules[0]: the weights sum to 110, not 100 (weights found: myapp-v1=90, myapp-v2=20). ` +
                "Gateway API would accept this and send 81.8% / 18.2%.",
        );
        assert.match(
            formatPolicyReport(report),
            /- \[mandatory\] {2}httproute-weights {2}\(kubernetes:gateway\.networking\.k8s\.io\/v1:HTTPRoute: myapp-route\)/,
        );
    });

    it("fails a backendRef to a Service the stack does not have", async () => {
        const resources = ambientWith(HTTPROUTE, "myapp-route", (i) => (i.spec.rules[0].backendRefs[1].name = "myapp-v3"));
        const violations = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory httproute-backends-exist myapp-route"]);
        assert.match(
            violations[0].message,
            /\nHTTPRoute default\/myapp-route rules\[0\] backendRefs\[1\] names Service default\/myapp-v3 port 8080, but the stack has no Service myapp-v3 in namespace default \(its Services there: myapp, myapp-v1, myapp-v2\)\./,
        );
    });

    it("fails a parentRef to a Gateway the stack does not have", async () => {
        const resources = ambientWith(HTTPROUTE, "myapp-route", (i) => (i.spec.parentRefs[0].name = "public-gateway"));
        const violations = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory httproute-parents-exist myapp-route"]);
        assert.match(
            violations[0].message,
            /\nHTTPRoute default\/myapp-route parentRefs\[0\] names Gateway istio-system\/public-gateway listener https-0, but the stack has no Gateway public-gateway in namespace istio-system \(its Gateways: .*Gateway istio-system\/myapp-gateway\)\./,
        );
    });

    it("fails a certificateRef to a Secret in another namespace without a ReferenceGrant, and passes with one", async () => {
        // The compliant variant: the Secret in namespace certs, the listener's certificateRef naming it, a grant there.
        const moved = clone(ambient);
        find(moved, "kubernetes:core/v1:Secret", "tls-secret").inputs.metadata.namespace = "certs";
        find(moved, GATEWAY, "myapp-gateway").inputs.spec.listeners[0].tls.certificateRefs[0].namespace = "certs";
        const grant = added("kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant", "certs-for-gateways", {
            apiVersion: "gateway.networking.k8s.io/v1beta1",
            kind: "ReferenceGrant",
            metadata: { namespace: "certs" },
            spec: {
                from: [{ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "istio-system" }],
                to: [{ group: "", kind: "Secret", name: "apsis-tls" }],
            },
        });
        assert.deepEqual(summary(await analyze([...moved, grant])), []);
        // One change: no grant.
        const violations = await analyze(moved);
        assert.deepEqual(summary(violations), ["mandatory gateway-api-tls-secret-readable myapp-gateway"]);
        assert.match(
            violations[0].message,
            /\nGateway istio-system\/myapp-gateway listener https-0 \(443\/HTTPS ambient\.myapp\.apsissolutions\.com\) tls\.certificateRefs\[0\] names Secret certs\/apsis-tls in another namespace than the Gateway's \(istio-system\), but no ReferenceGrant in namespace certs allows Gateways of namespace istio-system to read it\./,
        );
    });

    it("accepts a cert-manager Certificate issuing the listener's Secret in place of the Secret, and follows its namespace", async () => {
        const issuer = (namespace: string) => {
            const c = certificate("apsis-tls", namespace);
            return added(c.type, c.name, c.inputs);
        };
        const withoutSecret = ambient.filter((r) => r.type !== "kubernetes:core/v1:Secret");
        assert.equal(withoutSecret.length, ambient.length - 1);
        assert.deepEqual(summary(await analyze([...withoutSecret, issuer("istio-system")], "prod")), []);
        const violations = await analyze([...withoutSecret, issuer("default")]);
        assert.deepEqual(summary(violations), ["mandatory gateway-api-tls-secret-readable myapp-gateway"]);
        assert.match(
            violations[0].message,
            /the stack has no Secret apsis-tls in namespace istio-system\. Secret default\/apsis-tls \(issued by Certificate default\/apsis-cert\) exists/,
        );
    });

    it("fails a VirtualService for the host the HTTPRoutes route", async () => {
        const vs = added("kubernetes:networking.istio.io/v1:VirtualService", "legacy-vs", {
            apiVersion: "networking.istio.io/v1",
            kind: "VirtualService",
            metadata: { namespace: "default" },
            spec: { hosts: [HOST], gateways: ["mesh"], http: [{ route: [{ destination: { host: "myapp-v1" } }] }] },
        });
        const violations = await analyze([...ambient, vs]);
        assert.deepEqual(summary(violations), [
            "mandatory httproute-no-virtualservice-overlap myapp-redirect",
            "mandatory httproute-no-virtualservice-overlap myapp-route",
        ]);
        assert.match(
            violations[1].message,
            /\nHTTPRoute default\/myapp-route and VirtualService default\/legacy-vs route the same host: the route's hostname ambient\.myapp\.apsissolutions\.com of Gateway istio-system\/myapp-gateway listener https-0 and the VirtualService's host ambient\.myapp\.apsissolutions\.com\. Istio does not define which/,
        );
    });

    it("fails an ambient east-west route whose Service uses no waypoint", async () => {
        const resources = ambientWith(SERVICE, "myapp-svc", (i) => delete i.metadata.labels["istio.io/use-waypoint"]);
        const violations = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory ambient-waypoint-present myapp-route"]);
        assert.match(
            violations[0].message,
            /\nHTTPRoute default\/myapp-route parentRefs\[1\] attaches to Service default\/myapp in namespace default, labelled istio\.io\/dataplane-mode=ambient, but neither Service default\/myapp nor namespace default has an istio\.io\/use-waypoint label, so no waypoint serves it\. In ambient mode ztunnel/,
        );
    });

    it("reports nothing, not even an advisory, when the Gateway's generated name or whole parentRefs are unknown during preview", async () => {
        // What a real preview sends before the Gateway exists: the routes' parentRefs depend on its name.
        const whole = clone(ambient);
        find(whole, HTTPROUTE, "myapp-route").inputs.spec.parentRefs = UNKNOWN;
        find(whole, HTTPROUTE, "myapp-redirect").inputs.spec.parentRefs = UNKNOWN;
        assert.deepEqual(summary(await analyze(whole, "prod")), []);
        const name = clone(ambient);
        find(name, HTTPROUTE, "myapp-route").inputs.spec.parentRefs[0].name = UNKNOWN;
        find(name, HTTPROUTE, "myapp-redirect").inputs.spec.parentRefs[0].name = UNKNOWN;
        assert.deepEqual(summary(await analyze(name, "prod")), []);
    });

    it("reports nothing when weights, backends, certificateRefs, Service labels and namespace labels are unknown during preview", async () => {
        const resources = clone(ambient);
        const route = find(resources, HTTPROUTE, "myapp-route").inputs;
        route.spec.rules[0].backendRefs[0].weight = UNKNOWN;
        route.spec.rules[0].backendRefs[1].name = UNKNOWN;
        find(resources, GATEWAY, "myapp-gateway").inputs.spec.listeners[0].tls.certificateRefs = UNKNOWN;
        find(resources, SERVICE, "myapp-svc").inputs.metadata.labels = UNKNOWN;
        find(resources, "kubernetes:core/v1:NamespacePatch", "myapp-ns").inputs.metadata.labels = UNKNOWN;
        find(resources, "kubernetes:core/v1:Secret", "tls-secret").inputs.metadata = UNKNOWN;
        assert.deepEqual(summary(await analyze(resources, "prod")), []);
    });

    // Last: it ends the shared pack.
    it("ends the pack process on close", async () => {
        await pack.close();
        assert.equal(pack.hasExited, true);
    });
});
