/**
 * The Pulumi engine's side of the Analyzer protocol, without the CLI: starts a Node.js policy pack
 * exactly as the engine does (`node <@pulumi/pulumi>/cmd/run-policy-pack <engine> .`, cwd = the pack),
 * reads its port, then Handshake, ConfigureStack, GetAnalyzerInfo, Configure (the reconciled
 * --policy-pack-config), Analyze per resource and AnalyzeStack. Mirrors pulumi/pulumi's
 * sdk/go/common/resource/plugin/analyzer_plugin.go, pkg/engine/plugins.go and
 * pkg/resource/analyzer/config.go.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type * as GrpcModule from "@grpc/grpc-js";
import type * as EmptyModule from "google-protobuf/google/protobuf/empty_pb";
import type * as StructModule from "google-protobuf/google/protobuf/struct_pb";
import type * as AnalyzerGrpcModule from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import type * as AnalyzerPbModule from "@pulumi/pulumi/proto/analyzer_pb";
import { EnforcementLevel, PolicyConfigError, PolicyConfigMap, reconcilePolicyConfig, unknownPolicyNames } from "./policy-config";

// gRPC and protobuf must be the very instances @pulumi/pulumi's generated stubs use (the pack checks
// `instanceof` on messages), so they are loaded from @pulumi/pulumi's own dependency tree.
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));
const grpc = pulumiRequire("@grpc/grpc-js") as typeof GrpcModule;
const structPb = pulumiRequire("google-protobuf/google/protobuf/struct_pb") as typeof StructModule;
const emptyPb = pulumiRequire("google-protobuf/google/protobuf/empty_pb") as typeof EmptyModule;
const pb = pulumiRequire("@pulumi/pulumi/proto/analyzer_pb") as typeof AnalyzerPbModule;
const rpc = pulumiRequire("@pulumi/pulumi/proto/analyzer_grpc_pb") as typeof AnalyzerGrpcModule;

/** The script the engine's `pulumi-analyzer-policy` plugin runs for a Node.js pack. */
export const RUN_POLICY_PACK = path.join(path.dirname(require.resolve("@pulumi/pulumi/package.json")), "cmd", "run-policy-pack");

/** A policy as the pack describes it in GetAnalyzerInfo. */
export interface AnalyzerPolicyInfo {
    /** Policy name, e.g. `virtualservice-weights`. */
    name: string;
    /** Its description. */
    description: string;
    /** Its default enforcement level. */
    enforcementLevel: EnforcementLevel;
    /** Whether it validates single resources or the whole stack. */
    kind: "resource" | "stack" | "unknown";
}

/** What GetAnalyzerInfo returns. */
export interface AnalyzerPackInfo {
    /** Pack name. */
    name: string;
    /** Pack version (from its package.json). */
    version: string;
    /** Whether the pack accepts Configure. */
    supportsConfig: boolean;
    /** Its policies, sorted by name as the engine sorts them. */
    policies: AnalyzerPolicyInfo[];
    /** Config the pack supplies itself (PolicyPack's initialConfig). */
    initialConfig: PolicyConfigMap;
}

/** A resource to analyze, as the engine sends it (RecordedResource from offline/run.ts fits). */
export interface AnalyzerInputResource {
    /** URN. */
    urn: string;
    /** Type token. */
    type: string;
    /** Pulumi name. */
    name: string;
    /** Inputs: plain JSON; secrets in Pulumi's secret signature object; preview unknowns as the unknown sentinel string. */
    inputs: Record<string, unknown>;
    /** Parent URN. */
    parent?: string;
    /** URNs it depends on. */
    dependencies?: string[];
}

/** A policy violation, as `pulumi preview` reports it. */
export interface PolicyViolation {
    /** Policy name. */
    policyName: string;
    /** Pack name. */
    policyPackName: string;
    /** Pack version. */
    policyPackVersion: string;
    /** Enforcement level the pack applied (after Configure). */
    enforcementLevel: EnforcementLevel;
    /** The policy's description. */
    description: string;
    /** The message as the engine prints it: the description, a newline, then the policy's own message. */
    message: string;
    /** URN of the resource; empty for a stack violation not attached to a resource. */
    urn: string;
    /** Pulumi name from the URN; empty when there is no URN. */
    name: string;
    /** Type token from the URN; empty when there is no URN. */
    type: string;
}

