/**
 * The rollout's persistent state and the lock that keeps one rollout per stack.
 *
 * State lives in `<dir>/<stack>.json` (default dir: `.rollout/` in the project root, gitignored)
 * and is rewritten atomically (temp file, fsync, rename) after every action, so a rollout stopped
 * at any point (Ctrl-C, kill, a failed `pulumi up`) resumes from the last completed action.
 * Every load checks the file against its schema (rollout/state-schema.ts) and refuses one that was
 * edited or is incomplete. The lock is `<dir>/<stack>.lock`, created with an atomic link so exactly
 * one process holds it; it records the holder's pid with its start time and command line, so a pid
 * reused by an unrelated process is not mistaken for the holder.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { writeFileAtomic } from "../stack/atomic-write";
import { stateProblems } from "./state-schema";
import { STEP_TOLERANCE_DEFAULTS } from "./tolerance";
import type { RollbackCause } from "./events";
import type { HookPoint, HookResult } from "./hooks";
import { ActionKind, Judgement, Verdict } from "./types";
import { Weights } from "./weights";

/**
 * Version of the state file's format this version writes. 2 added hook runs, gates and the plan's
 * gated steps; 3 replaced the plan's `maxInconclusive` (a count of looks) by `maxStepRequests` and
 * `maxStepSeconds`. An older file is read, given the default tolerances (upgradeState), and saved as 3.
 */
export const STATE_FORMAT = 3;

/** The formats a state file may have and still be read. */
export const READABLE_STATE_FORMATS = [1, 2, 3] as const;

/**
 * A rollout started before format 3 carries `plan.maxInconclusive`; it goes on under the default
 * tolerances in canary requests and seconds (docs/configuration.md), which replaced it. Returns the
 * value changed in place; anything that is not such a file is returned as it is, for the schema check.
 */
export function upgradeState(value: unknown): unknown {
    if (typeof value !== "object" || value === null) {
        return value;
    }
    const s = value as { format?: unknown; plan?: unknown };
    if ((s.format === 1 || s.format === 2) && typeof s.plan === "object" && s.plan !== null) {
        const plan = s.plan as Record<string, unknown>;
        if (plan.maxStepRequests === undefined && plan.maxStepSeconds === undefined) {
            delete plan.maxInconclusive;
            plan.maxStepRequests = STEP_TOLERANCE_DEFAULTS.maxStepRequests;
            plan.maxStepSeconds = STEP_TOLERANCE_DEFAULTS.maxStepSeconds;
        }
    }
    return value;
}

/** Lifecycle of a rollout. Only `in-progress` can be resumed; only `completed` can be finalized. */
export type RolloutStatus = "in-progress" | "completed" | "rolled-back" | "aborted" | "finalized";

/** A traffic change that was started and not yet confirmed; --resume applies it again. */
export interface PendingAction {
    kind: ActionKind;
    /** Step index of a shift. */
    step?: number;
    /** Weights to apply (shift, rollback, abort). */
    weights?: Weights;
    /** Version to remove (finalize). */
    remove?: string;
    /** Why (a rollback's or abort's reason). */
    reason?: string;
    /** What caused a rollback (absent in files from before it was recorded: a failed analysis). */
    cause?: RollbackCause;
    /** When it was first started. */
    startedAt: string;
    /** Failed attempts so far. */
    failures: number;
}

/** One analysis of a step with its evidence. */
export interface AnalysisRecord {
    at: string;
    /** Seconds since the step's traffic shift: the window analysed. */
    sinceSeconds: number;
    verdict: Verdict;
    /** The judge's whole answer (counts, ratios, p99s, reasons, test statistics). */
    result: Judgement;
}

/** What was decided at the end of a step. */
export interface StepDecision {
    at: string;
    decision: "promote" | "rollback";
    reason: string;
}

/** One step of the plan and what happened in it. */
export interface StepRecord {
    /** Canary weight of this step. */
    canaryWeight: number;
    /** Weights applied for it. */
    weights: Weights;
    /** When its weights were applied: the traffic shift the analysis window starts at. */
    appliedAt?: string;
    /** Every analysis in this step, in order. */
    analyses: AnalysisRecord[];
    decision?: StepDecision;
}

/** An entry of the append-only history: every action and decision, with a timestamp. */
export interface HistoryEntry {
    at: string;
    /** What happened, e.g. `apply-started`, `applied`, `apply-failed`, `analysis`, `interrupted`. */
    event: string;
    /** Free-form details (weights, error, verdict). */
    detail?: Record<string, unknown>;
}

/**
 * One run of a hook. Saved as `running` before the hook starts and rewritten when it ends, so a run
 * cut short by a killed rollout is found by --resume (which marks it `interrupted`, kills what is
 * left of its process group, and runs the hook again).
 */
