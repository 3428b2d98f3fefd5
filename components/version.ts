/**
 * One running version of the application: the entry type of `istio-canary:versions`, of CanaryApp
 * (name, image, replicas), of Traffic (name, weight) and of the stack-file editor. Defined once.
 */
import { Checker, DNS_LABEL, PINNED_IMAGE } from "./validation";

/** One running version. */
export interface Version {
    /** Version label value, Deployment suffix and DestinationRule subset name; a DNS label, unique in the list. */
    name: string;
    /** Container image with a tag or a sha256 digest. */
    image: string;
    /** Pod replicas, an integer from 0 to 1000. Defaults to 1. */
    replicas?: number;
    /** Percentage of traffic, an integer 0-100; the weights of all versions sum to 100. */
    weight: number;
}

/** A version with every default applied. */
export type ResolvedVersion = Required<Version>;

/** Replicas of a version that does not say. */
export const DEFAULT_REPLICAS = 1;

/** The fields a version entry may have. */
export const VERSION_FIELDS = ["name", "image", "replicas", "weight"] as const;

/**
 * Reads a list of versions: each an object with a unique DNS-label name, and the fields in `need`
 * present (CanaryApp needs images, Traffic weights). Weights must be integers 0-100 that sum to 100
 * (when `need` has weight), and a version that gets traffic must have replicas. Problems go to `c`.
 */
export function readVersions(c: Checker, value: unknown, need: readonly ("image" | "weight")[]): ResolvedVersion[] {
    const list = c.array("versions", value, "{name, image, replicas, weight} entries");
    if (list === undefined) {
        return [];
    }
    if (list.length === 0) {
        c.fail("versions", value, "it must list at least one version");
        return [];
    }
    const versions: ResolvedVersion[] = [];
    let weightsOk = true;
    list.forEach((entry, i) => {
        const key = `versions[${i}]`;
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            c.fail(key, entry, "each version must be an object with fields name, image, replicas, weight");
            weightsOk = false;
            return;
        }
        const r = c.object(key, entry, VERSION_FIELDS);
        for (const required of ["name", ...need]) {
            if (r[required] === undefined) {
                c.fail(`${key}.${required}`, undefined, `every version needs ${required}`);
            }
        }
        const name = c.string(`${key}.name`, r.name, "", DNS_LABEL);
        if (name !== "" && versions.some((v) => v.name === name)) {
            c.fail(`${key}.name`, r.name, "version names must be unique");
        }
        const weightValid = typeof r.weight === "number" && Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 100;
        if (need.includes("weight") && !weightValid) {
            weightsOk = false;
        }
        const version: ResolvedVersion = {
            name,
            image: c.string(`${key}.image`, r.image, "", PINNED_IMAGE),
            replicas: c.integer(`${key}.replicas`, r.replicas, DEFAULT_REPLICAS, 0, 1000),
            weight: c.integer(`${key}.weight`, r.weight, 0, 0, 100),
        };
        if (r.replicas === 0 && weightValid && version.weight > 0) {
            c.fail(
                `${key}.replicas`,
                0,
                `a version with weight ${version.weight} needs at least one replica, or its share of requests fails with 503; set its weight to 0 first`,
            );
        }
        versions.push(version);
    });
    if (need.includes("weight") && weightsOk) {
        const sum = versions.reduce((a, v) => a + v.weight, 0);
        if (sum !== 100) {
            c.add(
                `${c.keyOf("versions")} weights are ${versions.map((v) => `${v.name}=${v.weight}`).join(", ")} (sum ${sum}); they must sum to 100`,
            );
        }
    }
    return versions;
}

/** The weights per version, as routed. Pure. */
export function weightsByVersion(versions: readonly Pick<Version, "name" | "weight">[]): Record<string, number> {
    return Object.fromEntries(versions.map((v) => [v.name, v.weight]));
}
