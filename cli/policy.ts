import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { PolicyConfigError } from "../policy-runner";
import { configDirFlag, parseFlags, runAsProcess, userCwd } from "./args";
import { EXIT_INTERNAL, EXIT_USAGE, UsageError, isRunError } from "./errors";
import { checkStackPolicies, formatPolicyReport } from "../policy-runner";
import { StackFileError } from "../stack/load";

/** Exit code when the stack fails: a mandatory violation, or stack config the program rejects. */
const EXIT_FAILED = 1;

/**
 * `npm run policy -- --stack <s> [--config-dir <dir>] [--policy-config <file>] [--json]`: runs the
 * stack's program offline and checks every resource against policies/ with the stack's policy config,
 * printing violations as `pulumi preview` does. Exit 0: no mandatory violation; 1: a mandatory
 * violation, or stack config the program rejects; 2: bad flags, stack files or policy config;
 * 70 (EXIT_INTERNAL): the policy pack itself failed, or a bug.
 */
async function main(argv: string[]): Promise<number> {
    const cmd = new Command("policy")
        .description(
            "Check a stack against the policy pack in policies/, offline: the program under Pulumi's mocks, the pack over the Analyzer protocol.",
        )
        .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml to check, e.g. dev")
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .option("--policy-config <file>", "policy config file, as for --policy-pack-config (default: policies/config/<stack>.json)")
        .option("--json", "print the report as JSON")
        .allowExcessArguments(false)
        .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<{ stack: string; configDir?: string; policyConfig?: string; json?: boolean }>();
    const configDir = configDirFlag(opts.configDir, userCwd());
    if (configDir.problem !== undefined) {
        process.stderr.write(`error: ${configDir.problem}\n`);
        return EXIT_USAGE;
    }
    const policyConfigFile = opts.policyConfig !== undefined ? path.resolve(userCwd(), opts.policyConfig) : undefined;
    if (policyConfigFile !== undefined && !fs.existsSync(policyConfigFile)) {
        process.stderr.write(
            `error: --policy-config ${opts.policyConfig} does not exist (${policyConfigFile}); ` +
                `give a JSON file of policy names to enforcement levels, such as policies/config/<stack>.json\n`,
        );
        return EXIT_USAGE;
    }
    try {
        const report = await checkStackPolicies(opts.stack, { configDir: configDir.dir, policyConfigFile });
        process.stdout.write((opts.json ? JSON.stringify(report, null, 2) : formatPolicyReport(report)) + "\n");
        return report.passed ? 0 : EXIT_FAILED;
    } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (e instanceof StackFileError || e instanceof PolicyConfigError || e instanceof UsageError) {
            process.stderr.write(`error: ${message}\n`);
            return EXIT_USAGE;
        }
        if (isRunError(e)) {
            process.stderr.write(
                `error: stack ${opts.stack}: ${message}\n` +
                    `The program rejected this stack's config before registering any resource, as \`pulumi preview\` would; no resource reached the policy pack.\n`,
            );
            return EXIT_FAILED;
        }
        process.stderr.write(`error: the policy check could not run: ${message}\n`);
        return EXIT_INTERNAL;
    }
}

runAsProcess("error: ", () => main(process.argv.slice(2)));