export interface HookRunRecord extends Partial<Omit<HookResult, "status">> {
    /** The hook's name. */
    hook: string;
    at: HookPoint;
    /** Step index of a pre-step or post-step hook. */
    step?: number;
    kind: "command" | "webhook";
    status: HookResult["status"] | "running";
    startedAt: string;
    finishedAt?: string;
    /** What the failure did: the rollout continued, held, or rolled back (absent for a success). */
    then?: "continued" | "held" | "rolled-back";
    /** A command's pid and its start time as the kernel counts it (to recognise it after a kill of the rollout). */
    pid?: number;
    pidStartTime?: string;
}

/** An analysis made while a gate waited (the numbers only; the state keeps the last GATE_ANALYSES_KEPT). */
export interface GateAnalysisRecord {
    at: string;
    sinceSeconds: number;
    verdict: Verdict;
    canary: { requests: number; errors: number; errorRate: number | null; p99Ms: number | null };
    baseline: { requests: number; errors: number; errorRate: number | null; p99Ms: number | null };
    reasons: string[];
}

/** Analyses kept per gate (the count of all of them is kept too). */
export const GATE_ANALYSES_KEPT = 50;

/** A step that needs approval before its shift: when it began waiting and how it was answered. */
export interface GateRecord {
    /** Index of the step whose shift waits. */
    step: number;
    status: "waiting" | "approved" | "rejected";
    /** When the wait began; an answer names it, so an answer to an earlier gate cannot open this one. */
    since: string;
    answeredAt?: string;
    /** Who answered (user@host, as the answering command recorded it). */
    by?: string;
    /** Analyses made while it waited, the last GATE_ANALYSES_KEPT of them. */
    analyses: GateAnalysisRecord[];
    /** All analyses made while it waited. */
    analysisCount: number;
}

/** Everything the rollout needs to continue after an interruption, and its audit trail. */
export interface RolloutState {
    /** 2 when written by this version; 1 in files written before hooks and gates (read as they are). */
    format: (typeof READABLE_STATE_FORMATS)[number];
    stack: string;
    baseline: { name: string; image?: string };
    canary: { name: string; image?: string };
    /** The plan as it was when the rollout started; a resume follows it even if config changed since. */
    plan: {
        steps: number[];
        waitSeconds: number;
        analysisIntervalSeconds: number;
        maxStepRequests: number;
        maxStepSeconds: number;
        /** Indexes of the steps whose shift waits for --approve (absent: none). */
        approve?: number[];
    };
    status: RolloutStatus;
    /** Index of the current step in `plan.steps`. */
    current: number;
    /** One record per step reached so far. */
    steps: StepRecord[];
    /** The weights last confirmed applied, or null before the first apply. */
    applied: Weights | null;
    /**
     * The stack's weights when the rollout started (before its first apply): what the stack file may
     * still hold while `applied` is null. Absent in files written before it was recorded.
     */
    from?: Weights;
    /** A traffic change started and not confirmed, or null. */
    pending: PendingAction | null;
    /** How it ended (for a terminal status). */
    outcome?: { at: string; reason: string };
    history: HistoryEntry[];
    /** Every hook run, in order (absent: none yet). */
    hooks?: HookRunRecord[];
    /** Every gate reached, in order (absent: none yet). */
    gates?: GateRecord[];
    /** rollback or complete: the hooks of that point are still to run (set with the status, cleared when they ran). */
    hooksDue?: "rollback" | "complete";
    startedAt: string;
    updatedAt: string;
}

/** The state file is unreadable, belongs to something else, or does not hold against its schema. */
export class StateFileError extends Error {
    constructor(
        message: string,
        /** The state file. */
        readonly file: string,
        /** The schema's problems, when it was readable JSON that did not hold. */
        readonly problems: string[] = [],
    ) {
        super(message);
        this.name = "StateFileError";
    }
}

/**
 * Parses and checks a state file's text for `stack`; throws StateFileError naming the file, every
 * problem, and that the file should be moved aside. Pure apart from the message's file name.
 */
