/**
 * The StackTarget of a real rollout: Pulumi's Automation API on this project (LocalWorkspace on the
 * project directory). Each change is written into Pulumi.<stack>.yaml by stack/edit.ts (the stack
 * file in git is the config, and LocalWorkspace reads it), then applied with `pulumi up`: targeted at
 * the app's VirtualService alone for the `virtual-service` scope (Pulumi then stubs Check for every
 * other resource, so no Helm chart is loaded and only the API server is needed), untargeted for the
 * `stack` scope and for finalize. The live weights are read by a refresh of that one VirtualService.
 *
 * Deliberately thin: no logic beyond "find the CLI, edit the file, run up, report errors". Applying
 * needs the Pulumi CLI and a cluster, neither of which the test machine has; the tests run the
 * adapter against a stand-in for the Automation API's Stack (`openStack`) and check the options of
 * each call, and run the preflight against a PATH with and without a `pulumi`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PulumiCommand, RefreshOptions, UpOptions } from "@pulumi/pulumi/automation";
import { CODE_ROOT, PROJECT_ROOT, readProjectDefaults, stackFilePath } from "../stack/load";
import { readVersions, removeVersion, setWeights } from "../stack/edit";
import { ApplyScope, StackTarget } from "./types";
import { Weights, formatSplit } from "./weights";

/** What the adapter uses of the Automation API's Stack (which has all three). */
export interface StackLike {
    up(opts: UpOptions): Promise<unknown>;
    refresh(opts: RefreshOptions): Promise<unknown>;
    exportStack(): Promise<unknown>;
}

/** Options of the Automation API target. */
export interface PulumiTargetOptions {
    /** Stack name, e.g. `dev`. */
    stack: string;
    /** The app's name (`istio-canary:app.name`): the Traffic component and its VirtualService `<app>-vs` are named after it. Required. */
    appName: string;
    /**
     * Which object holds the weights (`istio-canary:routing.api`): the VirtualService `<app>-vs`
     * (`istio`, the default) or the canary HTTPRoute `<app>-route` (`gateway-api`).
     */
    routingApi?: "istio" | "gateway-api";
    /** Pulumi project name, part of the VirtualService's URN. Default: `name` in `<workDir>/Pulumi.yaml`. */
    project?: string;
    /** Opens the stack. Default: LocalWorkspace.selectStack on workDir with the Pulumi CLI found on PATH; tests pass a stand-in. */
    openStack?: () => Promise<StackLike>;
    /** Directory of Pulumi.yaml and the program. Default: the project root. */
    workDir?: string;
    /** The stack file to edit and apply. Default: `<workDir>/Pulumi.<stack>.yaml`. */
    stackFile?: string;
    /**
     * Policy packs run with every `pulumi up`. Default: the project's `policies/` pack when it has a
     * PulumiPolicy.yaml (it resolves @pulumi/policy from the repository's node_modules), compiled
     * when this code runs compiled ({@link defaultPolicyPack}).
     */
    policyPacks?: string[];
    /**
     * Policy config files, one per pack, as `--policy-pack-config`. Default: `policies/config/<stack>.json`
     * for the default pack when it exists, so each shift is checked at the stack's own levels.
     */
    policyPackConfigs?: string[];
    /** Receives `pulumi up`'s output as it comes. Default: discard. */
    onOutput?: (text: string) => void;
    /** Aborts a running `pulumi up` (the CLI cancels gracefully). */
    signal?: AbortSignal;
}

/** A `pulumi up` (or selecting the stack) failed. The message names the stack and the CLI's last lines. */
export class ApplyError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "ApplyError";
    }
}

/**
 * The URN of the app's VirtualService: `<app>-vs`, child of the Traffic component `<app>` (type
 * `istio-canary:traffic:Traffic`), which is a child of the stack (index.ts and components/traffic.ts;
 * test/rollout/automation.spec.ts checks it against the URN the program registers). Pure.
 */
export function virtualServiceUrn(args: { stack: string; project: string; appName: string }): string {
    return `urn:pulumi:${args.stack}::${args.project}::istio-canary:traffic:Traffic$kubernetes:networking.istio.io/v1:VirtualService::${args.appName}-vs`;
}

