import * as crypto from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PULUMI_SECRET_SIG, PULUMI_SECRET_SIG_KEY } from "../components/facts";
import { ConfigError, PROJECT, plainSecretProblem } from "../config/check";
import { SECRET_KEYS } from "../config/defaults";
import { RawConfig, validateConfig } from "../config/validate";
import { isHostname } from "../components/validation";
import { CODE_ROOT, loadStackConfig, toEngineConfig } from "../stack/load";
import { generateTlsMaterial } from "./self-signed-tls";

/** One resource the program registered, as the engine would see it. */
export interface RecordedResource {
    /** URN, built by the mock monitor from stack, project, parent type chain, type and name. */
    urn: string;
    /** Type token, e.g. `kubernetes:apps/v1:Deployment` or `istio-canary:app:CanaryApp`. */
    type: string;
    /** Pulumi resource name. */
    name: string;
    /** True for custom resources (things a provider creates), false for components. */
    custom: boolean;
    /** Resource ID the mocks assigned. */
    id: string;
    /** Inputs, secrets still wrapped in Pulumi's secret signature object. */
    // Recorded JSON of any shape; readers (plan, tests) index into it by the Kubernetes and Istio field paths they know.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    inputs: Record<string, any>;
    /** Parent URN. */
    parent?: string;
    /** Provider reference, if any. */
    provider?: string;
    /** URNs this resource depends on. */
    dependencies: string[];
}

/** The result of running the program offline. */
export interface OfflineRun {
    /** Every registered resource, in registration order (the root stack resource first). */
    resources: RecordedResource[];
    /** Stack outputs. */
    outputs: Record<string, unknown>;
    /** What the run substituted or assumed (generated TLS material, for example). */
    notes: string[];
}

/** Options of an offline run. */
export interface OfflineOptions {
    /** Stack name used for URNs and `pulumi.getStack()`. Default `dev`. */
    stack?: string;
    /** Run as a preview (`pulumi.runtime.isDryRun()` true). Default false. */
    preview?: boolean;
    /**
     * TLS material: explicit PEM strings (set as secrets unless `plain`), or "generate" (default) for a
     * self-signed certificate covering the configured hosts.
     */
    tls?: "generate" | { cert?: string; key?: string; plain?: boolean };
    /**
     * Another Pulumi program to run instead of this project's (examples/ use it): its directory
     * (holding index.ts) and its project name, the config key prefix. Default: this project.
     */
    program?: { dir: string; project: string };
}

/** The marker Pulumi wraps secret values in. */
/** The key Pulumi marks a secret value with (components/facts.ts). */
export const SECRET_SIG = PULUMI_SECRET_SIG_KEY;

/** True when a value is a Pulumi secret as serialised to mocks and analyzers. */
export function isSecretValue(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === PULUMI_SECRET_SIG;
}

// Settings internals the mock runner needs: the monitor (to record URNs, parents and dependencies,
// which the Mocks interface does not pass on) and the RPC queue (to wait until registration ends).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const settings = require("@pulumi/pulumi/runtime/settings") as {
    getMonitor(): { registerResource(req: RegisterRequest, cb: (err: unknown, resp: RegisterResponse) => void): void };
    waitForRPCs(): Promise<void>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const stackRuntime = require("@pulumi/pulumi/runtime/stack") as { runInPulumiStack(init: () => Promise<unknown>): Promise<unknown> };

/** The parts of the engine's RegisterResourceRequest the recorder reads. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getParent(): string;
    getProvider(): string;
    getDependenciesList(): string[];
}

/** The parts of the RegisterResourceResponse the recorder reads. */
interface RegisterResponse {
    getUrn(): string;
    getId(): string;
}