/** Raised when the pack cannot be started or a call to it fails; the message says which and why. */
export class PolicyPackError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PolicyPackError";
    }
}

// ---------------------------------------------------------------------------------------------
// Protocol conversions
// ---------------------------------------------------------------------------------------------

const LEVEL_TO_PROTO: Record<EnforcementLevel, AnalyzerPbModule.EnforcementLevel> = {
    advisory: pb.EnforcementLevel.ADVISORY,
    mandatory: pb.EnforcementLevel.MANDATORY,
    remediate: pb.EnforcementLevel.REMEDIATE,
    disabled: pb.EnforcementLevel.DISABLED,
};

function levelFromProto(level: AnalyzerPbModule.EnforcementLevel): EnforcementLevel {
    const found = (Object.keys(LEVEL_TO_PROTO) as EnforcementLevel[]).find((k) => LEVEL_TO_PROTO[k] === level);
    if (found === undefined) {
        throw new PolicyPackError(`the policy pack returned an unknown enforcement level ${level}`);
    }
    return found;
}

/** Splits a URN into its type token and name (`urn:pulumi:<stack>::<project>::<parent$>type::name`). */
export function parseUrn(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) {
        return { type: "", name: "" };
    }
    const types = parts[2].split("$");
    return { type: types[types.length - 1], name: parts.slice(3).join("::") };
}

/** Inputs as a protobuf Struct: plain JSON only (undefined dropped), as the engine marshals property maps. */
function toStruct(inputs: Record<string, unknown>): StructModule.Struct {
    return structPb.Struct.fromJavaScript(JSON.parse(JSON.stringify(inputs ?? {})) as Record<string, StructModule.JavaScriptValue>);
}

function resourceOptions(parent: string | undefined): AnalyzerPbModule.AnalyzerResourceOptions {
    const opts = new pb.AnalyzerResourceOptions();
    opts.setCustomtimeouts(new pb.AnalyzerResourceOptions.CustomTimeouts());
    if (parent !== undefined) {
        opts.setParent(parent);
    }
    return opts;
}

function toViolations(resp: AnalyzerPbModule.AnalyzeResponse, defaultUrn: string): PolicyViolation[] {
    return resp.getDiagnosticsList().map((d) => {
        const urn = d.getUrn() !== "" ? d.getUrn() : defaultUrn; // an empty URN means "the resource analyzed"
        return {
            policyName: d.getPolicyname(),
            policyPackName: d.getPolicypackname(),
            policyPackVersion: d.getPolicypackversion(),
            enforcementLevel: levelFromProto(d.getEnforcementlevel()),
            description: d.getDescription(),
            message: d.getMessage(),
            urn,
            ...parseUrn(urn),
        };
    });
}

// ---------------------------------------------------------------------------------------------
// The pack process
// ---------------------------------------------------------------------------------------------

/** Options for starting a pack. */
export interface StartOptions {
    /** Engine address passed as the first argument, as the engine does; the pack does not dial it. Default `127.0.0.1:0`. */
    engineAddress?: string;
    /** How long to wait for the port (the runner type-checks the pack with ts-node first). Default 120000 ms. */
    startTimeoutMs?: number;
    /** Deadline of each call. Default 60000 ms. */
    callTimeoutMs?: number;
    /** Extra environment, e.g. PULUMI_NODEJS_STACK, as the engine sets it. */
    env?: Record<string, string>;
    /**
     * The program run-policy-pack loads, as the engine passes it: default `.`, the pack's TypeScript
     * sources (type-checked by ts-node at every start). The offline check passes the pack compiled
     * into build/ (cli/compiled.js), which starts in under a second; the working directory stays
     * the pack's directory either way, where the pack reads its package.json.
     */
    program?: string;
}

const KEEP_STDERR = 64 * 1024;

/**
 * A running policy pack and a gRPC client to it. Always `close()` it (the tests and
 * checkStackPolicies do so in `finally`); a process exit handler kills it as a last resort.
 */
export class PolicyPackProcess {
    private stderr = "";
    private exited: Promise<void>;
    private exitCode: number | null | undefined = undefined;
    private client: AnalyzerGrpcModule.AnalyzerClient | undefined;
    private readyPromise: Promise<void> = Promise.resolve();
    private readonly killOnExit = (): void => {
        this.child.kill("SIGKILL");
    };

