/**
 * Rollout hooks: commands (an argv, never a shell string) and HTTP webhooks that a rollout runs at
 * named points (`rollout.hooks` in the stack's config, docs/rollout.md#hooks). This module runs one
 * hook and reports what happened; the engine decides when, records each run in the state and acts
 * on a failure.
 *
 * A command runs in a process group of its own, so that its timeout (or an interrupted rollout)
 * kills the whole group, children included: SIGTERM first, SIGKILL after a short grace. Its output
 * (standard output and error as they came) is kept as a bounded tail. A webhook is a POST of a JSON
 * body; a 2xx answer is success, anything else (another status, a refused connection, a timeout) is
 * a failure. The hook's URL is never put into a result: results go into the state file and the
 * output, and a URL may carry a token.
 */
import { spawn } from "node:child_process";
import axios from "axios";
import { Weights } from "./weights";

/** The points a hook can run at, in the order a rollout meets them. */
export const HOOK_POINTS = ["pre-rollout", "pre-step", "post-step", "rollback", "complete"] as const;
/** One of HOOK_POINTS. */
export type HookPoint = (typeof HOOK_POINTS)[number];

/** What a failed hook does (pre-rollout, pre-step and post-step hooks). */
export const HOOK_FAILURE_ACTIONS = ["rollback", "hold", "continue"] as const;
/** One of HOOK_FAILURE_ACTIONS. */
export type HookFailureAction = (typeof HOOK_FAILURE_ACTIONS)[number];

/** The points at which a failing hook changes the rollout (onFailure); at the others it is only recorded. */
export const GATING_HOOK_POINTS: readonly HookPoint[] = ["pre-rollout", "pre-step", "post-step"];

/** Most characters of a hook's output (or a webhook's answer) kept in the state and shown. */
export const HOOK_OUTPUT_TAIL = 2000;

/** One configured hook (validated: exactly one of command and url). */
export interface HookConfig {
    /** Unique among the stack's hooks; names the hook in the state and the output. */
    name: string;
    /** When it runs. */
    at: HookPoint;
    /** The program and its arguments, run without a shell. */
    command?: string[];
    /** An http(s) URL that receives a POST with the JSON body of HookContext. */
    url?: string;
    /** Seconds after which the hook is stopped and counts as failed. */
    timeoutSeconds: number;
    /** What a failure does at a gating point; ignored at rollback and complete. */
    onFailure: HookFailureAction;
}

/** What a hook is told (the webhook's body; the ISTIO_CANARY_* variables of a command). */
export interface HookContext {
    hook: string;
    at: HookPoint;
    stack: string;
    baseline: string;
    canary: string;
    /** The step it runs before (pre-step) or after (post-step). */
    step?: { index: number; total: number; canaryWeight: number };
    /** What the cluster routes while the hook runs. */
    split: Weights;
    /** The header route that reaches the canary whatever the weights (routing.headerRoute), when one is configured for it. */
    headerRoute?: { header: string; value: string };
}

/** How one run ended. */
export type HookStatus = "succeeded" | "failed" | "timed-out" | "interrupted";

/** What one run of a hook did. */
export interface HookResult {
    status: HookStatus;
    /** A command's exit code (null when a signal ended it). */
    exitCode?: number | null;
    /** The signal that ended a command. */
    signal?: string | null;
    /** A webhook's HTTP status. */
    httpStatus?: number;
    /** Wall time of the run. */
    durationMs: number;
    /** The last HOOK_OUTPUT_TAIL characters of its output (a webhook's answer body). */
    output: string;
    /** Why it could not run or what failed, one sentence (no URL). */
    error?: string;
}

/** Runs hooks; tests may substitute their own. */
export interface HookRunner {
    /**
     * Runs `hook` with `context`. Resolves with the result, never rejects. `signal` interrupts it (the
     * command's group is killed). `onStart` receives a command's pid as soon as it runs.
     */
    run(hook: HookConfig, context: HookContext, opts?: { signal?: AbortSignal; onStart?: (pid: number) => void }): Promise<HookResult>;
}

