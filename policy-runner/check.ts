/**
 * The offline policy check: runs a stack's program under Pulumi's mocks (offline/run.ts), then feeds
 * every registered resource to the policy pack in policies/ over the Analyzer protocol
 * (policy-runner/client.ts) with that stack's policy config, as `pulumi preview --policy-pack policies
 * --policy-pack-config policies/config/<stack>.json` would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../config/check";
import { AnalyzerInputResource, PolicyPackProcess, PolicyViolation, analyzeResources } from "./client";
import { EnforcementLevel, PolicyConfigError, PolicyConfigMap, readPolicyConfigFile } from "./policy-config";
import { runStackOffline } from "../offline/run";
import { CODE_ROOT, PROJECT_ROOT } from "../stack/load";

/** The policy pack's directory. */
export const POLICY_PACK_DIR = path.join(PROJECT_ROOT, "policies");

/**
 * What run-policy-pack loads: the pack's sources (`.`, type-checked by ts-node at every start, as
 * the engine runs them) when this code runs from its sources, or the pack compiled from the same
 * sources into the same tree as this code (build/<key>/policies) when it runs compiled.
 */
export const POLICY_PACK_PROGRAM = CODE_ROOT === PROJECT_ROOT ? "." : path.join(CODE_ROOT, "policies");

/** Where each stack's policy config lives: policies/config/<stack>.json. */
export function stackPolicyConfigFile(stack: string): string {
    return path.join(POLICY_PACK_DIR, "config", `${stack}.json`);
}

/** The result of checking one stack. */
export interface PolicyReport {
    /** Stack name. */
    stack: string;
    /** Directory the stack files were read from. */
    configDir: string;
    /** The pack that ran. */
    policyPack: { name: string; version: string; dir: string };
    /** The policy config file applied, or undefined when none exists for the stack (the policies' own levels). */
    policyConfigFile: string | undefined;
    /** Effective enforcement level of every policy after the config. */
    enforcement: Record<string, EnforcementLevel>;
    /** Number of resources analyzed (components and the stack included, as the engine sends them). */
    resources: number;
    /** Every violation, in the order the pack reported them. */
    violations: PolicyViolation[];
    /** Number of mandatory violations. */
    mandatory: number;
    /** Number of advisory violations. */
    advisory: number;
    /** True when there is no mandatory violation. */
    passed: boolean;
    /** What the offline run substituted (generated TLS material, for example). */
    notes: string[];
}

/** Options of checkStackPolicies. */
export interface CheckOptions {
    /** Directory holding Pulumi.yaml and Pulumi.<stack>.yaml. Default: the repository root. */
    configDir?: string;
    /** Policy config file. Default: policies/config/<stack>.json when it exists, else none. */
    policyConfigFile?: string;
    /** A pack already running (tests reuse one); left running. */
    pack?: PolicyPackProcess;
    /** Told what the check is doing, step by step (the command prints it on a terminal). Default: nothing. */
    progress?: (step: string) => void;
}

/** Reads the policy config to apply: the given file (which must exist) or the stack's default file, if any. */
export function loadPolicyConfig(stack: string, file?: string): { file: string | undefined; config: PolicyConfigMap } {
    const chosen = file ?? (fs.existsSync(stackPolicyConfigFile(stack)) ? stackPolicyConfigFile(stack) : undefined);
    return {
        file: chosen === undefined ? undefined : path.resolve(chosen),
        config: chosen === undefined ? {} : readPolicyConfigFile(chosen),
    };
}

/**
 * Checks resources against the pack with a policy config and returns the report. Throws
 * PolicyConfigError when the config names a policy the pack does not have (the engine would ignore
 * the typo silently; the check refuses it).
 */