/**
 * The URN of the canary HTTPRoute of routing.api gateway-api: `<app>-route`, child of the
 * GatewayApiTraffic component `<app>` (components/gateway-api-traffic.ts). Pure.
 */
export function httpRouteUrn(args: { stack: string; project: string; appName: string }): string {
    return `urn:pulumi:${args.stack}::${args.project}::istio-canary:traffic:GatewayApiTraffic$kubernetes:gateway.networking.k8s.io/v1:HTTPRoute::${args.appName}-route`;
}

/**
 * The weights of a canary HTTPRoute spec: its rule named `weighted` (else the last rule), each
 * backendRef `<app>-<version>` with its weight (a lone backend without one gets 100, others 1, as
 * Gateway API defaults it). Undefined when there is no such rule. Pure.
 */
export function weightsOfHttpRoute(spec: unknown, appName: string): Weights | undefined {
    const rules = (spec as { rules?: unknown } | undefined)?.rules;
    if (!Array.isArray(rules) || rules.length === 0) {
        return undefined;
    }
    type Rule = { name?: string; backendRefs?: { name?: string; weight?: number }[] };
    const weighted = (rules as Rule[]).find((r) => r?.name === "weighted") ?? (rules as Rule[])[rules.length - 1];
    const backends = Array.isArray(weighted?.backendRefs) ? weighted.backendRefs : [];
    if (backends.length === 0) {
        return undefined;
    }
    const weights: Weights = {};
    const prefix = `${appName}-`;
    for (const b of backends) {
        if (typeof b?.name === "string" && b.name.startsWith(prefix)) {
            const version = b.name.slice(prefix.length);
            weights[version] = (weights[version] ?? 0) + (typeof b.weight === "number" ? b.weight : backends.length === 1 ? 100 : 1);
        }
    }
    return weights;
}

/**
 * The weights of a VirtualService spec as Istio applies them: the weighted route (named `weighted`,
 * else the last HTTP route), each destination subset with its weight (a lone destination without a
 * weight gets 100, others without one 0). Undefined when there is no such route. Pure.
 */
export function weightsOfVirtualService(spec: unknown): Weights | undefined {
    const http = (spec as { http?: unknown } | undefined)?.http;
    if (!Array.isArray(http) || http.length === 0) {
        return undefined;
    }
    type Route = { name?: string; route?: { destination?: { subset?: string }; weight?: number }[] };
    const routes = http as Route[];
    const weighted = routes.find((r) => r?.name === "weighted") ?? routes[routes.length - 1];
    const destinations = Array.isArray(weighted?.route) ? weighted.route : [];
    if (destinations.length === 0) {
        return undefined;
    }
    const weights: Weights = {};
    for (const d of destinations) {
        const subset = d?.destination?.subset;
        if (typeof subset === "string") {
            weights[subset] = (weights[subset] ?? 0) + (typeof d.weight === "number" ? d.weight : destinations.length === 1 ? 100 : 0);
        }
    }
    return weights;
}

/**
 * The policy pack every `pulumi up` runs by default. When this code runs compiled (build/<key>/,
 * cli/compiled.js), the pack compiled from the same sources into the same tree: the engine's
 * run-policy-pack then loads JavaScript, where from the sources it type-checks the pack with ts-node
 * at every start (about 1 s against 3.5-4 s on a 2-core machine, and every shift and rollback is
 * one `up`). The pack's sources otherwise, or when the compiled tree lacks a file the engine needs.
 */
export function defaultPolicyPack(codeRoot: string = CODE_ROOT, projectRoot: string = PROJECT_ROOT): string {
    const sources = path.join(projectRoot, "policies");
    if (path.resolve(codeRoot) === path.resolve(projectRoot)) return sources;
    const compiled = path.join(codeRoot, "policies");
    return ["PulumiPolicy.yaml", "package.json", "index.js"].every((f) => fs.existsSync(path.join(compiled, f))) ? compiled : sources;
}

