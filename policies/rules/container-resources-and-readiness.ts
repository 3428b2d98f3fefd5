import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, arr, isUnknown, obj, plainProps, podTemplateOf, str } from "../istio";

/**
 * What a container lacks among CPU/memory requests and limits and, when `needsReadiness`, a
 * readiness probe; unknown values count as present. Pure.
 */
export function missingContainerSettings(container: Obj, needsReadiness = true): string[] {
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
    if (needsReadiness && (container.readinessProbe === undefined || container.readinessProbe === null)) {
        missing.push("readinessProbe");
    }
    return missing;
}

/**
 * One message per container missing requests, limits or a readiness probe. A readiness probe
 * decides whether a pod receives Service traffic; the pods of a Job or CronJob, and bare Pods with
 * restartPolicy Never or OnFailure, run to completion and serve none, so they are asked for
 * requests and limits only (Kubernetes: "Liveness, Readiness and Startup Probes"). Pure.
 */
export function containerSettingViolations(r: { type: string; name: string; props: Obj }): string[] {
    const pod = podTemplateOf(r);
    if (pod === undefined) {
        return [];
    }
    // A bare Pod whose restartPolicy is unknown during preview may run to completion: no probe asked.
    const needsReadiness = pod.runsToCompletion === false;
    const advice = needsReadiness
        ? "give every container CPU and memory requests and limits, and a readiness probe so a new version gets traffic only when it is ready."
        : "give every container CPU and memory requests and limits.";
    const out: string[] = [];
    arr(pod.spec.containers).forEach((c, i) => {
        if (isUnknown(c)) {
            return; // the whole container is unknown during preview
        }
        const container = obj(c) ?? {};
        const missing = missingContainerSettings(container, needsReadiness);
        if (missing.length > 0) {
            out.push(`${pod.owner} container ${str(container.name) ?? `containers[${i}]`} has no ${missing.join(", ")}; ${advice}`);
        }
    });
    return out;
}

/** Containers declare resource requests and limits, and those of serving workloads a readiness probe. */
export const containerResourcesAndReadiness: ResourceValidationPolicy = {
    name: "container-resources-and-readiness",
    description:
        "Every container declares CPU and memory requests and limits, and every container of a serving workload a readiness probe (not those of Jobs, CronJobs and Pods that run to completion).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        for (const message of containerSettingViolations({ type: args.type, name: args.name, props: plainProps(args.props) })) {
            reportViolation(message);
        }
    },
};
