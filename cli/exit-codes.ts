/**
 * The exit codes of every `istio-canary` command: one table, the same meaning everywhere
 * (docs/cli.md "Exit codes"). Free of imports so any module (the rollout engine too) can use it.
 */
export const EXIT = {
    /** Done as asked: planned, policy passed, analysis passed, rollout completed/finalized/aborted, promotion written and checked. */
    ok: 0,
    /** The thing checked is bad: a mandatory policy violation, a failed analysis, a rolled-back canary, a promoted stack failing its policy check. */
    failed: 1,
    /** Bad usage or bad input (flags, stack config, stack files, policy config); nothing was changed. */
    usage: 2,
    /** No verdict or not finished: an inconclusive analysis, a rollout stopped by a failed apply (state saved; --resume continues). */
    incomplete: 3,
    /** A precondition was not met and nothing was changed: a lock held, a promotion not allowed, a rollout in the wrong state, no Pulumi CLI. */
    refused: 4,
    /** An internal error (a bug); its stack trace is printed. */
    internal: 70,
    /** Interrupted by SIGINT/SIGTERM; the state is saved. */
    interrupted: 130,
} as const;

/** One of the exit codes above. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * From the least to the most severe, for a command run on several stacks: a verdict (ok, failed)
 * says more than none (incomplete), which says more than a check that did not run (refused, bad
 * input), a bug or an interruption.
 */
const SEVERITY: readonly number[] = [EXIT.ok, EXIT.failed, EXIT.incomplete, EXIT.refused, EXIT.usage, EXIT.internal, EXIT.interrupted];

/** The worst of several exit codes (ok for none); a code not in the table counts as an internal error. */
export function worstExit(codes: readonly number[]): number {
    const rank = (c: number): number => (SEVERITY.includes(c) ? SEVERITY.indexOf(c) : SEVERITY.indexOf(EXIT.internal));
    return codes.reduce<number>((worst, c) => (rank(c) > rank(worst) ? c : worst), EXIT.ok);
}
