import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { BIN, Cluster, ROOT, istioCrds, requireTools, run, startCluster, toolEnv } from "./support";

/**
 * The project folder as a user runs it: `pulumi up` and `pulumi preview --policy-pack policies` by
 * the real Pulumi CLI (v3.248.0) in a copy of this repository's files, the `runtime: nodejs`
 * program run by the CLI's Node.js language host (ours, e2e/tools/language-nodejs: the real one is
 * not served here), the real Kubernetes provider against the loopback API server. The e2e stack is
 * dev's stack file with istio.install false and monitoring off (no Helm chart repository is
 * reachable), the TLS material set with `pulumi config set --secret`. What is asserted is what the
 * API server holds and what the engine reports; the offline `policy` command must give the engine's
 * verdicts and messages on the same stack file.
 */

/** A policy violation as both sides report it. */
interface Violation {
    policyName: string;
    enforcementLevel: string;
    urn: string;
    message: string;
}

/** The engine's per-resource and per-stack summary of a policy pack's verdicts. */
interface PolicySummary {
    policyPackName: string;
    passed?: string[];
    failed?: string[];
}

/**
 * The engine names objects `<name>-<8 hex>` (Pulumi's auto-naming); the offline stand-in names them
 * `<name>`. That is the one difference allowed between their messages.
 */
const withoutAutonameSuffix = (message: string) => message.replace(/\b([a-z0-9][a-z0-9.-]*)-[0-9a-f]{8}\b/g, "$1").trim();

