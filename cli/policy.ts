import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { PolicyConfigError } from "../policy-runner";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags } from "./args";
import { UsageError, isRunError } from "./errors";
import { EXIT } from "./exit-codes";
import { checkStackPolicies, formatPolicyReport } from "../policy-runner";
import { StackFileError } from "../stack/load";

/**
 * `istio-canary policy --stack <s> [--config-dir <dir>] [--policy-config <file>] [--json]`: runs the
 * stack's program offline and checks every resource against policies/ with the stack's policy config,
 * printing violations as `pulumi preview` does. Exit 0: no mandatory violation; 1: a mandatory
 * violation; 2: stack config the program rejects, bad flags, stack files or policy config;
 * 70: the policy pack itself failed, or a bug.
 */
export async function runPolicy(argv: string[], io: CliIO): Promise<number> {
    const cmd = new Command("policy")
        .description(
            "Check a stack against the policy pack in policies/, offline: the program under Pulumi's mocks, the pack over the Analyzer protocol.",
        )
        .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml to check, e.g. dev")
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .option("--policy-config <file>", "policy config file, as for --policy-pack-config (default: policies/config/<stack>.json)")
        .option("--json", "print the report as JSON")
        .allowExcessArguments(false)
        .addHelpText(
            "after",
            examples(
                ["policy --stack dev", "dev at its levels (policies/config/dev.json)"],
                ["policy --stack staging --policy-config policies/config/prod.json", "staging at prod's levels"],
                ["policy --stack prod --json", "the report as JSON"],
            ),
        )
        .configureOutput({ writeOut: io.out, writeErr: io.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<{ stack: string; configDir?: string; policyConfig?: string; json?: boolean }>();
    const configDir = configDirFlag(opts.configDir, io.cwd);
    if (configDir.problem !== undefined) {
        io.err(`policy: ${configDir.problem}\n`);
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
    try {
        const progress = io.progress === true ? (step: string) => io.err(`policy: ${step}\n`) : undefined;
        const report = await checkStackPolicies(opts.stack, { configDir: configDir.dir, policyConfigFile, progress });
        io.out((opts.json ? JSON.stringify(report, null, 2) : formatPolicyReport(report)) + "\n");
        return report.passed ? EXIT.ok : EXIT.failed;
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof StackFileError || e instanceof PolicyConfigError || e instanceof UsageError) {
            io.err(`policy: ${message}\n`);
            return EXIT.usage;
        }
        if (isRunError(e)) {
            io.err(
                `policy: stack ${opts.stack}: ${message}\n` +
                    `The program rejected this stack's config before registering any resource, as \`pulumi preview\` would; no resource reached the policy pack.\n`,
            );
            return EXIT.usage;
        }
        io.err(`policy: the policy check could not run: ${message}\n`);
        return EXIT.internal;
    }
}

/** `istio-canary policy`. */
export const policyCommand: Subcommand = {
    name: "policy",
    summary: "check a stack against the policy pack offline, as pulumi preview --policy-pack would",
    run: runPolicy,
};
