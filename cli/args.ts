/**
 * Command-line plumbing the commands share: parsing with commander without letting it exit, the
 * checks of the flags several commands take (stack names, --config-dir), and running a command's
 * main as the process. Error classes and exit codes are in cli/errors.ts.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { EXIT_INTERNAL, EXIT_USAGE, describeError } from "./errors";
import { PROJECT_ROOT, STACK_NAME } from "../stack/load";

/** Where a command prints and where its relative paths start; tests replace them. */
export interface CliIO {
    /** Standard output. */
    out: (text: string) => void;
    /** Standard error. */
    err: (text: string) => void;
    /** Directory relative path flags (--config-dir) start from. Default: userCwd(), where `npm run` was started. */
    cwd: string;
}

/**
 * Parses `argv` (the user's arguments only) into `cmd`, with commander set to throw rather than exit.
 * Returns undefined when the command should go on, or the exit code when parsing ended it: 0 after
 * `--help`, EXIT_USAGE for a bad flag (commander has printed why, through the command's output).
 */
export function parseFlags(cmd: Command, argv: string[]): number | undefined {
    cmd.exitOverride();
    try {
        cmd.parse(argv, { from: "user" });
        return undefined;
    } catch (e) {
        if (e instanceof CommanderError) {
            return e.exitCode === 0 ? 0 : EXIT_USAGE;
        }
        throw e;
    }
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

/** Where relative paths on the command line start from: where `npm run` was started (npm runs scripts in the package root). */
export function userCwd(): string {
    return process.env.INIT_CWD ?? process.cwd();
}

/**
 * Runs a command's `main` as the process and exits with the code it returns. Should it throw, the
 * error is printed after `prefix`: the user's to fix (bad usage, a stack file, config; see
 * describeError) without a stack trace and exit EXIT_USAGE, anything else (a bug) with its stack
 * and exit EXIT_INTERNAL.
 */
export function runAsProcess(prefix: string, main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            const { message, expected } = describeError(e);
            process.stderr.write(`${prefix}${message}\n`);
            process.exit(expected ? EXIT_USAGE : EXIT_INTERNAL);
        },
    );
}
