/**
 * Small readers that turn raw config values into typed ones and collect one clear
 * message per bad value: the key, the value found and what is allowed.
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

/** Renders a value for a message, short and unambiguous. */
export function show(value: unknown): string {
    if (value === undefined) {
        return "missing";
    }
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for an RFC 1123 DNS label (Kubernetes names of namespaces, label-safe version names). */
export function isDnsLabel(s: string): boolean {
    return s.length <= 63 && DNS_LABEL.test(s);
}

/** True for an RFC 1123 DNS subdomain (Kubernetes Secret names). */
export function isDnsSubdomain(s: string): boolean {
    return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** True for a hostname a Gateway can serve: a DNS name, optionally with a leading `*.` wildcard, or `*`. */
export function isHostname(s: string): boolean {
    if (s === "*") {
        return true;
    }
    const name = s.startsWith("*.") ? s.slice(2) : s;
    return name.length <= 253 && name.includes(".") && name.split(".").every(isDnsLabel);
}

/** True for an Istio/Go duration such as `500ms`, `10s`, `1m`, `1h30m`. */
export function isDuration(s: string): boolean {
    return /^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s);
}

/** Splits an image reference into name, tag and digest. */
export function parseImage(image: string): { name: string; tag?: string; digest?: string } {
    let rest = image;
    let digest: string | undefined;
    const at = rest.indexOf("@");
    if (at >= 0) {
        digest = rest.slice(at + 1);
        rest = rest.slice(0, at);
    }
    const slash = rest.lastIndexOf("/");
    const colon = rest.lastIndexOf(":");
    let tag: string | undefined;
    if (colon > slash) {
        tag = rest.slice(colon + 1);
        rest = rest.slice(0, colon);
    }
    return { name: rest, tag, digest };
}

/** True when an image names a tag or a sha256 digest, with a valid repository name. */
export function isPinnedImage(image: string): boolean {
    const { name, tag, digest } = parseImage(image);
    const nameOk =
        /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(name) ||
        /^[a-zA-Z0-9.-]+(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/.test(name);
    const tagOk = tag === undefined || /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag);
    const digestOk = digest === undefined || /^sha256:[a-f0-9]{64}$/.test(digest);
    return nameOk && tagOk && digestOk && (tag !== undefined || digest !== undefined);
}

/**
 * Collects problems while reading one raw config value. Each reader returns a typed value
 * (the default when the raw value is missing or bad) so reading can go on and report
 * every problem at once.
 */
export class Checker {
    readonly problems: string[] = [];

    /** Records a problem with `key` holding `value`; `allowed` says what would be accepted. */
    fail(key: string, value: unknown, allowed: string): void {
        this.problems.push(`${PROJECT}:${key} is ${show(value)}; ${allowed}`);
    }

    /** Reads an object, rejecting fields not in `known` (typos), or returns {} when missing. */
    object(key: string, value: unknown, known: readonly string[]): Record<string, unknown> {
        if (value === undefined || value === null) {
            return {};
        }
        if (typeof value !== "object" || Array.isArray(value)) {
            this.fail(key, value, `it must be an object with fields ${known.join(", ")}`);
            return {};
        }
        const record = value as Record<string, unknown>;
        for (const field of Object.keys(record)) {
            if (!known.includes(field)) {
                this.problems.push(`${PROJECT}:${key}.${field} is not a known field; known fields: ${known.join(", ")}`);
            }
        }
        return record;
    }

    /** Reads a string; `test` (with its description) further restricts it. */
    string(key: string, value: unknown, fallback: string, test?: [(s: string) => boolean, string]): string {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "string" || value.length === 0) {
            this.fail(key, value, test ? `it must be ${test[1]}` : "it must be a non-empty string");
            return fallback;
        }
        if (test && !test[0](value)) {
            this.fail(key, value, `it must be ${test[1]}`);
            return fallback;
        }
        return value;
    }

    /** Reads an integer within [min, max]. */
    integer(key: string, value: unknown, fallback: number, min: number, max: number): number {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
            const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
            this.fail(key, value, `it must be an integer ${range}`);
            return fallback;
        }
        return value;
    }

    /** Reads a finite number within [min, max]; `exclusive` makes the bounds themselves invalid. */
    number(
        key: string,
        value: unknown,
        fallback: number,
        min: number,
        max: number,
        exclusive: { min?: boolean; max?: boolean } = {},
    ): number {
        if (value === undefined) {
            return fallback;
        }
        const low = exclusive.min ? `greater than ${min}` : `at least ${min}`;
        const high = exclusive.max ? `less than ${max}` : `at most ${max}`;
        const outside = (exclusive.min ? value === min : false) || (exclusive.max ? value === max : false);
        if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || outside) {
            this.fail(key, value, `it must be a number ${low} and ${high}`);
            return fallback;
        }
        return value;
    }

    /** Records `key` as missing when `value` is undefined; `what` says what it needs. Returns whether it is present. */
    required(key: string, value: unknown, what: string): boolean {
        if (value === undefined) {
            this.problems.push(`${PROJECT}:${key} is missing; ${what}`);
            return false;
        }
        return true;
    }

    /** Reads a boolean. */
    boolean(key: string, value: unknown, fallback: boolean): boolean {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "boolean") {
            this.fail(key, value, "it must be true or false");
            return fallback;
        }
        return value;
    }

    /** Reads an array; returns undefined (after recording a problem) when it is not one. */
    array(key: string, value: unknown, what: string): unknown[] | undefined {
        if (!Array.isArray(value)) {
            this.fail(key, value, `it must be a list of ${what}`);
            return undefined;
        }
        return value;
    }
}