    private constructor(
        /** The pack's directory. */
        readonly packDir: string,
        private readonly child: ChildProcess,
        private readonly callTimeoutMs: number,
    ) {
        this.exited = new Promise((resolve) =>
            child.once("exit", (code) => {
                this.exitCode = code;
                resolve();
            }),
        );
        child.stderr?.on("data", (chunk: Buffer) => {
            this.stderr = (this.stderr + chunk.toString("utf8")).slice(-KEEP_STDERR);
        });
        process.once("exit", this.killOnExit);
    }

    /** The pack's PID. */
    get pid(): number | undefined {
        return this.child.pid;
    }

    /** What the pack wrote to stderr (the last 64 KiB). */
    get errorOutput(): string {
        return this.stderr;
    }

    /** True once the process has exited. */
    get hasExited(): boolean {
        return this.exitCode !== undefined;
    }

    /**
     * Starts the pack in `packDir` as the engine does and connects to the port it prints.
     * Throws PolicyPackError with the pack's stderr when it exits or stays silent.
     */
    static async start(packDir: string, options: StartOptions = {}): Promise<PolicyPackProcess> {
        const pack = PolicyPackProcess.launch(packDir, options);
        try {
            await pack.ready();
            return pack;
        } catch (e) {
            await pack.close();
            throw e;
        }
    }

    /**
     * Spawns the pack and returns at once; `ready()` waits for its port. Lets a caller do other work
     * (run the program) while the pack starts, and `close()` it early if that work fails.
     */
    static launch(packDir: string, options: StartOptions = {}): PolicyPackProcess {
        const dir = path.resolve(packDir);
        if (!fs.existsSync(path.join(dir, "PulumiPolicy.yaml"))) {
            throw new PolicyPackError(`${dir} is not a policy pack: it has no PulumiPolicy.yaml`);
        }
        const child = spawn(process.execPath, [RUN_POLICY_PACK, options.engineAddress ?? "127.0.0.1:0", options.program ?? "."], {
            cwd: dir,
            env: { ...process.env, ...(options.env ?? {}) },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const pack = new PolicyPackProcess(dir, child, options.callTimeoutMs ?? 60_000);
        pack.readyPromise = pack.readPort(options.startTimeoutMs ?? 120_000).then((port) => {
            pack.client = new rpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
                "grpc.max_receive_message_length": 400 * 1024 * 1024,
                "grpc.max_send_message_length": 400 * 1024 * 1024,
            });
        });
        pack.readyPromise.catch(() => undefined); // surfaced by ready()
        return pack;
    }

    /** Resolves once the pack serves and the client is connected; rejects with PolicyPackError otherwise. */
    ready(): Promise<void> {
        return this.readyPromise;
    }

