/**
 * Reading values as the engine sends them: unknowns during preview, secrets, plain JSON accessors, and how messages show values.
 */
import { PULUMI_SECRET_SIG, PULUMI_SECRET_SIG_KEY } from "../../components/facts";
/** What a policy receives for one resource (a subset of @pulumi/policy's PolicyResource). */
export interface ResourceLike {
    /** Pulumi type token, e.g. `kubernetes:networking.istio.io/v1:VirtualService`. */
    type: string;
    /** Pulumi resource name. */
    name: string;
    /** URN, used to attach stack-policy violations to the resource. */
    urn: string;
    /** Inputs as the engine sent them (possibly behind @pulumi/policy's unknown-checking proxy). */
    props: Record<string, unknown>;
}

/** A plain JSON object. */
export type Obj = Record<string, unknown>;

/**
 * The sentinels the engine and @pulumi/policy use for values not known during preview. The engine
 * sends every unknown as the string one (04da6b54-...); the others appear after deserialisation.
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string (and what the engine sends for any unknown)
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
    "030794c1-ac77-496b-92df-f27374a8bd58", // asset
    "e48ece36-62e2-4504-bad9-02848725956a", // archive
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
]);

/** True when a value is unknown during preview. */
export function isUnknown(v: unknown): boolean {
    return typeof v === "string" && UNKNOWN_SENTINELS.has(v);
}

export const SECRET_SIG_KEY = PULUMI_SECRET_SIG_KEY;
export const SECRET_SIG = PULUMI_SECRET_SIG;

/**
 * The plain inputs of a resource: @pulumi/policy hands policies a proxy that throws on any unknown
 * value it meets, which would turn a partly unknown VirtualService into one "can't run during preview"
 * note. Policies read the proxy's target instead and treat unknowns themselves, value by value.
 * Secret wrappers (as recorded under mocks) are unwrapped too.
 */
export function plainProps(props: unknown): Obj {
    let target: unknown = props;
    if (isObj(props) && (props as Record<string, unknown>)["__isSpecialProxy"] === true) {
        target = (props as Record<string, unknown>)["__getSpecialProxyTarget"];
    }
    const out = unwrapSecrets(target);
    return isObj(out) ? out : {};
}

export function unwrapSecrets(v: unknown): unknown {
    if (Array.isArray(v)) {
        return v.map(unwrapSecrets);
    }
    if (isObj(v)) {
        if (v[SECRET_SIG_KEY] === SECRET_SIG) {
            return unwrapSecrets(v.value);
        }
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrapSecrets(x)]));
    }
    return v;
}

/** True for a non-null, non-array object. */
export function isObj(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The object at `v`, or undefined when it is anything else (including unknown). */
export function obj(v: unknown): Obj | undefined {
    return isObj(v) ? v : undefined;
}

/** The array at `v`, or [] when it is missing or not an array. */
export function arr(v: unknown): unknown[] {
    return Array.isArray(v) ? v : [];
}

/** The string at `v`, or undefined when it is not a (known) string. */
export function str(v: unknown): string | undefined {
    return typeof v === "string" && !isUnknown(v) ? v : undefined;
}

/** Renders a value for a message: unknown, missing, or JSON. */
export function show(v: unknown): string {
    if (v === undefined) {
        return "(none)";
    }
    if (isUnknown(v)) {
        return "(unknown)";
    }
    return JSON.stringify(v) ?? String(v);
}

/** Renders labels as `{app: myapp, version: v1}`. */
export function showLabels(labels: Record<string, unknown>): string {
    return `{${Object.entries(labels)
        .map(([k, v]) => `${k}: ${typeof v === "string" ? v : show(v)}`)
        .join(", ")}}`;
}
