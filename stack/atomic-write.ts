import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { StackFileError } from "./errors";
import { processAlive, resolveTarget } from "./lock";

/** Age after which a temporary file is removed even when its pid is alive (a pid reused); a write takes milliseconds. */
const ORPHAN_AGE_MS = 60 * 60 * 1000;

/**
 * Writes a file so that readers see either the old or the new content, never a part: the text
 * goes to a temporary file in the same directory (created when missing), is flushed to disk, then
 * renamed over the file. The file's permission bits are kept. When the file is a symlink, the file
 * it points to is written and the link stays. Temporary files that killed writes of this file left
 * behind (their process is gone) are removed first. Used for stack files and rollout state alike.
 * Throws StackFileError naming the file when it cannot be written; the temporary file is removed.
 * `beforeRename` exists for tests that interrupt a write.
 */
export function writeFileAtomic(file: string, text: string, hooks: { beforeRename?: (tmp: string) => void } = {}): void {
    const target = resolveTarget(file);
    const dir = path.dirname(target);
    const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    createDirectory(file, dir);
    removeOrphans(target);
    let mode = 0o644;
    try {
        if (fs.existsSync(target)) {
            mode = fs.statSync(target).mode & 0o777;
        }
        const fd = fs.openSync(tmp, "wx", mode);
        try {
            fs.writeFileSync(fd, text);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.chmodSync(tmp, mode);
        hooks.beforeRename?.(tmp);
        fs.renameSync(tmp, target);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw new StackFileError(`could not write ${file}: ${(e as Error).message}`);
    }
    try {
        const dirFd = fs.openSync(dir, "r");
        try {
            fs.fsyncSync(dirFd);
        } finally {
            fs.closeSync(dirFd);
        }
    } catch {
        // Flushing the directory entry is best effort (not every platform allows opening a directory).
    }
}

/** Creates the file's directory when missing; says which directory and why when it cannot. */
function createDirectory(file: string, dir: string): void {
    try {
        fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        let existing = dir;
        while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
            existing = path.dirname(existing);
        }
        const why =
            code === "EEXIST" || code === "ENOTDIR"
                ? existing === dir
                    ? "a file of that name is in the way"
                    : `${existing} is a file, not a directory`
                : code === "EACCES" || code === "EPERM"
                  ? "permission denied"
                  : code === "EROFS"
                    ? "the file system is read-only"
                    : (e as Error).message;
        throw new StackFileError(`could not write ${file}: cannot create the directory ${dir}: ${why}`);
    }
}

/**
 * Removes the temporary files that writes (and locks, stack/lock.ts) of `target` left when their
 * process was killed: `.<name>.<pid>.<hex>.tmp` and `.<name>.lock.<pid>.<hex>[.stale].tmp` whose
 * pid is gone, or that are older than any write takes. Best effort: a file that cannot be removed
 * is left alone.
 */
function removeOrphans(target: string): void {
    const dir = path.dirname(target);
    const base = path.basename(target).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = new RegExp(`^\\.${base}\\.(?:lock\\.)?(\\d+)\\.[0-9a-f]+(?:\\.stale)?\\.tmp$`);
    let names: string[];
    try {
        names = fs.readdirSync(dir);
    } catch {
        return;
    }
    for (const name of names) {
        const m = pattern.exec(name);
        if (m === null) {
            continue;
        }
        const orphan = path.join(dir, name);
        try {
            const old = Date.now() - fs.statSync(orphan).mtimeMs > ORPHAN_AGE_MS;
            if (old || !processAlive(Number(m[1]))) {
                fs.rmSync(orphan, { force: true });
            }
        } catch {
            // gone already, or not ours to remove
        }
    }
}
