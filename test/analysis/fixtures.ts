import { DecisionSettings } from "../../analysis/decide";

/**
 * Shared fixtures of the analysis tests. The settings are the default limits with alpha 0.05, not
 * the module's default 0.02: the expected numbers of the decide tests (a threshold of 50 =
 * 1 / (0.05 * 0.4), for one) are worked out at 0.05. options.spec.ts checks the defaults.
 */

/** Decision settings used by the decide and calibration tests. */
export const SETTINGS: DecisionSettings = {
    maxErrorRate: 0.01,
    maxP99Ms: 200,
    minRequests: 50,
    alpha: 0.05,
    beta: 0.2,
    errorRateMargin: 0.01,
    latencyMargin: 0.25,
};

/** mulberry32: a seeded PRNG so the simulations are reproducible. */
export function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