    private readPort(timeoutMs: number): Promise<number> {
        return new Promise((resolve, reject) => {
            let stdout = "";
            const fail = (why: string): void => {
                cleanup();
                const tail = this.stderr.trim().split("\n").slice(-30).join("\n");
                reject(new PolicyPackError(`policy pack ${this.packDir} ${why}${tail !== "" ? `; its stderr:\n${tail}` : ""}`));
            };
            const onData = (chunk: Buffer): void => {
                stdout += chunk.toString("utf8");
                const line = stdout.split("\n").find((l) => /^\d+$/.test(l.trim()));
                if (line !== undefined) {
                    cleanup();
                    resolve(Number(line.trim()));
                }
            };
            const onExit = (code: number | null, signal: string | null): void =>
                fail(`exited (${signal ?? `code ${code}`}) before printing its port`);
            const timer = setTimeout(() => fail(`did not print its port within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
            const cleanup = (): void => {
                clearTimeout(timer);
                this.child.stdout?.off("data", onData);
                this.child.off("exit", onExit);
                // Keep draining stdout so a chatty pack never blocks on a full pipe.
                this.child.stdout?.resume();
            };
            this.child.stdout?.on("data", onData);
            this.child.once("exit", onExit);
        });
    }

    private call<Req, Res>(
        what: string,
        method: (
            req: Req,
            md: GrpcModule.Metadata,
            opts: Partial<GrpcModule.CallOptions>,
            cb: (err: GrpcModule.ServiceError | null, res: Res) => void,
        ) => unknown,
        req: Req,
    ): Promise<Res> {
        if (this.client === undefined) {
            return Promise.reject(new PolicyPackError(`policy pack ${this.packDir} is not connected`));
        }
        const deadline = new Date(Date.now() + this.callTimeoutMs);
        return new Promise((resolve, reject) => {
            method.call(this.client, req, new grpc.Metadata(), { deadline }, (err: GrpcModule.ServiceError | null, res: Res) => {
                if (err) {
                    // The pack sends a failing policy's stack trace along; the frames are left out.
                    const details = (err.details !== "" ? err.details : err.message)
                        .split("\n")
                        .filter((l) => !/^\s+at /.test(l))
                        .join("\n");
                    const e = new PolicyPackError(`policy pack ${this.packDir}: ${what} failed: ${details}`) as PolicyPackError & {
                        code?: number;
                    };
                    e.code = err.code;
                    reject(e);
                } else {
                    resolve(res);
                }
            });
        });
    }

    /** A call that older packs do not implement: UNIMPLEMENTED is fine, as for the engine. */
    private async optionalCall(call: Promise<unknown>): Promise<void> {
        try {
            await call;
        } catch (e) {
            if ((e as { code?: number }).code !== grpc.status.UNIMPLEMENTED) {
                throw e;
            }
        }
    }

    /** Handshake, as the engine sends first; the Node.js pack answers UNIMPLEMENTED, which is fine. */
    async handshake(): Promise<void> {
        const req = new pb.AnalyzerHandshakeRequest();
        req.setEngineAddress("127.0.0.1:0");
        req.setRootDirectory(this.packDir);
        req.setProgramDirectory(this.packDir);
        await this.optionalCall(this.call("Handshake", this.client!.handshake, req));
    }

    /** ConfigureStack: the stack, project and whether this is a preview, as the engine sends them. */
    async configureStack(opts: { stack: string; project: string; dryRun: boolean }): Promise<void> {
        const req = new pb.AnalyzerStackConfigureRequest();
        req.setStack(opts.stack);
        req.setProject(opts.project);
        req.setDryRun(opts.dryRun);
        await this.optionalCall(this.call("ConfigureStack", this.client!.configureStack, req));
    }

    /** GetAnalyzerInfo: the pack's name, version and policies. */
    async getAnalyzerInfo(): Promise<AnalyzerPackInfo> {
        const info = await this.call("GetAnalyzerInfo", this.client!.getAnalyzerInfo, new emptyPb.Empty());
        const initialConfig: PolicyConfigMap = {};
        info.getInitialconfigMap().forEach((v, k) => {
            const props = v.getProperties()?.toJavaScript();
            initialConfig[k] = {
                enforcementLevel: levelFromProto(v.getEnforcementlevel()),
                ...(props !== undefined ? { properties: props } : {}),
            };
        });
        const kind = (t: AnalyzerPbModule.PolicyType): AnalyzerPolicyInfo["kind"] =>
            t === pb.PolicyType.POLICY_TYPE_RESOURCE ? "resource" : t === pb.PolicyType.POLICY_TYPE_STACK ? "stack" : "unknown";
        return {
            name: info.getName(),
            version: info.getVersion(),
            supportsConfig: info.getSupportsconfig(),
            policies: info
                .getPoliciesList()
                .map((p) => ({
                    name: p.getName(),
                    description: p.getDescription(),
                    enforcementLevel: levelFromProto(p.getEnforcementlevel()),
                    kind: kind(p.getPolicyType()),
                }))
                .sort((a, b) => a.name.localeCompare(b.name)),
            initialConfig,
        };
    }

    /** Configure: replaces the pack's whole policy config (send the reconciled config, as the engine does). */
    async configure(config: PolicyConfigMap): Promise<void> {
        const req = new pb.ConfigureAnalyzerRequest();
        const map = req.getPolicyconfigMap();
        for (const [name, entry] of Object.entries(config)) {
            const c = new pb.PolicyConfig();
            c.setEnforcementlevel(LEVEL_TO_PROTO[entry.enforcementLevel ?? "advisory"]);
            c.setProperties(structPb.Struct.fromJavaScript((entry.properties ?? {}) as Record<string, StructModule.JavaScriptValue>));
            map.set(name, c);
        }
        await this.call("Configure", this.client!.configure, req);
    }

    /** Analyze one resource (its inputs), as the engine does for each registration. */
    async analyze(r: AnalyzerInputResource): Promise<PolicyViolation[]> {
        const req = new pb.AnalyzeRequest();
        req.setUrn(r.urn);
        req.setType(r.type);
        req.setName(r.name);
        req.setProperties(toStruct(r.inputs));
        req.setOptions(resourceOptions(r.parent));
        return toViolations(await this.call(`Analyze(${r.urn})`, this.client!.analyze, req), r.urn);
    }

    /** AnalyzeStack: every resource at once, for the stack policies. */
    async analyzeStack(resources: readonly AnalyzerInputResource[]): Promise<PolicyViolation[]> {
        const req = new pb.AnalyzeStackRequest();
        req.setResourcesList(
            resources.map((r) => {
                const ar = new pb.AnalyzerResource();
                ar.setUrn(r.urn);
                ar.setType(r.type);
                ar.setName(r.name);
                ar.setProperties(toStruct(r.inputs));
                ar.setOptions(resourceOptions(r.parent));
                if (r.parent !== undefined) {
                    ar.setParent(r.parent);
                }
                ar.setDependenciesList(r.dependencies ?? []);
                return ar;
            }),
        );
        return toViolations(await this.call("AnalyzeStack", this.client!.analyzeStack, req), "");
    }

    /** Closes the client and ends the process (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
    async close(): Promise<void> {
        this.client?.close();
        this.client = undefined;
        process.removeListener("exit", this.killOnExit);
        if (this.exitCode === undefined) {
            this.child.kill("SIGTERM");
            const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
            await this.exited;
            clearTimeout(timer);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One analysis, start to finish
// ---------------------------------------------------------------------------------------------

/** Options of analyzeResources. */
export interface AnalyzeOptions {
    /** The --policy-pack-config contents (parsed); default none (the policies' own levels). */
    policyConfig?: PolicyConfigMap;
    /** Stack name for ConfigureStack. Default `dev`. */
    stack?: string;
    /** Project name for ConfigureStack. Default `istio-canary`. */
    project?: string;
    /** Whether this is a preview. Default true. */
    dryRun?: boolean;
    /** A pack already running (tests reuse one); it is configured anew and left running. */
    pack?: PolicyPackProcess;
    /** Start options when no `pack` is given. */
    start?: StartOptions;
}

/** What one analysis found. */
export interface AnalysisResult {
    /** The pack's info. */
    pack: AnalyzerPackInfo;
    /** The reconciled config sent with Configure. */
    config: PolicyConfigMap;
    /** Policy config keys naming no policy of the pack (ignored, as the engine ignores them). */
    unknownPolicies: string[];
    /** Violations from Analyze (in resource order) then from AnalyzeStack. */
    violations: PolicyViolation[];
}

/**
 * Runs the pack in `packDir` over `resources` the way `pulumi preview --policy-pack <dir>
 * --policy-pack-config <file>` does, and returns every violation. Starts and always stops the pack
 * unless one is passed in.
 */
export async function analyzeResources(
    packDir: string,
    resources: readonly AnalyzerInputResource[],
    options: AnalyzeOptions = {},
): Promise<AnalysisResult> {
    const stack = options.stack ?? "dev";
    const project = options.project ?? "istio-canary";
    const dryRun = options.dryRun ?? true;
    const pack =
        options.pack ??
        (await PolicyPackProcess.start(packDir, {
            ...options.start,
            env: {
                PULUMI_NODEJS_STACK: stack,
                PULUMI_NODEJS_PROJECT: project,
                PULUMI_NODEJS_DRY_RUN: String(dryRun),
                ...(options.start?.env ?? {}),
            },
        }));
    try {
        await pack.handshake();
        await pack.configureStack({ stack, project, dryRun });
        const info = await pack.getAnalyzerInfo();
        const given = options.policyConfig ?? {};
        if (!info.supportsConfig && Object.keys(given).length > 0) {
            throw new PolicyConfigError(`policy pack ${info.name} does not support config`);
        }
        const config = reconcilePolicyConfig(info.policies, info.initialConfig, given);
        if (info.supportsConfig) {
            await pack.configure(config);
        }
        const violations: PolicyViolation[] = [];
        for (const r of resources) {
            violations.push(...(await pack.analyze(r)));
        }
        violations.push(...(await pack.analyzeStack(resources)));
        return { pack: info, config, unknownPolicies: unknownPolicyNames(info.policies, given), violations };
    } finally {
        if (options.pack === undefined) {
            await pack.close();
        }
    }
}
