import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RefreshOptions, UpOptions } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT } from "../../stack/load";
import { readVersions } from "../../stack/edit";
import { PulumiStackTarget, defaultPolicyPack, describePulumiError, httpRouteUrn, virtualServiceUrn } from "../../rollout/automation";
import { one, runStack, runWith } from "../support/program";
import { configDirWith, devStackFile } from "./fakes";

const VS_URN = "urn:pulumi:dev::istio-canary::istio-canary:traffic:Traffic$kubernetes:networking.istio.io/v1:VirtualService::myapp-vs";

/** A stand-in for the Automation API's Stack that records the options of each call. */
function fakeStack(resources: { urn: string; outputs?: unknown }[] = []) {
    const calls = { up: [] as UpOptions[], refresh: [] as RefreshOptions[], exports: 0 };
    return {
        calls,
        stack: {
            up: async (o?: UpOptions) => {
                calls.up.push(o ?? {});
                return {};
            },
            refresh: async (o?: RefreshOptions) => {
                calls.refresh.push(o ?? {});
                return {};
            },
            exportStack: async () => {
                calls.exports += 1;
                return { version: 3, deployment: { resources } };
            },
        },
    };
}

function targetOn(stack: ReturnType<typeof fakeStack>["stack"], routingApi?: "istio" | "gateway-api") {
    const dir = configDirWith({ dev: devStackFile({ weights: [90, 10] }) });
    const stackFile = path.join(dir, "Pulumi.dev.yaml");
    return {
        stackFile,
        target: new PulumiStackTarget({
            stack: "dev",
            appName: "myapp",
            stackFile,
            policyPacks: [],
            routingApi,
            openStack: async () => stack,
        }),
    };
}

/** A directory holding only a `pulumi` script that prints `version`, or an empty one. */
function binDir(version?: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-bin-"));
    if (version !== undefined) {
        fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
    }
    return dir;
}

