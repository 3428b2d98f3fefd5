/**
 * Anytime-valid sequential tests on counts. Pure functions, no I/O.
 *
 * The building block is a one-sided test on a Bernoulli proportion whose statistic is an e-value: a
 * mixture of likelihood ratios of alternatives against the boundary of the null hypothesis. Under
 * the null the e-value process is a non-negative supermartingale with mean at most 1, so by Ville's
 * inequality the chance that it ever reaches 1/alpha, however often it is looked at and whenever the
 * looks happen, is at most alpha. That is what makes it safe to re-run the analysis every few seconds
 * during a traffic step on cumulative counts (the "always valid" property of Lindon et al., KDD 2022).
 */

/** Which side of the null proportion the alternatives lie on. */
export type Side = "greater" | "less";

/** Inputs of {@link bernoulliMixtureTest}. */
export interface BernoulliTestInput {
    /** Observed successes (events of interest), 0 <= successes <= trials. */
    successes: number;
    /** Observed trials. */
    trials: number;
    /** Boundary of the null hypothesis, strictly between 0 and 1. */
    nullProbability: number;
    /**
     * "greater": null p <= nullProbability, alternatives p > nullProbability (evidence that p is higher).
     * "less": null p >= nullProbability, alternatives p < nullProbability (evidence that p is lower).
     */
    side: Side;
    /** Scale of the half-normal prior on the log-odds shift of the alternatives; default {@link DEFAULT_PRIOR_SCALE}. */
    priorScale?: number;
}

/** Result of {@link bernoulliMixtureTest}. */
export interface BernoulliTestResult {
    /** The e-value (mixture likelihood ratio); reject the null when it is >= 1/level. */
    eValue: number;
    /** Natural log of the e-value (finite even when the e-value overflows to Infinity). */
    logEValue: number;
}

/**
 * Default scale of the half-normal prior on the log-odds shift: 1.5 puts most prior mass on odds
 * ratios between about 1.2 and 20, where the regressions a canary analysis must catch lie (a 0.5% ->
 * 1.5% error ratio is an odds ratio of 3; a latency shift that moves a third of requests across the
 * median is an odds ratio of about 3.5).
 */
export const DEFAULT_PRIOR_SCALE = 1.5;

/** Number of grid points of the discretised prior. */
const GRID_POINTS = 120;
/** The grid covers log-odds shifts in (0, GRID_SPAN * priorScale]. */
const GRID_SPAN = 4;

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
    return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** log(sum(exp(xs))) without overflow. */
export function logSumExp(xs: readonly number[]): number {
    let max = -Infinity;
    for (const x of xs) {
        if (x > max) max = x;
    }
    if (max === -Infinity || max === Infinity) return max;
    let sum = 0;
    for (const x of xs) sum += Math.exp(x - max);
    return max + Math.log(sum);
}

/** Returns the message of the first problem with a test input, or undefined when it is usable. */
function checkInput(i: BernoulliTestInput): string | undefined {
    if (!Number.isFinite(i.trials) || i.trials < 0) return `trials must be a finite number >= 0, got ${i.trials}`;
    if (!Number.isFinite(i.successes) || i.successes < 0 || i.successes > i.trials) {
        return `successes must be between 0 and trials (${i.trials}), got ${i.successes}`;
    }
    if (!(i.nullProbability > 0 && i.nullProbability < 1)) {
        return `nullProbability must be strictly between 0 and 1, got ${i.nullProbability}`;
    }
    const scale = i.priorScale ?? DEFAULT_PRIOR_SCALE;
    if (!(scale > 0 && Number.isFinite(scale))) return `priorScale must be a positive number, got ${scale}`;
    return undefined;
}

/**
 * One-sided anytime-valid test of a Bernoulli proportion by a mixture sequential probability ratio.
 *
 * The alternatives are p_j = logistic(logit(p0) +/- lambda_j) for a fixed grid of log-odds shifts
 * lambda_j > 0, weighted by a discretised half-normal prior whose weights sum to exactly 1. Each
 * alternative's likelihood ratio against p0 is a supermartingale under every p on the null side of
 * p0, so their convex combination is too: the test is valid by construction, whatever the grid.
 * Depends on the data only through (successes, trials), so cumulative counts are enough.
 *
 * @throws Error when the input is out of range (a programming error, not a data problem).
 */
export function bernoulliMixtureTest(input: BernoulliTestInput): BernoulliTestResult {
    const problem = checkInput(input);
    if (problem !== undefined) throw new Error(`bernoulliMixtureTest: ${problem}`);
    const { successes: k, trials: n, nullProbability: p0, side } = input;
    const scale = input.priorScale ?? DEFAULT_PRIOR_SCALE;
    const x0 = Math.log(p0) - Math.log1p(-p0);
    const logP0 = -softplus(-x0);
    const logQ0 = -softplus(x0);
    const sign = side === "greater" ? 1 : -1;
    const step = (GRID_SPAN * scale) / GRID_POINTS;
    const logWeights: number[] = [];
    for (let j = 0; j < GRID_POINTS; j++) {
        const lambda = (j + 0.5) * step;
        logWeights.push(-(lambda * lambda) / (2 * scale * scale));
    }
    const logNorm = logSumExp(logWeights);
    const terms: number[] = [];
    for (let j = 0; j < GRID_POINTS; j++) {
        const x = x0 + sign * (j + 0.5) * step;
        const logP = -softplus(-x);
        const logQ = -softplus(x);
        const logLr = (k === 0 ? 0 : k * (logP - logP0)) + (n - k === 0 ? 0 : (n - k) * (logQ - logQ0));
        terms.push(logWeights[j] - logNorm + logLr);
    }
    const logEValue = logSumExp(terms);
    return { eValue: Math.exp(logEValue), logEValue };
}

/**
 * Wald's approximation of the expected number of observations of a simple-vs-simple SPRT between
 * Bernoulli(p0) and Bernoulli(p1) with error rates alpha (reject p0 when it holds) and beta (accept
 * p0 when p1 holds), when the data come from p0 or from p1. By the Wald-Wolfowitz theorem no test
 * with the same error rates needs fewer observations on average, so it is a lower bound for any
 * analysis that must also cope with unknown rates and composite hypotheses.
 *
 * @throws Error when the probabilities or error rates are out of range.
 */
export function sprtExpectedSampleSize(p0: number, p1: number, alpha: number, beta: number, truth: "p0" | "p1"): number {
    for (const [name, v] of [
        ["p0", p0],
        ["p1", p1],
        ["alpha", alpha],
        ["beta", beta],
    ] as const) {
        if (!(v > 0 && v < 1)) throw new Error(`sprtExpectedSampleSize: ${name} must be strictly between 0 and 1, got ${v}`);
    }
    if (p0 === p1) throw new Error("sprtExpectedSampleSize: p0 and p1 must differ");
    const upper = Math.log((1 - beta) / alpha);
    const lower = Math.log(beta / (1 - alpha));
    const p = truth === "p0" ? p0 : p1;
    const drift = p * Math.log(p1 / p0) + (1 - p) * Math.log((1 - p1) / (1 - p0));
    const expectedLlr = truth === "p0" ? alpha * upper + (1 - alpha) * lower : (1 - beta) * upper + beta * lower;
    return expectedLlr / drift;
}
