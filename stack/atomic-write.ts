import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { StackFileError } from "./load";

/**
 * Writes a file so that readers see either the old or the new content, never a part: the text
 * goes to a temporary file in the same directory (created when missing), is flushed to disk, then
 * renamed over the file. The file's permission bits are kept. Used for stack files and rollout
 * state alike. Throws StackFileError naming the file when it cannot be written; the temporary file
 * is removed. `beforeRename` exists for tests that interrupt a write.
 */
export function writeFileAtomic(file: string, text: string, hooks: { beforeRename?: (tmp: string) => void } = {}): void {
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
    let mode = 0o644;
    try {
        fs.mkdirSync(dir, { recursive: true });
        if (fs.existsSync(file)) {
            mode = fs.statSync(file).mode & 0o777;
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
        fs.renameSync(tmp, file);
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
