import * as pulumi from "@pulumi/pulumi";
import { ConfigError, PROJECT, plainSecretProblem } from "./check";
import { SECRET_KEYS } from "./defaults";
import { encryptedKeyProblem, validateTlsMaterial } from "./tls";
import { CanaryConfig } from "./types";
import { RawConfig, validateConfig } from "./validate";

export * from "./types";
export { ConfigError } from "./check";
export { validateConfig, RawConfig } from "./validate";
export { validateTlsMaterial } from "./tls";
export { DEFAULTS, CONFIG_KEYS, SECRET_KEYS } from "./defaults";

/** The validated config plus the TLS material, which only ever leaves here as Pulumi secrets. */
export interface LoadedConfig extends CanaryConfig {
    /** Certificate chain (PEM), a secret. */
    tlsCert: pulumi.Output<string>;
    /** Private key (PEM), a secret. */
    tlsKey: pulumi.Output<string>;
}

// isConfigSecret is exported by the runtime but missing from its typings.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret(key: string): boolean };

/**
 * The only place that reads stack config. Reads every `istio-canary:` key, validates all of it
 * (including the TLS material, and that no other key is a secret) and throws a RunError, which
 * Pulumi prints without a stack trace, listing every problem, before any resource is registered.
 */
export function loadConfig(): LoadedConfig {
    const raw: RawConfig = {};
    const problems: string[] = [];
    const all = pulumi.runtime.allConfig();
    const encrypted: string[] = [];
    for (const fullKey of Object.keys(all)) {
        if (!fullKey.startsWith(`${PROJECT}:`)) {
            continue;
        }
        const key = fullKey.slice(PROJECT.length + 1);
        if ((SECRET_KEYS as readonly string[]).includes(key)) {
            continue;
        }
        // Only the TLS material may be secret: plan, policy, rollout and promote read the stack file,
        // where this value is ciphertext, and would run on the defaults instead. `rollout` is the
        // exception: a secret notification URL inside it (rollout.notifications[N].url) makes the
        // engine mark the whole key secret. Which of its values were encrypted the program cannot
        // tell; the stack-file reader of every command can, and refuses any other (stack/load.ts).
        if (key !== "rollout" && runtimeConfig.isConfigSecret(fullKey)) {
            encrypted.push(fullKey);
        }
        raw[key] = parseValue(all[fullKey]);
    }
    if (encrypted.length > 0) {
        problems.push(encryptedKeyProblem(encrypted));
    }
    // Secret values are read raw (no "use getSecret" warning) and only to validate them;
    // the resources get them wrapped as secrets below.
    const tlsCert = pulumi.runtime.getConfig(`${PROJECT}:tlsCert`);
    const tlsKey = pulumi.runtime.getConfig(`${PROJECT}:tlsKey`);
    let config: CanaryConfig | undefined;
    try {
        config = validateConfig(raw);
    } catch (e) {
        if (!(e instanceof ConfigError)) {
            throw e;
        }
        problems.push(...e.problems);
    }
    problems.push(...validateTlsMaterial(tlsCert, tlsKey, config?.hosts ?? []));
    for (const key of SECRET_KEYS) {
        const value = key === "tlsCert" ? tlsCert : tlsKey;
        if (value !== undefined && !runtimeConfig.isConfigSecret(`${PROJECT}:${key}`)) {
            problems.push(plainSecretProblem(key));
        }
    }
    if (problems.length > 0 || config === undefined) {
        throw new pulumi.RunError(new ConfigError(problems).message);
    }
    return { ...config, tlsCert: pulumi.secret(tlsCert!), tlsKey: pulumi.secret(tlsKey!) };
}

/** Config values arrive as strings; objects, lists, numbers and booleans as JSON. */
function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}
