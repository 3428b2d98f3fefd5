import * as assert from "node:assert/strict";
import { containerResourcesAndReadiness } from "../../../policies/rules";
import { UNKNOWN, batchWorkload, deployment, runResourcePolicy } from "../fixtures";

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

    it("accepts a Job's container without a readiness probe: its pods run to completion and never serve traffic", async () => {
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, batchWorkload("Job")), []);
    });

    it("accepts a CronJob's container without a readiness probe", async () => {
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, batchWorkload("CronJob")), []);
    });

    it("accepts a bare Pod with restartPolicy Never or OnFailure without a readiness probe", async () => {
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, batchWorkload("Pod", { restartPolicy: "Never" })), []);
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, batchWorkload("Pod", { restartPolicy: "OnFailure" })), []);
    });

    it("still asks a long-running bare Pod (restartPolicy Always, or none) for a readiness probe", async () => {
        const always = batchWorkload("Pod", { restartPolicy: "Always" });
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, always), [
            "Pod default/myapp-migrate container migrate has no readinessProbe; give every container CPU and memory requests and limits, and a readiness probe so a new version gets traffic only when it is ready.",
        ]);
        const unset = batchWorkload("Pod");
        delete unset.props.spec.restartPolicy;
        assert.equal((await runResourcePolicy(containerResourcesAndReadiness, unset)).length, 1);
    });

    it("still asks a Job's container for requests and limits, without asking for a readiness probe", async () => {
        const job = batchWorkload("Job");
        delete job.props.spec.template.spec.containers[0].resources.limits;
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, job), [
            "Job default/myapp-migrate container migrate has no resources.limits.cpu, resources.limits.memory; give every container CPU and memory requests and limits.",
        ]);
    });

    it("says nothing about the readiness probe of a bare Pod whose restartPolicy is unknown during preview", async () => {
        const pod = batchWorkload("Pod", { restartPolicy: UNKNOWN });
        assert.deepEqual(await runResourcePolicy(containerResourcesAndReadiness, pod), []);
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
