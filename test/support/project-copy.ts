/**
 * A copy of the project in a temporary directory: the top-level files, the stack files and every
 * directory the build compiles (cli/compiled.js SOURCE_DIRS), with node_modules linked to the
 * repository's. The bin runs and compiles there on its own, so a test (or the offline benchmark)
 * can edit a source without touching the repository.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_ROOT } from "../../stack/load";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SOURCE_DIRS } = require("../../cli/compiled.js") as { SOURCE_DIRS: string[] };

/** Copies the project into a new temporary directory and returns it; remove it when done. */
export function copyProject(prefix = "istio-canary-copy-"): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    for (const entry of fs.readdirSync(PROJECT_ROOT, { withFileTypes: true })) {
        if (entry.isFile()) {
            fs.copyFileSync(path.join(PROJECT_ROOT, entry.name), path.join(dir, entry.name));
        }
    }
    for (const sub of SOURCE_DIRS.filter((d) => fs.existsSync(path.join(PROJECT_ROOT, d)))) {
        fs.cpSync(path.join(PROJECT_ROOT, sub), path.join(dir, sub), {
            recursive: true,
            filter: (src) => path.basename(src) !== "node_modules",
        });
    }
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    return dir;
}