/** Options of the real runner. */
export interface ProcessHookRunnerOptions {
    /** Working directory of commands. Default: the current one. */
    cwd?: string;
    /** Milliseconds between SIGTERM and SIGKILL when a command is stopped. Default 2000. */
    killGraceMs?: number;
}

/** Keeps the last `max` characters of what is appended. */
export class Tail {
    private text = "";

    constructor(private readonly max = HOOK_OUTPUT_TAIL) {}

    push(chunk: string): void {
        this.text += chunk;
        if (this.text.length > this.max * 2) {
            this.text = this.text.slice(-this.max);
        }
    }

    toString(): string {
        return this.text.length > this.max ? this.text.slice(-this.max) : this.text;
    }
}

/** The environment a command hook gets on top of the rollout's own: ISTIO_CANARY_* from the context. Pure. */
export function hookEnvironment(context: HookContext): Record<string, string> {
    const env: Record<string, string> = {
        ISTIO_CANARY_HOOK: context.hook,
        ISTIO_CANARY_AT: context.at,
        ISTIO_CANARY_STACK: context.stack,
        ISTIO_CANARY_BASELINE: context.baseline,
        ISTIO_CANARY_CANARY: context.canary,
        ISTIO_CANARY_SPLIT: JSON.stringify(context.split),
    };
    if (context.step !== undefined) {
        env.ISTIO_CANARY_STEP = String(context.step.index + 1);
        env.ISTIO_CANARY_STEPS = String(context.step.total);
        env.ISTIO_CANARY_CANARY_WEIGHT = String(context.step.canaryWeight);
    }
    if (context.headerRoute !== undefined) {
        env.ISTIO_CANARY_HEADER = context.headerRoute.header;
        env.ISTIO_CANARY_HEADER_VALUE = context.headerRoute.value;
    }
    return env;
}

/** Kills a process group, ignoring one that is gone already. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pid, signal);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ESRCH") {
            throw e;
        }
    }
}

/** Runs commands with child_process and webhooks with axios. */
export class ProcessHookRunner implements HookRunner {
    constructor(private readonly opts: ProcessHookRunnerOptions = {}) {}

    run(hook: HookConfig, context: HookContext, opts: { signal?: AbortSignal; onStart?: (pid: number) => void } = {}): Promise<HookResult> {
        return hook.command !== undefined
            ? this.runCommand(hook, hook.command, context, opts)
            : this.runWebhook(hook, hook.url ?? "", context, opts);
    }

