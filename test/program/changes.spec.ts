import * as assert from "node:assert/strict";
import { diffRuns, one, runWith } from "../support/program";

const v1 = { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2 };
const v2 = { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1 };

describe("what a config change changes", () => {
    it("changes only the VirtualService when only the weights change", async () => {
        const before = await runWith({
            versions: [
                { ...v1, weight: 90 },
                { ...v2, weight: 10 },
            ],
        });
        const after = await runWith({
            versions: [
                { ...v1, weight: 50 },
                { ...v2, weight: 50 },
            ],
        });
        assert.deepEqual(diffRuns(before, after), {
            changed: ["kubernetes:networking.istio.io/v1:VirtualService::myapp-vs"],
            added: [],
            removed: [],
        });
    });

    it("rolls back by changing only the VirtualService", async () => {
        const before = await runWith({
            versions: [
                { ...v1, weight: 50 },
                { ...v2, weight: 50 },
            ],
        });
        const after = await runWith({
            versions: [
                { ...v1, weight: 100 },
                { ...v2, weight: 0 },
            ],
        });
        assert.deepEqual(diffRuns(before, after).changed, ["kubernetes:networking.istio.io/v1:VirtualService::myapp-vs"]);
    });

    it("with a sticky canary, a shift and a rollback still change only the VirtualService, and the rollback drops the cookie route", async () => {
        const at = (w: number) =>
            runWith({
                versions: [
                    { ...v1, weight: 100 - w },
                    { ...v2, weight: w },
                ],
                routing: { stickyCanary: { enabled: true } },
            });
        const [ten, fifty, zero] = [await at(10), await at(50), await at(0)];
        const vs = "kubernetes:networking.istio.io/v1:VirtualService::myapp-vs";
        assert.deepEqual(diffRuns(ten, fifty), { changed: [vs], added: [], removed: [] });
        assert.deepEqual(diffRuns(fifty, zero), { changed: [vs], added: [], removed: [] });
        const routes = (run: typeof ten) => one(run, ":VirtualService").inputs.spec.http.map((h: { name: string }) => h.name);
        assert.deepEqual(routes(fifty), ["sticky-v2", "weighted"]);
        assert.deepEqual(routes(zero), ["weighted"]);
    });

    it("removes only v1's Deployment, subset and route at the clean-up, leaving v2's resources untouched", async () => {
        const before = await runWith({
            versions: [
                { ...v1, weight: 0 },
                { ...v2, weight: 100 },
            ],
        });
        const after = await runWith({ versions: [{ ...v2, weight: 100 }] });
        const diff = diffRuns(before, after);
        assert.deepEqual(diff.removed, ["kubernetes:apps/v1:Deployment::myapp-v1"]);
        assert.deepEqual(diff.added, []);
        assert.deepEqual(diff.changed, [
            "kubernetes:networking.istio.io/v1:DestinationRule::myapp-dr",
            "kubernetes:networking.istio.io/v1:VirtualService::myapp-vs",
        ]);
        const v2Before = before.resources.find((r) => r.name === "myapp-v2")!;
        const v2After = after.resources.find((r) => r.name === "myapp-v2")!;
        assert.deepEqual(v2After.inputs, v2Before.inputs);
    });

    it("adds only the new version's Deployment, subset and route when a version is added", async () => {
        const before = await runWith({ versions: [{ ...v1, weight: 100 }] });
        const after = await runWith({
            versions: [
                { ...v1, weight: 100 },
                { ...v2, weight: 0 },
            ],
        });
        const diff = diffRuns(before, after);
        assert.deepEqual(diff.added, ["kubernetes:apps/v1:Deployment::myapp-v2"]);
        assert.deepEqual(diff.removed, []);
        assert.deepEqual(diff.changed, [
            "kubernetes:networking.istio.io/v1:DestinationRule::myapp-dr",
            "kubernetes:networking.istio.io/v1:VirtualService::myapp-vs",
        ]);
    });
});