/** The Kubernetes provider gives a resource without metadata.name `<pulumi name>-<random suffix>`; the mocks do the same, deterministically. */
function autoName(name: string): string {
    return `${name}-${crypto.createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

let running: Promise<unknown> = Promise.resolve();

/**
 * Runs the real program (index.ts) under Pulumi's mocks with the given raw config and returns what
 * it registered. Config errors surface as the program's RunError (message lists every problem).
 * Runs are serialised: Pulumi's runtime state is global to the process.
 */
export function runProgramOffline(raw: RawConfig, options: OfflineOptions = {}): Promise<OfflineRun> {
    const run = running.then(() => runOnce(raw, options));
    running = run.catch(() => undefined);
    return run;
}

async function runOnce(raw: RawConfig, options: OfflineOptions): Promise<OfflineRun> {
    const stack = options.stack ?? "dev";
    const project = options.program?.project ?? PROJECT;
    const notes: string[] = [];
    const records = new Map<string, RecordedResource>();
    const order: string[] = [];
    const pending = new Map<string, { inputs: RecordedResource["inputs"]; id: string }>();

    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: RecordedResource["inputs"] } {
                const state: RecordedResource["inputs"] = JSON.parse(JSON.stringify(args.inputs ?? {}));
                const isK8sObject = args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:helm.sh") && args.custom;
                if (isK8sObject && typeof state.metadata === "object" && state.metadata !== null && state.metadata.name === undefined) {
                    state.metadata.name = autoName(args.name);
                }
                const id = isK8sObject ? String(state.metadata?.name ?? args.name) : `${args.name}-id`;
                pending.set(`${args.type}::${args.name}`, { inputs: args.inputs ?? {}, id });
                return { id, state };
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                return args.inputs;
            },
        },
        project,
        stack,
        options.preview ?? false,
    );
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterRequest, cb: (err: unknown, resp: RegisterResponse) => void) =>
        register(req, (err: unknown, resp: RegisterResponse) => {
            if (!err) {
                const type: string = req.getType();
                const name: string = req.getName();
                const seen = pending.get(`${type}::${name}`);
                const urn: string = resp.getUrn();
                records.set(urn, {
                    urn,
                    type,
                    name,
                    custom: req.getCustom(),
                    id: seen?.id ?? resp.getId(),
                    inputs: seen?.inputs ?? {},
                    parent: req.getParent() === "" ? undefined : req.getParent(),
                    provider: req.getProvider() === "" ? undefined : req.getProvider(),
                    dependencies: req.getDependenciesList(),
                });
                order.push(urn);
            }
            cb(err, resp);
        });

    const engineConfig = toEngineConfig(raw);
    const secretKeys: string[] = [];
    const tls = options.tls ?? "generate";
    if (tls === "generate") {
        // Only valid hostnames reach openssl; the program's validation reports the others.
        const hosts = Array.isArray(raw.hosts)
            ? (raw.hosts as unknown[]).filter((h): h is string => typeof h === "string" && isHostname(h))
            : ["myapp.apsissolutions.com"];
        const material = generateTlsMaterial(hosts);
        engineConfig[`${project}:tlsCert`] = material.cert;
        engineConfig[`${project}:tlsKey`] = material.key;
        secretKeys.push(`${project}:tlsCert`, `${project}:tlsKey`);
        notes.push(
            `tlsCert and tlsKey: generated a self-signed certificate for ${hosts.join(", ")} (offline only; a real pulumi up uses the stack's secret values)`,
        );
    } else {
        if (tls.cert !== undefined) {
            engineConfig[`${project}:tlsCert`] = tls.cert;
        }
        if (tls.key !== undefined) {
            engineConfig[`${project}:tlsKey`] = tls.key;
        }
        if (!tls.plain) {
            secretKeys.push(`${project}:tlsCert`, `${project}:tlsKey`);
        }
    }
    pulumi.runtime.setAllConfig(engineConfig, secretKeys);

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(options.program?.dir ?? CODE_ROOT, "index")) as () => Promise<Record<string, unknown>>;
    let outputs: Record<string, unknown>;
    try {
        outputs = (await stackRuntime.runInPulumiStack(program)) as Record<string, unknown>;
    } catch (e) {
        await absorbEchoes(e);
        throw e;
    }
    await settings.waitForRPCs();
    return { resources: order.map((urn) => records.get(urn)!), outputs: unwrapOutputs(outputs), notes };
}

/**
 * When the program throws, Pulumi's stack resource rejects a few internal promises with the same
 * error that nobody awaits; left alone, Node would report them as unhandled rejections after the
 * caller has already handled the error. Absorb exactly those echoes (same error object) for a
 * moment; anything else is re-raised as Node would.
 */
async function absorbEchoes(error: unknown): Promise<void> {
    const handler = (reason: unknown) => {
        if (reason !== error) {
            process.nextTick(() => {
                throw reason;
            });
        }
    };
    process.on("unhandledRejection", handler);
    try {
        await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
        process.off("unhandledRejection", handler);
    }
}

function unwrapOutputs(outputs: Record<string, unknown>): Record<string, unknown> {
    return JSON.parse(JSON.stringify(outputs ?? {}));
}

/**
 * Runs one stack offline: Pulumi.yaml defaults merged with Pulumi.<stack>.yaml (from `configDir`,
 * default the repository), TLS material generated because the stack's real values are encrypted or
 * absent (the notes say which). The config is validated first, before anything is generated or
 * run. Throws StackFileError for unusable files (an encrypted key other than the TLS material
 * included) and ConfigError for invalid config.
 */
export async function runStackOffline(stack: string, opts: { configDir?: string; preview?: boolean } = {}): Promise<OfflineRun> {
    const loaded = loadStackConfig(stack, opts.configDir);
    const file = path.basename(loaded.stackFile);
    // A TLS value in plain text in a stack file is a leaked secret: the offline run would swap in
    // generated material and pass, so it fails here with the same message `pulumi up` would give.
    const plain = SECRET_KEYS.filter((k) => loaded.raw[k] !== undefined);
    if (plain.length > 0) {
        throw new ConfigError(plain.map((k) => plainSecretProblem(k, file)));
    }
    // The rules the program applies, before any TLS material is generated for the hosts.
    validateConfig(loaded.raw);
    const run = await runProgramOffline(loaded.raw, { stack, preview: opts.preview });
    const missing = SECRET_KEYS.filter((k) => !loaded.secure.includes(k));
    const notes = [
        ...(loaded.secure.length > 0
            ? [`${loaded.secure.join(", ")} in ${file} are encrypted; replaced with generated test material`]
            : []),
        ...(missing.length > 0
            ? [`${missing.join(", ")} not set in ${file}; a real pulumi up needs them (pulumi config set --secret <key> -- "$(cat FILE)")`]
            : []),
        ...run.notes,
    ];
    return { ...run, notes };
}