/** Edits Pulumi.<stack>.yaml and runs `pulumi up` through the Automation API. */
export class PulumiStackTarget implements StackTarget {
    private stack: StackLike | undefined;
    private command: PulumiCommand | undefined;
    private readonly workDir: string;
    private readonly stackFile: string;
    private urn: string | undefined;
    /** Policy packs every `pulumi up` runs. */
    readonly policyPacks: string[];
    /** Their `--policy-pack-config` files. */
    readonly policyPackConfigs: string[];

    constructor(private readonly opts: PulumiTargetOptions) {
        this.workDir = opts.workDir ?? PROJECT_ROOT;
        this.stackFile = opts.stackFile ?? stackFilePath(opts.stack, this.workDir);
        const defaultPack = defaultPolicyPack();
        this.policyPacks = opts.policyPacks ?? (fs.existsSync(path.join(defaultPack, "PulumiPolicy.yaml")) ? [defaultPack] : []);
        // The stack's policy config is a tracked file: always the project's, beside the pack's sources.
        const defaultConfig = path.join(PROJECT_ROOT, "policies", "config", `${opts.stack}.json`);
        this.policyPackConfigs =
            opts.policyPackConfigs ??
            (opts.policyPacks === undefined && this.policyPacks.length > 0 && fs.existsSync(defaultConfig) ? [defaultConfig] : []);
    }

    /** The stack file this target edits. */
    get configFile(): string {
        return this.stackFile;
    }

    /** The object holding the weights, as Pulumi names it in this stack: the app's VirtualService, or its canary HTTPRoute with routing.api gateway-api. */
    get virtualServiceUrn(): string {
        const args = {
            stack: this.opts.stack,
            project: this.opts.project ?? readProjectDefaults(this.workDir).name,
            appName: this.opts.appName,
        };
        this.urn ??= this.opts.routingApi === "gateway-api" ? httpRouteUrn(args) : virtualServiceUrn(args);
        return this.urn;
    }

    async applyWeights(weights: Weights, scope: ApplyScope = "stack"): Promise<void> {
        setWeights(this.stackFile, weights);
        await this.up(`rollout: ${formatSplit(weights)}${scope === "virtual-service" ? " (VirtualService only)" : ""}`, scope);
    }

    async removeVersion(name: string): Promise<void> {
        // A retry after a failed `up` finds the version already removed from the file.
        if (readVersions(this.stackFile).some((v) => v.name === name)) {
            removeVersion(this.stackFile, name);
        }
        // Deployment, subset and route of the version all go: the whole stack.
        await this.up(`rollout: finalize, remove ${name}`, "stack");
    }

    /**
     * Refreshes the VirtualService alone (`pulumi refresh --target <urn>`: only the API server is
     * asked), then reads its routed weights from the refreshed state; undefined when the stack has
     * no VirtualService.
     */
    async liveWeights(): Promise<Weights | undefined> {
        const urn = this.virtualServiceUrn;
        try {
            const stack = await this.openStack();
            await stack.refresh({
                target: [urn],
                targetDependents: false,
                color: "never",
                showSecrets: false,
                onOutput: this.opts.onOutput,
                configFile: this.configFileOption(),
                signal: this.opts.signal,
            });
            const deployment = (await stack.exportStack()) as {
                deployment?: { resources?: { urn?: string; outputs?: { spec?: unknown } }[] };
            };
            const vs = deployment.deployment?.resources?.find((r) => r.urn === urn);
            if (vs === undefined) {
                return undefined;
            }
            return this.opts.routingApi === "gateway-api"
                ? weightsOfHttpRoute(vs.outputs?.spec, this.opts.appName)
                : weightsOfVirtualService(vs.outputs?.spec);
        } catch (e) {
            throw new ApplyError(`pulumi refresh of the VirtualService of stack ${this.opts.stack} failed: ${describePulumiError(e)}`);
        }
    }

    async currentWeights(): Promise<Weights> {
        return Object.fromEntries(readVersions(this.stackFile).map((v) => [v.name, v.weight]));
    }

