/**
 * Policy config (`--policy-pack-config`): the file format, parsed and reconciled with the pack's
 * policies as the engine does (pulumi/pulumi pkg/resource/analyzer/config.go). No gRPC here; the
 * client in ./client.ts sends the result with Configure.
 */
import * as fs from "node:fs";
import type { AnalyzerPolicyInfo } from "./client";

/** A policy's enforcement level. */
export type EnforcementLevel = "advisory" | "mandatory" | "remediate" | "disabled";

/** Enforcement levels as the config file and the protocol name them. */
export const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

/** One policy's configuration: enforcement level and properties (the config file's per-policy entry). */
export interface PolicyConfigEntry {
    /** Enforcement level; absent keeps the policy's default. */
    enforcementLevel?: EnforcementLevel;
    /** Other configured properties. */
    properties?: Record<string, unknown>;
}

/** Policy name (or `all`) to its configuration. */
export type PolicyConfigMap = Record<string, PolicyConfigEntry>;

/** Raised for an unusable policy config file; the message names the file and the problem. */
export class PolicyConfigError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyConfigError";
    }
}

function isLevel(v: unknown): v is EnforcementLevel {
    return typeof v === "string" && (ENFORCEMENT_LEVELS as readonly string[]).includes(v);
}

/**
 * Parses a policy config file's text as the engine's LoadPolicyPackConfigFromFile does: a JSON
 * object whose keys are policy names (or `all`) and whose values are an enforcement level string or
 * an object with an optional `enforcementLevel` and other properties. Empty text is no config.
 * Throws PolicyConfigError naming `source` and the bad key.
 */
export function parsePolicyConfig(text: string, source: string): PolicyConfigMap {
    if (text.trim() === "") {
        return {};
    }
    let json: unknown;
    try {
        json = JSON.parse(text);
    } catch (e) {
        throw new PolicyConfigError(`${source} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
        throw new PolicyConfigError(`${source} must be a JSON object of policy names to enforcement levels, e.g. {"all": "mandatory"}`);
    }
    const out: PolicyConfigMap = {};
    for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
        if (typeof value === "string") {
            if (!isLevel(value)) {
                throw new PolicyConfigError(
                    `${source}: "${key}" is ${JSON.stringify(value)}; an enforcement level is one of ${ENFORCEMENT_LEVELS.join(", ")}`,
                );
            }
            out[key] = { enforcementLevel: value };
        } else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
            const { enforcementLevel, ...properties } = value as Record<string, unknown>;
            if (enforcementLevel !== undefined && !isLevel(enforcementLevel)) {
                throw new PolicyConfigError(
                    `${source}: "${key}".enforcementLevel is ${JSON.stringify(enforcementLevel)}; it must be one of ${ENFORCEMENT_LEVELS.join(", ")}`,
                );
            }
            if (enforcementLevel !== undefined || Object.keys(properties).length > 0) {
                out[key] = {
                    ...(enforcementLevel !== undefined ? { enforcementLevel } : {}),
                    ...(Object.keys(properties).length > 0 ? { properties } : {}),
                };
            }
        } else {
            throw new PolicyConfigError(
                `${source}: "${key}" is ${JSON.stringify(value)}; it must be an enforcement level string or an object`,
            );
        }
    }
    return out;
}

/** Reads and parses a policy config file; throws PolicyConfigError when it is missing, unreadable (a directory, say) or bad. */
export function readPolicyConfigFile(file: string): PolicyConfigMap {
    if (!fs.existsSync(file)) {
        throw new PolicyConfigError(`policy config file ${file} does not exist`);
    }
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new PolicyConfigError(
            `policy config file ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); it must be a JSON file`,
        );
    }
    return parsePolicyConfig(text, file);
}

function applyConfig(result: PolicyConfigMap, config: PolicyConfigMap): PolicyConfigMap {
    const out: PolicyConfigMap = { ...result };
    const all = config.all?.enforcementLevel;
    if (all !== undefined) {
        for (const k of Object.keys(out)) {
            out[k] = { ...out[k], enforcementLevel: all };
        }
    }
    for (const [policy, given] of Object.entries(config)) {
        const current = out[policy] ?? {};
        const properties = given.properties !== undefined ? { ...(current.properties ?? {}), ...given.properties } : current.properties;
        const enforcementLevel = given.enforcementLevel ?? current.enforcementLevel;
        out[policy] = {
            ...(enforcementLevel !== undefined ? { enforcementLevel } : {}),
            ...(properties !== undefined ? { properties } : {}),
        };
    }
    return out;
}

/**
 * The config the engine sends with Configure: every policy at its default level, then the pack's
 * initial config, then the file's (`all` first, then per policy), as ReconcilePolicyPackConfig does.
 */
export function reconcilePolicyConfig(
    policies: readonly AnalyzerPolicyInfo[],
    initialConfig: PolicyConfigMap,
    config: PolicyConfigMap,
): PolicyConfigMap {
    let result: PolicyConfigMap = Object.fromEntries(policies.map((p) => [p.name, { enforcementLevel: p.enforcementLevel }]));
    result = applyConfig(result, initialConfig);
    return applyConfig(result, config);
}

/** Keys of a policy config that name no policy of the pack (typos the engine silently ignores). */
export function unknownPolicyNames(policies: readonly AnalyzerPolicyInfo[], config: PolicyConfigMap): string[] {
    const names = new Set(policies.map((p) => p.name));
    return Object.keys(config).filter((k) => k !== "all" && !names.has(k));
}
