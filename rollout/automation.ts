/**
 * The StackTarget of a real rollout: Pulumi's Automation API on this project (LocalWorkspace on the
 * project directory). Each change is written into Pulumi.<stack>.yaml by stack/edit.ts (the stack
 * file in git is the config, and LocalWorkspace reads it), then applied with `pulumi up`.
 *
 * Deliberately thin: no logic beyond "find the CLI, edit the file, run up, report errors". Applying
 * needs the Pulumi CLI and a cluster, neither of which the test machine has, so the applies are
 * type-checked but not exercised by the tests (docs/rollout.md says so); the preflight
 * is, against a PATH with and without a `pulumi`, and the engine is tested through the same
 * interface with a fake.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { PROJECT_ROOT, stackFilePath } from "../stack/load";
import { readVersions, removeVersion, setWeights } from "../stack/edit";
import { StackTarget } from "./types";
import { Weights, formatSplit } from "./weights";

/** Options of the Automation API target. */
export interface PulumiTargetOptions {
    /** Stack name, e.g. `dev`. */
    stack: string;
    /** Directory of Pulumi.yaml and the program. Default: the project root. */
    workDir?: string;
    /** The stack file to edit and apply. Default: `<workDir>/Pulumi.<stack>.yaml`. */
    stackFile?: string;
    /**
     * Policy packs run with every `pulumi up`. Default: the project's `policies/` pack when it has a
     * PulumiPolicy.yaml (it resolves @pulumi/policy from the repository's node_modules).
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

/** Edits Pulumi.<stack>.yaml and runs `pulumi up` through the Automation API. */
export class PulumiStackTarget implements StackTarget {
    private stack: Stack | undefined;
    private command: PulumiCommand | undefined;
    private readonly workDir: string;
    private readonly stackFile: string;
    /** Policy packs every `pulumi up` runs. */
    readonly policyPacks: string[];
    /** Their `--policy-pack-config` files. */
    readonly policyPackConfigs: string[];

    constructor(private readonly opts: PulumiTargetOptions) {
        this.workDir = opts.workDir ?? PROJECT_ROOT;
        this.stackFile = opts.stackFile ?? stackFilePath(opts.stack, this.workDir);
        const defaultPack = path.join(PROJECT_ROOT, "policies");
        this.policyPacks = opts.policyPacks ?? (fs.existsSync(path.join(defaultPack, "PulumiPolicy.yaml")) ? [defaultPack] : []);
        const defaultConfig = path.join(defaultPack, "config", `${opts.stack}.json`);
        this.policyPackConfigs =
            opts.policyPackConfigs ??
            (opts.policyPacks === undefined && this.policyPacks.length > 0 && fs.existsSync(defaultConfig) ? [defaultConfig] : []);
    }

    async applyWeights(weights: Weights): Promise<void> {
        setWeights(this.stackFile, weights);
        await this.up(`rollout: ${formatSplit(weights)}`);
    }

    async removeVersion(name: string): Promise<void> {
        // A retry after a failed `up` finds the version already removed from the file.
        if (readVersions(this.stackFile).some((v) => v.name === name)) {
            removeVersion(this.stackFile, name);
        }
        await this.up(`rollout: finalize, remove ${name}`);
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

    /** Selects the stack once (LocalWorkspace on the project directory), then runs `pulumi up`. */
    private async up(message: string): Promise<void> {
        try {
            const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
            const pulumiCommand = await this.pulumiCommand();
            this.stack ??= await LocalWorkspace.selectStack({ stackName: this.opts.stack, workDir: this.workDir }, { pulumiCommand });
            const usesDefaultFile = path.resolve(this.stackFile) === path.resolve(stackFilePath(this.opts.stack, this.workDir));
            await this.stack.up({
                message,
                color: "never",
                onOutput: this.opts.onOutput,
                policyPacks: this.policyPacks.length > 0 ? this.policyPacks : undefined,
                policyPackConfigs: this.policyPackConfigs.length > 0 ? this.policyPackConfigs : undefined,
                configFile: usesDefaultFile ? undefined : this.stackFile,
                signal: this.opts.signal,
            });
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
