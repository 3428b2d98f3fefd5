import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    AnalyzerPolicyInfo,
    PolicyConfigError,
    PolicyPackError,
    PolicyPackProcess,
    analyzeResources,
    parsePolicyConfig,
    parseUrn,
    readPolicyConfigFile,
    reconcilePolicyConfig,
    unknownPolicyNames,
} from "../../policy-runner";
import { PROJECT_ROOT } from "../../stack/load";

const POLICIES: AnalyzerPolicyInfo[] = [
    { name: "virtualservice-weights", description: "", enforcementLevel: "mandatory", kind: "resource" },
    { name: "container-images-pinned", description: "", enforcementLevel: "advisory", kind: "resource" },
];

describe("analyzer (policy-runner/client.ts)", () => {
    describe("parsePolicyConfig, as the engine reads --policy-pack-config", () => {
        it("takes a level string or an object with enforcementLevel and properties", () => {
            assert.deepEqual(
                parsePolicyConfig('{"all": "mandatory", "a": {"enforcementLevel": "advisory", "limit": 3}, "b": {}}', "f.json"),
                {
                    all: { enforcementLevel: "mandatory" },
                    a: { enforcementLevel: "advisory", properties: { limit: 3 } },
                },
            );
        });

        it("treats an empty file as no config", () => {
            assert.deepEqual(parsePolicyConfig("  \n", "f.json"), {});
        });

        it("rejects a bad level, naming the file and the key", () => {
            assert.throws(() => parsePolicyConfig('{"virtualservice-weights": "strict"}', "prod.json"), {
                name: "PolicyConfigError",
                message:
                    'prod.json: "virtualservice-weights" is "strict"; an enforcement level is one of advisory, mandatory, remediate, disabled',
            });
            assert.throws(
                () => parsePolicyConfig('{"a": {"enforcementLevel": 1}}', "p.json"),
                /p\.json: "a"\.enforcementLevel is 1; it must be one of/,
            );
        });

        it("rejects invalid JSON and non-objects", () => {
            assert.throws(() => parsePolicyConfig("{", "p.json"), /^PolicyConfigError: p\.json is not valid JSON/);
            assert.throws(() => parsePolicyConfig("[]", "p.json"), /p\.json must be a JSON object of policy names to enforcement levels/);
            assert.throws(
                () => parsePolicyConfig('{"a": 3}', "p.json"),
                /p\.json: "a" is 3; it must be an enforcement level string or an object/,
            );
        });

        it("reports a missing file by name", () => {
            const missing = path.join(os.tmpdir(), "no-such-policy-config.json");
            assert.throws(() => readPolicyConfigFile(missing), new PolicyConfigError(`policy config file ${missing} does not exist`));
        });

        it("reports a directory given as the file by name, as a PolicyConfigError (exit 2, not 70)", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-dir-"));
            assert.throws(
                () => readPolicyConfigFile(dir),
                new PolicyConfigError(`policy config file ${dir} cannot be read (EISDIR); it must be a JSON file`),
            );
        });
    });

    describe("reconcilePolicyConfig, as ReconcilePolicyPackConfig does", () => {
        it("starts from each policy's default level", () => {
            assert.deepEqual(reconcilePolicyConfig(POLICIES, {}, {}), {
                "virtualservice-weights": { enforcementLevel: "mandatory" },
                "container-images-pinned": { enforcementLevel: "advisory" },
            });
        });

        it("applies all, then per-policy levels on top of it", () => {
            const config = reconcilePolicyConfig(
                POLICIES,
                {},
                { all: { enforcementLevel: "disabled" }, "container-images-pinned": { enforcementLevel: "mandatory" } },
            );
            assert.equal(config["virtualservice-weights"].enforcementLevel, "disabled");
            assert.equal(config["container-images-pinned"].enforcementLevel, "mandatory");
        });

        it("applies the pack's initial config before the file's", () => {
            const config = reconcilePolicyConfig(POLICIES, { "virtualservice-weights": { enforcementLevel: "advisory" } }, {});
            assert.equal(config["virtualservice-weights"].enforcementLevel, "advisory");
        });

        it("finds config keys that name no policy (the engine ignores such typos)", () => {
            assert.deepEqual(unknownPolicyNames(POLICIES, { all: {}, "virtualservice-weight": {}, "container-images-pinned": {} }), [
                "virtualservice-weight",
            ]);
        });
    });

    it("parses type and name out of a URN with a parent chain", () => {
        assert.deepEqual(
            parseUrn(
                "urn:pulumi:dev::istio-canary::istio-canary:traffic:Traffic$kubernetes:networking.istio.io/v1:VirtualService::myapp-vs",
            ),
            { type: "kubernetes:networking.istio.io/v1:VirtualService", name: "myapp-vs" },
        );
        assert.deepEqual(parseUrn(""), { type: "", name: "" });
    });

    it("refuses to start a directory that is not a policy pack", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "not-a-pack-"));
        await assert.rejects(
            PolicyPackProcess.start(dir),
            (e: Error) => e instanceof PolicyPackError && e.message === `${dir} is not a policy pack: it has no PulumiPolicy.yaml`,
        );
    });

    it("reports a policy that throws as a PolicyPackError naming the policy, without stack frames, and ends the pack", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "throwing-pack-"));
        fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\n");
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "throwing", version: "0.0.1", main: "index.js" }));
        fs.writeFileSync(
            path.join(dir, "index.js"),
            'const { PolicyPack } = require("@pulumi/policy");\n' +
                'new PolicyPack("throwing", { policies: [{ name: "always-throws", description: "Throws.", validateResource: () => { throw new Error("bug in the policy"); } }] });\n',
        );
        const nodePath = path.join(PROJECT_ROOT, "node_modules");
        const resource = {
            urn: "urn:pulumi:dev::p::kubernetes:core/v1:Namespace::ns",
            type: "kubernetes:core/v1:Namespace",
            name: "ns",
            inputs: {},
        };
        await assert.rejects(
            analyzeResources(dir, [resource], { start: { env: { NODE_PATH: nodePath }, startTimeoutMs: 60_000 } }),
            (e: Error) => {
                assert.ok(e instanceof PolicyPackError);
                assert.match(
                    e.message,
                    /Analyze\(urn:pulumi:dev::p::kubernetes:core\/v1:Namespace::ns\) failed: .*policy 'always-throws' from policy pack 'throwing@v0\.0\.1'/s,
                );
                assert.match(e.message, /Error: bug in the policy/);
                assert.doesNotMatch(e.message, /^\s+at /m);
                return true;
            },
        );
        // The pack was stopped on the error path: no run-policy-pack child of this process is left.
        const children = execFileSync("ps", ["-o", "args=", "--ppid", String(process.pid)], { encoding: "utf8" });
        assert.doesNotMatch(children, /run-policy-pack/);
    });

    it("reports a pack that exits before serving, with its stderr", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "broken-pack-"));
        fs.writeFileSync(path.join(dir, "PulumiPolicy.yaml"), "runtime: nodejs\n");
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "broken", version: "0.0.1", main: "index.js" }));
        fs.writeFileSync(path.join(dir, "index.js"), 'console.error("boom: no policies here"); process.exit(3);\n');
        await assert.rejects(PolicyPackProcess.start(dir, { startTimeoutMs: 60_000 }), (e: Error) => {
            assert.ok(e instanceof PolicyPackError);
            assert.match(e.message, /exited \(code 3\) before printing its port; its stderr:\n.*boom: no policies here/s);
            return true;
        });
    });
});
