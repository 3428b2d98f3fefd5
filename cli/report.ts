import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags, stackNameProblem } from "./args";
import { EXIT } from "./exit-codes";
import { FileStateStore, RolloutState, StateFileError, parseState } from "../rollout/state";
import { rolloutCommand } from "../rollout/command";
import { writeFileAtomic } from "../stack/atomic-write";
import { StackFileError } from "../stack/errors";
import { STACK_NAME } from "../stack/load";

/**
 * `istio-canary report --stack <name> [--state FILE] [--out FILE] [--format html|markdown] [--config-dir <dir>]`:
 * renders a rollout (the stack's current one in `<config dir>/.rollout/<stack>.json`, or a saved
 * state file) as one self-contained HTML page, or as a markdown summary for a pull-request comment or
 * a CI job summary. docs/report.md describes the page, docs/cli.md the flags and exit codes: 0 written,
 * 2 bad flags or a state file that is missing, unreadable or not valid (nothing written).
 */

const FORMATS = ["html", "markdown"] as const;
type Format = (typeof FORMATS)[number];

interface Flags {
    stack?: string;
    state?: string;
    out?: string;
    format: string;
    configDir?: string;
}

/** The state to report on, or the problem (a sentence naming the flag or file) that stops the command. */
function loadState(flags: Flags, configDir: string, cwd: string): { state: RolloutState; file: string } | { problem: string } {
    if (flags.state === undefined) {
        const stack = flags.stack ?? "";
        const store = new FileStateStore(path.join(configDir, ".rollout"));
        const state = store.load(stack);
        if (state === undefined) {
            return {
                problem:
                    `no rollout of stack ${stack} is recorded (no ${store.fileOf(stack)}); run \`${rolloutCommand(stack, flags.configDir)}\` first, ` +
                    `or name a saved state file with --state FILE`,
            };
        }
        return { state, file: store.fileOf(stack) };
    }
    const file = path.resolve(cwd, flags.state);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (e as Error).message;
        return { problem: `--state ${flags.state}: cannot read ${file} (${why}); name a rollout state file, e.g. .rollout/dev.json` };
    }
    let stack = flags.stack;
    if (stack === undefined) {
        // Without --stack the file names its own stack; parseState then checks everything else.
        let named: unknown;
        try {
            named = (JSON.parse(text) as { stack?: unknown }).stack;
        } catch {
            named = undefined;
        }
        stack = typeof named === "string" && STACK_NAME.test(named) ? named : "(unknown)";
    }
    return { state: parseState(text, file, stack), file };
}

/**
 * Parses the flags, renders the report and writes it; resolves to the exit code. The renderers are
 * loaded only here, so the other commands do not pay for them at start-up.
 */
export async function runReportCli(argv: string[], io: CliIO, now: () => Date = () => new Date()): Promise<number> {
    const cmd = new Command("report")
        .description(
            "Render a rollout (the stack's current one, or a saved state file) as one self-contained HTML page, or as a markdown summary.",
        )
        .option("--stack <name>", "stack whose current rollout to report (<config dir>/.rollout/<name>.json), e.g. dev")
        .option("--state <file>", "a rollout state file to report instead, e.g. an archived .rollout/dev.<start time>.json")
        .option("--out <file>", "where to write the report (default: rollout-<stack>.html for html, standard output for markdown)")
        .option("--format <format>", "html (the page with charts) or markdown (a summary for a PR comment or CI job summary)", "html")
        .option("--config-dir <dir>", "directory holding .rollout/ (default: the repository)")
        .allowExcessArguments(false)
        .showHelpAfterError("(run npx istio-canary report --help for usage)")
        .addHelpText(
            "after",
            examples(
                ["report --stack dev", "write rollout-dev.html from dev's current rollout"],
                ["report --stack dev --out /tmp/dev.html", "the same, to another file"],
                ["report --state .rollout/dev.2025-01-01T12-00-00-000Z.json", "a saved rollout"],
                ["report --stack dev --format markdown >> $GITHUB_STEP_SUMMARY", "the summary, for a CI job"],
            ),
        )
        .configureOutput({ writeOut: io.out, writeErr: io.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const flags = cmd.opts<Flags>();
    const { dir: configDir, problem: configDirProblem } = configDirFlag(flags.configDir, io.cwd);
    const format = FORMATS.find((f) => f === flags.format);
    const problem =
        (flags.stack === undefined && flags.state === undefined
            ? "give --stack <name> (its current rollout) or --state <file> (a saved one)"
            : undefined) ??
        (flags.stack !== undefined ? stackNameProblem("--stack", flags.stack) : undefined) ??
        (format === undefined ? `--format ${JSON.stringify(flags.format)} is not a format; use ${FORMATS.join(" or ")}` : undefined) ??
        configDirProblem;
    if (problem !== undefined) {
        io.err(`report: ${problem}\n(run npx istio-canary report --help for usage)\n`);
        return EXIT.usage;
    }
    let loaded;
    try {
        loaded = loadState(flags, configDir, io.cwd);
    } catch (e) {
        if (e instanceof StateFileError) {
            io.err(`report: ${e.message}\n`);
            return EXIT.usage;
        }
        throw e;
    }
    if ("problem" in loaded) {
        io.err(`report: ${loaded.problem}\n`);
        return EXIT.usage;
    }
    const [{ reportModel }, { renderHtml }, { renderMarkdown }] = await Promise.all([
        import("../report/model"),
        import("../report/html"),
        import("../report/markdown"),
    ]);
    const model = reportModel(loaded.state);
    const chosen: Format = format ?? "html";
    const text = chosen === "html" ? renderHtml(model, { generatedAt: now().toISOString() }) : renderMarkdown(model);
    if (chosen === "markdown" && flags.out === undefined) {
        io.out(text);
        return EXIT.ok;
    }
    const out = path.resolve(io.cwd, flags.out ?? `rollout-${model.stack}.html`);
    if (fs.existsSync(out) && fs.statSync(out).isDirectory()) {
        io.err(
            `report: --out ${flags.out ?? out} is a directory (${out}); name a file, e.g. ${path.join(out, `rollout-${model.stack}.html`)}\n`,
        );
        return EXIT.usage;
    }
    try {
        writeFileAtomic(out, text);
    } catch (e) {
        if (e instanceof StackFileError) {
            io.err(`report: --out: ${e.message}\n`);
            return EXIT.usage;
        }
        throw e;
    }
    io.out(`wrote ${out} (${Math.round(Buffer.byteLength(text) / 1024)} KB, from ${loaded.file}): ${model.headline}\n`);
    return EXIT.ok;
}

/** `istio-canary report`. */
export const reportCommand: Subcommand = {
    name: "report",
    summary: "render a rollout (current or saved) as a self-contained HTML page with charts, or a markdown summary",
    run: (argv, io) => runReportCli(argv, io),
};
