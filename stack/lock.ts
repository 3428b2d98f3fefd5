/**
 * A lock around one stack file's read-modify-write, so two commands editing the same file (a
 * rollout's weight shift and a promotion, two rollouts, a rollout and its --abort) run one after
 * the other instead of one silently overwriting the other's change.
 *
 * The lock is `.<file name>.lock` next to the file (the symlink's target when the stack file is a
 * symlink), created whole with a hard link so exactly one process holds it. It is held only for
 * the milliseconds of an edit, never across `pulumi up`; a process that finds it held waits. A lock
 * whose holder died (same host, pid gone) or that is older than any edit takes is taken over.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StackFileError } from "./errors";

/** Options of withFileLock. */
export interface LockOptions {
    /** How long to wait for another process's edit to finish, in ms. Default 10000. */
    timeoutMs?: number;
    /** Age after which a lock is taken over whoever holds it, in ms (an edit takes milliseconds). Default 60000. */
    staleMs?: number;
}

/** What a lock file records about its holder. */
interface LockRecord {
    /** The holder's process id. */
    pid: number;
    /** The holder's host name. */
    hostname: string;
    /** When it took the lock (ISO 8601). */
    since: string;
    /** Unique per acquisition, so a holder only ever removes its own lock. */
    token: string;
}

/** The path of the file the edit really changes: a symlink's target, resolved. */
export function resolveTarget(file: string): string {
    try {
        return fs.realpathSync(file);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") {
            throw new StackFileError(`${file} cannot be resolved: ${(e as Error).message}`);
        }
        let link: fs.Stats | undefined;
        try {
            link = fs.lstatSync(file);
        } catch {
            link = undefined;
        }
        if (link?.isSymbolicLink() === true) {
            throw new StackFileError(`${file} is a symlink to ${fs.readlinkSync(file)}, which does not exist`);
        }
        return path.resolve(file);
    }
}

/** The lock file of a stack file. */
export function lockFileOf(file: string): string {
    const target = resolveTarget(file);
    return path.join(path.dirname(target), `.${path.basename(target)}.lock`);
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
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

function sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The holder recorded in a lock file; undefined when there is none; unreadable content is reported with pid -1. */
function readRecord(lock: string): { record: LockRecord; ageMs: number } | undefined {
    let text: string;
    let ageMs: number;
    try {
        ageMs = Date.now() - fs.statSync(lock).mtimeMs;
        text = fs.readFileSync(lock, "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            return undefined;
        }
        throw new StackFileError(`cannot read the lock ${lock}: ${(e as Error).message}`);
    }
    try {
        const r = JSON.parse(text) as LockRecord;
        if (typeof r.pid === "number" && typeof r.hostname === "string" && typeof r.token === "string") {
            return { record: r, ageMs };
        }
    } catch {
        // not one of ours: handled below
    }
    return { record: { pid: -1, hostname: "unknown", since: "unknown", token: "" }, ageMs };
}

function isStale(held: { record: LockRecord; ageMs: number }, staleMs: number): boolean {
    const { record, ageMs } = held;
    if (ageMs > staleMs) {
        return true;
    }
    // Our locks are linked into place whole; an unreadable one is not an edit in progress.
    if (record.pid === -1) {
        return ageMs > 1000;
    }
    return record.hostname === os.hostname() && !processAlive(record.pid);
}

/**
 * Removes a stale lock: renamed aside first, then checked; when what was moved is not the stale
 * holder that was read (another process took over in between and locked), it is put back.
 */
function breakStale(lock: string, stale: LockRecord): void {
    const aside = `${lock}.${process.pid}.${randomBytes(4).toString("hex")}.stale.tmp`;
    try {
        fs.renameSync(lock, aside);
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") {
            return;
        }
        throw new StackFileError(`cannot remove the stale lock ${lock}: ${(e as Error).message}`);
    }
    const moved = readRecord(aside);
    if (moved !== undefined && moved.record.token !== stale.token) {
        try {
            fs.linkSync(aside, lock);
        } catch {
            // someone holds it now; either way the live holder keeps a lock file
        }
    }
    fs.rmSync(aside, { force: true });
}

/**
 * Runs `body` while holding the lock of `file`, and releases it after, also when `body` throws.
 * Waits up to `timeoutMs` for another holder; then throws StackFileError naming it and the lock
 * file, having run nothing.
 */
export function withFileLock<T>(file: string, body: () => T, opts: LockOptions = {}): T {
    const lock = lockFileOf(file);
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const staleMs = opts.staleMs ?? 60_000;
    const record: LockRecord = {
        pid: process.pid,
        hostname: os.hostname(),
        since: new Date().toISOString(),
        token: randomBytes(8).toString("hex"),
    };
    // The record is written to a temporary file and linked into place: link fails when the lock
    // exists, so the lock appears complete and exactly one process wins.
    const tmp = `${lock}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    try {
        fs.writeFileSync(tmp, JSON.stringify(record), { flag: "wx" });
    } catch (e) {
        throw new StackFileError(`cannot lock ${file} for editing (${lock}): ${(e as Error).message}`);
    }
    const deadline = Date.now() + timeoutMs;
    let wait = 5;
    try {
        for (;;) {
            try {
                fs.linkSync(tmp, lock);
                break;
            } catch (e) {
                if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
                    throw new StackFileError(`cannot lock ${file} for editing (${lock}): ${(e as Error).message}`);
                }
            }
            const held = readRecord(lock);
            if (held === undefined) {
                continue; // released between our link and our read
            }
            if (isStale(held, staleMs)) {
                breakStale(lock, held.record);
                continue;
            }
            if (Date.now() >= deadline) {
                const { pid, hostname, since } = held.record;
                throw new StackFileError(
                    `${file} is being edited by another process (pid ${pid} on ${hostname}, since ${since}); nothing was written. ` +
                        `Run the command again when it is done; if that process is gone, delete ${lock}`,
                );
            }
            sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
            wait = Math.min(wait * 2, 100);
        }
    } finally {
        fs.rmSync(tmp, { force: true });
    }
    try {
        return body();
    } finally {
        const held = readRecord(lock);
        if (held !== undefined && held.record.token === record.token) {
            fs.rmSync(lock, { force: true });
        }
    }
}
