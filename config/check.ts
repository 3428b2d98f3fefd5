/**
 * What only the stack config has: the project's key prefix, the error `pulumi up` prints, and the
 * message for a secret found in plain text. The rules themselves are the components'
 * (components/validation.ts and each component's resolver).
 */

/** The project's config namespace; every message names keys with it, as `pulumi config` does. */
export const PROJECT = "istio-canary";

/** Raised when stack config is invalid; `problems` holds one message per bad value. */
export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(
            `invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/**
 * The message for a secret config value (TLS key or certificate) found in plain text; `where` names
 * the file when known. It never includes the value.
 */
export function plainSecretProblem(key: string, where = "the stack's config"): string {
    return (
        `${PROJECT}:${key} is stored in plain text in ${where}; remove it from the file (and from git history), rotate it, ` +
        `and set it as a secret with: pulumi config set --secret ${key} -- "$(cat FILE)"`
    );
}