export function parseState(text: string, file: string, stack: string): RolloutState {
    let value: unknown;
    try {
        value = JSON.parse(text);
    } catch (e) {
        throw new StateFileError(
            `rollout state ${file} is not valid JSON (${(e as Error).message}); it cannot be trusted: inspect it and move it aside (mv ${file} ${file}.invalid)`,
            file,
        );
    }
    const problems = stateProblems(upgradeState(value), stack);
    if (problems.length > 0) {
        const shown = problems.slice(0, 8);
        throw new StateFileError(
            `rollout state ${file} is not valid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                shown.map((x) => `  - ${x}\n`).join("") +
                (problems.length > shown.length ? `  - ... and ${problems.length - shown.length} more\n` : "") +
                `It was edited or is incomplete, so it cannot be trusted and nothing was changed: inspect it and move it aside (mv ${file} ${file}.invalid)`,
            file,
            problems,
        );
    }
    const state = value as RolloutState;
    // A format-1 file has no hooks, gates or gated steps, and upgradeState gave older files the step
    // tolerances: either is now a format-3 state.
    state.format = STATE_FORMAT;
    return state;
}

/** Another process holds the stack's rollout lock. */
export class LockHeldError extends Error {
    constructor(
        message: string,
        /** The holder as recorded in the lock file. */
        readonly holder: LockInfo,
    ) {
        super(message);
        this.name = "LockHeldError";
    }
}

/** What a lock file records about its holder. */
export interface LockInfo {
    pid: number;
    hostname: string;
    /** ISO timestamp. */
    since: string;
    /** What the holder is doing (start, resume, abort, finalize). */
    command: string;
    /** The holder's start time as the kernel counts it (/proc/<pid>/stat field 22), where there is a /proc. */
    startTime?: string;
    /** The holder's command line (/proc/<pid>/cmdline, arguments joined by spaces), where there is a /proc. */
    cmdline?: string;
}

/** A held lock; release it when done. */
export interface Lock {
    readonly file: string;
    release(): void;
}

/** Where rollout state and locks are kept. */
export interface StateStore {
    /** The state of a stack's rollout, or undefined when there is none. Throws StateFileError for a bad file. */
    load(stack: string): RolloutState | undefined;
    /** Writes the state atomically. */
    save(state: RolloutState): void;
    /** Takes the stack's lock or throws LockHeldError; a lock whose process is gone is taken over. */
    lock(stack: string, command: string): Lock;
    /** Path of a stack's state file (for messages). */
    fileOf(stack: string): string;
    /** Keeps a finished rollout's state under another name before a new one replaces it; returns where. */
    archive(state: RolloutState): string;
}

/** A state kept by `archive`, with its file. */
export interface ArchivedState {
    file: string;
    state: RolloutState;
}

/** True when a process with this pid exists on this machine (EPERM means it exists but is not ours). */
export function processAlive(pid: number): boolean {
    if (!Number.isInteger(pid) || pid <= 0) {
        return false;
    }
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** The part of an archived state's name after `<stack>.`: its start time with `:` and `.` as `-`. */
const ARCHIVE_SUFFIX = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/;

/** State and locks as files in one directory. */
export class FileStateStore implements StateStore {
    /** @param dir directory of the state and lock files, created on first write. */
    constructor(readonly dir: string) {}

    fileOf(stack: string): string {
        return path.join(this.dir, `${stack}.json`);
    }

    private lockFileOf(stack: string): string {
        return path.join(this.dir, `${stack}.lock`);
    }

    load(stack: string): RolloutState | undefined {
        const file = this.fileOf(stack);
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") {
                return undefined;
            }
            throw new StateFileError(`cannot read rollout state ${file}: ${(e as Error).message}`, file);
        }
        return parseState(text, file, stack);
    }

    /**
     * The states `archive` kept for a stack (`<stack>.<start time>.json`), newest first, each checked
     * like the current one; throws StateFileError for one that does not hold.
     */
    loadArchived(stack: string): ArchivedState[] {
        let names: string[];
        try {
            names = fs.readdirSync(this.dir);
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") {
                return [];
            }
            throw new StateFileError(`cannot list rollout states in ${this.dir}: ${(e as Error).message}`, this.dir);
        }
        const prefix = `${stack}.`;
        return names
            .filter((n) => n.startsWith(prefix) && ARCHIVE_SUFFIX.test(n.slice(prefix.length)))
            .map((n) => {
                const file = path.join(this.dir, n);
                return { file, state: parseState(fs.readFileSync(file, "utf8"), file, stack) };
            })
            .sort((a, b) => Date.parse(b.state.startedAt) - Date.parse(a.state.startedAt));
    }

    save(state: RolloutState): void {
        writeFileAtomic(this.fileOf(state.stack), `${JSON.stringify(state, null, 2)}\n`);
    }

    archive(state: RolloutState): string {
        const file = path.join(this.dir, `${state.stack}.${state.startedAt.replace(/[:.]/g, "-")}.json`);
        writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`);
        return file;
    }

    lock(stack: string, command: string): Lock {
        const file = this.lockFileOf(stack);
        try {
            fs.mkdirSync(this.dir, { recursive: true });
        } catch (e) {
            throw new StateFileError(
                `cannot create the rollout state directory ${this.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); ` +
                    `make it a writable directory or remove what is in its way`,
                this.dir,
            );
        }
        const info: LockInfo = {
            pid: process.pid,
            hostname: os.hostname(),
            since: new Date().toISOString(),
            command,
            ...processIdentity(process.pid),
        };
        // Write the full record to a temp file, then link it into place: link fails if the lock
        // exists, so the lock file appears complete and exactly one process wins.
        const tmp = path.join(this.dir, `.${stack}.lock.${process.pid}.${Date.now()}.tmp`);
        fs.writeFileSync(tmp, JSON.stringify(info));
        try {
            for (let attempt = 0; attempt < 2; attempt++) {
                try {
                    fs.linkSync(tmp, file);
                    return { file, release: () => releaseLock(file, info) };
                } catch (e) {
                    if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
                        throw e;
                    }
                }
                const holder = readLock(file);
                if (holder === undefined) {
                    continue; // released between our link and our read
                }
                if (!isStale(holder)) {
                    const now = holder.hostname === os.hostname() ? processIdentity(holder.pid).cmdline : undefined;
                    throw new LockHeldError(
                        `a rollout of stack ${stack} is already running (pid ${holder.pid} on ${holder.hostname}` +
                            `${now !== undefined ? `: ${now}` : ""}, ${holder.command} since ${holder.since}); ` +
                            `wait for it or stop it (Ctrl-C in its terminal, or kill ${holder.pid}), then use --resume or --abort. ` +
                            `If that process is gone, delete ${file}`,
                        holder,
                    );
                }
                breakStaleLock(file, holder);
            }
            const holder = readLock(file);
            throw new LockHeldError(`could not take the lock ${file}; another process took it first`, holder ?? info);
        } finally {
            fs.rmSync(tmp, { force: true });
        }
    }
}