/** The Automation API adapter cannot apply here (no Pulumi CLI, no cluster); its preflight and error reporting can run. */
describe("rollout Automation API adapter", () => {
    describe("preflight", function () {
        this.timeout(30_000);
        const savedPath = process.env.PATH;
        afterEach(() => {
            process.env.PATH = savedPath;
        });

        it("says the Pulumi CLI is missing when no pulumi is on PATH", async () => {
            process.env.PATH = binDir();
            assert.equal(
                await new PulumiStackTarget({ stack: "dev", appName: "myapp" }).preflight(),
                "cannot run pulumi up for stack dev: the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)",
            );
        });

        it("passes when a pulumi on PATH answers a supported version", async () => {
            process.env.PATH = binDir("v3.150.0");
            assert.equal(await new PulumiStackTarget({ stack: "dev", appName: "myapp" }).preflight(), undefined);
        });

        it("names a Pulumi CLI too old for the Automation API", async () => {
            process.env.PATH = binDir("v3.1.0");
            assert.match(
                (await new PulumiStackTarget({ stack: "dev", appName: "myapp" }).preflight()) ?? "",
                /^cannot run pulumi up for stack dev: Minimum version requirement failed\. .*your current CLI version is v3\.1\.0/,
            );
        });
    });

    it("says in one sentence that the Pulumi CLI is missing", () => {
        const e = Object.assign(
            new Error("code: -2\n stdout: \n stderr: Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT\n err?: Error"),
            {
                commandResult: {
                    stdout: "",
                    stderr: "Command failed with ENOENT: pulumi version\nspawn pulumi ENOENT",
                    err: { code: "ENOENT" },
                },
            },
        );
        assert.equal(
            describePulumiError(e),
            "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)",
        );
    });

    it("names a concurrent update", () => {
        const e = Object.assign(new Error("code: 255"), {
            name: "ConcurrentUpdateError",
            commandResult: { stderr: "the stack is currently locked by 1 lock(s)" },
        });
        assert.match(describePulumiError(e), /^another update of this stack is in progress/);
    });

    it("keeps the last lines of the CLI's stderr, not its whole output", () => {
        const stderr = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n");
        const e = Object.assign(new Error(`code: 255\n stdout: ${"x\n".repeat(500)} stderr: ${stderr}\n err?: `), {
            commandResult: { stdout: "x\n".repeat(500), stderr },
        });
        const text = describePulumiError(e);
        assert.equal(text.split("\n").length, 13);
        assert.match(text, /^\.\.\.\nline 29\n/);
        assert.match(text, /line 40$/);
        assert.doesNotMatch(text, /\bx\b/);
    });

    describe("policy checks on every pulumi up", () => {
        it("runs the project's policy pack with the stack's own policy config", () => {
            const target = new PulumiStackTarget({ stack: "prod", appName: "myapp" });
            assert.deepEqual(target.policyPacks, [path.join(PROJECT_ROOT, "policies")]);
            assert.deepEqual(target.policyPackConfigs, [path.join(PROJECT_ROOT, "policies", "config", "prod.json")]);
        });

        it("runs the pack compiled into the same tree when the code runs compiled, and the sources when that tree lacks a file the engine reads", () => {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "default-pack-"));
            try {
                const tree = path.join(root, "build", "0123456789abcdef");
                fs.mkdirSync(path.join(tree, "policies"), { recursive: true });
                for (const f of ["PulumiPolicy.yaml", "index.js"]) fs.writeFileSync(path.join(tree, "policies", f), "");
                assert.equal(
                    defaultPolicyPack(tree, root),
                    path.join(root, "policies"),
                    "no package.json: the engine could not read the version",
                );
                fs.writeFileSync(path.join(tree, "policies", "package.json"), "{}");
                assert.equal(defaultPolicyPack(tree, root), path.join(tree, "policies"));
                assert.equal(defaultPolicyPack(root, root), path.join(root, "policies"), "running from the sources");
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("runs the pack at its default levels for a stack without a policy config file", () => {
            const target = new PulumiStackTarget({ stack: "qa", appName: "myapp" });
            assert.deepEqual(target.policyPacks, [path.join(PROJECT_ROOT, "policies")]);
            assert.deepEqual(target.policyPackConfigs, []);
        });
    });

    describe("targeted updates", () => {
        it("shifts weights with `pulumi up` targeted at the app's VirtualService only, after writing them to the stack file", async () => {
            const fake = fakeStack();
            const { stackFile, target } = targetOn(fake.stack);
            await target.applyWeights({ v1: 75, v2: 25 }, "virtual-service");
            assert.equal(fake.calls.up.length, 1);
            assert.deepEqual(fake.calls.up[0].target, [VS_URN]);
            assert.equal(fake.calls.up[0].targetDependents, false);
            assert.deepEqual(
                readVersions(stackFile).map((v) => v.weight),
                [75, 25],
            );
        });

        it("runs a full `pulumi up` (no target) for a change of the whole stack and for finalize", async () => {
            const fake = fakeStack();
            const { target } = targetOn(fake.stack);
            await target.applyWeights({ v1: 90, v2: 10 }, "stack");
            await target.applyWeights({ v1: 0, v2: 100 }, "virtual-service");
            await target.removeVersion("v1");
            assert.deepEqual(
                fake.calls.up.map((o) => o.target),
                [undefined, [VS_URN], undefined],
            );
        });

        it("names the VirtualService by the URN the program registers for it", async function () {
            this.timeout(60_000);
            const run = await runStack("dev");
            assert.equal(one(run, ":VirtualService").urn, VS_URN);
            assert.equal(virtualServiceUrn({ stack: "dev", project: "istio-canary", appName: "myapp" }), VS_URN);
        });

        it("reads the live weights from the VirtualService after a refresh targeted at it alone", async () => {
            const spec = {
                http: [
                    { name: "header-v2", match: [{ headers: { "x-canary": { exact: "1" } } }], route: [{ destination: { subset: "v2" } }] },
                    {
                        name: "weighted",
                        route: [
                            { destination: { host: "myapp.default.svc.cluster.local", subset: "v1" }, weight: 100 },
                            { destination: { host: "myapp.default.svc.cluster.local", subset: "v2" } },
                        ],
                    },
                ],
            };
            const fake = fakeStack([
                { urn: "urn:pulumi:dev::istio-canary::pulumi:pulumi:Stack::istio-canary-dev" },
                { urn: VS_URN, outputs: { spec } },
            ]);
            const { target } = targetOn(fake.stack);
            assert.deepEqual(await target.liveWeights(), { v1: 100, v2: 0 });
            assert.deepEqual(
                fake.calls.refresh.map((o) => [o.target, o.targetDependents]),
                [[[VS_URN], false]],
            );
            assert.equal(fake.calls.up.length, 0);
        });

        it("with routing.api gateway-api targets the canary HTTPRoute the program registers, and reads its weights", async function () {
            this.timeout(60_000);
            const run = await runWith({ routing: { api: "gateway-api" } });
            const route = run.resources.find((r) => r.type.endsWith(":HTTPRoute") && r.name === "myapp-route");
            const urn = httpRouteUrn({ stack: "dev", project: "istio-canary", appName: "myapp" });
            assert.equal(route?.urn, urn);
            const spec = {
                rules: [
                    { name: "header-v2", backendRefs: [{ name: "myapp-v2", port: 8080 }] },
                    {
                        name: "weighted",
                        backendRefs: [
                            { name: "myapp-v1", port: 8080, weight: 75 },
                            { name: "myapp-v2", port: 8080, weight: 25 },
                        ],
                    },
                ],
            };
            const fake = fakeStack([{ urn, outputs: { spec } }]);
            const { target } = targetOn(fake.stack, "gateway-api");
            await target.applyWeights({ v1: 50, v2: 50 }, "virtual-service");
            assert.deepEqual(
                fake.calls.up.map((o) => o.target),
                [[urn]],
            );
            assert.deepEqual(await target.liveWeights(), { v1: 75, v2: 25 });
        });

        it("asks no `up` or `refresh` for decrypted secrets, so the CLI writes no stack file into the project folder", async () => {
            const fake = fakeStack([{ urn: VS_URN, outputs: { spec: { http: [{ route: [{ destination: { subset: "v1" } }] }] } } }]);
            const { target } = targetOn(fake.stack);
            await target.applyWeights({ v1: 90, v2: 10 }, "stack");
            await target.applyWeights({ v1: 0, v2: 100 }, "virtual-service");
            await target.removeVersion("v1");
            await target.liveWeights();
            assert.deepEqual(
                [...fake.calls.up, ...fake.calls.refresh].map((o) => o.showSecrets),
                [false, false, false, false],
            );
        });

        it("has no live weights when the stack has no VirtualService (never deployed)", async () => {
            const { target } = targetOn(fakeStack().stack);
            assert.equal(await target.liveWeights(), undefined);
        });
    });
});
