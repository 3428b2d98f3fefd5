/**
 * Whether the source stack's rollout record allows promoting the version it runs at 100%: the
 * stack file's weights say what runs, the rollout state (`.rollout/<stack>.json` and the states
 * archived beside it) says whether it got there through a completed, analysed rollout. A weight of
 * 100 alone is not evidence: a final shift that failed leaves the stack file at 0/100 with the
 * rollout still in progress.
 */
import * as path from "node:path";
import { where } from "../rollout/engine";
import { ArchivedState, FileStateStore, RolloutState } from "../rollout/state";
import { VersionEntry } from "../stack/edit";

/** What the record says: promote (with the sentence to print), or refuse (with the reason). */
export type RecordVerdict = { allowed: true; note: string } | { allowed: false; reason: string };

/** How the record is read and what the messages name. */
export interface RecordOptions {
    /** Source stack. */
    stack: string;
    /** Its version at 100%. */
    released: VersionEntry;
    /** The source's rollout states (current and archived). */
    store: FileStateStore;
    /** Promote on the stack file alone when no rollout of the version is recorded at all. */
    trustStackFile: boolean;
    /** The rollout command for the source stack as the person types it, e.g. `npx istio-canary rollout --stack dev`. */
    rolloutCommand: string;
}

/**
 * The record's verdict. The newest recorded rollout whose canary is the released version (same name,
 * and same image when the record has one) decides: completed or finalized allows it, anything else
 * (in progress, rolled back, aborted, an abort pending) refuses with its reason. With no such
 * rollout recorded it refuses unless `trustStackFile` is set. A state file that does not hold
 * against its schema throws StateFileError.
 */
export function checkRolloutRecord(opts: RecordOptions): RecordVerdict {
    const { stack, released, store } = opts;
    const current = store.load(stack);
    const all: ArchivedState[] = [
        ...(current !== undefined ? [{ file: store.fileOf(stack), state: current }] : []),
        ...store.loadArchived(stack),
    ];
    const same = (s: RolloutState) =>
        s.canary.name === released.name && (s.canary.image === undefined || s.canary.image === released.image);
    const record = all.find((a) => same(a.state));
    const version = `${released.name} (${released.image})`;
    if (record === undefined) {
        const seen = all.map((a) => `${a.state.canary.name}${a.state.canary.image !== undefined ? ` (${a.state.canary.image})` : ""}`);
        const where_ =
            all.length === 0
                ? `no ${store.fileOf(stack)} and no archived state`
                : `the rollouts recorded in ${store.dir} are of ${[...new Set(seen)].join(", ")}`;
        if (opts.trustStackFile) {
            return {
                allowed: true,
                note: `no rollout of ${version} is recorded for ${stack}; promoting on the stack file's weights alone (--trust-stack-file)`,
            };
        }
        return {
            allowed: false,
            reason:
                `no rollout of ${version} is recorded for ${stack} (${where_}), so nothing shows that it reached 100% through analysed steps. ` +
                `Roll it out there with ${quote(opts.rolloutCommand)}; or, if ${stack} was set to 100% by hand in a reviewed change or its rollout ran in another checkout, ` +
                `promote on the stack file's weights alone with --trust-stack-file`,
        };
    }
    const { state, file } = record;
    const at = state.outcome?.at ?? state.updatedAt;
    if (state.pending?.kind === "abort") {
        return refuse(
            `an abort of it is pending in ${file} (traffic going back to ${state.baseline.name}); finish it with ${quote(`${opts.rolloutCommand} --abort`)}, then roll ${released.name} out again`,
        );
    }
    switch (state.status) {
        case "completed":
        case "finalized":
            return {
                allowed: true,
                note: `${stack} completed the rollout of ${version}${state.status === "finalized" ? " and finalized it" : ""} at ${at}, recorded in ${path.normalize(file)}`,
            };
        case "in-progress":
            return refuse(
                `it is in-progress (${where(state)}), recorded in ${file}; finish it with ${quote(`${opts.rolloutCommand} --resume`)} first`,
            );
        case "rolled-back":
        case "aborted":
            return refuse(
                `it was ${state.status === "rolled-back" ? "rolled back" : "aborted"} (${state.outcome?.reason ?? state.status}) at ${at}, recorded in ${file}; ` +
                    `roll it out again with ${quote(opts.rolloutCommand)}, or, if that record is obsolete, move it aside and promote with --trust-stack-file`,
            );
    }

    function refuse(why: string): RecordVerdict {
        return { allowed: false, reason: `the rollout of ${released.name} in ${stack} has not completed: ${why}` };
    }
}

function quote(command: string): string {
    return `\`${command}\``;
}