function readLock(file: string): LockInfo | undefined {
    try {
        const info = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
        return info;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            return undefined;
        }
        // Unreadable content: our locks are written whole, so this is not one of ours in progress.
        return { pid: -1, hostname: os.hostname(), since: "unknown", command: "unknown" };
    }
}

/**
 * Start time and command line of a process from /proc (Linux); empty where there is no /proc or
 * the process is gone. The start time is field 22 of /proc/<pid>/stat, read after the command name,
 * which is in parentheses and may itself contain spaces and parentheses.
 */
export function processIdentity(pid: number): { startTime?: string; cmdline?: string } {
    const identity: { startTime?: string; cmdline?: string } = {};
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields[0] is field 3 (state), so field 22 is fields[19].
        if (fields[19] !== undefined && /^\d+$/.test(fields[19])) {
            identity.startTime = fields[19];
        }
    } catch {
        // no /proc, or the process is gone
    }
    try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").split("\0").join(" ");
        if (cmdline !== "") {
            identity.cmdline = cmdline;
        }
    } catch {
        // as above
    }
    return identity;
}

/**
 * Whether the process a lock names is still its holder. On another host it cannot be checked, so it
 * is. On this host: not when the pid is gone; when the lock recorded a start time and /proc gives
 * one, they must be equal (a pid reused by another process starts later); otherwise the command
 * lines must be equal, or, for a lock that recorded neither, the process must be an istio-canary
 * command. Without /proc, a live pid is taken as the holder.
 */
export function holderAlive(
    holder: LockInfo,
    identity: (pid: number) => { startTime?: string; cmdline?: string } = processIdentity,
): boolean {
    if (holder.hostname !== os.hostname()) {
        return true;
    }
    if (!processAlive(holder.pid)) {
        return false;
    }
    const now = identity(holder.pid);
    if (holder.startTime !== undefined && now.startTime !== undefined) {
        return holder.startTime === now.startTime;
    }
    if (now.cmdline === undefined) {
        return true;
    }
    if (holder.cmdline !== undefined) {
        return holder.cmdline === now.cmdline;
    }
    return now.cmdline.includes("istio-canary");
}

/** A lock is stale when its holder is gone from this machine, or its pid now belongs to another process. */
function isStale(holder: LockInfo): boolean {
    return !holderAlive(holder);
}

/**
 * Removes a stale lock. It is renamed aside first and checked: if what was renamed is not the stale
 * holder we read (another process broke it and locked in between), it is put back.
 */
function breakStaleLock(file: string, stale: LockInfo): void {
    const aside = `${file}.stale.${process.pid}`;
    try {
        fs.renameSync(file, aside);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            return;
        }
        throw e;
    }
    const moved = readLock(aside);
    if (moved !== undefined && (moved.pid !== stale.pid || moved.since !== stale.since)) {
        try {
            fs.linkSync(aside, file);
        } catch {
            // someone else holds it now; either way the live holder keeps a lock file
        }
    }
    fs.rmSync(aside, { force: true });
}

function releaseLock(file: string, info: LockInfo): void {
    const holder = readLock(file);
    if (holder !== undefined && holder.pid === info.pid && holder.since === info.since) {
        fs.rmSync(file, { force: true });
    }
}
