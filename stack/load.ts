import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../config/check";
import { SECRET_KEYS } from "../config/defaults";
import { encryptedKeyProblem } from "../config/tls";
import { isNotificationUrlPath } from "../notify/targets";
import { RawConfig } from "../config/validate";
import { StackFileError } from "./errors";
import { readYamlData } from "./yaml";

export { StackFileError } from "./errors";

/**
 * Where the program's code is loaded from: the repository when the TypeScript sources run (ts-node,
 * the tests), `build/<key>/` when the compiled tree runs (cli/compiled.js).
 */
export const CODE_ROOT = path.resolve(__dirname, "..");

/** The repository root: where Pulumi.yaml, the stack files and policies/ live (two levels above a compiled tree). */
export const PROJECT_ROOT = path.extname(__filename) === ".js" ? path.resolve(CODE_ROOT, "..", "..") : CODE_ROOT;

/** What a stack name may be: letters, digits, '-', '_' and '.' (it becomes part of a file name). */
export const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

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

/**
 * Reads a YAML file into plain data, with errors that name the file: missing, a directory, not
 * YAML, or using aliases or anchors (stack/yaml.ts).
 */
export function readYamlFile(file: string, what = "project or stack file"): unknown {
    return readYamlData(file, what);
}

/** The top-level keys of a Pulumi stack file (Pulumi.<stack>.yaml). */
export const STACK_FILE_KEYS = ["config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt"] as const;

/**
 * Checks the top level of a stack file's data: a map holding only Pulumi's stack-file keys. An
 * empty file, a list, or config keys written without their `config:` wrapper would otherwise give
 * a stack that silently runs on the project defaults. Throws StackFileError naming the file.
 */
export function checkStackFileShape(data: unknown, file: string): void {
    if (data === null || data === undefined) {
        throw new StackFileError(
            `${file} is empty; a stack file holds its settings under "config:" (write "config: {}" for a stack that uses only Pulumi.yaml's defaults)`,
        );
    }
    if (typeof data !== "object" || Array.isArray(data)) {
        const kind = Array.isArray(data) ? "a list" : `a ${typeof data}`;
        throw new StackFileError(
            `${file}: the top level is ${kind}; a stack file is a map with a "config:" key holding the stack's settings`,
        );
    }
    for (const key of Object.keys(data)) {
        if ((STACK_FILE_KEYS as readonly string[]).includes(key)) {
            continue;
        }
        if (key.includes(":")) {
            throw new StackFileError(
                `${file}: "${key}" is at the top level, where no stack setting is read; config keys go under "config:", indented below it`,
            );
        }
        const known = STACK_FILE_KEYS.slice(0, -1).join(", ") + ` and ${STACK_FILE_KEYS[STACK_FILE_KEYS.length - 1]}`;
        throw new StackFileError(`${file}: "${key}" is not a key of a stack file; the top level may hold ${known}`);
    }
}

/** The paths (`rollout`, `rollout.prometheusUrl`, `versions[0].image`) of the `secure:` values inside a config value. */
function securePaths(value: unknown, at: string): string[] {
    if (value === null || typeof value !== "object") {
        return [];
    }
    if (Array.isArray(value)) {
        return value.flatMap((v, i) => securePaths(v, `${at}[${i}]`));
    }
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1 && entries[0][0] === "secure") {
        return [at];
    }
    return entries.flatMap(([k, v]) => securePaths(v, `${at}.${k}`));
}

/** The project's config declarations from Pulumi.yaml, resolved to their default values. */
export function readProjectDefaults(projectDir: string = PROJECT_ROOT): { file: string; name: string; defaults: RawConfig } {
    const file = path.join(projectDir, "Pulumi.yaml");
    const project = readYamlFile(file, "project file") as Record<string, unknown> | null;
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

/** The stacks that have a file in `configDir`: each `Pulumi.<stack>.yaml`, in name order. */
export function stackNames(configDir: string = PROJECT_ROOT): string[] {
    return fs
        .readdirSync(configDir)
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f) && STACK_NAME.test(f.slice(7, -5)))
        .map((f) => f.slice(7, -5))
        .sort();
}

/** Why `stack` cannot be loaded from `configDir` because it has no stack file there, or undefined when it has one. */
export function missingStackFileProblem(stack: string, configDir: string = PROJECT_ROOT): string | undefined {
    const stackFile = stackFilePath(stack, configDir);
    if (fs.existsSync(stackFile)) {
        return undefined;
    }
    return `no stack file ${stackFile} for stack ${JSON.stringify(stack)}; stacks here: ${stackNames(configDir).join(", ") || "none"}`;
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
    const missing = missingStackFileProblem(stack, configDir);
    if (missing !== undefined) {
        throw new StackFileError(missing);
    }
    const doc = readYamlFile(stackFile, "stack file");
    checkStackFileShape(doc, stackFile);
    const entries = (doc as Record<string, unknown>).config ?? {};
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) {
        throw new StackFileError(`${stackFile}: "config" must be a map of keys to values`);
    }
    const raw: RawConfig = { ...defaults };
    const secure: string[] = [];
    const other: Record<string, string> = {};
    const encrypted: string[] = [];
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
        if (isSecure && (SECRET_KEYS as readonly string[]).includes(key)) {
            secure.push(key);
            delete raw[key];
        } else {
            // A notification target's URL may be a secret: validation keeps it as a reference, and the
            // rollout has the stack's secrets provider decrypt it (notify/secrets.ts).
            encrypted.push(...securePaths(value, fullKey).filter((p) => !isNotificationUrlPath(p.slice(PROJECT.length + 1))));
            raw[key] = value;
        }
    }
    // Only the TLS material and notification URLs may be secret: every command but `pulumi up` reads
    // the stack file, where an encrypted value is unreadable and would silently become the default.
    if (encrypted.length > 0) {
        throw new StackFileError(`${stackFile}: ${encryptedKeyProblem(encrypted)}`);
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
