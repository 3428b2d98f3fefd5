/**
 * The sticky canary's cookie route comes from the weights, so the rollout's targeted `pulumi up`
 * (the VirtualService or HTTPRoute alone) is enough to remove it on a rollback. The Automation API's
 * Stack is a stand-in whose `up` runs the program offline on the stack file the adapter just edited,
 * as the engine would evaluate it: every resource that changes must be in the up's target, or a
 * targeted up would leave that change out.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { UpOptions } from "@pulumi/pulumi/automation";
import { OfflineRun, runStackOffline } from "../../offline/run";
import { PulumiStackTarget } from "../../rollout/automation";
import { diffRuns, one } from "../support/program";
import { configDirWith, devStackFile } from "./fakes";

/** A dev stack file with a header route and a sticky canary at the given split, with one routing API. */
function stickyStackFile(weights: [number, number], api: "istio" | "gateway-api"): string {
    const routing = [
        "  istio-canary:routing:",
        `    api: ${api}`,
        '    headerRoute: { header: x-canary, value: "true", version: v2 }',
        "    stickyCanary:",
        "      enabled: true",
        "",
    ];
    return devStackFile({ weights }) + routing.join("\n");
}

/** A Stack stand-in: each `up` records its options and runs the program on the stack file as it is now. */
function programStack(dir: string) {
    const ups: { options: UpOptions; run: OfflineRun }[] = [];
    return {
        ups,
        stack: {
            up: async (options: UpOptions) => {
                ups.push({ options, run: await runStackOffline("dev", { configDir: dir }) });
                return {};
            },
            refresh: async () => ({}),
            exportStack: async () => ({ deployment: { resources: [] } }),
        },
    };
}

/** The rollout's adapter on the stack file in `dir`, with the program-running Stack stand-in. */
function adapterOn(dir: string, routingApi: "istio" | "gateway-api") {
    const fake = programStack(dir);
    const target = new PulumiStackTarget({
        stack: "dev",
        appName: "myapp",
        routingApi,
        stackFile: path.join(dir, "Pulumi.dev.yaml"),
        workDir: dir,
        project: "istio-canary",
        policyPacks: [],
        openStack: async () => fake.stack,
    });
    return { fake, target };
}

/** The URN's short form, as diffRuns names resources. */
function short(urn: string): string {
    const [type, name] = urn.split("::").slice(-2);
    return `${type.replace(/^.*\$/, "")}::${name}`;
}

describe("sticky canary: a rollback removes the cookie route through the targeted up", function () {
    this.timeout(120_000);

    it("with the Istio API, the VirtualService-only up of 100/0 drops the cookie route and the Set-Cookie, and nothing else changes", async () => {
        const dir = configDirWith({ dev: stickyStackFile([75, 25], "istio") });
        const deployed = await runStackOffline("dev", { configDir: dir });
        const vs = (run: OfflineRun) => one(run, ":VirtualService").inputs.spec.http as { name: string; route: { headers?: unknown }[] }[];
        assert.deepEqual(
            vs(deployed).map((h) => h.name),
            ["header-v2", "sticky-v2", "weighted"],
            "the stack runs the sticky route before the rollback",
        );

        const { fake, target } = adapterOn(dir, "istio");
        await target.applyWeights({ v1: 100, v2: 0 }, "virtual-service");

        assert.equal(fake.ups.length, 1);
        const [{ options, run }] = fake.ups;
        assert.deepEqual(options.target, [target.virtualServiceUrn]);
        assert.equal(options.targetDependents, false);
        assert.deepEqual(diffRuns(deployed, run), { changed: [short(target.virtualServiceUrn)], added: [], removed: [] });
        assert.deepEqual(
            vs(run).map((h) => h.name),
            ["header-v2", "weighted"],
        );
        assert.ok(
            vs(run)[1].route.every((d) => d.headers === undefined),
            "no destination sets the cookie after the rollback",
        );
    });

    it("with the Gateway API, the HTTPRoute-only up of 100/0 drops the cookie rule and the ResponseHeaderModifier, and nothing else changes", async () => {
        const dir = configDirWith({ dev: stickyStackFile([50, 50], "gateway-api") });
        const deployed = await runStackOffline("dev", { configDir: dir });
        const rules = (r: OfflineRun) =>
            r.resources.find((x) => x.name === "myapp-route")!.inputs.spec.rules as {
                matches?: unknown;
                backendRefs: { filters?: unknown }[];
            }[];
        assert.equal(rules(deployed).filter((r) => r.matches !== undefined).length, 2, "header rule and cookie rule before the rollback");

        const { fake, target } = adapterOn(dir, "gateway-api");
        await target.applyWeights({ v1: 100, v2: 0 }, "virtual-service");

        const [{ options, run }] = fake.ups;
        assert.deepEqual(options.target, [target.virtualServiceUrn]);
        assert.match(target.virtualServiceUrn, /HTTPRoute::myapp-route$/);
        assert.deepEqual(diffRuns(deployed, run), { changed: [short(target.virtualServiceUrn)], added: [], removed: [] });
        const after = rules(run);
        assert.equal(after.filter((r) => r.matches !== undefined).length, 1, "only the header rule is left");
        assert.ok(after[after.length - 1].backendRefs.every((b) => b.filters === undefined));
    });
});
