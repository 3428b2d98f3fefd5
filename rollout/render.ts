/**
 * How rollout events are shown: for a person, one line per applied change and per analysis (the
 * split, requests, 5xx ratio and p99 of both versions, and the decision) with a progress bar during
 * waits on a terminal; for machines (`--json`), one JSON object per line.
 */
import { AnalysisEvent, GateEvent, HookEvent, RolloutEvent, VersionStats } from "./types";
import { formatSplit } from "./weights";

/** Receives events and writes them somewhere. */
export interface Renderer {
    /** Shows one event. */
    emit(event: RolloutEvent): void;
    /** Stops timers and clears any transient line. */
    close(): void;
}

/** One JSON object per line, exactly the events the engine emits. */
export function jsonRenderer(out: (text: string) => void): Renderer {
    return {
        emit: (event) => out(`${JSON.stringify(event)}\n`),
        close: () => undefined,
    };
}

/** `1,234 req, 0.50% 5xx, p99 48 ms` for one version. */
export function formatStats(s: VersionStats): string {
    const ratio = s.errorRate === null ? "n/a" : `${(s.errorRate * 100).toFixed(2)}%`;
    const p99 = s.p99Ms === null ? "n/a" : `${Math.round(s.p99Ms)} ms`;
    return `${s.requests.toLocaleString("en-US")} req, ${ratio} 5xx, p99 ${p99}`;
}

/** `step 2/4` */
function stepLabel(step: number | undefined, total: number): string {
    return step === undefined ? "" : `step ${step + 1}/${total}`;
}

/**
 * The line of one analysis: step, split, both versions' numbers, the verdict and the decision.
 * e.g. `step 1/4  v1 90% / v2 10%  after 60s  v1: 1,083 req, 0.09% 5xx, p99 45 ms | v2: 120 req, 0.00% 5xx, p99 47 ms  -> pass: promote`
 */
export function formatAnalysisLine(e: AnalysisEvent, totalSteps: number): string {
    const numbers = `${e.baseline.version}: ${formatStats(e.baseline)} | ${e.canary.version}: ${formatStats(e.canary)}`;
    let decision: string;
    if (e.waiting === "approval") {
        decision =
            e.verdict === "fail"
                ? `FAIL while waiting for approval: roll back; ${e.reasons.join("; ")}`
                : `${e.verdict} (waiting for approval)`;
    } else if (e.decision === "promote") {
        decision = "pass: promote";
    } else if (e.decision === "hold") {
        decision =
            `inconclusive (${e.canary.requests}/${e.maxStepRequests} canary requests, ${e.sinceSeconds}/${e.maxStepSeconds}s tolerated): hold; ` +
            e.reasons.join("; ");
    } else if (e.verdict === "fail") {
        decision = `FAIL: roll back; ${e.reasons.join("; ")}`;
    } else {
        decision =
            `inconclusive (${e.canary.requests} canary requests, ${e.sinceSeconds}s: past the tolerance of ${e.maxStepRequests} or ${e.maxStepSeconds}s): roll back; ` +
            e.reasons.join("; ");
    }
    return `${stepLabel(e.step, totalSteps)}  ${formatSplit(e.weights)}  after ${e.sinceSeconds}s  ${numbers}  -> ${decision}`;
}

/** Lines of output kept from a failed hook in the text output (the state keeps the whole tail). */
const HOOK_OUTPUT_LINES = 5;

/**
 * The line(s) of a finished hook: name, point, status with its exit or HTTP status, duration,
 * what its failure did, and for a failure the last lines of its output, indented.
 * e.g. `step 2/4  hook smoke (pre-step) FAILED: exited with status 3 (exit 3, 0.4s) -> roll back`
 */
export function formatHookLines(e: HookEvent, totalSteps: number): string {
    const where = e.step !== undefined ? `${stepLabel(e.step, totalSteps)}  ` : "";
    const code =
        e.httpStatus !== undefined
            ? `HTTP ${e.httpStatus}`
            : e.exitCode !== undefined && e.exitCode !== null
              ? `exit ${e.exitCode}`
              : e.signal
                ? `${e.signal}`
                : undefined;
    const time = e.durationMs !== undefined ? `${(e.durationMs / 1000).toFixed(1)}s` : undefined;
    const facts = [code, time].filter((x) => x !== undefined).join(", ");
    const ok = e.status === "succeeded";
    const status = ok ? "succeeded" : `${(e.status ?? "failed").toUpperCase()}${e.error !== undefined ? `: ${e.error}` : ""}`;
    const then =
        e.then === "rolled-back"
            ? " -> roll back"
            : e.then === "held"
              ? " -> hold"
              : e.then === "continued"
                ? " -> continue (onFailure: continue)"
                : "";
    const head = `${where}hook ${e.hook} (${e.point}) ${status}${facts !== "" ? ` (${facts})` : ""}${then}`;
    if (ok || e.output === undefined || e.output.trim() === "") {
        return head;
    }
    const lines = e.output.trimEnd().split("\n").slice(-HOOK_OUTPUT_LINES);
    return [head, ...lines.map((l) => `    | ${l}`)].join("\n");
}

/** The line of a gate: what it waits for and how to answer, or who answered. */
export function formatGateLine(e: GateEvent, totalSteps: number): string {
    const label = stepLabel(e.step, totalSteps);
    if (e.status === "waiting") {
        return `${label}  WAITING for ${e.waitingFor}. Approve with ${e.approve}, or roll back with ${e.reject}`;
    }
    return `${label}  ${e.status} by ${e.by ?? "unknown"}`;
}

