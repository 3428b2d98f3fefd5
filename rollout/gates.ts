/**
 * Answers to a rollout's approval gate. A waiting rollout holds the stack's lock, so
 * `rollout --approve` / `--reject` (another process) does not take it: it drops its answer into
 * `<state dir>/<stack>.answer.json` (written atomically), and the waiting rollout, which looks for
 * it every few seconds while it waits, takes it (reads and deletes it) and records it in its state.
 * An answer names the gate it answers (the step and when its wait began), so an answer left over
 * from an earlier gate never opens a later one. When no rollout is running, the answering command
 * continues the rollout itself (docs/rollout.md#gates).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../stack/atomic-write";

/** approve: the shift goes ahead; reject: roll back. */
export type GateAnswerKind = "approve" | "reject";

/** One answer to a gate. */
export interface GateAnswer {
    stack: string;
    /** The step index of the gate answered. */
    step: number;
    /** When that gate's wait began (GateRecord.since). */
    since: string;
    answer: GateAnswerKind;
    /** Who answered: user@host. */
    by: string;
    /** ISO timestamp of the answer. */
    at: string;
}

/** Where answers wait to be taken. */
export interface GateAnswerBox {
    /** Leaves an answer for the stack's waiting rollout (replacing an earlier one). */
    put(answer: GateAnswer): void;
    /** Takes the stack's answer, if there is one: returns it and removes it. A file that is not an answer is removed and reported as `invalid`. */
    take(stack: string): GateAnswer | { invalid: string } | undefined;
    /** Where the stack's answer is kept, for messages. */
    fileOf(stack: string): string;
}

/** Answers as files beside the state files. */
export class FileGateAnswerBox implements GateAnswerBox {
    constructor(readonly dir: string) {}

    fileOf(stack: string): string {
        return path.join(this.dir, `${stack}.answer.json`);
    }

    put(answer: GateAnswer): void {
        writeFileAtomic(this.fileOf(answer.stack), `${JSON.stringify(answer, null, 2)}\n`);
    }

    take(stack: string): GateAnswer | { invalid: string } | undefined {
        const file = this.fileOf(stack);
        let text: string;
        try {
            text = fs.readFileSync(file, "utf8");
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") {
                return undefined;
            }
            return { invalid: `cannot read ${file}: ${(e as Error).message}` };
        }
        fs.rmSync(file, { force: true });
        return parseGateAnswer(text, stack) ?? { invalid: `${file} is not an answer written by rollout --approve or --reject` };
    }
}

/** The answer in `text` for `stack`, or undefined when it is not one. Pure. */
export function parseGateAnswer(text: string, stack: string): GateAnswer | undefined {
    let v: unknown;
    try {
        v = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (typeof v !== "object" || v === null) {
        return undefined;
    }
    const a = v as Record<string, unknown>;
    const ok =
        a.stack === stack &&
        typeof a.step === "number" &&
        Number.isInteger(a.step) &&
        typeof a.since === "string" &&
        (a.answer === "approve" || a.answer === "reject") &&
        typeof a.by === "string" &&
        typeof a.at === "string";
    return ok ? (a as unknown as GateAnswer) : undefined;
}