export async function checkResources(
    stack: string,
    resources: readonly AnalyzerInputResource[],
    opts: {
        policyConfig?: PolicyConfigMap;
        policyConfigFile?: string;
        pack?: PolicyPackProcess;
        configDir?: string;
        notes?: string[];
    } = {},
): Promise<PolicyReport> {
    const result = await analyzeResources(POLICY_PACK_DIR, resources, {
        policyConfig: opts.policyConfig,
        stack,
        project: PROJECT,
        dryRun: true,
        pack: opts.pack,
    });
    if (result.unknownPolicies.length > 0) {
        throw new PolicyConfigError(
            `${opts.policyConfigFile ?? "the policy config"} names ${result.unknownPolicies.map((p) => `"${p}"`).join(", ")}, which ` +
                `${result.unknownPolicies.length === 1 ? "is not a policy" : "are not policies"} of ${result.pack.name}; its policies: ${result.pack.policies.map((p) => p.name).join(", ")}`,
        );
    }
    const mandatory = result.violations.filter((v) => v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate").length;
    return {
        stack,
        configDir: path.resolve(opts.configDir ?? PROJECT_ROOT),
        policyPack: { name: result.pack.name, version: result.pack.version, dir: POLICY_PACK_DIR },
        policyConfigFile: opts.policyConfigFile,
        enforcement: Object.fromEntries(
            result.pack.policies.map((p) => [p.name, result.config[p.name]?.enforcementLevel ?? p.enforcementLevel]),
        ),
        resources: resources.length,
        violations: result.violations,
        mandatory,
        advisory: result.violations.length - mandatory,
        passed: mandatory === 0,
        notes: opts.notes ?? [],
    };
}

/** One stack's outcome in a check of several: its report, or what stopped its check. */
export type StackPolicyOutcome =
    { stack: string; report: PolicyReport; error?: undefined } | { stack: string; report?: undefined; error: unknown };

/**
 * Runs stack `stack` offline (as a preview) and checks every resource it registers against the
 * policy pack with the stack's policy config. Throws StackFileError (bad or missing stack files),
 * the program's RunError (invalid stack config: the program registers nothing, as in a real
 * preview), PolicyConfigError (bad policy config) and PolicyPackError (the pack failed).
 */
export async function checkStackPolicies(stack: string, opts: CheckOptions = {}): Promise<PolicyReport> {
    const [outcome] = await checkStacksPolicies([stack], opts);
    if (outcome.report === undefined) {
        throw outcome.error;
    }
    return outcome.report;
}

/**
 * Checks several stacks with one policy pack process, as checkStackPolicies checks one: the pack
 * starts while the first program runs, then each stack gets its own ConfigureStack and Configure
 * (its policy config replaces the previous one whole) before its resources are analyzed; the pack
 * keeps no other state between stacks. The programs run one after another in this process (Pulumi's
 * runtime is global), each overlapping the previous stack's analysis. A stack that fails (the errors
 * of checkStackPolicies) does not stop the others; `onOutcome` is told each stack's outcome in order.
 */
export async function checkStacksPolicies(
    stacks: readonly string[],
    opts: CheckOptions & { onOutcome?: (outcome: StackPolicyOutcome) => void } = {},
): Promise<StackPolicyOutcome[]> {
    const progress = opts.progress ?? (() => undefined);
    // Each stack's policy config is read first: a stack whose config is bad runs nothing.
    type Prepared = { stack: string; policy: ReturnType<typeof loadPolicyConfig> } | { stack: string; error: unknown };
    const prepared = stacks.map((stack): Prepared => {
        try {
            return { stack, policy: loadPolicyConfig(stack, opts.policyConfigFile) };
        } catch (error) {
            return { stack, error };
        }
    });
    const runnable = prepared.filter((p) => "policy" in p).map((p) => p.stack);
    let pack = opts.pack;
    if (pack === undefined && runnable.length > 0) {
        // The pack takes a moment to start (seconds when ts-node type-checks it): start it while the
        // programs run.
        const which = runnable.length === 1 ? `stack ${runnable[0]}` : `stacks ${runnable.join(", ")}`;
        progress(`starting the policy pack (${POLICY_PACK_DIR}) and running the program of ${which} under Pulumi's mocks...`);
        pack = PolicyPackProcess.launch(POLICY_PACK_DIR, {
            program: POLICY_PACK_PROGRAM,
            // As the engine sets them; with several stacks, ConfigureStack names each (no policy reads the environment).
            env: {
                ...(stacks.length === 1 ? { PULUMI_NODEJS_STACK: stacks[0] } : {}),
                PULUMI_NODEJS_PROJECT: PROJECT,
                PULUMI_NODEJS_DRY_RUN: "true",
            },
        });
    }
    // Queued at once: runProgramOffline runs them one at a time, the next while this one is analyzed.
    const runs = prepared.map((p) =>
        "policy" in p
            ? runStackOffline(p.stack, { configDir: opts.configDir, preview: true }).then(
                  (run) => ({ run }),
                  (error: unknown) => ({ error }),
              )
            : Promise.resolve({ error: p.error }),
    );
    const outcomes: StackPolicyOutcome[] = [];
    try {
        for (const [i, p] of prepared.entries()) {
            const stack = p.stack;
            const done = await runs[i];
            let outcome: StackPolicyOutcome;
            if ("error" in done || !("policy" in p) || pack === undefined) {
                outcome = { stack, error: "error" in done ? done.error : undefined };
            } else {
                try {
                    const { run } = done;
                    progress(`the program of stack ${stack} registered ${run.resources.length} resources; waiting for the policy pack...`);
                    await pack.ready();
                    progress(`checking ${run.resources.length} resources of stack ${stack}...`);
                    const report = await checkResources(stack, run.resources, {
                        policyConfig: p.policy.config,
                        policyConfigFile: p.policy.file,
                        pack,
                        configDir: opts.configDir,
                        notes: run.notes,
                    });
                    outcome = { stack, report };
                } catch (error) {
                    outcome = { stack, error };
                }
            }
            outcomes.push(outcome);
            opts.onOutcome?.(outcome);
        }
    } finally {
        await Promise.all(runs);
        if (opts.pack === undefined) {
            await pack?.close();
        }
    }
    return outcomes;
}

/** A path relative to the working directory when it is inside it, else absolute. */
function shown(p: string): string {
    const rel = path.relative(process.cwd(), p);
    return rel === "" ? "." : rel.startsWith("..") || path.isAbsolute(rel) ? p : rel;
}

function indent(text: string, prefix: string): string {
    return text
        .split("\n")
        .map((l) => (l === "" ? "" : prefix + l))
        .join("\n");
}

/**
 * The report as `pulumi preview` prints policy results: a "Policies:" section per pack with ✅, ⚠️
 * or ❌, then each violation as `- [level]  policy  (type: name)` followed by its message.
 */
export function formatPolicyReport(report: PolicyReport): string {
    const lines: string[] = [];
    lines.push(
        `Checking stack ${report.stack} offline (program under Pulumi mocks, ${report.resources} resources, policy pack over the Analyzer protocol)`,
    );
    const policyConfig = report.policyConfigFile === undefined ? "none (each policy's default level)" : shown(report.policyConfigFile);
    lines.push(`Stack files: ${shown(report.configDir)}   Policy config: ${policyConfig}`);
    for (const note of report.notes) {
        lines.push(`note: ${note}`);
    }
    lines.push("");
    lines.push("Policies:");
    const icon = report.mandatory > 0 ? "❌" : report.advisory > 0 ? "⚠️ " : "✅";
    lines.push(`    ${icon} ${report.policyPack.name}@v${report.policyPack.version} (local: ${shown(report.policyPack.dir)})`);
    const sorted = [...report.violations].sort((a, b) => rank(a) - rank(b));
    for (const v of sorted) {
        const resource = v.urn === "" ? `pulumi:pulumi:Stack: ${PROJECT}-${report.stack}` : `${v.type}: ${v.name}`;
        lines.push(`        - [${v.enforcementLevel}]  ${v.policyName}  (${resource})`);
        lines.push(indent(v.message, "          "));
    }
    lines.push("");
    const summary =
        report.violations.length === 0
            ? "no policy violations"
            : `${report.mandatory} mandatory and ${report.advisory} advisory policy violation${report.violations.length === 1 ? "" : "s"}`;
    lines.push(`${report.passed ? "passed" : "FAILED"}: ${summary} in stack ${report.stack}`);
    return lines.join("\n");
}

function rank(v: PolicyViolation): number {
    return v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate" ? 0 : 1;
}
