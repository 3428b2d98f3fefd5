import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { loadStackConfig } from "../../stack/load";
import { Cluster, ROOT, TOOLS, gatewayApiCrds, istioCrds, requireTools, run, startCluster, toolEnv } from "./support";

/**
 * `pulumi up` by the real Pulumi CLI (v3.248.0, built from Go modules) with the real Kubernetes
 * provider plugin against the loopback API server. The program runs as an Automation API inline
 * program (the Automation API serves the language runtime from this process; project-folder.spec.ts
 * runs the project folder itself through the CLI's Node.js language host). The config
 * is dev's, with istio.install false and monitoring off (no Helm chart repository is reachable) and
 * the TLS material set as Pulumi secrets. What is asserted is what the API server holds.
 */
describe("e2e: pulumi up by the real engine against a real API server", function () {
    this.timeout(900_000);
    let cluster: Cluster | undefined;
    let stack: Stack | undefined;
    let backend: string | undefined;
    let workspaceOpts: Parameters<typeof LocalWorkspace.createOrSelectStack>[1] | undefined;
    let workDir: string | undefined;

    const getJson = (args: string[]) => {
        assert.ok(cluster);
        return JSON.parse(cluster.kubectl(["get", ...args, "-o", "json"]).stdout);
    };
    const weightsOfVs = () => {
        const [vs] = getJson(["virtualservices.networking.istio.io", "-n", "default"]).items;
        return Object.fromEntries(
            vs.spec.http.at(-1).route.map((d: { destination: { subset: string }; weight: number }) => [d.destination.subset, d.weight]),
        );
    };

    /** The dev stack's config with the versions' weights replaced. */
    async function setConfig(s: Stack, weights: [number, number]) {
        const raw = loadStackConfig("dev").raw as Record<string, unknown>;
        const versions = (raw.versions as { weight: number }[]).map((v, i) => ({ ...v, weight: weights[i] }));
        const config: Record<string, { value: string; secret?: boolean }> = {};
        for (const [key, value] of Object.entries({ ...raw, versions, istio: { install: false }, monitoring: { enabled: false } })) {
            config[`istio-canary:${key}`] = { value: typeof value === "string" ? value : JSON.stringify(value) };
        }
        await s.setAllConfig(config);
    }

    before(async function () {
        // pulumi-language-nodejs (ours, e2e/tools/language-nodejs) runs the policy pack: the engine
        // starts a Node.js pack through the language host's RunPlugin.
        requireTools(["pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "kube-apiserver", "kwok", "kubectl", "istioctl"]);
        cluster = startCluster();
        cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: `${istioCrds()}\n---\n${gatewayApiCrds("v1.3.0")}` });
        cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
        cluster.kubectl(["create", "namespace", "istio-system"]);
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-pulumi-state-"));
        const env = toolEnv({
            KUBECONFIG: cluster.kubeconfig,
            PULUMI_HOME: path.join(TOOLS, "pulumi-home"),
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_CONFIG_PASSPHRASE: "e2e-only",
            PULUMI_BACKEND_URL: `file://${backend}`,
        });
        const pulumi = await PulumiCommand.get({ root: TOOLS, skipVersionCheck: false });
        assert.match(pulumi.version?.toString() ?? "", /^3\.248\.0/);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index")) as () => Promise<Record<string, unknown>>;
        workspaceOpts = {
            pulumiCommand: pulumi,
            envVars: env as Record<string, string>,
            workDir: (workDir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-ws-"))),
        };
        stack = await LocalWorkspace.createOrSelectStack({ stackName: "e2e", projectName: "istio-canary", program }, workspaceOpts);
        await setConfig(stack, [90, 10]);
        const tls = generateTlsMaterial(["dev.myapp.apsissolutions.com"]);
        await stack.setConfig("istio-canary:tlsCert", { value: tls.cert, secret: true });
        await stack.setConfig("istio-canary:tlsKey", { value: tls.key, secret: true });
    });

    after(async function () {
        try {
            await stack?.destroy({ color: "never" }).catch(() => undefined);
        } finally {
            cluster?.stop();
            if (backend !== undefined) fs.rmSync(backend, { recursive: true, force: true });
            // The inline program's workspace (its Pulumi.yaml and stack files): nothing is left on disk.
            if (workDir !== undefined) fs.rmSync(workDir, { recursive: true, force: true });
        }
    });

    it("creates the dev stack: Ready Deployments, the Service, the TLS Secret in the gateway namespace, the 90/10 VirtualService", async () => {
        assert.ok(stack);
        const up = await stack.up({ color: "never" });
        assert.equal(up.summary.result, "succeeded");
        const deployments = getJson(["deployments", "-n", "default"]).items as {
            metadata: { name: string };
            spec: { replicas: number };
            status: { readyReplicas?: number };
        }[];
        assert.deepEqual(
            deployments.map((d) => [d.metadata.name.replace(/-[0-9a-z]{8}$/, ""), d.spec.replicas, d.status.readyReplicas]),
            [
                ["myapp-v1", 2, 2],
                ["myapp-v2", 1, 1],
            ],
        );
        assert.deepEqual(getJson(["service", "myapp", "-n", "default"]).spec.selector, { app: "myapp" });
        const secret = getJson(["secret", "apsis-tls", "-n", "istio-system"]);
        assert.equal(secret.type, "kubernetes.io/tls");
        assert.deepEqual(weightsOfVs(), { v1: 90, v2: 10 });
        assert.deepEqual(up.outputs.weights.value, { v1: 90, v2: 10 });
        assert.match(String(up.outputs.splitQuery.value), /destination_service="myapp\.default\.svc\.cluster\.local"/);
        assert.equal(up.outputs.url.value, "https://dev.myapp.apsissolutions.com");
    });

    it("previews a weight change as exactly one update, the VirtualService, and applies it", async () => {
        assert.ok(stack);
        await setConfig(stack, [50, 50]);
        const events: { type: string; urn: string }[] = [];
        const preview = await stack.preview({
            color: "never",
            onEvent: (e) => {
                const m = e.resourcePreEvent?.metadata;
                if (m !== undefined && m.op !== "same") events.push({ type: m.op, urn: m.urn });
            },
        });
        assert.deepEqual(preview.changeSummary, { same: preview.changeSummary.same, update: 1 });
        assert.deepEqual(
            events.map((e) => [e.type, e.urn.split("::").pop()]),
            [["update", "myapp-vs"]],
        );
        const started = Date.now();
        const up = await stack.up({ color: "never" });
        const seconds = (Date.now() - started) / 1000;
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(weightsOfVs(), { v1: 50, v2: 50 });
        process.stderr.write(`[e2e] one weight shift by pulumi up took ${seconds.toFixed(1)} s on this machine\n`);
    });

    it("runs the policy pack under the real engine: dev passes, an unpinned image at prod's levels fails with the pack's message, as offline", async () => {
        assert.ok(stack);
        await setConfig(stack, [100, 0]);
        const packs = { policyPacks: [path.join(ROOT, "policies")] };
        const good = await stack.preview({
            color: "never",
            ...packs,
            policyPackConfigs: [path.join(ROOT, "policies", "config", "dev.json")],
        });
        assert.doesNotMatch(good.stdout, /mandatory/);
        // The same objects with an image tagged latest, at prod's levels (container-images-pinned mandatory).
        const raw = loadStackConfig("dev").raw as Record<string, unknown>;
        const latest = (raw.versions as { image: string; weight: number }[]).map((v, i) => ({
            ...v,
            image: v.image.replace(/:v\d+$/, ":latest"),
            weight: [100, 0][i],
        }));
        await stack.setConfig("istio-canary:versions", { value: JSON.stringify(latest) });
        let output = "";
        await assert.rejects(
            stack.preview({
                color: "never",
                ...packs,
                policyPackConfigs: [path.join(ROOT, "policies", "config", "prod.json")],
                onOutput: (t) => (output += t),
            }),
        );
        const engineMessage = /image jamaldevsecops\/myapp:latest uses the tag "latest", which moves;[^\n]*/.exec(output)?.[0];
        assert.ok(engineMessage, output);
        assert.match(output, /mandatory.*container-images-pinned/);
        // The offline stand-in on the same config gives the same verdict and message.
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-offline-"));
        try {
            fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            const text = fs
                .readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")
                .replace(/myapp:v(\d)/g, "myapp:latest")
                .replace("weight: 10\n", "weight: 0\n")
                .replace("weight: 90\n", "weight: 100\n");
            fs.writeFileSync(path.join(dir, "Pulumi.e2e.yaml"), text);
            const offline = run(
                process.execPath,
                [
                    path.join(ROOT, "cli", "istio-canary.js"),
                    "policy",
                    "--stack",
                    "e2e",
                    "--config-dir",
                    dir,
                    "--policy-config",
                    path.join(ROOT, "policies", "config", "prod.json"),
                    "--json",
                ],
                { allowFail: true },
            );
            assert.equal(offline.status, 1, offline.stderr);
            const report = JSON.parse(offline.stdout) as {
                violations: { policyName: string; enforcementLevel: string; message: string }[];
            };
            const pinned = report.violations.filter((v) => v.policyName === "container-images-pinned");
            assert.ok(pinned.length > 0 && pinned.every((v) => v.enforcementLevel === "mandatory"));
            assert.ok(
                pinned.some((v) => v.message.includes(engineMessage)),
                `offline messages: ${pinned.map((v) => v.message).join(" | ")}`,
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            await setConfig(stack, [100, 0]);
        }
    });

    it("rolls back to 100/0 with a targeted update of the VirtualService alone, and the API server holds it", async () => {
        assert.ok(stack);
        await setConfig(stack, [100, 0]);
        const vsUrn =
            "urn:pulumi:e2e::istio-canary::istio-canary:traffic:Traffic$kubernetes:networking.istio.io/v1:VirtualService::myapp-vs";
        const started = Date.now();
        const up = await stack.up({ color: "never", target: [vsUrn], targetDependents: false });
        const seconds = (Date.now() - started) / 1000;
        assert.equal(up.summary.result, "succeeded");
        assert.deepEqual(weightsOfVs(), { v1: 100, v2: 0 });
        process.stderr.write(
            `[e2e] rollback decision to the API server holding 100/0 (targeted up): ${seconds.toFixed(1)} s on this machine\n`,
        );
    });

    it("creates a routing.api gateway-api stack: per-version Services and the 90/10 HTTPRoute on the API server", async () => {
        assert.ok(stack && workspaceOpts);
        await stack.destroy({ color: "never" });
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(path.join(ROOT, "index")) as () => Promise<Record<string, unknown>>;
        const gw = await LocalWorkspace.createOrSelectStack({ stackName: "e2e-gw", projectName: "istio-canary", program }, workspaceOpts);
        try {
            await setConfig(gw, [90, 10]);
            // The CRDs are registered by this test (the component would download them from GitHub).
            await gw.setConfig("istio-canary:routing", { value: JSON.stringify({ api: "gateway-api" }) });
            await gw.setConfig("istio-canary:gatewayApi", { value: JSON.stringify({ installCrds: false }) });
            const tls = generateTlsMaterial(["dev.myapp.apsissolutions.com"]);
            await gw.setConfig("istio-canary:tlsCert", { value: tls.cert, secret: true });
            await gw.setConfig("istio-canary:tlsKey", { value: tls.key, secret: true });
            const up = await gw.up({ color: "never" });
            assert.equal(up.summary.result, "succeeded");
            const services = (
                getJson(["services", "-n", "default"]).items as {
                    metadata: { name: string };
                    spec: { selector?: Record<string, string> };
                }[]
            )
                .filter((s) => s.metadata.name.startsWith("myapp"))
                .map((s) => [s.metadata.name, s.spec.selector]);
            assert.deepEqual(services, [
                ["myapp", { app: "myapp" }],
                ["myapp-v1", { app: "myapp", version: "v1" }],
                ["myapp-v2", { app: "myapp", version: "v2" }],
            ]);
            const routes = getJson(["httproutes.gateway.networking.k8s.io", "-n", "default"]).items as {
                spec: { rules: { backendRefs?: { name: string; weight?: number }[] }[] };
            }[];
            const canary = routes.find((r) => r.spec.rules.some((rule) => (rule.backendRefs ?? []).length > 1));
            assert.deepEqual(
                canary?.spec.rules.at(-1)?.backendRefs?.map((b) => [b.name, b.weight]),
                [
                    ["myapp-v1", 90],
                    ["myapp-v2", 10],
                ],
            );
            const gateways = getJson(["gateways.gateway.networking.k8s.io", "-n", "istio-system"]).items as {
                spec: { gatewayClassName: string };
            }[];
            assert.deepEqual(
                gateways.map((g) => g.spec.gatewayClassName),
                ["istio"],
            );
        } finally {
            await gw.destroy({ color: "never" }).catch(() => undefined);
        }
    });
});
