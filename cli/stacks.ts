/**
 * The stack flags of the offline checks (`plan`, `policy`): `--stack <name>`, repeatable, or
 * `--all-stacks`, every stack file in the config directory. All of them are checked before anything
 * runs; each stack's output stays its own, and the command exits with the worst stack's code.
 */
import { Command } from "commander";
import { stackNameProblem } from "./args";
import { EXIT, worstExit } from "./exit-codes";
import { missingStackFileProblem, stackNames } from "../stack/load";

/** The parsed stack flags. */
export interface StackFlags {
    /** Every `--stack` given, in order; undefined when none is. */
    stack?: string[];
    /** `--all-stacks`. */
    allStacks?: boolean;
}

/** Adds `--stack <name>` (repeatable) and `--all-stacks` to a command; `what` says what is done to the stack file. */
export function addStackFlags(cmd: Command, what: string): Command {
    return cmd
        .option(
            "--stack <name>",
            `stack whose Pulumi.<stack>.yaml to ${what}, e.g. dev; repeat it for several (--stack dev --stack prod)`,
            (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
        )
        .option("--all-stacks", "every stack with a Pulumi.<stack>.yaml in the config directory, in name order");
}

/**
 * The stacks the flags name, or the first problem with them: none given, both forms given, a name
 * given twice, a name that is not a stack name, a stack without a file in `configDir`, no stack
 * files at all.
 */
export function stacksFromFlags(flags: StackFlags, configDir: string): { stacks: string[]; problem?: undefined } | { problem: string } {
    const given = flags.stack ?? [];
    if (flags.allStacks === true) {
        if (given.length > 0) {
            return { problem: `--all-stacks and --stack ${given.join(" --stack ")} cannot be combined; give one or the other` };
        }
        const stacks = stackNames(configDir);
        return stacks.length > 0 ? { stacks } : { problem: `--all-stacks: ${configDir} holds no stack file (Pulumi.<stack>.yaml)` };
    }
    if (given.length === 0) {
        return { problem: "required option '--stack <name>' not specified; give --stack <name> (repeatable) or --all-stacks" };
    }
    const twice = given.find((s, i) => given.indexOf(s) !== i);
    if (twice !== undefined) {
        return { problem: `--stack ${twice} is given twice; give each stack once` };
    }
    for (const stack of given) {
        const problem = stackNameProblem("--stack", stack) ?? missingStackFileProblem(stack, configDir);
        if (problem !== undefined) {
            return { problem };
        }
    }
    return { stacks: given };
}

/** How the summary names an exit code. */
const OUTCOME: Record<number, string> = {
    [EXIT.ok]: "ok",
    [EXIT.failed]: "FAILED",
    [EXIT.usage]: "bad input",
    [EXIT.incomplete]: "incomplete",
    [EXIT.refused]: "refused",
    [EXIT.internal]: "internal error",
    [EXIT.interrupted]: "interrupted",
};

/**
 * The closing line of a command run on several stacks, e.g.
 * `policy of 3 stacks: dev ok, staging ok, prod FAILED (exit 1); exit 1`.
 */
export function stacksSummary(command: string, results: readonly { stack: string; code: number }[]): string {
    const each = results.map((r) => `${r.stack} ${OUTCOME[r.code] ?? "exit"}${r.code === EXIT.ok ? "" : ` (exit ${r.code})`}`);
    return `${command} of ${results.length} stacks: ${each.join(", ")}; exit ${worstExit(results.map((r) => r.code))}`;
}
