/** The real clock: wall time and a sleep that an AbortSignal cuts short. */
import { Clock } from "./types";

/** Wall-clock time; `sleep` rejects with an AbortError when the signal aborts. */
export const systemClock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
        new Promise<void>((resolve, reject) => {
            if (signal?.aborted) {
                reject(abortError());
                return;
            }
            const timer = setTimeout(
                () => {
                    signal?.removeEventListener("abort", onAbort);
                    resolve();
                },
                Math.max(0, ms),
            );
            const onAbort = () => {
                clearTimeout(timer);
                reject(abortError());
            };
            signal?.addEventListener("abort", onAbort, { once: true });
        }),
};

function abortError(): Error {
    const e = new Error("the wait was interrupted");
    e.name = "AbortError";
    return e;
}
