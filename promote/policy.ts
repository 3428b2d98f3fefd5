/**
 * The offline policy check promote runs on the target stack after writing it: the project's
 * `istio-canary policy` command in a child process, judged by its exit code (0: no mandatory violation).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../stack/load";

/** The outcome of one policy check. */
export interface PolicyVerdict {
    /** True when the check ran and exited 0. */
    passed: boolean;
    /** The command as a person would type it. */
    command: string;
    /** Its exit code; null when it could not be started or was killed. */
    exitCode: number | null;
    /** What it printed (stdout and stderr, in order). */
    output: string;
    /** Why it did not run to an exit code (spawn error, signal, timeout), if so. */
    error?: string;
}

/** Runs the policy check of one stack whose files are in `configDir`. */
export type PolicyRunner = (stack: string, configDir: string) => PolicyVerdict;

/** Options of cliPolicyRunner. */
export interface CliPolicyOptions {
    /** The repository whose cli/istio-canary.js runs the check. Default: this repository. */
    projectRoot?: string;
    /** Milliseconds before the check is killed. Default 15 minutes. */
    timeoutMs?: number;
}

/**
 * The real runner: `istio-canary policy --stack <stack> --config-dir <dir>` (node running the bin
 * of `projectRoot`), with stdout and stderr captured together in order.
 */
export function cliPolicyRunner(opts: CliPolicyOptions = {}): PolicyRunner {
    const cwd = opts.projectRoot ?? PROJECT_ROOT;
    const timeout = opts.timeoutMs ?? 15 * 60 * 1000;
    return (stack, configDir) => {
        const args = ["policy", "--stack", stack, "--config-dir", configDir];
        const command = `npx istio-canary ${args.join(" ")}`;
        const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "promote-policy-"));
        const logFile = path.join(tmpDir, "output.log");
        const fd = fs.openSync(logFile, "w");
        try {
            const child = spawnSync(process.execPath, [path.join(cwd, "cli", "istio-canary.js"), ...args], {
                cwd,
                stdio: ["ignore", fd, fd],
                timeout,
            });
            const output = fs.readFileSync(logFile, "utf8");
            let error: string | undefined;
            if ((child.error as NodeJS.ErrnoException | undefined)?.code === "ETIMEDOUT") {
                error = `${command} did not finish within ${timeout / 1000}s and was stopped`;
            } else if (child.error !== undefined) {
                error = `could not run ${command}: ${child.error.message}`;
            } else if (child.signal !== null) {
                error = `${command} was stopped by ${child.signal}`;
            }
            return { passed: child.status === 0 && error === undefined, command, exitCode: child.status, output, error };
        } finally {
            fs.closeSync(fd);
            fs.rmSync(tmpDir, { recursive: true, force: true });
        }
    };
}