/** `[##########----------]` for a fraction from 0 to 1. */
export function progressBar(fraction: number, width = 24): string {
    const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
    const done = Math.round(f * width);
    return `[${"#".repeat(done)}${"-".repeat(width - done)}]`;
}

/** Options of the human renderer. */
export interface HumanRendererOptions {
    /** Writes text (standard output). */
    out: (text: string) => void;
    /** Draw the transient progress line (only on a terminal). */
    tty: boolean;
    /** Wall clock for the progress bar. Default Date.now. */
    now?: () => number;
    /** Redraw interval of the progress bar in ms. Default 500. */
    refreshMs?: number;
}

const CLEAR_LINE = "\r\x1b[K";

/** Lines for a person; on a terminal a progress line during waits and applies, redrawn in place. */
export function humanRenderer(opts: HumanRendererOptions): Renderer {
    const now = opts.now ?? Date.now;
    let totalSteps = 0;
    let timer: NodeJS.Timeout | undefined;
    let transient = false;

    const clear = (): void => {
        if (timer !== undefined) {
            clearInterval(timer);
            timer = undefined;
        }
        if (transient) {
            opts.out(CLEAR_LINE);
            transient = false;
        }
    };
    const live = (draw: () => string): void => {
        if (!opts.tty) {
            return;
        }
        const paint = () => {
            opts.out(`${CLEAR_LINE}${draw()}`);
            transient = true;
        };
        paint();
        timer = setInterval(paint, opts.refreshMs ?? 500);
        timer.unref();
    };
    const line = (text: string): void => {
        clear();
        opts.out(`${text}\n`);
    };

    return {
        emit(e: RolloutEvent): void {
            switch (e.type) {
                case "start": {
                    totalSteps = e.steps.length;
                    const steps = e.steps.map((s) => `${s}%`).join(" -> ");
                    if (e.mode === "start") {
                        line(
                            `rollout of ${e.canary} on stack ${e.stack} (baseline ${e.baseline}): ${steps}; ` +
                                `wait ${e.waitSeconds}s after each shift, re-analyse every ${e.analysisIntervalSeconds}s, roll back a step without a verdict after ${e.maxStepRequests} canary requests or ${e.maxStepSeconds}s`,
                        );
                    } else if (e.mode === "resume") {
                        line(
                            `resuming the rollout of ${e.canary} on stack ${e.stack} (baseline ${e.baseline}) at step ${Math.min(e.step, totalSteps - 1) + 1}/${totalSteps}: ${steps}`,
                        );
                    } else if (e.mode === "abort") {
                        line(`aborting on stack ${e.stack}: all traffic to ${e.baseline}`);
                    } else {
                        line(`finalizing on stack ${e.stack}: removing ${e.baseline}, ${e.canary} stays`);
                    }
                    break;
                }
                case "apply": {
                    clear();
                    const began = now();
                    const what = e.remove !== undefined ? `removing ${e.remove}` : `applying ${formatSplit(e.weights ?? {})}`;
                    live(() => `${stepLabel(e.step, totalSteps) || e.action}  ${what} (pulumi up) ${Math.round((now() - began) / 1000)}s`);
                    break;
                }
                case "applied": {
                    const what =
                        e.remove !== undefined
                            ? `removed ${e.remove}`
                            : `${e.action === "shift" ? "applied" : e.action === "prepare" ? "deployed the canary for the pre-rollout hooks:" : e.action === "rollback" ? "rolled back to" : "aborted to"} ${formatSplit(e.weights ?? {})}`;
                    line(`${stepLabel(e.step, totalSteps) || e.action}  ${what}  (${(e.durationMs / 1000).toFixed(1)}s)`);
                    break;
                }
                case "apply-failed":
                    line(
                        `${stepLabel(e.step, totalSteps) || e.action}  APPLY FAILED  ${e.remove !== undefined ? `removing ${e.remove}` : formatSplit(e.weights ?? {})}: ${e.error}`,
                    );
                    break;
                case "wait": {
                    clear();
                    const began = now();
                    const doneBefore = e.totalSeconds - e.seconds;
                    const why = e.reason === "settle" ? "letting traffic settle after the shift" : "waiting for more data";
                    live(() => {
                        const elapsed = Math.min(e.totalSeconds, doneBefore + (now() - began) / 1000);
                        return `${stepLabel(e.step, totalSteps)}  ${progressBar(e.totalSeconds === 0 ? 1 : elapsed / e.totalSeconds)} ${Math.floor(elapsed)}s/${e.totalSeconds}s ${why}`;
                    });
                    break;
                }
                case "analysis":
                    line(formatAnalysisLine(e, totalSteps));
                    break;
                case "hook": {
                    if (e.phase === "finished") {
                        line(formatHookLines(e, totalSteps));
                        break;
                    }
                    clear();
                    const began = now();
                    const label = e.step !== undefined ? `${stepLabel(e.step, totalSteps)}  ` : "";
                    live(() => `${label}hook ${e.hook} (${e.point}) running ${Math.round((now() - began) / 1000)}s`);
                    break;
                }
                case "gate":
                    line(formatGateLine(e, totalSteps));
                    break;
                case "end":
                    line(e.outcome === "refused" ? `refused: ${e.message}` : e.message);
                    break;
            }
        },
        close: clear,
    };
}