    private runCommand(
        hook: HookConfig,
        argv: string[],
        context: HookContext,
        opts: { signal?: AbortSignal; onStart?: (pid: number) => void },
    ): Promise<HookResult> {
        const began = performance.now();
        const tail = new Tail();
        const grace = this.opts.killGraceMs ?? 2000;
        return new Promise<HookResult>((resolve) => {
            if (opts.signal?.aborted) {
                resolve({ status: "interrupted", durationMs: 0, output: "", error: "the rollout was interrupted before the hook started" });
                return;
            }
            const child = spawn(argv[0], argv.slice(1), {
                cwd: this.opts.cwd,
                env: { ...process.env, ...hookEnvironment(context) },
                stdio: ["ignore", "pipe", "pipe"],
                // A group of its own: a timeout kills the command and everything it started.
                detached: true,
            });
            let stopped: "timed-out" | "interrupted" | undefined;
            let settled = false;
            let killTimer: NodeJS.Timeout | undefined;
            const finish = (result: Omit<HookResult, "durationMs" | "output">): void => {
                if (settled) {
                    return;
                }
                settled = true;
                clearTimeout(timer);
                clearTimeout(killTimer);
                opts.signal?.removeEventListener("abort", onAbort);
                resolve({ ...result, durationMs: Math.round(performance.now() - began), output: tail.toString() });
            };
            const stop = (why: "timed-out" | "interrupted"): void => {
                if (stopped !== undefined || child.pid === undefined) {
                    return;
                }
                stopped = why;
                killGroup(child.pid, "SIGTERM");
                killTimer = setTimeout(() => killGroup(child.pid!, "SIGKILL"), grace);
            };
            const onAbort = (): void => stop("interrupted");
            const timer = setTimeout(() => stop("timed-out"), hook.timeoutSeconds * 1000);
            opts.signal?.addEventListener("abort", onAbort, { once: true });
            child.stdout.setEncoding("utf8").on("data", (d: string) => tail.push(d));
            child.stderr.setEncoding("utf8").on("data", (d: string) => tail.push(d));
            child.on("spawn", () => {
                if (child.pid !== undefined) {
                    opts.onStart?.(child.pid);
                }
            });
            child.on("error", (e) => {
                finish({ status: "failed", exitCode: null, error: `${argv[0]} could not be run: ${e.message}` });
            });
            child.on("exit", (code, signal) => {
                if (stopped !== undefined && child.pid !== undefined) {
                    // Whatever the command left running in its group goes with it.
                    killGroup(child.pid, "SIGKILL");
                }
                // Output still buffered in the pipes arrives before "close"; a grandchild holding them open does not delay the result.
                const done = (): void =>
                    finish(
                        stopped === "timed-out"
                            ? { status: "timed-out", exitCode: code, signal, error: `killed after its timeout of ${hook.timeoutSeconds}s` }
                            : stopped === "interrupted"
                              ? { status: "interrupted", exitCode: code, signal, error: "killed because the rollout was interrupted" }
                              : code === 0
                                ? { status: "succeeded", exitCode: 0, signal: null }
                                : {
                                      status: "failed",
                                      exitCode: code,
                                      signal,
                                      error: code === null ? `ended by ${signal ?? "a signal"}` : `exited with status ${code}`,
                                  },
                    );
                const drain = setTimeout(done, 200);
                child.on("close", () => {
                    clearTimeout(drain);
                    done();
                });
            });
        });
    }

    private async runWebhook(hook: HookConfig, url: string, context: HookContext, opts: { signal?: AbortSignal }): Promise<HookResult> {
        const began = performance.now();
        const ms = hook.timeoutSeconds * 1000;
        const signals = [AbortSignal.timeout(ms), ...(opts.signal !== undefined ? [opts.signal] : [])];
        const signal = AbortSignal.any(signals);
        const elapsed = () => Math.round(performance.now() - began);
        try {
            const response = await axios.post<string>(url, context, {
                timeout: ms,
                signal,
                headers: { "content-type": "application/json", "user-agent": "istio-canary-rollout" },
                responseType: "text",
                transformResponse: (d: unknown) => d,
                validateStatus: () => true,
                maxRedirects: 0,
                maxContentLength: 1024 * 1024,
            });
            const body = typeof response.data === "string" ? response.data : String(response.data ?? "");
            const tail = new Tail();
            tail.push(body);
            const ok = response.status >= 200 && response.status < 300;
            return {
                status: ok ? "succeeded" : "failed",
                httpStatus: response.status,
                durationMs: elapsed(),
                output: tail.toString(),
                ...(ok ? {} : { error: `answered HTTP ${response.status}` }),
            };
        } catch (e) {
            if (opts.signal?.aborted === true) {
                return { status: "interrupted", durationMs: elapsed(), output: "", error: "cancelled because the rollout was interrupted" };
            }
            const code = (e as { code?: string }).code;
            if (signals[0].aborted || code === "ECONNABORTED" || code === "ETIMEDOUT") {
                return {
                    status: "timed-out",
                    durationMs: elapsed(),
                    output: "",
                    error: `no answer within its timeout of ${hook.timeoutSeconds}s`,
                };
            }
            return { status: "failed", durationMs: elapsed(), output: "", error: `the request failed: ${webhookError(e)}` };
        }
    }
}

/** A request error without the URL (it may hold a token): the system error code and its message's first part. */
function webhookError(e: unknown): string {
    const err = e as { code?: string; message?: string; cause?: { code?: string } };
    const code = err.code ?? err.cause?.code;
    const message = (err.message ?? String(e)).replace(/https?:\/\/\S+/g, "<url>");
    return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
