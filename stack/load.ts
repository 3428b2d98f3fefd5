import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { PROJECT } from "../config/check";
import { RawConfig } from "../config/validate";

/** The repository root: where Pulumi.yaml and the program live. */
export const PROJECT_ROOT = path.resolve(__dirname, "..");

/** What a stack name may be: letters, digits, '-', '_' and '.' (it becomes part of a file name). */
export const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

/** A stack or project file that cannot be used, with the file and the reason. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** One stack's config as the Pulumi engine would hand it to the program. */
export interface StackConfig {
    /** Stack name, e.g. `dev`. */
    stack: string;
    /** Absolute path of Pulumi.yaml. */
    projectFile: string;
    /** Absolute path of Pulumi.<stack>.yaml. */
    stackFile: string;
    /** Project keys (without the `istio-canary:` prefix) to values: Pulumi.yaml defaults overridden by the stack file. Secure values are not here. */
    raw: RawConfig;
    /** Project keys whose stack value is `secure:` (encrypted); offline runs replace them with generated material. */
    secure: string[];
    /** Keys of other namespaces (e.g. `kubernetes:context`) with their values, as strings. */
    other: Record<string, string>;
}

/** Reads a YAML file into plain data, with errors that name the file. */
export function readYamlFile(file: string): unknown {
    if (!fs.existsSync(file)) {
        throw new StackFileError(`${file} does not exist`);
    }
    const doc = parseDocument(fs.readFileSync(file, "utf8"), { prettyErrors: true });
    if (doc.errors.length > 0) {
        throw new StackFileError(`${file} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
    }
    return doc.toJS();
}

/** The project's config declarations from Pulumi.yaml, resolved to their default values. */
export function readProjectDefaults(projectDir: string = PROJECT_ROOT): { file: string; name: string; defaults: RawConfig } {
    const file = path.join(projectDir, "Pulumi.yaml");
    const project = readYamlFile(file) as Record<string, unknown> | null;
    if (project === null || typeof project !== "object" || typeof project.name !== "string") {
        throw new StackFileError(`${file} has no project name`);
    }
    const defaults: RawConfig = {};
    const declared = (project.config ?? {}) as Record<string, unknown>;
    for (const [key, decl] of Object.entries(declared)) {
        if (decl !== null && typeof decl === "object" && !Array.isArray(decl)) {
            const d = decl as Record<string, unknown>;
            if ("value" in d) {
                defaults[key] = d.value;
            } else if ("default" in d) {
                defaults[key] = d.default;
            } else if (!("type" in d)) {
                defaults[key] = d;
            }
        } else {
            defaults[key] = decl;
        }
    }
    return { file, name: project.name, defaults };
}

/** The path of a stack's file. */
export function stackFilePath(stack: string, configDir: string = PROJECT_ROOT): string {
    return path.join(configDir, `Pulumi.${stack}.yaml`);
}

/**
 * Loads one stack's config the way the engine does: Pulumi.yaml's declared values and defaults,
 * each key replaced as a whole by Pulumi.<stack>.yaml's value. `configDir` holds both files
 * (default: the repository root). Throws StackFileError naming the file and the problem.
 */
export function loadStackConfig(stack: string, configDir: string = PROJECT_ROOT): StackConfig {
    if (!STACK_NAME.test(stack)) {
        throw new StackFileError(`stack name ${JSON.stringify(stack)} is not valid; use letters, digits, '-', '_' or '.'`);
    }
    const { file: projectFile, name, defaults } = readProjectDefaults(configDir);
    if (name !== PROJECT) {
        throw new StackFileError(`${projectFile} names project ${JSON.stringify(name)}; this program is ${PROJECT}`);
    }
    const stackFile = stackFilePath(stack, configDir);
    if (!fs.existsSync(stackFile)) {
        const known = fs
            .readdirSync(configDir)
            .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
            .map((f) => f.slice(7, -5));
        throw new StackFileError(
            `no stack file ${stackFile} for stack ${JSON.stringify(stack)}; stacks here: ${known.join(", ") || "none"}`,
        );
    }
    const doc = readYamlFile(stackFile) as Record<string, unknown> | null;
    const entries = doc === null ? {} : (doc.config ?? {});
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
        throw new StackFileError(`${stackFile}: "config" must be a map of keys to values`);
    }
    const raw: RawConfig = { ...defaults };
    const secure: string[] = [];
    const other: Record<string, string> = {};
    for (const [fullKey, value] of Object.entries(entries as Record<string, unknown>)) {
        const colon = fullKey.indexOf(":");
        if (colon < 0) {
            throw new StackFileError(`${stackFile}: config key ${JSON.stringify(fullKey)} needs a namespace, e.g. ${PROJECT}:${fullKey}`);
        }
        const isSecure =
            value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
        if (fullKey.slice(0, colon) !== PROJECT) {
            other[fullKey] = isSecure ? "[secret]" : typeof value === "string" ? value : JSON.stringify(value);
            continue;
        }
        const key = fullKey.slice(colon + 1);
        if (isSecure) {
            secure.push(key);
            delete raw[key];
        } else {
            raw[key] = value;
        }
    }
    return { stack, projectFile, stackFile, raw, secure, other };
}

/** Serialises raw config into the engine's form: `istio-canary:<key>` to a string (JSON for non-strings). */
export function toEngineConfig(raw: RawConfig): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) {
        out[`${PROJECT}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return out;
}
