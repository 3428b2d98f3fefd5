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

/** Every file of a directory and its subdirectories (`.rollout/dev.json`) with its text: compared before and after to prove nothing changed. */
export function snapshot(dir: string): Record<string, string> {
    return Object.fromEntries(
        (fs.readdirSync(dir, { recursive: true }) as string[])
            .filter((f) => fs.statSync(path.join(dir, f)).isFile())
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

/** dev after its rollout completed: v1 at 0, v2 at 100 (not yet finalized), and the rollout's record saying so. */
export function completeDevRollout(dir: string): void {
    edit(dir, "Pulumi.dev.yaml", "      weight: 90\n", "      weight: 0\n");
    edit(dir, "Pulumi.dev.yaml", "      weight: 10\n", "      weight: 100\n");
    recordRollout(
        dir,
        "dev",
        "completed",
        { name: "v1", image: "jamaldevsecops/myapp:v1" },
        { name: "v2", image: "jamaldevsecops/myapp:v2" },
    );
}

/** A version as a rollout record names it. */
interface RecordedVersion {
    name: string;
    image: string;
}

/**
 * Writes `<dir>/.rollout/<stack>.json` as the rollout engine leaves it after a rollout of `canary`
 * that completed (both versions still listed) or was finalized (the baseline removed): steps 10 and
 * 100, the first promoted by a passing analysis.
 */
export function recordRollout(
    dir: string,
    stack: string,
    status: "completed" | "finalized",
    baseline: RecordedVersion,
    canary: RecordedVersion,
): void {
    const at = (minute: number) => `2025-01-01T12:${String(minute).padStart(2, "0")}:00.000Z`;
    const split = (c: number) => ({ [baseline.name]: 100 - c, [canary.name]: c });
    const stats = (version: string) => ({ version, requests: 500, errors: 0, errorRate: 0, p99Ms: 40 });
    const state = {
        format: 1,
        stack,
        baseline,
        canary,
        plan: { steps: [10, 100], waitSeconds: 60, analysisIntervalSeconds: 15, maxStepRequests: 1000, maxStepSeconds: 600 },
        status,
        current: 1,
        steps: [
            {
                canaryWeight: 10,
                weights: split(10),
                appliedAt: at(0),
                analyses: [
                    {
                        at: at(1),
                        sinceSeconds: 60,
                        verdict: "pass",
                        result: { verdict: "pass", baseline: stats(baseline.name), canary: stats(canary.name), reasons: ["within limits"] },
                    },
                ],
                decision: { at: at(1), decision: "promote", reason: "analysis passed" },
            },
            { canaryWeight: 100, weights: split(100), appliedAt: at(2), analyses: [] },
        ],
        applied: status === "completed" ? split(100) : { [canary.name]: 100 },
        from: split(0),
        pending: null,
        outcome: {
            at: at(status === "completed" ? 2 : 3),
            reason: status === "completed" ? `${canary.name} gets 100% of traffic` : `${baseline.name} removed`,
        },
        history: [],
        startedAt: at(0),
        updatedAt: at(3),
    };
    fs.mkdirSync(path.join(dir, ".rollout"), { recursive: true });
    fs.writeFileSync(path.join(dir, ".rollout", `${stack}.json`), `${JSON.stringify(state, null, 2)}\n`);
}
