/**
 * Decrypting a secret notification URL. The stack file holds it as ciphertext (`secure: v1:...`) that
 * only the stack's secrets provider can read (a passphrase, a cloud KMS key, or Pulumi Cloud), so it is
 * asked through the Pulumi CLI, as `pulumi up` would: `pulumi config get --path <key> --json --stack
 * <stack>` in the stack file's directory (the CLI then finds the project, the backend and the
 * provider as it does for that stack). The value stays in memory: it is never printed, logged or
 * saved, and a failure names the key and the target, never the value.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import { PROJECT } from "../config/check";
import { NotificationTarget } from "./types";

/** Runs the Pulumi CLI with `args` in `cwd`; resolves with its stdout, rejects with its stderr as the message. */
export type RunPulumi = (args: string[], cwd: string) => Promise<string>;

/** Runs `pulumi` (found on the PATH of `env`, default this process's environment), bounded to 60 s. */
export function pulumiRunner(env: NodeJS.ProcessEnv = process.env): RunPulumi {
    return (args, cwd) =>
        new Promise((resolve, reject) => {
            execFile("pulumi", args, { cwd, timeout: 60_000, maxBuffer: 1024 * 1024, env }, (error, stdout, stderr) => {
                if (error !== null) {
                    const code = (error as NodeJS.ErrnoException).code;
                    const text =
                        code === "ENOENT"
                            ? "the Pulumi CLI is not installed or not on PATH (https://www.pulumi.com/docs/iac/download-install/)"
                            : lastLines(String(stderr), 4) ||
                              (error.killed ? "pulumi config get did not answer within 60s" : "pulumi config get failed");
                    reject(new Error(text));
                    return;
                }
                resolve(String(stdout));
            });
        });
}

/** The Pulumi CLI on this process's PATH. */
export const runPulumiOnPath: RunPulumi = pulumiRunner();

function lastLines(text: string, n: number): string {
    return text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "")
        .slice(-n)
        .join(" / ");
}

/** Options of the resolver. */
export interface SecretUrlOptions {
    stack: string;
    /** The stack file (Pulumi.<stack>.yaml); the CLI runs in its directory, which holds Pulumi.yaml too. */
    stackFile: string;
    /** How the CLI is run. Default: `pulumi` on PATH. */
    run?: RunPulumi;
}

/**
 * The URL of a target: its plain URL as is, or its secret decrypted by the Pulumi CLI. Rejects with a
 * message naming the key and the target (and what the CLI said, which never holds the value).
 */
export function urlResolver(opts: SecretUrlOptions): (target: NotificationTarget) => Promise<string> {
    const run = opts.run ?? runPulumiOnPath;
    return async (target) => {
        if (typeof target.url === "string") {
            return target.url;
        }
        const key = `${PROJECT}:${target.url.secret}`;
        let out: string;
        try {
            out = await run(["config", "get", "--path", key, "--json", "--stack", opts.stack], path.dirname(opts.stackFile));
        } catch (e) {
            throw new Error(
                `cannot decrypt ${key} (target ${target.name}) with the stack's secrets provider: ${e instanceof Error ? e.message : String(e)}` +
                    ` (for a passphrase provider, set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE)`,
            );
        }
        let value: unknown;
        try {
            value = (JSON.parse(out) as { value?: unknown }).value;
        } catch {
            value = undefined;
        }
        if (typeof value !== "string" || !/^https?:\/\/[^\s/?#]+([/?#]\S*)?$/.test(value)) {
            throw new Error(`${key} (target ${target.name}) does not decrypt to an http(s) URL; the value is not shown`);
        }
        return value;
    };
}
