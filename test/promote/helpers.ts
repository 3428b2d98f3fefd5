import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The repository root, where the committed Pulumi.yaml and stack files are. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** A temporary directory with copies of Pulumi.yaml and the three committed stack files. */
export function tempProject(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "promote-"));
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"]) {
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    return dir;
}

/** Every file of a directory with its text: compared before and after to prove nothing changed. */
export function snapshot(dir: string): Record<string, string> {
    return Object.fromEntries(
        fs
            .readdirSync(dir)
            .sort()
            .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
    );
}

/** Reads one file of the directory. */
export function read(dir: string, name: string): string {
    return fs.readFileSync(path.join(dir, name), "utf8");
}

/** Replaces one exact piece of a file's text; fails loudly when the piece is not there. */
export function edit(dir: string, name: string, from: string, to: string): void {
    const text = read(dir, name);
    if (!text.includes(from)) {
        throw new Error(`${name} does not contain ${JSON.stringify(from)}`);
    }
    fs.writeFileSync(path.join(dir, name), text.replace(from, to));
}

/** dev after its rollout completed: v1 at 0, v2 at 100 (not yet finalized). */
export function completeDevRollout(dir: string): void {
    edit(dir, "Pulumi.dev.yaml", "      weight: 90\n", "      weight: 0\n");
    edit(dir, "Pulumi.dev.yaml", "      weight: 10\n", "      weight: 100\n");
}
