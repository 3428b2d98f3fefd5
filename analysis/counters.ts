/**
 * The 5xx variance factor from a version's counters at the scrape interval. Pure functions, no I/O.
 *
 * The sequential tests assume independent errors. Real 5xx come in bursts (a pod's connection pool
 * resets, a dependency times out for a few seconds), so counts vary more than that assumption says
 * and the tests would reject a healthy canary more often than alpha. The variance factor measures by
 * how much, from the baseline's own counts one scrape interval at a time (new data arrives only at a
 * scrape, so that is the finest batch there is); the tests then count 5xx and requests divided by it
 * (quasi-likelihood), which keeps their error rates.
 */

/** Requests and 5xx of one scrape interval. */
export interface IntervalCounts {
    /** Requests in the interval. */
    requests: number;
    /** 5xx in the interval. */
    errors: number;
}

/** A counter sum at evaluation instants (seconds since the epoch), as a range query answers it. */
export interface CounterSeries {
    /** Whether the series counts 5xx (its response_code is 5xx). */
    errors: boolean;
    /** (instant, counter value), in time order. */
    points: readonly { t: number; v: number }[];
}

/**
 * Requests and 5xx per interval between consecutive evaluation instants, from the cumulative
 * counters of a version summed by response code: the differences of the sums. An interval where
 * any sum went down (a counter reset: a pod restarted) is left out, as is one where the series
 * present changed (a series appearing or disappearing would count its whole value).
 */
export function intervalsFromCounters(series: readonly CounterSeries[]): IntervalCounts[] {
    const at = new Map<number, Map<number, number>>();
    series.forEach((s, i) => {
        for (const p of s.points) {
            const m = at.get(p.t) ?? new Map<number, number>();
            m.set(i, p.v);
            at.set(p.t, m);
        }
    });
    const times = [...at.keys()].sort((a, b) => a - b);
    const out: IntervalCounts[] = [];
    for (let j = 1; j < times.length; j++) {
        const before = at.get(times[j - 1]) ?? new Map<number, number>();
        const now = at.get(times[j]) ?? new Map<number, number>();
        if (before.size !== now.size || [...now.keys()].some((i) => !before.has(i))) continue;
        let requests = 0;
        let errors = 0;
        let reset = false;
        for (const [i, v] of now) {
            const d = v - (before.get(i) ?? 0);
            if (d < 0) reset = true;
            requests += d;
            if (series[i].errors) errors += d;
        }
        if (!reset) out.push({ requests, errors });
    }
    return out;
}

/** Fewest intervals with requests a variance factor is estimated from; with fewer it is taken as 1. */
export const MIN_DISPERSION_INTERVALS = 4;

/**
 * The variance factor of the 5xx counts over scrape intervals: Pearson's dispersion statistic
 * sum((k_i - n_i p)^2 / (n_i p (1 - p))) / (I - 1), with p the overall 5xx ratio, at least 1. It is
 * about 1 for independent errors; errors in clumps of mean size m give about E[size^2] / E[size]
 * (5 for geometric clumps of mean 3), and a 5xx ratio that swings from interval to interval more.
 * 1 with fewer than MIN_DISPERSION_INTERVALS intervals or without any 5xx.
 */
export function errorDispersion(intervals: readonly IntervalCounts[]): number {
    const used = intervals.filter((x) => x.requests > 0);
    if (used.length < MIN_DISPERSION_INTERVALS) return 1;
    const n = used.reduce((a, x) => a + x.requests, 0);
    const k = used.reduce((a, x) => a + x.errors, 0);
    const p = k / n;
    if (p <= 0 || p >= 1) return 1;
    let chi2 = 0;
    for (const x of used) chi2 += (x.errors - x.requests * p) ** 2 / (x.requests * p * (1 - p));
    return Math.max(1, chi2 / (used.length - 1));
}
