import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, arr, isUnknown, obj, plainProps, podTemplateOf, str } from "../istio";

/** What a container lacks among CPU/memory requests and limits and a readiness probe; unknown values count as present. Pure. */
export function missingContainerSettings(container: Obj): string[] {
    const missing: string[] = [];
    const resources = container.resources;
    if (!isUnknown(resources)) {
        for (const kind of ["requests", "limits"] as const) {
            const quantities = obj(resources)?.[kind];
            if (isUnknown(quantities)) {
                continue;
            }
            for (const res of ["cpu", "memory"] as const) {
                const q = obj(quantities)?.[res];
                if (q === undefined || q === null || q === "") {
                    missing.push(`resources.${kind}.${res}`);
                }
            }
        }
    }
    if (container.readinessProbe === undefined || container.readinessProbe === null) {
        missing.push("readinessProbe");
    }
    return missing;
}

/** One message per container missing requests, limits or a readiness probe. Pure. */
export function containerSettingViolations(r: { type: string; name: string; props: Obj }): string[] {
    const pod = podTemplateOf(r);
    if (pod === undefined) {
        return [];
    }
    const out: string[] = [];
    arr(pod.spec.containers).forEach((c, i) => {
        if (isUnknown(c)) {
            return; // the whole container is unknown during preview
        }
        const container = obj(c) ?? {};
        const missing = missingContainerSettings(container);
        if (missing.length > 0) {
            out.push(
                `${pod.owner} container ${str(container.name) ?? `containers[${i}]`} has no ${missing.join(", ")}; ` +
                    `give every container CPU and memory requests and limits, and a readiness probe so a new version gets traffic only when it is ready.`,
            );
        }
    });
    return out;
}

/** Containers declare resource requests and limits and a readiness probe. */
export const containerResourcesAndReadiness: ResourceValidationPolicy = {
    name: "container-resources-and-readiness",
    description: "Every container declares CPU and memory requests and limits, and a readiness probe.",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        for (const message of containerSettingViolations({ type: args.type, name: args.name, props: plainProps(args.props) })) {
            reportViolation(message);
        }
    },
};