    /**
     * Finds the Pulumi CLI as the Automation API does (`pulumi version`, with its minimum-version
     * check), before the engine writes any state or the stack file; says why not when it cannot.
     */
    async preflight(): Promise<string | undefined> {
        try {
            await this.pulumiCommand();
            return undefined;
        } catch (e) {
            return `cannot run pulumi up for stack ${this.opts.stack}: ${describePulumiError(e)}`;
        }
    }

    /** The Pulumi CLI, found once; loaded on first use so that --help and bad flags do not pay for the Automation API. */
    private async pulumiCommand(): Promise<PulumiCommand> {
        const { PulumiCommand } = await import("@pulumi/pulumi/automation");
        this.command ??= await PulumiCommand.get();
        return this.command;
    }

    /** The stack, selected once (LocalWorkspace on the project directory, or the `openStack` given). */
    private async openStack(): Promise<StackLike> {
        if (this.stack === undefined) {
            if (this.opts.openStack !== undefined) {
                this.stack = await this.opts.openStack();
            } else {
                const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
                const pulumiCommand = await this.pulumiCommand();
                this.stack = await LocalWorkspace.selectStack({ stackName: this.opts.stack, workDir: this.workDir }, { pulumiCommand });
            }
        }
        return this.stack;
    }

    /** `--config-file` when the stack file is not the project's own Pulumi.<stack>.yaml (a --config-dir). */
    private configFileOption(): string | undefined {
        return path.resolve(this.stackFile) === path.resolve(stackFilePath(this.opts.stack, this.workDir)) ? undefined : this.stackFile;
    }

    /**
     * The options of the `pulumi up` of a change to `scope`: the whole stack, or the VirtualService alone.
     * `showSecrets: false` for `up` and `refresh` alike: the Automation API ends each with `pulumi stack
     * history`, by default `--show-secrets`, which ignores `--config-file` and, with a passphrase, writes a
     * `Pulumi.<stack>.yaml` holding the encryption salt into the project folder when the stack file is in
     * a --config-dir (seen on the real CLI, e2e/specs/rollout.spec.ts). The summary is not used.
     */
    upOptions(message: string, scope: ApplyScope): UpOptions {
        return {
            message,
            color: "never",
            showSecrets: false,
            onOutput: this.opts.onOutput,
            policyPacks: this.policyPacks.length > 0 ? this.policyPacks : undefined,
            policyPackConfigs: this.policyPackConfigs.length > 0 ? this.policyPackConfigs : undefined,
            configFile: this.configFileOption(),
            signal: this.opts.signal,
            ...(scope === "virtual-service" ? { target: [this.virtualServiceUrn], targetDependents: false } : {}),
        };
    }

    /** Runs `pulumi up` of `scope`. */
    private async up(message: string, scope: ApplyScope): Promise<void> {
        try {
            const stack = await this.openStack();
            await stack.up(this.upOptions(message, scope));
        } catch (e) {
            throw new ApplyError(`pulumi up of stack ${this.opts.stack} failed: ${describePulumiError(e)}`);
        }
    }
}

/**
 * What a failed Automation API call says, short: a missing CLI or a concurrent update in one sentence,
 * otherwise the last lines of the CLI's stderr (the Automation API's CommandError carries the whole
 * stdout and stderr). Pure.
 */
export function describePulumiError(e: unknown): string {
    const err = e as {
        name?: string;
        message?: string;
        commandResult?: { stderr?: string; stdout?: string; err?: { code?: string; message?: string } };
    };
    const message = typeof err?.message === "string" ? err.message : String(e);
    const result = err?.commandResult;
    if (result?.err?.code === "ENOENT" || /spawn pulumi ENOENT/.test(message)) {
        return "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)";
    }
    if (err?.name === "ConcurrentUpdateError") {
        return "another update of this stack is in progress; wait for it, or run `pulumi cancel` if it is dead";
    }
    const stderr = result?.stderr?.trim() ?? "";
    return lastLines(stderr !== "" ? stderr : message, 12);
}

/** The last non-empty lines of a (long) CLI error. */
function lastLines(text: string, n: number): string {
    const lines = text
        .split("\n")
        .map((l) => l.trimEnd())
        .filter((l) => l !== "");
    return (lines.length > n ? ["...", ...lines.slice(-n)] : lines).join("\n");
}
