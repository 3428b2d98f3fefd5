/**
 * Command-line plumbing every subcommand shares: the subcommand shape, parsing with commander
 * without letting it exit (and naming unknown flags before anything else), the checks of flags
 * several commands take (stack names, --config-dir), and where relative paths start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { EXIT } from "./exit-codes";
import { PROJECT_ROOT, STACK_NAME } from "../stack/load";

/** Where a command prints and where its relative paths start; tests replace them. */
export interface CliIO {
    /** Standard output. */
    out: (text: string) => void;
    /** Standard error. */
    err: (text: string) => void;
    /** Directory relative path flags (--config-dir, --out) start from. Default: userCwd(). */
    cwd: string;
    /** Whether standard error is a terminal: long work then says what it is doing. Default false. */
    progress?: boolean;
}

/** One `istio-canary` subcommand: every one has this shape, so each can be run in-process by the tests. */
export interface Subcommand {
    /** Name typed after `istio-canary`, e.g. `plan`. */
    name: string;
    /** One line for `istio-canary --help`. */
    summary: string;
    /** Runs the command on the arguments after its name; resolves to its exit code (cli/exit-codes.ts). */
    run(argv: string[], io: CliIO): Promise<number>;
}

/** The real terminal: process stdout/stderr, relative paths from userCwd(). */
export function processIO(): CliIO {
    return {
        out: (s) => process.stdout.write(s),
        err: (s) => process.stderr.write(s),
        cwd: userCwd(),
        progress: process.stderr.isTTY === true,
    };
}

/** Long flags of a command (`--stack`, `--no-x` ...), for naming unknown ones. */
function knownLongFlags(cmd: Command): Set<string> {
    const known = new Set<string>(["--help"]);
    for (const o of cmd.options) {
        if (o.long !== undefined) {
            known.add(o.long);
        }
    }
    return known;
}

/**
 * Parses `argv` (the arguments after the subcommand) into `cmd`, with commander set to throw rather
 * than exit. An unknown or misspelt flag is named first (commander would otherwise report a missing
 * required flag for `--stak dev`), with commander's suggestion of the closest known one. Returns
 * undefined when the command should go on, or the exit code when parsing ended it: 0 after `--help`,
 * EXIT.usage for a bad flag (commander has printed why, through the command's output).
 */
export function parseFlags(cmd: Command, argv: string[]): number | undefined {
    cmd.exitOverride();
    try {
        const known = knownLongFlags(cmd);
        for (const arg of argv) {
            if (arg === "--") {
                break;
            }
            const flag = arg.split("=")[0];
            if (flag.startsWith("--") && !known.has(flag)) {
                const closest = closestFlag(flag, [...known]);
                cmd.error(`error: unknown option '${flag}'${closest !== undefined ? `\n(Did you mean ${closest}?)` : ""}`, {
                    code: "commander.unknownOption",
                    exitCode: EXIT.usage,
                });
            }
        }
        cmd.parse(argv, { from: "user" });
        return undefined;
    } catch (e) {
        if (e instanceof CommanderError) {
            return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
        }
        throw e;
    }
}

/** Edit distance of two strings (insertions, deletions, substitutions). */
function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) {
            next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        row = next;
    }
    return row[b.length];
}

/** The known flag closest to a misspelt one (at most 2 edits, or a unique prefix), if any. */
export function closestFlag(flag: string, known: readonly string[]): string | undefined {
    const prefixed = known.filter((k) => k.startsWith(flag));
    if (prefixed.length === 1) {
        return prefixed[0];
    }
    const scored = known.map((k) => ({ k, d: editDistance(flag, k) })).filter((x) => x.d <= 2);
    scored.sort((x, y) => x.d - y.d);
    return scored[0]?.k;
}

/** "Examples:" help text of a command, one `$ npx istio-canary ...` line per example with its comment. */
export function examples(...lines: [command: string, what: string][]): string {
    const width = Math.max(...lines.map(([c]) => c.length));
    return `\nExamples:\n${lines.map(([c, w]) => `  $ npx istio-canary ${c.padEnd(width)}  # ${w}`).join("\n")}\n`;
}

/** Why `value`, given for `flag`, is not a stack name, or undefined when it is one. */
export function stackNameProblem(flag: string, value: string): string | undefined {
    return STACK_NAME.test(value)
        ? undefined
        : `${flag} ${JSON.stringify(value)} is not a stack name; use letters, digits, '-', '_' or '.'`;
}

/**
 * The directory `--config-dir <value>` names, resolved from `cwd` (the repository when the flag is
 * absent), and why it cannot be used when it is not a directory.
 */
export function configDirFlag(value: string | undefined, cwd: string): { dir: string; problem?: string } {
    if (value === undefined) {
        return { dir: PROJECT_ROOT };
    }
    const dir = path.resolve(cwd, value);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
        return { dir, problem: `--config-dir ${value} is not a directory (${dir})` };
    }
    return { dir };
}

/** Where relative paths on the command line start from: where `npm run` or `npx` was started. */
export function userCwd(): string {
    return process.env.INIT_CWD ?? process.cwd();
}
