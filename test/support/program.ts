import { RawConfig } from "../../config/validate";
import { OfflineRun, RecordedResource, runProgramOffline, runStackOffline } from "../../offline/run";
import { loadStackConfig } from "../../stack/load";

/** Runs the program with a stack file's config plus top-level key overrides. */
export async function runWith(overrides: RawConfig = {}, stack = "dev", opts: { preview?: boolean } = {}): Promise<OfflineRun> {
    const raw = { ...loadStackConfig(stack).raw, ...overrides };
    return runProgramOffline(raw, { stack, preview: opts.preview });
}

/** Runs one committed stack. */
export function runStack(stack: string): Promise<OfflineRun> {
    return runStackOffline(stack);
}

/** All custom resources whose type token ends with `suffix`, e.g. ":Deployment". */
export function ofType(run: OfflineRun, suffix: string): RecordedResource[] {
    return run.resources.filter((r) => r.type.endsWith(suffix) && r.custom);
}

/** The one resource of a type token suffix; throws when there are none or several. */
export function one(run: OfflineRun, suffix: string): RecordedResource {
    const found = ofType(run, suffix);
    if (found.length !== 1) {
        throw new Error(`expected one ${suffix}, found ${found.length}`);
    }
    return found[0];
}

/** URNs whose inputs differ between two runs, plus URNs added and removed (as `type::name`). */
export function diffRuns(a: OfflineRun, b: OfflineRun): { changed: string[]; added: string[]; removed: string[] } {
    const byUrn = (run: OfflineRun) => new Map(run.resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
    const x = byUrn(a);
    const y = byUrn(b);
    const short = (urn: string) =>
        urn
            .split("::")
            .slice(-2)
            .map((p) => p.replace(/^.*\$/, ""))
            .join("::");
    return {
        changed: [...x.keys()]
            .filter((k) => y.has(k) && y.get(k) !== x.get(k))
            .map(short)
            .sort(),
        added: [...y.keys()]
            .filter((k) => !x.has(k))
            .map(short)
            .sort(),
        removed: [...x.keys()]
            .filter((k) => !y.has(k))
            .map(short)
            .sort(),
    };
}