const byKey = (vs: Violation[]) =>
    vs.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.urn}\n${withoutAutonameSuffix(v.message)}`).sort();

describe("e2e: pulumi up and preview --policy-pack in the project folder, by the real CLI and its Node.js language host", function () {
    this.timeout(1_200_000);
    let cluster: Cluster | undefined;
    let tmp: string | undefined;
    let project = "";
    let env: NodeJS.ProcessEnv = {};
    let tlsKey = "";

    /** The real `pulumi` in the project copy; a hung run is stopped (SIGTERM lets it stop its plugins). */
    const pulumi = (args: string[], opts: { allowFail?: boolean; extraEnv?: Record<string, string>; input?: string } = {}) => {
        const r = spawnSync(path.join(BIN, "pulumi"), [...args, "--non-interactive", "--color=never"], {
            cwd: project,
            env: { ...env, ...opts.extraEnv },
            input: opts.input,
            encoding: "utf8",
            maxBuffer: 64 << 20,
            timeout: 600_000,
        });
        if (r.error !== undefined) throw new Error(`pulumi ${args.join(" ")} could not run: ${r.error.message}`);
        if (r.status !== 0 && opts.allowFail !== true) {
            throw new Error(`pulumi ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
        }
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const getJson = (args: string[]) => {
        assert.ok(cluster);
        return JSON.parse(cluster.kubectl(["get", ...args, "-o", "json"]).stdout);
    };

    /** The stack file, as YAML, edited in place (as a user edits Pulumi.e2e.yaml). */
    const editStackFile = (edit: (config: Record<string, unknown>) => void) => {
        const file = path.join(project, "Pulumi.e2e.yaml");
        const doc = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
        doc.config ??= {};
        edit(doc.config);
        fs.writeFileSync(file, stringify(doc));
    };

    /** `pulumi preview --policy-pack policies` with the streamed JSON events: its violations and exit status. */
    const enginePolicy = (policyConfig: string) => {
        const r = pulumi(["preview", "--stack", "e2e", "--json", "--policy-pack", "policies", "--policy-pack-config", policyConfig], {
            allowFail: true,
            extraEnv: { PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "true" },
        });
        const events = r.stdout
            .split("\n")
            .filter((l) => l.startsWith("{"))
            .map(
                (l) =>
                    JSON.parse(l) as {
                        policyEvent?: Violation & { resourceUrn: string };
                        policyAnalyzeSummaryEvent?: PolicySummary & { resourceUrn: string };
                        policyAnalyzeStackSummaryEvent?: PolicySummary;
                    },
            );
        /** Which of the pack's policies passed and failed, per resource and for the whole stack. */
        const summaries = new Map<string, { passed: string[]; failed: string[] }>();
        for (const e of events) {
            const summary = e.policyAnalyzeSummaryEvent ?? e.policyAnalyzeStackSummaryEvent;
            if (summary?.policyPackName !== "istio-canary-policies") continue;
            const at = e.policyAnalyzeSummaryEvent?.resourceUrn.split("::").pop() ?? "stack";
            summaries.set(at, { passed: summary.passed ?? [], failed: summary.failed ?? [] });
        }
        const violations = events.flatMap((e) =>
            e.policyEvent === undefined
                ? []
                : [
                      {
                          policyName: e.policyEvent.policyName,
                          enforcementLevel: e.policyEvent.enforcementLevel,
                          urn: e.policyEvent.resourceUrn,
                          message: e.policyEvent.message,
                      },
                  ],
        );
        return { status: r.status, violations, summaries, output: `${r.stdout}\n${r.stderr}` };
    };

    /** The offline stand-in on the same project folder and stack file. */
    const offlinePolicy = (policyConfig: string) => {
        const r = run(
            process.execPath,
            [
                path.join(ROOT, "cli", "istio-canary.js"),
                "policy",
                "--stack",
                "e2e",
                "--config-dir",
                project,
                "--policy-config",
                path.join(project, policyConfig),
                "--json",
            ],
            { allowFail: true },
        );
        const report = JSON.parse(r.stdout) as { violations: Violation[] };
        return { status: r.status, violations: report.violations, stderr: r.stderr };
    };

    before(function () {
        requireTools(["pulumi", "pulumi-language-nodejs", "pulumi-resource-kubernetes", "kube-apiserver", "kwok", "kubectl", "istioctl"]);
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-project-"));
        // The project: this repository's tracked files (as a clone has them), with its node_modules.
        project = path.join(tmp, "project");
        const files = run("git", ["ls-files", "-z"], { cwd: ROOT })
            .stdout.split("\0")
            .filter((f) => f !== "");
        for (const f of files) {
            if (!fs.existsSync(path.join(ROOT, f))) continue; // deleted in the work tree
            fs.mkdirSync(path.dirname(path.join(project, f)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, f), path.join(project, f));
        }
        fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(project, "node_modules"));
        const state = path.join(tmp, "state");
        const home = path.join(tmp, "pulumi-home");
        fs.mkdirSync(state);
        fs.mkdirSync(home);

        cluster = startCluster();
        cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: istioCrds() });
        cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
        cluster.kubectl(["create", "namespace", "istio-system"]);

        // PULUMI_HOME is a fresh one: the language host and the provider come from bin/ on PATH.
        env = toolEnv({
            KUBECONFIG: cluster.kubeconfig,
            PULUMI_HOME: home,
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
            PULUMI_CONFIG_PASSPHRASE: "e2e-only",
            PULUMI_BACKEND_URL: `file://${state}`,
        });
        pulumi(["stack", "init", "e2e"]);
        // The stack file: dev's config, as a user copies Pulumi.dev.yaml, then the e2e changes by the CLI.
        const dev = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
        editStackFile((config) => Object.assign(config, dev.config));
        pulumi(["config", "set", "--stack", "e2e", "--path", "istio.install", "false"]);
        pulumi(["config", "set", "--stack", "e2e", "--path", "monitoring.enabled", "false"]);
        const tls = generateTlsMaterial(["dev.myapp.apsissolutions.com"]);
        tlsKey = tls.key;
        // From standard input, as Pulumi.dev.yaml tells a user to (never on a command line).
        pulumi(["config", "set", "--stack", "e2e", "--secret", "tlsCert"], { input: tls.cert });
        pulumi(["config", "set", "--stack", "e2e", "--secret", "tlsKey"], { input: tls.key });
    });

    after(function () {
        try {
            cluster?.stop();
        } finally {
            if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
        }
    });

    it("keeps the TLS material a Pulumi secret in the stack file", () => {
        const text = fs.readFileSync(path.join(project, "Pulumi.e2e.yaml"), "utf8");
        const config = (parse(text) as { config: Record<string, unknown> }).config;
        assert.deepEqual(Object.keys(config["istio-canary:tlsKey"] as object), ["secure"]);
        assert.deepEqual(Object.keys(config["istio-canary:tlsCert"] as object), ["secure"]);
        assert.ok(!text.includes("PRIVATE KEY"), "the stack file holds the key in plain text");
        assert.deepEqual(config["istio-canary:istio"], { install: false });
        assert.deepEqual(config["istio-canary:monitoring"], { enabled: false });
    });

    it("pulumi up creates dev's stack: Ready Deployments, the Service, the TLS Secret in the gateway namespace, the 90/10 VirtualService", () => {
        const up = pulumi(["up", "--stack", "e2e", "--yes", "--skip-preview"]);
        assert.match(up.stdout, /Resources:\n\s+\+ \d+ created/);
        const deployments = getJson(["deployments", "-n", "default"]).items as {
            metadata: { name: string; labels: Record<string, string> };
            spec: { replicas: number };
            status: { readyReplicas?: number };
        }[];
        assert.deepEqual(
            deployments.map((d) => [
                d.metadata.name.replace(/-[0-9a-f]{8}$/, ""),
                d.metadata.labels.version,
                d.spec.replicas,
                d.status.readyReplicas,
            ]),
            [
                ["myapp-v1", "v1", 2, 2],
                ["myapp-v2", "v2", 1, 1],
            ],
        );
        assert.deepEqual(getJson(["service", "myapp", "-n", "default"]).spec.selector, { app: "myapp" });
        const secret = getJson(["secret", "apsis-tls", "-n", "istio-system"]);
        assert.equal(secret.type, "kubernetes.io/tls");
        assert.equal(Buffer.from(secret.data["tls.key"], "base64").toString("utf8").trim(), tlsKey.trim());
        const [gateway] = getJson(["gateways.networking.istio.io", "-n", "default"]).items;
        const https = gateway.spec.servers.find((s: { port: { protocol: string } }) => s.port.protocol === "HTTPS");
        assert.equal(https?.tls.credentialName, "apsis-tls");
        const [vs] = getJson(["virtualservices.networking.istio.io", "-n", "default"]).items;
        assert.deepEqual(
            Object.fromEntries(
                vs.spec.http.at(-1).route.map((d: { destination: { subset: string }; weight: number }) => [d.destination.subset, d.weight]),
            ),
            { v1: 90, v2: 10 },
        );
        const outputs = JSON.parse(pulumi(["stack", "output", "--stack", "e2e", "--json"]).stdout);
        assert.equal(outputs.url, "https://dev.myapp.apsissolutions.com");
        assert.deepEqual(outputs.weights, { v1: 90, v2: 10 });
        assert.match(outputs.splitQuery, /destination_service="myapp\.default\.svc\.cluster\.local"/);
        // The secret stays one in the state too.
        assert.ok(tmp);
        const state = path.join(tmp, "state");
        const keyLine = tlsKey.split("\n")[1];
        const leaks = fs
            .readdirSync(state, { recursive: true, encoding: "utf8" })
            .map((f) => path.join(state, f))
            .filter((f) => fs.statSync(f).isFile() && fs.readFileSync(f, "utf8").includes(keyLine));
        assert.deepEqual(leaks, [], "the TLS key is in plain text in the state");
    });

    it("pulumi preview --policy-pack passes dev's stack at dev's levels, with the same verdicts as the offline policy command", () => {
        const engine = enginePolicy("policies/config/dev.json");
        assert.equal(engine.status, 0, engine.output);
        // The pack did judge the stack: per resource and over the whole stack.
        assert.ok(engine.summaries.get("myapp-v1")?.passed.includes("container-images-pinned"), engine.output);
        assert.ok(engine.summaries.get("myapp-vs")?.passed.includes("virtualservice-weights"), engine.output);
        assert.ok(engine.summaries.get("stack")?.passed.includes("virtualservice-subsets-exist"), engine.output);
        assert.deepEqual(
            engine.violations.filter((v) => v.enforcementLevel === "mandatory"),
            [],
        );
        const offline = offlinePolicy("policies/config/dev.json");
        assert.equal(offline.status, 0, offline.stderr);
        assert.deepEqual(byKey(offline.violations), byKey(engine.violations));
    });

    it("pulumi preview --policy-pack fails an unpinned image at prod's levels with the pack's message, as the offline policy command does", () => {
        editStackFile((config) => {
            const versions = config["istio-canary:versions"] as { image: string }[];
            config["istio-canary:versions"] = versions.map((v) => ({ ...v, image: v.image.replace(/:[^:/]+$/, ":latest") }));
        });
        const engine = enginePolicy("policies/config/prod.json");
        assert.notEqual(engine.status, 0, engine.output);
        assert.ok(engine.summaries.get("myapp-v1")?.failed.includes("container-images-pinned"), engine.output);
        const pinned = engine.violations.filter((v) => v.policyName === "container-images-pinned");
        assert.deepEqual(pinned.map((v) => [v.enforcementLevel, v.urn.split("::").pop()]).sort(), [
            ["mandatory", "myapp-v1"],
            ["mandatory", "myapp-v2"],
        ]);
        for (const v of pinned) {
            assert.match(v.message, /image jamaldevsecops\/myapp:latest uses the tag "latest", which moves; pin a version tag or a digest/);
        }
        const offline = offlinePolicy("policies/config/prod.json");
        assert.equal(offline.status, 1, offline.stderr);
        assert.deepEqual(byKey(offline.violations), byKey(engine.violations));
    });
});
