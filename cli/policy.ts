import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { PolicyConfigError } from "../policy-runner";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags } from "./args";
import { StackFlags, addStackFlags, stacksFromFlags, stacksSummary } from "./stacks";
import { UsageError, isRunError } from "./errors";
import { EXIT, worstExit } from "./exit-codes";
import { StackPolicyOutcome, checkStacksPolicies, formatPolicyReport } from "../policy-runner";
import { StackFileError } from "../stack/load";

/**
 * `istio-canary policy --stack <s> [--stack <s>...] | --all-stacks [--config-dir <dir>] [--policy-config <file>] [--json]`:
 * runs each stack's program offline and checks every resource against policies/ with the stack's
 * policy config (one pack process for all the stacks), printing violations as `pulumi preview`
 * does. Exit (the worst stack's): 0 no mandatory violation; 1 a mandatory violation; 2 stack config
 * the program rejects, bad flags, stack files or policy config; 70 the policy pack itself failed, or a bug.
 */
export async function runPolicy(argv: string[], io: CliIO): Promise<number> {
    const cmd = addStackFlags(
        new Command("policy").description(
            "Check a stack against the policy pack in policies/, offline: the program under Pulumi's mocks, the pack over the Analyzer protocol.",
        ),
        "check",
    )
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .option(
            "--policy-config <file>",
            "policy config file, as for --policy-pack-config, for every stack checked (default: policies/config/<stack>.json)",
        )
        .option("--json", "print the report as JSON (an array of { stack, exitCode, report | error } for several stacks)")
        .allowExcessArguments(false)
        .addHelpText(
            "after",
            examples(
                ["policy --stack dev", "dev at its levels (policies/config/dev.json)"],
                ["policy --stack staging --policy-config policies/config/prod.json", "staging at prod's levels"],
                ["policy --stack prod --json", "the report as JSON"],
                ["policy --all-stacks", "every stack, with one policy pack process"],
            ),
        )
        .configureOutput({ writeOut: io.out, writeErr: io.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<StackFlags & { configDir?: string; policyConfig?: string; json?: boolean }>();
    const configDir = configDirFlag(opts.configDir, io.cwd);
    if (configDir.problem !== undefined) {
        io.err(`policy: ${configDir.problem}\n`);
        return EXIT.usage;
    }
    const chosen = stacksFromFlags(opts, configDir.dir);
    if (chosen.problem !== undefined) {
        io.err(`policy: ${chosen.problem}\n`);
        return EXIT.usage;
    }
    const policyConfigFile = opts.policyConfig !== undefined ? path.resolve(io.cwd, opts.policyConfig) : undefined;
    if (policyConfigFile !== undefined && !fs.existsSync(policyConfigFile)) {
        io.err(
            `policy: --policy-config ${opts.policyConfig} does not exist (${policyConfigFile}); ` +
                `give a JSON file of policy names to enforcement levels, such as policies/config/<stack>.json\n`,
        );
        return EXIT.usage;
    }
    const several = chosen.stacks.length > 1;
    const results: { stack: string; code: number }[] = [];
    const json: unknown[] = [];
    let printed = false;
    const progress = io.progress === true ? (step: string) => io.err(`policy: ${step}\n`) : undefined;
    const onOutcome = ({ stack, report, error }: StackPolicyOutcome): void => {
        const code = report !== undefined ? (report.passed ? EXIT.ok : EXIT.failed) : reportError(error, stack, several, io);
        results.push({ stack, code });
        if (opts.json && several) {
            json.push(report !== undefined ? { stack, exitCode: code, report } : { stack, exitCode: code, error: errorMessage(error) });
        } else if (opts.json && report !== undefined) {
            io.out(JSON.stringify(report, null, 2) + "\n");
        } else if (report !== undefined) {
            // A blank line between two stacks' reports.
            io.out((printed ? "\n" : "") + formatPolicyReport(report) + "\n");
            printed = true;
        }
    };
    try {
        await checkStacksPolicies(chosen.stacks, { configDir: configDir.dir, policyConfigFile, progress, onOutcome });
    } catch (error) {
        // The pack could not be started or stopped: every stack not reported yet gets that error.
        for (const stack of chosen.stacks.filter((s) => !results.some((r) => r.stack === s))) {
            onOutcome({ stack, error });
        }
    }
    if (several) {
        io.out(opts.json ? JSON.stringify(json, null, 2) + "\n" : `\n${stacksSummary("policy", results)}\n`);
    }
    return worstExit(results.map((r) => r.code));
}

function errorMessage(e: unknown): string {
    return e instanceof Error ? e.message : String(e);
}

/** Prints what stopped one stack's check (with `stack <s>: ` first when several are checked) and returns its exit code. */
function reportError(e: unknown, stack: string, several: boolean, io: CliIO): number {
    const message = errorMessage(e);
    const prefix = several ? `policy: stack ${stack}: ` : "policy: ";
    if (e instanceof StackFileError || e instanceof PolicyConfigError || e instanceof UsageError) {
        io.err(`${prefix}${message}\n`);
        return EXIT.usage;
    }
    if (isRunError(e)) {
        io.err(
            `policy: stack ${stack}: ${message}\n` +
                `The program rejected this stack's config before registering any resource, as \`pulumi preview\` would; no resource reached the policy pack.\n`,
        );
        return EXIT.usage;
    }
    io.err(`${prefix}the policy check could not run: ${message}\n`);
    return EXIT.internal;
}

/** `istio-canary policy`. */
export const policyCommand: Subcommand = {
    name: "policy",
    summary: "check a stack against the policy pack offline, as pulumi preview --policy-pack would",
    run: runPolicy,
};
