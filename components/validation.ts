/**
 * The rules every component's args and the stack config share, defined once: readers that turn a
 * raw value into a typed one and collect one clear message per bad value (the key, the value found
 * and what is allowed), and the predicates behind them (DNS names, hostnames, durations, images,
 * chart versions, quantities, labels). A component resolver uses a Checker of its own and throws
 * ArgsError; config/ passes one Checker whose keys carry the `istio-canary:` prefix and the stack
 * key names, so `pulumi up` reports the same rule with the key the user wrote.
 */

/** Raised by a component whose args are invalid; `problems` holds one message per bad value. */
export class ArgsError extends Error {
    constructor(
        readonly component: string,
        readonly problems: string[],
    ) {
        super(
            `${component}: invalid args (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ArgsError";
    }
}

/**
 * Renders a value for a message, short and unambiguous. A URL's user information (`user:password@`)
 * is shown as `***@`, before the text is shortened, so no message echoes a credential; `url` says
 * the value is a URL (its key ends in Url), where `user:password@host` counts even without a scheme.
 */
export function show(value: unknown, opts: { url?: boolean } = {}): string {
    if (value === undefined) {
        return "missing";
    }
    const hidden = hideUserinfo(value, opts.url ?? false);
    const text = JSON.stringify(hidden) ?? String(hidden);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** True for a key or field that holds a URL (`prometheusUrl`, `rollout.prometheusUrl`). */
function isUrlKey(key: string): boolean {
    return /url$/i.test(key);
}

/** `value` with the user information of every URL in its strings replaced by `***`. */
function hideUserinfo(value: unknown, url: boolean): unknown {
    if (typeof value === "string") {
        const schemed = value.replace(/([a-z][a-z0-9+.-]*:\/\/)\S*@/gi, "$1***@");
        return url && schemed === value ? value.replace(/^[^\s/]*@/, "***@") : schemed;
    }
    if (Array.isArray(value)) {
        return value.map((v) => hideUserinfo(v, url));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hideUserinfo(v, url || isUrlKey(k))]));
    }
    return value;
}

const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for an RFC 1123 DNS label (Kubernetes names of namespaces, label-safe version names). */
export function isDnsLabel(s: string): boolean {
    return s.length <= 63 && DNS_LABEL_RE.test(s);
}

/** True for an RFC 1035 label: an RFC 1123 label that starts with a letter (Kubernetes Service names). */
export function isDns1035Label(s: string): boolean {
    return isDnsLabel(s) && /^[a-z]/.test(s);
}

/** True for an RFC 1123 DNS subdomain (Kubernetes Secret names). */
export function isDnsSubdomain(s: string): boolean {
    return s.length <= 253 && DNS_SUBDOMAIN_RE.test(s);
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

/** True for a Helm chart version such as 1.28.0 or 1.28.0-beta.1. */
export function isChartVersion(s: string): boolean {
    return /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(s);
}

/** True for a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi. */
export function isQuantity(s: string): boolean {
    return /^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.test(s);
}

/** A Kubernetes quantity in base units (cores, bytes), for comparing requests with limits. */
export function quantityValue(s: string): number {
    const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(s);
    if (m === null) {
        return NaN;
    }
    const factor: Record<string, number> = {
        m: 1e-3,
        k: 1e3,
        M: 1e6,
        G: 1e9,
        T: 1e12,
        Ki: 2 ** 10,
        Mi: 2 ** 20,
        Gi: 2 ** 30,
        Ti: 2 ** 40,
    };
    return Number(m[1]) * (m[2] === undefined ? 1 : factor[m[2]]);
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

/** A rule for a string: its test and the description the message gives ("it must be <description>"). */
export type StringRule = [test: (s: string) => boolean, description: string];

/** A namespace, a version name or a release name. */
export const DNS_LABEL: StringRule = [isDnsLabel, "a DNS label (lower-case letters, digits and '-', at most 63 characters)"];
/** A Service name (what the app's name becomes): a DNS-1035 label. */
export const DNS_1035_LABEL: StringRule = [
    isDns1035Label,
    "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter, at most 63 characters)",
];
/** A Secret name. */
export const SECRET_NAME: StringRule = [isDnsSubdomain, "a Kubernetes Secret name (lower-case DNS subdomain)"];
/** A route timeout or per-try timeout. */
export const DURATION: StringRule = [isDuration, "a duration such as 500ms, 10s or 1m"];
/** A Helm chart version. */
export const CHART_VERSION: StringRule = [isChartVersion, "a chart version such as 1.28.0"];
/** A CPU or memory quantity. */
export const QUANTITY: StringRule = [isQuantity, "a Kubernetes quantity such as 100m, 0.5, 128Mi or 1Gi"];
/** A pinned container image. */
export const PINNED_IMAGE: StringRule = [
    isPinnedImage,
    "an image reference with a tag or a sha256 digest, e.g. repo/app:v2 or repo/app@sha256:<64 hex>",
];

/** How a Checker names keys in its messages. */
export interface KeyNaming {
    /** Put before every key, e.g. `istio-canary:`. Default "". */
    prefix?: string;
    /** Field path prefix to the key the user wrote, e.g. `{ namespace: "app.namespace" }`; the longest match wins. */
    rename?: Record<string, string>;
    /** Fields whose problems are not recorded: the caller derived them from values it checked already. */
    ignore?: readonly string[];
}

/**
 * Collects problems while reading raw values. Each reader returns a typed value (the fallback when
 * the raw value is missing or bad) so reading can go on and report every problem at once. Scoped
 * checkers (`scope`) share the list of problems and name keys their own way; a message already in
 * the list is not added twice (two components may check one stack key).
 */
export class Checker {
    readonly problems: string[];
    private readonly naming: KeyNaming;

    constructor(naming: KeyNaming = {}, problems: string[] = []) {
        this.naming = naming;
        this.problems = problems;
    }

    /** A checker sharing this one's problems, naming keys with `naming` (the prefix is kept unless given). */
    scope(naming: KeyNaming): Checker {
        return new Checker({ ...naming, prefix: naming.prefix ?? this.naming.prefix }, this.problems);
    }

    /** The key as the user wrote it: field path renamed, then prefixed. */
    keyOf(field: string): string {
        let renamed = field;
        let best = -1;
        for (const [from, to] of Object.entries(this.naming.rename ?? {})) {
            const matches = field === from || field.startsWith(`${from}.`) || field.startsWith(`${from}[`);
            if (matches && from.length > best) {
                best = from.length;
                renamed = to + field.slice(from.length);
            }
        }
        return `${this.naming.prefix ?? ""}${renamed}`;
    }

    /** Records a message as is (once). */
    add(message: string): void {
        if (!this.problems.includes(message)) {
            this.problems.push(message);
        }
    }

    /** Records a problem with `key` holding `value`; `allowed` says what would be accepted. */
    fail(key: string, value: unknown, allowed: string): void {
        if (!this.ignored(key)) {
            this.add(`${this.keyOf(key)} is ${show(value, { url: isUrlKey(key) })}; ${allowed}`);
        }
    }

    private ignored(key: string): boolean {
        return (this.naming.ignore ?? []).some((f) => key === f || key.startsWith(`${f}.`) || key.startsWith(`${f}[`));
    }

    /** Throws ArgsError for `component` when any problem was found. */
    throwIfAny(component: string): void {
        if (this.problems.length > 0) {
            throw new ArgsError(component, [...this.problems]);
        }
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
                this.add(`${this.keyOf(key === "" ? field : `${key}.${field}`)} is not a known field; known fields: ${known.join(", ")}`);
            }
        }
        return record;
    }

    /** Reads a string; `rule` (with its description) further restricts it. */
    string(key: string, value: unknown, fallback: string, rule?: StringRule): string {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "string" || value.length === 0) {
            this.fail(key, value, rule ? `it must be ${rule[1]}` : "it must be a non-empty string");
            return fallback;
        }
        if (rule && !rule[0](value)) {
            this.fail(key, value, `it must be ${rule[1]}`);
            return fallback;
        }
        return value;
    }

    /** Reads one of a few strings. */
    oneOf<T extends string>(key: string, value: unknown, fallback: T, allowed: readonly T[], why = ""): T {
        return this.string(key, value, fallback, [
            (s) => (allowed as readonly string[]).includes(s),
            `one of ${allowed.join(", ")}${why}`,
        ]) as T;
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
        const low = exclusive.min === true ? `greater than ${min}` : `at least ${min}`;
        const high = exclusive.max === true ? `less than ${max}` : `at most ${max}`;
        const outside = (exclusive.min === true && value === min) || (exclusive.max === true && value === max);
        if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || outside) {
            this.fail(key, value, `it must be a number ${low} and ${high}`);
            return fallback;
        }
        return value;
    }

    /** Records `key` as missing when `value` is undefined; `what` says what it needs. Returns whether it is present. */
    required(key: string, value: unknown, what: string): boolean {
        if (value === undefined) {
            if (!this.ignored(key)) {
                this.add(`${this.keyOf(key)} is missing; ${what}`);
            }
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

    /** Reads a non-empty map of Kubernetes label names to values. */
    labels(key: string, value: unknown, fallback: Record<string, string>): Record<string, string> {
        if (value === undefined) {
            return fallback;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value) || Object.keys(value).length === 0) {
            this.fail(key, value, "it must be a non-empty map of label names to values");
            return fallback;
        }
        const labels: Record<string, string> = {};
        for (const [k, v] of Object.entries(value)) {
            if (
                !/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(k) ||
                typeof v !== "string" ||
                !/^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/.test(v)
            ) {
                this.fail(`${key}.${k}`, v, "labels must be valid Kubernetes label names and string values");
            } else {
                labels[k] = v;
            }
        }
        return labels;
    }
}
