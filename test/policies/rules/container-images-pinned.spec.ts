import * as assert from "node:assert/strict";
import { containerImagesPinned } from "../../../policies/rules";
import { UNKNOWN, container, deployment, runResourcePolicy } from "../fixtures";

function withImage(image: unknown, field: "containers" | "initContainers" = "containers") {
    const d = deployment("v1");
    const c = { ...container("myapp", "x:1"), image };
    d.props.spec.template.spec[field] = [c];
    return d;
}

describe("policy container-images-pinned", () => {
    it("accepts a tag and a digest", async () => {
        assert.deepEqual(await runResourcePolicy(containerImagesPinned, deployment("v1")), []);
        assert.deepEqual(
            await runResourcePolicy(containerImagesPinned, withImage(`registry.example.com:5000/team/myapp@sha256:${"a".repeat(64)}`)),
            [],
        );
    });

    it("rejects the latest tag", async () => {
        assert.deepEqual(await runResourcePolicy(containerImagesPinned, withImage("jamaldevsecops/myapp:latest")), [
            'Deployment default/myapp-v1 container myapp: image jamaldevsecops/myapp:latest uses the tag "latest", which moves; pin a version tag or a digest (@sha256:...) so every pod of a version runs the same build.',
        ]);
    });

    it("rejects an image without a tag, also behind a registry port", async () => {
        const messages = await runResourcePolicy(containerImagesPinned, withImage("registry.example.com:5000/myapp"));
        assert.deepEqual(messages, [
            'Deployment default/myapp-v1 container myapp: image registry.example.com:5000/myapp has no tag, so it runs whatever "latest" is when the pod starts; pin a version tag or a digest (@sha256:...) so every pod of a version runs the same build.',
        ]);
    });

    it("rejects a container without an image and checks init containers", async () => {
        const messages = await runResourcePolicy(containerImagesPinned, withImage(undefined, "initContainers"));
        assert.deepEqual(messages, [
            "Deployment default/myapp-v1 init container myapp: has no image; pin a version tag or a digest (@sha256:...) so every pod of a version runs the same build.",
        ]);
    });

    it("says nothing when the image or the whole container is unknown during preview", async () => {
        assert.deepEqual(await runResourcePolicy(containerImagesPinned, withImage(UNKNOWN)), []);
        const d = deployment("v1");
        d.props.spec.template.spec.containers = [UNKNOWN];
        d.props.spec.template.spec.initContainers = [UNKNOWN];
        assert.deepEqual(await runResourcePolicy(containerImagesPinned, d), []);
    });
});
