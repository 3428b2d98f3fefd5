import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, arr, isUnknown, obj, plainProps, podTemplateOf, str } from "../istio";

/** Why an image reference is not pinned, or undefined when it names a version tag or a sha256 digest. Pure. */
export function imagePinProblem(image: unknown): string | undefined {
    if (isUnknown(image)) {
        return undefined;
    }
    if (typeof image !== "string" || image.trim() === "") {
        return "has no image";
    }
    const at = image.indexOf("@");
    if (at >= 0) {
        return /^sha256:[a-f0-9]{64}$/.test(image.slice(at + 1))
            ? undefined
            : `image ${image} has a malformed digest (expected @sha256:<64 hex digits>)`;
    }
    const slash = image.lastIndexOf("/");
    const colon = image.lastIndexOf(":");
    if (colon <= slash) {
        return `image ${image} has no tag, so it runs whatever "latest" is when the pod starts`;
    }
    const tag = image.slice(colon + 1);
    if (tag === "latest") {
        return `image ${image} uses the tag "latest", which moves`;
    }
    return undefined;
}

/** One message per container or init container whose image is not pinned. Pure. */
export function imageViolations(r: { type: string; name: string; props: Obj }): string[] {
    const pod = podTemplateOf(r);
    if (pod === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const field of ["initContainers", "containers"] as const) {
        arr(pod.spec[field]).forEach((c, i) => {
            if (isUnknown(c)) {
                return; // the whole container is unknown during preview
            }
            const container = obj(c) ?? {};
            const problem = imagePinProblem(container.image);
            if (problem !== undefined) {
                const which = `${field === "containers" ? "container" : "init container"} ${str(container.name) ?? `${field}[${i}]`}`;
                out.push(
                    `${pod.owner} ${which}: ${problem}; pin a version tag or a digest (@sha256:...) so every pod of a version runs the same build.`,
                );
            }
        });
    }
    return out;
}

/** Container images are pinned to a tag or digest, never latest or none. */
export const containerImagesPinned: ResourceValidationPolicy = {
    name: "container-images-pinned",
    description: "Every container image is pinned to a version tag or a digest, never to latest or to no tag at all.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        for (const message of imageViolations({ type: args.type, name: args.name, props: plainProps(args.props) })) {
            reportViolation(message);
        }
    },
};
