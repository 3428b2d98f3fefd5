import * as assert from "node:assert/strict";
import { containerResourcesAndReadiness } from "../../../policies/rules";
import { UNKNOWN, deployment, runResourcePolicy } from "../fixtures";

function changed(edit: (c: Record<string, any>) => void) {
    const d = deployment("v1");
    edit(d.props.spec.template.spec.containers[0]);
    return d;
}

describe("policy container-resources-and-readiness", () => {
    it("accepts a container with requests, limits and a readiness probe", async () => {
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, deployment("v1")), []);
    });

    it("rejects a missing memory limit", async () => {
        const messages = await runResourcePolicy(
            containerResourcesAndReadiness,
            changed((c) => delete c.resources.limits.memory),
        );
        assert.deepEqual(messages, [
            "Deployment default/myapp-v1 container myapp has no resources.limits.memory; give every container CPU and memory requests and limits, and a readiness probe so a new version gets traffic only when it is ready.",
        ]);
    });

    it("rejects missing requests", async () => {
        const messages = await runResourcePolicy(
            containerResourcesAndReadiness,
            changed((c) => delete c.resources.requests),
        );
        assert.deepEqual(messages, [
            "Deployment default/myapp-v1 container myapp has no resources.requests.cpu, resources.requests.memory; give every container CPU and memory requests and limits, and a readiness probe so a new version gets traffic only when it is ready.",
        ]);
    });

    it("rejects a missing readiness probe", async () => {
        const messages = await runResourcePolicy(
            containerResourcesAndReadiness,
            changed((c) => delete c.readinessProbe),
        );
        assert.equal(messages.length, 1);
        assert.match(messages[0], /^Deployment default\/myapp-v1 container myapp has no readinessProbe;/);
    });

    it("says nothing when resources are unknown during preview", async () => {
        assert.deepEqual(
            await runResourcePolicy(
                containerResourcesAndReadiness,
                changed((c) => (c.resources = UNKNOWN)),
            ),
            [],
        );
    });

    it("says nothing when a whole container is unknown during preview", async () => {
        const d = deployment("v1");
        d.props.spec.template.spec.containers = [UNKNOWN];
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, d), []);
    });
});
