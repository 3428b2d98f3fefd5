import { ResourceValidationPolicy } from "@pulumi/policy";
import {
    Obj,
    arr,
    describe,
    destinationLabel,
    fullDestination,
    isIstio,
    isUnknown,
    namespaceOf,
    obj,
    plainProps,
    resolveHost,
    routesOf,
    show,
    str,
} from "../istio";

interface Mirror {
    /** `mirror` or `mirrors[0]`. */
    where: string;
    destination: Obj | undefined;
    /** `mirrorPercentage.value` or `mirrors[i].percentage.value`, with its field path. */
    percentage?: { field: string; value: unknown };
}

function mirrorsOf(route: Obj): Mirror[] {
    const out: Mirror[] = [];
    if (route.mirror !== undefined) {
        const pct = obj(route.mirrorPercentage);
        out.push({
            where: "mirror",
            destination: obj(route.mirror),
            percentage: pct !== undefined && pct.value !== undefined ? { field: "mirrorPercentage.value", value: pct.value } : undefined,
        });
    }
    arr(route.mirrors).forEach((m, i) => {
        const mirror = obj(m) ?? {};
        const pct = obj(mirror.percentage);
        out.push({
            where: `mirrors[${i}]`,
            destination: obj(mirror.destination),
            percentage:
                pct !== undefined && pct.value !== undefined ? { field: `mirrors[${i}].percentage.value`, value: pct.value } : undefined,
        });
    });
    return out;
}

/** The violations of one VirtualService's mirrors. Pure. */
export function mirrorViolations(r: { name: string; props: Obj }): string[] {
    const spec = obj(r.props.spec);
    const ns = namespaceOf(r.props);
    if (spec === undefined) {
        return [];
    }
    const out: string[] = [];
    for (const route of routesOf(spec).filter((x) => x.kind === "http")) {
        const where = `${describe("VirtualService", r)} ${route.label}`;
        const legacy = route.route.mirrorPercent;
        if (
            legacy !== undefined &&
            !isUnknown(legacy) &&
            !(typeof legacy === "number" && Number.isInteger(legacy) && legacy >= 0 && legacy <= 100)
        ) {
            out.push(`${where}: mirrorPercent is ${show(legacy)}; it must be an integer from 0 to 100.`);
        }
        const full = fullDestination(route.destinations);
        for (const m of mirrorsOf(route.route)) {
            const p = m.percentage;
            if (
                p !== undefined &&
                !isUnknown(p.value) &&
                !(typeof p.value === "number" && Number.isFinite(p.value) && p.value >= 0 && p.value <= 100)
            ) {
                out.push(`${where}: ${p.field} is ${show(p.value)}; it must be a number from 0 to 100 (the share of requests copied).`);
            }
            if (full === undefined || m.destination === undefined || ns === undefined) {
                continue;
            }
            const mirrorHost = str(m.destination.host);
            const fullHost = str(full.host);
            const sameSubset =
                (m.destination.subset === undefined && full.subset === undefined) ||
                (str(m.destination.subset) !== undefined && str(m.destination.subset) === str(full.subset));
            if (
                mirrorHost !== undefined &&
                fullHost !== undefined &&
                resolveHost(mirrorHost, ns) === resolveHost(fullHost, ns) &&
                sameSubset
            ) {
                out.push(
                    `${where}: ${m.where} copies traffic to ${destinationLabel(m.destination)}, the destination that already receives 100% of this route's traffic; ` +
                        `mirror to another subset (the canary) or remove the mirror.`,
                );
            }
        }
    }
    return out;
}

/** Mirror percentages are 0-100 and a mirror never duplicates the traffic of the destination that already gets all of it. */
export const virtualServiceMirror: ResourceValidationPolicy = {
    name: "virtualservice-mirror",
    description:
        "A VirtualService mirror copies 0 to 100 percent of requests (mirrorPercentage.value), and never to the destination that already receives all of the route's traffic.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        if (!isIstio({ type: args.type, props }, "VirtualService")) {
            return;
        }
        for (const message of mirrorViolations({ name: args.name, props })) {
            reportViolation(message);
        }
    },
};
