import * as path from "node:path";
import { Command } from "commander";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags, stackNameProblem } from "./args";
import { EXIT } from "./exit-codes";
import { PolicyRunner, PromoteResult, cliPolicyRunner, promote } from "../promote";
import { rolloutCommand } from "../rollout/command";

/**
 * `istio-canary promote --from <stack> --to <stack> [--dry-run] [--trust-stack-file] [--config-dir <dir>]`:
 * adds the version that runs at 100% in --from to --to's Pulumi.<stack>.yaml as a canary at weight
 * 0, when --from's rollout record (`<config dir>/.rollout/`) shows that version's rollout completed
 * there, then runs the offline policy check on --to. docs/promotion.md describes the flow.
 */

/** Where the command prints and how it runs the policy check; tests replace them. */
export interface PromoteCliDeps extends CliIO {
    /** The policy check run after a write. Default: `istio-canary policy` in a child process. */
    runPolicy: PolicyRunner;
}

/** Parses the flags, promotes and prints the outcome; returns the exit code. */
export function runPromoteCli(argv: string[], deps: PromoteCliDeps): number {
    const progress = deps.progress === true ? (step: string) => deps.err(`promote: ${step}\n`) : undefined;
    const cmd = new Command("promote")
        .description("Add the version at 100% in one stack to the next stack of the promotion order, as a canary at weight 0.")
        .requiredOption("--from <stack>", "source stack, whose version at 100% is promoted, e.g. dev")
        .requiredOption("--to <stack>", "target stack, the next one in promotionOrder, e.g. staging")
        .option("--dry-run", "print the change as a unified diff and write nothing")
        .option(
            "--trust-stack-file",
            "when --from has no rollout record of the version (set to 100% by hand in a reviewed change, or rolled out in another checkout), promote on its stack file's weights alone",
        )
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .allowExcessArguments(false)
        .showHelpAfterError("(run npx istio-canary promote --help for usage)")
        .addHelpText(
            "after",
            examples(
                ["promote --from dev --to staging --dry-run", "show the change as a diff, write nothing"],
                ["promote --from dev --to staging", "write Pulumi.staging.yaml and policy-check it"],
            ),
        )
        .configureOutput({ writeOut: deps.out, writeErr: deps.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<{ from: string; to: string; dryRun?: boolean; trustStackFile?: boolean; configDir?: string }>();
    const configDir = configDirFlag(opts.configDir, deps.cwd);
    const problem =
        stackNameProblem("--from", opts.from) ??
        stackNameProblem("--to", opts.to) ??
        (opts.from === opts.to ? `--from and --to are both ${opts.from}; a promotion goes from one stack to the next` : undefined) ??
        configDir.problem;
    if (problem !== undefined) {
        deps.err(`promote: ${problem}\n(run npx istio-canary promote --help for usage)\n`);
        return EXIT.usage;
    }

    const result = promote({
        from: opts.from,
        to: opts.to,
        configDir: configDir.dir,
        dryRun: opts.dryRun === true,
        trustStackFile: opts.trustStackFile === true,
        runPolicy: deps.runPolicy,
        progress,
        rolloutCommand: (stack) => rolloutCommand(stack, opts.configDir),
    });
    return report(result, deps);
}

function report(result: PromoteResult, deps: PromoteCliDeps): number {
    if (result.status === "refused") {
        deps.err(`promote: ${result.reason}\nNothing was changed.\n`);
        return EXIT.refused;
    }
    const { plan, file, diff } = result;
    const name = path.basename(file);
    const { released, baseline, canary } = plan;
    const lines = [
        `Promoting ${plan.from} -> ${plan.to}${result.status === "dry-run" ? " (dry run: nothing is written)" : ""}`,
        `  ${plan.from} runs ${released.name} (${released.image}) at 100%`,
        `  ${result.record}`,
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
        return EXIT.ok;
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
        return policy.exitCode === EXIT.failed ? EXIT.failed : EXIT.incomplete;
    }
    deps.out(
        `Policy check on ${plan.to} passed.\n` +
            `Next: commit ${name} and open a pull request; its preview runs the policy pack. After the merge deploys it, walk the canary up with: npx istio-canary rollout --stack ${plan.to}\n`,
    );
    return EXIT.ok;
}

/** `istio-canary promote`. */
export const promoteCommand: Subcommand = {
    name: "promote",
    summary: "add the version at 100% in one stack to the next stack as a canary at weight 0, then policy-check it",
    run: async (argv, io) => runPromoteCli(argv, { ...io, runPolicy: cliPolicyRunner() }),
};
