import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { checkResources } from "../../policy-runner";
import { BIN, Cluster, ROOT, gatewayApiCrds, istioCrds, manifestFiles, planManifests, requireTools, run, startCluster } from "./support";

/**
 * What the program emits, judged by the real thing: a real kube-apiserver (v1.33, etcd, kwok for
 * Ready pods) with Istio's own CRDs (from istioctl's embedded manifests) and the Gateway API
 * standard-channel CRDs registered, and istioctl's own validation and analyzers. The objects are
 * the offline plan's manifests (`plan --out`), applied with kubectl: the Pulumi engine is not in
 * this tier (see docs/verification.md for why), so what is proven is that the API server and Istio
 * accept and hold exactly what the program registers.
 */

const STACKS = ["dev", "staging", "prod", "ambient"];

describe("e2e: the program's objects on a real API server, and Istio's own judgement of them", function () {
    this.timeout(600_000);
    let cluster: Cluster | undefined;
    const plans: Record<string, string> = {};

    before(function () {
        requireTools(["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok", "kubectl", "istioctl"]);
        for (const stack of STACKS) {
            plans[stack] = planManifests(stack);
        }
        cluster = startCluster();
        const crds = `${istioCrds()}\n---\n${gatewayApiCrds("v1.3.0")}`;
        cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: crds });
        cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
        cluster.kubectl(["create", "namespace", "istio-system"]);
    });

    after(function () {
        cluster?.stop();
        for (const dir of Object.values(plans)) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    const k = (args: string[], opts?: { input?: string; allowFail?: boolean }) => {
        assert.ok(cluster, "the cluster started");
        return cluster.kubectl(args, opts);
    };
    const getJson = (args: string[]) => JSON.parse(k(["get", ...args, "-o", "json"]).stdout);

    it("registers Istio's and the Gateway API's CRDs, so the API server validates against their real schemas", () => {
        const names = (getJson(["crd"]).items as { metadata: { name: string } }[]).map((c) => c.metadata.name);
        for (const crd of [
            "virtualservices.networking.istio.io",
            "destinationrules.networking.istio.io",
            "gateways.networking.istio.io",
            "httproutes.gateway.networking.k8s.io",
            "gateways.gateway.networking.k8s.io",
        ]) {
            assert.ok(names.includes(crd), `${crd} is registered`);
        }
    });

    for (const stack of STACKS) {
        it(`accepts every object of stack ${stack} (server-side dry run against the real schemas)`, () => {
            const r = k(["apply", "--server-side", "--dry-run=server", "-f", plans[stack]]);
            assert.equal(
                manifestFiles(plans[stack]).length,
                (r.stdout.match(/serverside-applied|created|configured|unchanged/g) ?? []).length,
                r.stdout,
            );
        });
    }

    it("holds the dev stack as planned: Ready Deployments labelled for the subsets, the Service, and the 90/10 VirtualService", () => {
        k(["apply", "--server-side", "-f", plans.dev]);
        k(["wait", "--for=condition=Available", "deployment", "--all", "-n", "default", "--timeout=120s"]);
        const deployments = getJson(["deployments", "-n", "default"]).items as {
            metadata: { name: string };
            spec: { replicas: number; template: { metadata: { labels: Record<string, string> } } };
            status: { readyReplicas?: number };
        }[];
        assert.deepEqual(
            deployments.map((d) => [
                d.metadata.name.replace(/-[0-9a-f]{8}$/, ""), // auto-named as Pulumi names it: <name>-<suffix>
                d.spec.replicas,
                d.status.readyReplicas,
                d.spec.template.metadata.labels.app,
                d.spec.template.metadata.labels.version,
            ]),
            [
                ["myapp-v1", 2, 2, "myapp", "v1"],
                ["myapp-v2", 1, 1, "myapp", "v2"],
            ],
        );
        const svc = getJson(["service", "myapp", "-n", "default"]);
        assert.deepEqual(svc.spec.selector, { app: "myapp" });
        const [vs] = getJson(["virtualservices.networking.istio.io", "-n", "default"]).items;
        const weighted = vs.spec.http.find((r: { name?: string }) => r.name === "weighted");
        assert.deepEqual(
            weighted.route.map((d: { destination: { subset: string }; weight: number }) => [d.destination.subset, d.weight]),
            [
                ["v1", 90],
                ["v2", 10],
            ],
        );
        const [dr] = getJson(["destinationrules.networking.istio.io", "-n", "default"]).items;
        assert.deepEqual(
            dr.spec.subsets.map((s: { name: string }) => s.name),
            ["v1", "v2"],
        );
        const [gw] = getJson(["gateways.networking.istio.io", "-n", "default"]).items;
        assert.equal(gw.spec.servers[0].tls.credentialName, "apsis-tls");
    });

    it("applies a weight change to the VirtualService alone, and the API server shows the new split", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-shift-"));
        try {
            fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            fs.writeFileSync(
                path.join(dir, "Pulumi.dev.yaml"),
                fs
                    .readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")
                    .replace("weight: 90", "weight: 50")
                    .replace("weight: 10", "weight: 50"),
            );
            const out = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-shift-out-"));
            run(process.execPath, [path.join(ROOT, "cli", "istio-canary.js"), "plan", "--stack", "dev", "--config-dir", dir, "--out", out]);
            const changed = manifestFiles(out).filter(
                (f) =>
                    fs.readFileSync(f, "utf8").split("\n").slice(1).join("\n") !==
                    fs
                        .readFileSync(path.join(plans.dev, path.basename(f)), "utf8")
                        .split("\n")
                        .slice(1)
                        .join("\n"),
            );
            assert.deepEqual(
                changed.map((f) => path.basename(f)),
                ["virtualservice-myapp-vs.yaml"],
                "only the VirtualService differs",
            );
            k(["apply", "--server-side", "-f", changed[0]]);
            const [vs] = getJson(["virtualservices.networking.istio.io", "-n", "default"]).items;
            assert.deepEqual(
                vs.spec.http.at(-1).route.map((d: { weight: number }) => d.weight),
                [50, 50],
            );
            fs.rmSync(out, { recursive: true, force: true });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("is refused by Istio's schema when a weight is not an integer (the API server really validates)", () => {
        const vs = fs.readFileSync(path.join(plans.dev, "virtualservice-myapp-vs.yaml"), "utf8").replace("weight: 90", 'weight: "ninety"');
        const r = k(["apply", "--server-side", "--dry-run=server", "-f", "-"], { input: vs, allowFail: true });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /weight/);
    });

    it("holds the ambient stack's Gateway API objects: the Gateway, the waypoint and the 90/10 HTTPRoute", () => {
        k(["apply", "--server-side", "-f", plans.ambient]);
        const routes = getJson(["httproutes.gateway.networking.k8s.io", "-n", "default"]).items as {
            metadata: { name: string };
            spec: { rules: { name?: string; backendRefs?: { name: string; weight?: number }[] }[] };
        }[];
        const canary = routes.find((r) => (r.spec.rules ?? []).some((rule) => (rule.backendRefs ?? []).length > 1));
        assert.ok(canary, "the canary HTTPRoute is held");
        assert.deepEqual(
            canary.spec.rules.at(-1)?.backendRefs?.map((b) => [b.name, b.weight]),
            [
                ["myapp-v1", 90],
                ["myapp-v2", 10],
            ],
        );
        const gateways = getJson(["gateways.gateway.networking.k8s.io", "-A"]).items as { spec: { gatewayClassName: string } }[];
        assert.deepEqual(gateways.map((g) => g.spec.gatewayClassName).sort(), ["istio", "istio-waypoint"]);
    });

    for (const stack of STACKS) {
        it(`passes istioctl validate and istioctl analyze for stack ${stack}`, () => {
            const files = manifestFiles(plans[stack]);
            const validate = run(path.join(BIN, "istioctl"), ["validate", ...files.flatMap((f) => ["-f", f])], { allowFail: true });
            assert.equal(validate.status, 0, validate.stdout + validate.stderr);
            const analyze = run(path.join(BIN, "istioctl"), ["analyze", "-A", "--use-kube=false", ...files], { allowFail: true });
            assert.equal(analyze.status, 0, analyze.stdout + analyze.stderr);
            assert.match(analyze.stdout + analyze.stderr, /No validation issues found/);
        });
    }

    it("a route to a subset no DestinationRule defines trips Istio's IST0101, and the policy pack rejects the same objects", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-broken-"));
        try {
            for (const f of manifestFiles(plans.dev)) {
                const text = fs.readFileSync(f, "utf8");
                fs.writeFileSync(
                    path.join(dir, path.basename(f)),
                    path.basename(f).startsWith("virtualservice") ? text.replace(/subset: v2/g, "subset: v3") : text,
                );
            }
            const analyze = run(path.join(BIN, "istioctl"), ["analyze", "-A", "--use-kube=false", ...manifestFiles(dir)], {
                allowFail: true,
            });
            assert.notEqual(analyze.status, 0);
            assert.match(
                analyze.stdout + analyze.stderr,
                /IST0101.*Referenced host\+subset in destinationrule not found: "myapp\.default\.svc\.cluster\.local\+v3"/,
            );
            // The same objects through the policy pack, as the engine would send them.
            const resources = manifestFiles(dir).flatMap((f) =>
                parseAllDocuments(fs.readFileSync(f, "utf8")).map((doc) => {
                    const o = doc.toJS() as { apiVersion: string; kind: string; metadata: { name: string } };
                    const type = `kubernetes:${o.apiVersion.includes("/") ? o.apiVersion : `core/${o.apiVersion}`}:${o.kind}`;
                    return {
                        type,
                        name: o.metadata.name,
                        urn: `urn:pulumi:dev::istio-canary::${type}::${o.metadata.name}`,
                        inputs: o as unknown as Record<string, unknown>,
                    };
                }),
            );
            const report = await checkResources("dev", resources, { policyConfig: { all: { enforcementLevel: "mandatory" } } });
            assert.equal(report.passed, false);
            assert.ok(
                report.violations.some((v) => v.policyName === "virtualservice-subsets-exist" && /v3/.test(v.message)),
                JSON.stringify(report.violations.map((v) => [v.policyName, v.message])),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
