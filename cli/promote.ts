import * as path from "node:path";
import { Command } from "commander";
import { CliIO, configDirFlag, parseFlags, runAsProcess, stackNameProblem, userCwd } from "./args";
import { EXIT_USAGE } from "./errors";
import { PolicyRunner, PromoteResult, npmPolicyRunner, promote } from "../promote";

/**
 * `npm run promote -- --from <stack> --to <stack> [--dry-run] [--config-dir <dir>]`: adds the
 * version that runs at 100% in --from to --to's Pulumi.<stack>.yaml as a canary at weight 0,
 * then runs the offline policy check on --to. README "Promotion" describes the flow.
 */

/** Exit code when the promotion was refused; nothing was changed. */
export const EXIT_REFUSED = 1;
/** Exit code when the change was written but the policy check on the target did not pass. */
export const EXIT_POLICY_FAILED = 3;

/** Where the command prints and how it runs the policy check; tests replace them. */
export interface PromoteCliDeps extends CliIO {
    /** The policy check run after a write. Default: `npm run policy`. */
    runPolicy: PolicyRunner;
}

/** Parses the flags, promotes and prints the outcome; returns the exit code. */
export function runPromoteCli(argv: string[], deps: PromoteCliDeps): number {
    const cmd = new Command("promote")
        .description("Add the version at 100% in one stack to the next stack of the promotion order, as a canary at weight 0.")
        .requiredOption("--from <stack>", "source stack, whose version at 100% is promoted, e.g. dev")
        .requiredOption("--to <stack>", "target stack, the next one in promotionOrder, e.g. staging")
        .option("--dry-run", "print the change as a unified diff and write nothing")
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .allowExcessArguments(false)
        .showHelpAfterError("(run npm run promote -- --help for usage)")
        .configureOutput({ writeOut: deps.out, writeErr: deps.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<{ from: string; to: string; dryRun?: boolean; configDir?: string }>();
    const configDir = configDirFlag(opts.configDir, deps.cwd);
    const problem =
        stackNameProblem("--from", opts.from) ??
        stackNameProblem("--to", opts.to) ??
        (opts.from === opts.to ? `--from and --to are both ${opts.from}; a promotion goes from one stack to the next` : undefined) ??
        configDir.problem;
    if (problem !== undefined) {
        deps.err(`error: ${problem}\n(run npm run promote -- --help for usage)\n`);
        return EXIT_USAGE;
    }

    const result = promote({
        from: opts.from,
        to: opts.to,
        configDir: configDir.dir,
        dryRun: opts.dryRun === true,
        runPolicy: deps.runPolicy,
    });
    return report(result, deps);
}

function report(result: PromoteResult, deps: PromoteCliDeps): number {
    if (result.status === "refused") {
        deps.err(`promote: ${result.reason}\nNothing was changed.\n`);
        return EXIT_REFUSED;
    }
    const { plan, file, diff } = result;
    const name = path.basename(file);
    const { released, baseline, canary } = plan;
    const lines = [
        `Promoting ${plan.from} -> ${plan.to}${result.status === "dry-run" ? " (dry run: nothing is written)" : ""}`,
        `  ${plan.from} runs ${released.name} (${released.image}) at 100%`,
        `  ${plan.to} runs ${baseline.name} (${baseline.image}) at ${baseline.weight}%`,
        `  ${name}: ${canary.name} is added after ${baseline.name} as the canary at weight 0` +
            (canary.replicas !== undefined ? ` with ${canary.replicas} replicas (as ${baseline.name})` : ""),
        "",
        diff.trimEnd(),
        "",
    ];
    if (result.status === "dry-run") {
        lines.push(`Dry run: ${file} was not changed and the policy check was not run.`);
        deps.out(lines.join("\n") + "\n");
        return 0;
    }
    lines.push(`Wrote ${file}`, "", `Policy check on ${plan.to}: ${result.policy.command}`);
    deps.out(lines.join("\n") + "\n");
    const policy = result.policy;
    if (policy.output.length > 0) {
        deps.out(policy.output.endsWith("\n") ? policy.output : `${policy.output}\n`);
    }
    if (!policy.passed) {
        const why = policy.error ?? `exit code ${policy.exitCode}`;
        deps.err(
            `Policy check on ${plan.to} FAILED (${why}).\n` +
                `The change to ${file} stays written. Do not merge it before the check passes: fix what it reports, or revert the file.\n`,
        );
        return EXIT_POLICY_FAILED;
    }
    deps.out(
        `Policy check on ${plan.to} passed.\n` +
            `Next: commit ${name} and open a pull request; its preview runs the policy pack. After the merge deploys it, walk the canary up with: npm run rollout -- --stack ${plan.to}\n`,
    );
    return 0;
}

if (require.main === module) {
    runAsProcess("promote: ", async () =>
        runPromoteCli(process.argv.slice(2), {
            out: (s) => process.stdout.write(s),
            err: (s) => process.stderr.write(s),
            runPolicy: npmPolicyRunner(),
            cwd: userCwd(),
        }),
    );
}
