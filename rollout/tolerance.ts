/**
 * How long a step may stay without a verdict before it is rolled back, in evidence and time rather
 * than looks (issue 13): a healthy canary needs up to ~7300 canary requests for a pass (99.9th
 * percentile, bench/results/realistic.md); 4 h covers that at 0.5 canary req/s (5 req/s at 10%).
 * The defaults of `rollout.maxStepRequests` and `rollout.maxStepSeconds` (config/defaults.ts), and
 * what a state file written before these keys existed resumes under (rollout/state.ts). Kept apart
 * so the state module does not load the program's config and, through it, the Pulumi SDKs.
 */
export const STEP_TOLERANCE_DEFAULTS = { maxStepRequests: 10000, maxStepSeconds: 14400 } as const;
