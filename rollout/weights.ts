/**
 * Weight arithmetic of a rollout: pure functions, no I/O. Weights are integer percentages per
 * version name that sum to 100 (this project's house rule; Istio itself treats them as relative).
 */

/** Traffic weights by version name, integer percentages summing to 100. */
export type Weights = Record<string, number>;

/** Checks a step weight: an integer from 0 to 100. Throws a RangeError naming the value otherwise. */
export function checkPercent(weight: number, what = "weight"): number {
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
        throw new RangeError(`${what} must be an integer from 0 to 100, got ${String(weight)}`);
    }
    return weight;
}

/** The split for one step: the canary gets `canaryWeight`, the baseline the rest. */
export function stepWeights(baseline: string, canary: string, canaryWeight: number): Weights {
    if (baseline === canary) {
        throw new RangeError(`baseline and canary must be different versions, both are ${JSON.stringify(baseline)}`);
    }
    checkPercent(canaryWeight, "canary weight");
    return { [baseline]: 100 - canaryWeight, [canary]: canaryWeight };
}

/** All traffic to `baseline`, 0 to every other listed version: a rollback or an abort. */
export function allToBaseline(baseline: string, others: readonly string[]): Weights {
    const weights: Weights = { [baseline]: 100 };
    for (const name of others) {
        if (name !== baseline) {
            weights[name] = 0;
        }
    }
    return weights;
}

/** True when two weight maps give every version the same weight (missing counts as 0). */
export function sameWeights(a: Weights, b: Weights): boolean {
    const names = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const name of names) {
        if ((a[name] ?? 0) !== (b[name] ?? 0)) {
            return false;
        }
    }
    return true;
}

/** The plan's steps as canary weights, checked: strictly increasing integers from 1 to 100 ending at 100. */
export function checkSteps(steps: readonly number[]): number[] {
    if (steps.length === 0) {
        throw new RangeError("steps must list at least one canary weight");
    }
    steps.forEach((s, i) => {
        checkPercent(s, `steps[${i}]`);
        if (s < 1 || (i > 0 && s <= steps[i - 1])) {
            throw new RangeError(`steps must be strictly increasing weights from 1 to 100, got ${JSON.stringify(steps)}`);
        }
    });
    if (steps[steps.length - 1] !== 100) {
        throw new RangeError(`steps must end at 100, got ${JSON.stringify(steps)}`);
    }
    return [...steps];
}

/** `v1 90% / v2 10%`: a split as people read it, versions in the order given. */
export function formatSplit(weights: Weights): string {
    return Object.entries(weights)
        .map(([name, w]) => `${name} ${w}%`)
        .join(" / ");
}
