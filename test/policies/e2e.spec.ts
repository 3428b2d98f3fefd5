/**
 * End to end over gRPC: the real pack in policies/, started as the engine starts it, fed by the
 * resources the real program registers for each stack file (offline/run.ts), and by broken variants
 * of them. One pack serves the whole file (it takes seconds to start); each case configures it anew.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    AnalyzerInputResource,
    PolicyConfigError,
    PolicyPackProcess,
    PolicyViolation,
    analyzeResources,
    readPolicyConfigFile,
} from "../../policy-runner";
import { RecordedResource, runStackOffline } from "../../offline/run";
import { POLICY_PACK_DIR, checkResources, checkStackPolicies, formatPolicyReport, stackPolicyConfigFile } from "../../policy-runner";
import { ALL_POLICIES, PACK_NAME } from "../../policies/rules";
import { UNKNOWN, batchWorkload, certificate, clone, dest, virtualService } from "./fixtures";

const STACKS = ["dev", "staging", "prod", "ambient"];
const WEIGHTS_DESCRIPTION = ALL_POLICIES.find((p) => p.name === "virtualservice-weights")!.description;

/** The policy, level and resource of each violation, for compact assertions. */
function summary(violations: PolicyViolation[]): string[] {
    return violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.name}`);
}

describe("policy pack end to end over the Analyzer protocol", function () {
    this.timeout(180_000);
    let pack: PolicyPackProcess;
    let dev: RecordedResource[];

    before(async () => {
        pack = PolicyPackProcess.launch(POLICY_PACK_DIR, { env: { PULUMI_NODEJS_STACK: "dev", PULUMI_NODEJS_PROJECT: "istio-canary" } });
        dev = (await runStackOffline("dev", { preview: true })).resources;
        await pack.ready();
    });

    after(async () => {
        await pack?.close();
    });

    /** A deep copy of the dev stack's resources with one resource changed. */
    function devWith(type: string, name: string, edit: (inputs: Record<string, any>) => void): RecordedResource[] {
        const copy = clone(dev);
        const r = copy.find((x) => x.type === type && x.name === name);
        assert.ok(r, `dev stack has no ${type} ${name}`);
        edit(r.inputs);
        return copy;
    }

    /** A copy of one of the dev stack's resources under another name, changed by `edit`. */
    function copyOf(name: string, newName: string, edit: (r: RecordedResource) => void = () => undefined): RecordedResource {
        const r = clone(dev.find((x) => x.name === name)!);
        r.name = newName;
        r.urn = r.urn.replace(new RegExp(`::${name}$`), `::${newName}`);
        edit(r);
        return r;
    }

    const analyze = (resources: readonly AnalyzerInputResource[], policyConfig = readPolicyConfigFile(stackPolicyConfigFile("dev"))) =>
        analyzeResources(POLICY_PACK_DIR, resources, { pack, policyConfig });

    it("describes every policy of the pack with its default level, as GetAnalyzerInfo", async () => {
        const info = await pack.getAnalyzerInfo();
        assert.equal(info.name, PACK_NAME);
        assert.equal(info.version, JSON.parse(fs.readFileSync(path.join(POLICY_PACK_DIR, "package.json"), "utf8")).version);
        assert.deepEqual(
            info.policies.map((p) => `${p.name} ${p.enforcementLevel} ${p.kind}`),
            [
                "ambient-waypoint-present mandatory stack",
                "container-images-pinned advisory resource",
                "container-resources-and-readiness advisory resource",
                "destinationrule-subsets-select-pods mandatory stack",
                "exportto-reaches-proxies mandatory stack",
                "gateway-api-tls-secret-readable mandatory stack",
                "gateway-http-redirects-to-https advisory resource",
                "gateway-selects-installed-ingress mandatory stack",
                "gateway-tls-secret-exists mandatory stack",
                "httproute-backends-exist mandatory stack",
                "httproute-no-virtualservice-overlap mandatory stack",
                "httproute-parents-exist mandatory stack",
                "httproute-weights mandatory resource",
                "sticky-canary-route mandatory resource",
                "virtualservice-catch-all-last mandatory resource",
                "virtualservice-hosts-unique mandatory stack",
                "virtualservice-mirror mandatory resource",
                "virtualservice-subsets-exist mandatory stack",
                "virtualservice-weighted-subsets-have-replicas mandatory stack",
                "virtualservice-weights mandatory resource",
            ],
        );
    });

    it("has a policy config per stack naming every policy; prod makes every policy mandatory", () => {
        const names = ALL_POLICIES.map((p) => p.name).sort();
        for (const stack of STACKS) {
            const config = readPolicyConfigFile(stackPolicyConfigFile(stack));
            assert.deepEqual(Object.keys(config).sort(), names, stack);
        }
        const prod = readPolicyConfigFile(stackPolicyConfigFile("prod"));
        assert.ok(Object.values(prod).every((c) => c.enforcementLevel === "mandatory"));
        const dev = readPolicyConfigFile(stackPolicyConfigFile("dev"));
        assert.equal(dev["container-images-pinned"].enforcementLevel, "advisory");
    });

    for (const stack of STACKS) {
        it(`finds no violation in the ${stack} stack, with policies/config/${stack}.json applied`, async () => {
            const report = await checkStackPolicies(stack, { pack });
            assert.deepEqual(summary(report.violations), []);
            assert.equal(report.passed, true);
            assert.equal(report.policyConfigFile, stackPolicyConfigFile(stack));
            assert.ok(report.resources > 10, `only ${report.resources} resources analyzed`);
            assert.equal(report.enforcement["container-images-pinned"], stack === "prod" ? "mandatory" : "advisory");
            assert.match(formatPolicyReport(report), /✅ istio-canary-policies@v0\.1\.0 \(local: .*policies\)/);
        });
    }

    it("fails a stack whose VirtualService weights are 90/20, with the message, as a mandatory violation", async () => {
        const resources = devWith(
            "kubernetes:networking.istio.io/v1:VirtualService",
            "myapp-vs",
            (i) => (i.spec.http[0].route[1].weight = 20),
        );
        const report = await checkResources("dev", resources, { pack, policyConfig: readPolicyConfigFile(stackPolicyConfigFile("dev")) });
        assert.equal(report.passed, false);
        assert.equal(report.violations.length, 1);
        const v = report.violations[0];
        assert.equal(v.policyName, "virtualservice-weights");
        assert.equal(v.policyPackName, PACK_NAME);
        assert.equal(v.enforcementLevel, "mandatory");
        assert.equal(v.type, "kubernetes:networking.istio.io/v1:VirtualService");
        assert.equal(v.name, "myapp-vs");
        assert.equal(
            v.message,
            `${WEIGHTS_DESCRIPTION}\nVirtualService default/myapp-vs http[0] "weighted": the weights sum to 110, not 100 ` +
                "(weights found: v1=90, v2=20 to myapp.default.svc.cluster.local). Istio would accept this and send 81.8% / 18.2%.",
        );
        const text = formatPolicyReport(report);
        assert.match(text, /❌ istio-canary-policies@v0\.1\.0/);
        assert.match(
            text,
            / {8}- \[mandatory\] {2}virtualservice-weights {2}\(kubernetes:networking\.istio\.io\/v1:VirtualService: myapp-vs\)\n {10}Every http, tcp and tls route/,
        );
        assert.match(text, /FAILED: 1 mandatory and 0 advisory policy violation in stack dev/);
    });

    it("checks a raw CustomResource VirtualService of networking.istio.io/v1alpha3 added to the stack", async () => {
        const raw = virtualService([{ route: [dest("v1", 60), dest("v2", 60)] }], {}, { apiVersion: "networking.istio.io/v1alpha3" });
        raw.name = "legacy-vs";
        // Its own host: with the app's host it would also be a second VirtualService for it (virtualservice-hosts-unique).
        raw.props.spec.hosts = ["legacy.default.svc.cluster.local"];
        raw.urn = "urn:pulumi:dev::istio-canary::kubernetes:networking.istio.io/v1alpha3:VirtualService::legacy-vs";
        const { violations } = await analyze([...dev, raw]);
        assert.deepEqual(summary(violations), ["mandatory virtualservice-weights legacy-vs"]);
        assert.match(violations[0].message, /\nVirtualService default\/legacy-vs http\[0\]: the weights sum to 120, not 100/);
    });

    it("attaches a stack policy's violation to the resource at fault: a TLS secret in the Gateway's namespace", async () => {
        const resources = devWith("kubernetes:core/v1:Secret", "tls-secret", (i) => (i.metadata.namespace = "default"));
        const { violations } = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory gateway-tls-secret-exists myapp-gateway"]);
        assert.match(
            violations[0].message,
            /uses credentialName apsis-tls, but the stack has no kubernetes\.io\/tls Secret apsis-tls in namespace istio-system.*Secret default\/apsis-tls exists/,
        );
    });

    it("catches a gateway release whose pods the Gateway's selector does not match", async () => {
        const resources = devWith("kubernetes:helm.sh/v3:Release", "istio-gateway", (i) => (i.name = "istio-ingress"));
        const { violations } = await analyze(resources);
        // The secret check follows the selector, so only the selector is reported.
        assert.deepEqual(summary(violations), ["mandatory gateway-selects-installed-ingress myapp-gateway"]);
        assert.match(violations[0].message, /labels its pods \{app: istio-ingress, istio: ingress\}/);
    });

    it("catches a subset no DestinationRule defines and a subset that selects no pods", async () => {
        const noSubset = devWith("kubernetes:networking.istio.io/v1:DestinationRule", "myapp-dr", (i) => i.spec.subsets.pop());
        assert.deepEqual(summary((await analyze(noSubset)).violations), ["mandatory virtualservice-subsets-exist myapp-vs"]);
        const noPods = devWith("kubernetes:apps/v1:Deployment", "myapp-v2", (i) => (i.spec.template.metadata.labels.version = "v2-rc1"));
        assert.deepEqual(summary((await analyze(noPods)).violations), ["mandatory destinationrule-subsets-select-pods myapp-dr"]);
    });

    it("reports an unpinned image as advisory with dev's config and as mandatory with prod's", async () => {
        const resources = devWith(
            "kubernetes:apps/v1:Deployment",
            "myapp-v2",
            (i) => (i.spec.template.spec.containers[0].image = "jamaldevsecops/myapp:latest"),
        );
        assert.deepEqual(summary((await analyze(resources)).violations), ["advisory container-images-pinned myapp-v2"]);
        const prod = await checkResources("prod", resources, { pack, policyConfig: readPolicyConfigFile(stackPolicyConfigFile("prod")) });
        assert.deepEqual(summary(prod.violations), ["mandatory container-images-pinned myapp-v2"]);
        assert.equal(prod.passed, false);
    });

    it("applies all and per-policy levels from the policy config", async () => {
        const resources = devWith(
            "kubernetes:networking.istio.io/v1:VirtualService",
            "myapp-vs",
            (i) => (i.spec.http[0].route[1].weight = 20),
        );
        assert.deepEqual(summary((await analyze(resources, { all: { enforcementLevel: "disabled" } })).violations), []);
        const report = await checkResources("dev", resources, {
            pack,
            policyConfig: { "virtualservice-weights": { enforcementLevel: "advisory" } },
        });
        assert.deepEqual(summary(report.violations), ["advisory virtualservice-weights myapp-vs"]);
        assert.equal(report.passed, true);
    });

    it("refuses a policy config that names a policy the pack does not have", async () => {
        await assert.rejects(
            checkResources("dev", dev, {
                pack,
                policyConfig: { "virtualservice-weight": { enforcementLevel: "mandatory" } },
                policyConfigFile: "typo.json",
            }),
            (e: Error) =>
                e instanceof PolicyConfigError &&
                /^typo\.json names "virtualservice-weight", which is not a policy of istio-canary-policies; its policies: /.test(e.message),
        );
    });

    it("reports nothing, not even an advisory, when weights, hosts, subsets and selectors are unknown during preview", async () => {
        const resources = clone(dev);
        const byName = (name: string) => resources.find((r) => r.name === name)!.inputs;
        byName("myapp-vs").spec.http[0].route[0].weight = UNKNOWN;
        byName("myapp-vs").spec.http[0].route[1].destination.subset = UNKNOWN;
        byName("myapp-dr").spec.host = UNKNOWN;
        byName("myapp-gateway").spec.selector = { istio: UNKNOWN };
        byName("myapp-v2").spec.template.metadata.labels = UNKNOWN;
        byName("istio-gateway").values = UNKNOWN;
        byName("tls-secret").metadata = UNKNOWN;
        const { violations } = await analyze(resources, readPolicyConfigFile(stackPolicyConfigFile("prod")));
        assert.deepEqual(summary(violations), []);
    });

    it("reports a wrong known weight next to an unknown one", async () => {
        const resources = devWith("kubernetes:networking.istio.io/v1:VirtualService", "myapp-vs", (i) => {
            i.spec.http[0].route = [dest("v1", -5), dest("v2", UNKNOWN)];
        });
        const { violations } = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory virtualservice-weights myapp-vs"]);
        assert.match(violations[0].message, /destination 0 has weight -5, outside 0-100 \(weights found: v1=-5, v2=\(unknown\) to /);
    });

    it("asks no readiness probe of a Job or CronJob added to the stack (their pods run to completion), even with prod's config", async () => {
        const prod = readPolicyConfigFile(stackPolicyConfigFile("prod"));
        for (const kind of ["Job", "CronJob"] as const) {
            const { violations } = await analyze([...dev, batchWorkload(kind)], prod);
            assert.deepEqual(summary(violations), [], kind);
        }
        const job = batchWorkload("Job");
        delete job.inputs.spec.template.spec.containers[0].resources.requests;
        const { violations } = await analyze([...dev, job], prod);
        assert.deepEqual(summary(violations), ["mandatory container-resources-and-readiness myapp-migrate"]);
        assert.match(
            violations[0].message,
            /\nJob default\/myapp-migrate container migrate has no resources\.requests\.cpu, resources\.requests\.memory; give every container CPU and memory requests and limits\.$/,
        );
    });

    it("accepts a cert-manager Certificate issuing the TLS secret in place of the Secret, and follows its namespace", async () => {
        const withoutSecret = dev.filter((r) => r.type !== "kubernetes:core/v1:Secret");
        assert.equal(withoutSecret.length, dev.length - 1);
        const prod = readPolicyConfigFile(stackPolicyConfigFile("prod"));
        assert.deepEqual(summary((await analyze([...withoutSecret, certificate("apsis-tls", "istio-system")], prod)).violations), []);
        const { violations } = await analyze([...withoutSecret, certificate("apsis-tls", "default")]);
        assert.deepEqual(summary(violations), ["mandatory gateway-tls-secret-exists myapp-gateway"]);
        assert.match(
            violations[0].message,
            /Secret default\/apsis-tls \(issued by Certificate default\/apsis-cert\) exists, but Istio reads the secret from the namespace of the gateway pods/,
        );
    });

    it("catches a catch-all route placed before the weighted route: it takes all traffic", async () => {
        const resources = devWith("kubernetes:networking.istio.io/v1:VirtualService", "myapp-vs", (i) =>
            i.spec.http.unshift({ name: "stable", route: [dest("v1")] }),
        );
        const { violations } = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory virtualservice-catch-all-last myapp-vs"]);
        assert.match(
            violations[0].message,
            /\nVirtualService default\/myapp-vs http\[0\] "stable" matches every request \(it has no match\), so Istio never sends traffic to http\[1\] "weighted" \(v1=90, v2=10 to myapp\.default\.svc\.cluster\.local\)/,
        );
    });

    it("catches a second VirtualService for the same host, in the same namespace or another", async () => {
        const copy = (name: string, namespace: string) => copyOf("myapp-vs", name, (r) => (r.inputs.metadata.namespace = namespace));
        const same = await analyze([...dev, copy("myapp-vs-2", "default")]);
        assert.deepEqual(summary(same.violations), [
            "mandatory virtualservice-hosts-unique myapp-vs",
            "mandatory virtualservice-hosts-unique myapp-vs-2",
        ]);
        assert.match(
            same.violations[0].message,
            /\nVirtualService default\/myapp-vs and VirtualService default\/myapp-vs-2 both route dev\.myapp\.apsissolutions\.com, myapp\.default\.svc\.cluster\.local for in-mesh callers in every namespace; and dev\.myapp\.apsissolutions\.com, myapp\.default\.svc\.cluster\.local through Gateway default\/myapp-gateway-[0-9a-f]{8}, with a catch-all route in each\. Istio does not merge/,
        );
        const other = copy("myapp-vs-team", "team");
        other.inputs.spec.gateways = ["mesh"];
        const { violations } = await analyze([...dev, other]);
        assert.deepEqual(summary(violations), [
            "mandatory virtualservice-hosts-unique myapp-vs",
            "mandatory virtualservice-hosts-unique myapp-vs-team",
        ]);
        assert.match(
            violations[1].message,
            /VirtualService default\/myapp-vs and VirtualService team\/myapp-vs-team both route dev\.myapp\.apsissolutions\.com, myapp\.default\.svc\.cluster\.local for in-mesh callers in every namespace\. Istio does not merge VirtualServices for in-mesh callers/,
        );
    });

    it("catches exportTo hiding the VirtualService from the ingress gateway pods, or the DestinationRule from its callers", async () => {
        const vs = "kubernetes:networking.istio.io/v1:VirtualService";
        const dr = "kubernetes:networking.istio.io/v1:DestinationRule";
        const hiddenVs = await analyze(devWith(vs, "myapp-vs", (i) => (i.spec.exportTo = ["."])));
        assert.deepEqual(summary(hiddenVs.violations), ["mandatory exportto-reaches-proxies myapp-vs"]);
        assert.match(
            hiddenVs.violations[0].message,
            /\nVirtualService default\/myapp-vs is bound to Gateway default\/myapp-gateway-[0-9a-f]{8}, served by Helm release istio-ingressgateway \(chart gateway\) in istio-system, but its exportTo \["\."\] makes it visible only in namespace default: /,
        );
        const hiddenDr = await analyze(devWith(dr, "myapp-dr", (i) => (i.spec.exportTo = ["."])));
        assert.deepEqual(summary(hiddenDr.violations), ["mandatory exportto-reaches-proxies myapp-dr"]);
        assert.match(
            hiddenDr.violations[0].message,
            /\nDestinationRule default\/myapp-dr defines subsets v1, v2 that VirtualService default\/myapp-vs routes to, but its exportTo \["\."\] makes it visible only in namespace default, so the gateway pods in istio-system .* and in-mesh callers in other namespaces \(the VirtualService is exported to every namespace\) never see them: their requests routed there fail with 503/,
        );
        // Both exported to the gateway pods' namespace as well: every proxy that applies the routes sees the subsets.
        const both = devWith(vs, "myapp-vs", (i) => (i.spec.exportTo = [".", "istio-system"]));
        both.find((r) => r.type === dr)!.inputs.spec.exportTo = [".", "istio-system"];
        assert.deepEqual(summary((await analyze(both)).violations), []);
    });

    it("catches weight on a subset whose workload has 0 replicas", async () => {
        const resources = devWith("kubernetes:apps/v1:Deployment", "myapp-v2", (i) => (i.spec.replicas = 0));
        const { violations } = await analyze(resources);
        assert.deepEqual(summary(violations), ["mandatory virtualservice-weighted-subsets-have-replicas myapp-vs"]);
        assert.match(
            violations[0].message,
            /\nVirtualService default\/myapp-vs http\[0\] "weighted" sends 10% of its traffic \(weight 10\) to subset v2 of myapp\.default\.svc\.cluster\.local, but the only workload there, Deployment default\/myapp-v2, has replicas: 0/,
        );
        // The same Deployment at 0 with weight 0: nothing is sent there.
        const drained = clone(resources);
        const vs = drained.find((r) => r.name === "myapp-vs")!;
        vs.inputs.spec.http[0].route[0].weight = 100;
        vs.inputs.spec.http[0].route[1].weight = 0;
        assert.deepEqual(summary((await analyze(drained)).violations), []);
    });

    it("reports nothing when what decides a route, host, export or replica check is unknown during preview", async () => {
        const prod = readPolicyConfigFile(stackPolicyConfigFile("prod"));
        const vs = "kubernetes:networking.istio.io/v1:VirtualService";
        const cases: [string, RecordedResource[]][] = [
            [
                "a route before the weighted one whose match is unknown",
                devWith(vs, "myapp-vs", (i) => i.spec.http.unshift({ match: UNKNOWN, route: [dest("v1")] })),
            ],
            [
                "a second VirtualService whose hosts are unknown",
                [...dev, copyOf("myapp-vs", "myapp-vs-2", (r) => (r.inputs.spec.hosts = UNKNOWN))],
            ],
            [
                "a second VirtualService whose exportTo is unknown",
                [...dev, copyOf("myapp-vs", "myapp-vs-2", (r) => (r.inputs.spec.exportTo = [UNKNOWN]))],
            ],
            ["the VirtualService's exportTo is unknown", devWith(vs, "myapp-vs", (i) => (i.spec.exportTo = [UNKNOWN]))],
            [
                "the DestinationRule's exportTo is unknown",
                devWith("kubernetes:networking.istio.io/v1:DestinationRule", "myapp-dr", (i) => (i.spec.exportTo = UNKNOWN)),
            ],
            [
                "the canary Deployment's replicas are unknown",
                devWith("kubernetes:apps/v1:Deployment", "myapp-v2", (i) => (i.spec.replicas = UNKNOWN)),
            ],
        ];
        for (const [what, resources] of cases) {
            assert.deepEqual(summary((await analyze(resources, prod)).violations), [], what);
        }
    });

    // Last: it ends the shared pack.
    it("kept one pack process alive for every analysis above, and ends it on close", async () => {
        const pid = pack.pid!;
        assert.equal(pack.hasExited, false);
        assert.doesNotThrow(() => process.kill(pid, 0));
        await pack.close();
        assert.equal(pack.hasExited, true);
        assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
    });
});
