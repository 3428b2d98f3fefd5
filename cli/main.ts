/**
 * `istio-canary <command> [flags]`: the one command line. Each subcommand lives in its own file
 * with the same shape (cli/args.ts Subcommand); this file only lists them, prints the overview and
 * turns what a command throws into the shared exit codes (cli/exit-codes.ts).
 */
import { Command } from "commander";
import { CliIO, Subcommand, processIO } from "./args";
import { analyzeCommand } from "./analyze";
import { describeError } from "./errors";
import { EXIT } from "./exit-codes";
import { planCommand } from "./plan";
import { policyCommand } from "./policy";
import { promoteCommand } from "./promote";
import { reportCommand } from "./report";
import { rolloutCommand } from "./rollout";
import packageJson from "../package.json";

/** Every subcommand, in the order of the flow (plan -> policy -> rollout/analyze -> report -> promote). */
export const SUBCOMMANDS: readonly Subcommand[] = [
    planCommand,
    policyCommand,
    analyzeCommand,
    rolloutCommand,
    reportCommand,
    promoteCommand,
];

const EXIT_TABLE = [
    "Exit codes (every command):",
    "  0 ok   1 failed (violation, fail verdict, rolled back)   2 bad usage or input, nothing changed",
    "  3 incomplete (inconclusive, apply failed: --resume)   4 refused, nothing changed",
    "  70 internal error   130 interrupted (state saved)",
].join("\n");

/** The top-level command: only for `--help`, `--version` and naming an unknown command. */
function overview(io: CliIO): Command {
    const program = new Command("istio-canary")
        .description("Istio canary releases as reviewed, policy-checked Pulumi stacks, rolled out and back on Prometheus evidence.")
        .usage("<command> [flags]")
        .version(packageJson.version, "--version")
        .addHelpText("after", `\n${EXIT_TABLE}\n\nRun npx istio-canary <command> --help for a command's flags and examples.`)
        .configureOutput({ writeOut: io.out, writeErr: io.err })
        .showSuggestionAfterError(true)
        .helpCommand("help [command]", "show a command's flags and examples")
        .exitOverride();
    for (const c of SUBCOMMANDS) {
        program.command(c.name).description(c.summary);
    }
    return program;
}

/**
 * Runs `istio-canary` on the user's arguments; resolves to the exit code. A command that throws is
 * reported without a stack trace when the error is the user's to fix (EXIT.usage), with it otherwise
 * (EXIT.internal).
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
    const [first, ...afterFirst] = argv;
    // `istio-canary help plan` is `istio-canary plan --help`.
    const asHelp = first === "help" && SUBCOMMANDS.some((c) => c.name === afterFirst[0]);
    const name = asHelp ? afterFirst[0] : first;
    const rest = asHelp ? ["--help"] : afterFirst;
    const sub = SUBCOMMANDS.find((c) => c.name === name);
    if (sub === undefined) {
        const program = overview(io);
        if (name === undefined) {
            program.outputHelp({ error: true });
            return EXIT.usage;
        }
        try {
            program.parse(argv, { from: "user" });
        } catch (e) {
            const code = (e as { exitCode?: number }).exitCode;
            return code === 0 ? EXIT.ok : EXIT.usage;
        }
        return EXIT.usage;
    }
    try {
        return await sub.run(rest, io);
    } catch (e) {
        const { message, expected } = describeError(e);
        io.err(`${sub.name}: ${message}\n`);
        return expected ? EXIT.usage : EXIT.internal;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
