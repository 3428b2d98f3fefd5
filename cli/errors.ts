import { ConfigError } from "../config/check";
import { StackFileError } from "../stack/load";

/** A usage error: printed as is, exits with EXIT.usage. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** True for Pulumi's RunError (printed without a stack trace) and for our ConfigError. */
export function isRunError(e: unknown): boolean {
    return (
        e instanceof ConfigError ||
        (e instanceof Error && (e.name === "RunError" || (e as { __pulumiRunError?: boolean }).__pulumiRunError === true))
    );
}

/**
 * The message a command prints for an error: config, stack-file, usage and Pulumi RunErrors are the
 * user's to fix and print without a stack trace; anything else is a bug and keeps its stack.
 */
export function describeError(e: unknown): { message: string; expected: boolean } {
    if (e instanceof StackFileError || e instanceof UsageError || isRunError(e)) {
        return { message: (e as Error).message, expected: true };
    }
    return { message: e instanceof Error ? (e.stack ?? e.message) : String(e), expected: false };
}
