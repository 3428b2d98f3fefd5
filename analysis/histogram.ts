/**
 * Latency histograms as Prometheus stores them (cumulative `le` buckets). Pure functions, no I/O.
 */

/**
 * Istio's default bucket boundaries (ms) for `istio_request_duration_milliseconds`
 * (istio/istio, the stats filter's default histogram buckets), without +Inf.
 */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** One cumulative bucket: `count` observations were <= `le` (ms). The last bucket has le = Infinity. */
export interface Bucket {
    /** Upper bound in milliseconds; Infinity for the +Inf bucket. */
    le: number;
    /** Observations less than or equal to `le` (cumulative). */
    count: number;
}

/**
 * Sorts buckets by `le`, rounds counts to whole requests and makes them non-decreasing. Prometheus's
 * `increase()` extrapolates each bucket series on its own, so raw cumulative counts can be fractional
 * and, by a hair, out of order; rounding and a running maximum restore a proper histogram.
 *
 * @returns the problem as a sentence when the buckets cannot form a histogram (no +Inf bucket,
 * a non-finite or negative count, a duplicate boundary), else the cleaned buckets.
 */
export function normalizeBuckets(raw: readonly Bucket[]): { buckets: Bucket[] } | { problem: string } {
    const sorted = [...raw].sort((a, b) => a.le - b.le);
    for (let i = 0; i < sorted.length; i++) {
        const b = sorted[i];
        if (Number.isNaN(b.le)) return { problem: "a bucket has a non-numeric le label" };
        if (!Number.isFinite(b.count) || b.count < 0) return { problem: `bucket le=${b.le} has count ${b.count}` };
        if (i > 0 && sorted[i - 1].le === b.le) return { problem: `bucket le=${b.le} appears twice` };
    }
    if (sorted.length === 0 || sorted[sorted.length - 1].le !== Infinity) {
        return { problem: "the histogram has no +Inf bucket" };
    }
    let running = 0;
    const buckets = sorted.map((b) => {
        running = Math.max(running, Math.round(b.count));
        return { le: b.le, count: running };
    });
    return { buckets };
}

/** Total observations of a normalised histogram (the +Inf bucket). */
export function totalCount(buckets: readonly Bucket[]): number {
    return buckets.length === 0 ? 0 : buckets[buckets.length - 1].count;
}

/**
 * The q-quantile of a normalised histogram, computed exactly as PromQL's `histogram_quantile` does:
 * linear interpolation inside the bucket holding rank q*total (lower bound 0 for the first bucket),
 * and the highest finite boundary when the rank falls into the +Inf bucket.
 *
 * @returns null when the histogram is empty.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | null {
    const total = totalCount(buckets);
    if (total === 0 || buckets.length < 2) return null;
    if (q <= 0) return q < 0 ? -Infinity : 0;
    if (q >= 1) return buckets[buckets.length - 2].le;
    const rank = q * total;
    let i = 0;
    while (i < buckets.length - 1 && buckets[i].count < rank) i++;
    if (i === buckets.length - 1) return buckets[buckets.length - 2].le;
    const upper = buckets[i].le;
    if (i === 0 && upper <= 0) return upper;
    const lower = i === 0 ? 0 : buckets[i - 1].le;
    const below = i === 0 ? 0 : buckets[i - 1].count;
    const inBucket = buckets[i].count - below;
    return inBucket === 0 ? upper : lower + ((upper - lower) * (rank - below)) / inBucket;
}

/** Observations at or below a bucket boundary `le` (which must be one of the histogram's boundaries). */
export function countAtOrBelow(le: number, buckets: readonly Bucket[]): number {
    const b = buckets.find((x) => x.le === le);
    if (b === undefined) throw new Error(`countAtOrBelow: ${le} is not a bucket boundary`);
    return b.count;
}

/**
 * Share of observations at or below `x` ms, interpolated linearly inside buckets as
 * `histogram_quantile` does (its inverse). Beyond the highest finite boundary it returns the share at
 * that boundary. Returns null for an empty histogram.
 */
export function interpolatedCdf(x: number, buckets: readonly Bucket[]): number | null {
    const total = totalCount(buckets);
    if (total === 0) return null;
    if (x <= 0) return 0;
    let lower = 0;
    let below = 0;
    for (const b of buckets) {
        if (b.le === Infinity) break;
        if (x <= b.le) {
            const share = b.le === lower ? 1 : (x - lower) / (b.le - lower);
            return (below + share * (b.count - below)) / total;
        }
        lower = b.le;
        below = b.count;
    }
    return below / total;
}

/**
 * The finite boundary that best splits the histogram in halves: among boundaries with some
 * observations on each side, the one whose cumulative share is closest to 0.5 (the lower one on a
 * tie). Returns null when every observation falls into one bucket.
 */
export function medianBoundary(buckets: readonly Bucket[]): number | null {
    const total = totalCount(buckets);
    let best: number | null = null;
    let bestDistance = Infinity;
    for (const b of buckets) {
        if (b.le === Infinity || b.count === 0 || b.count === total) continue;
        const distance = Math.abs(b.count / total - 0.5);
        if (distance < bestDistance) {
            best = b.le;
            bestDistance = distance;
        }
    }
    return best;
}

/** The smallest finite boundary >= x, or null when x is above every finite boundary. */
export function smallestBoundaryAtLeast(x: number, buckets: readonly Bucket[]): number | null {
    for (const b of buckets) {
        if (b.le !== Infinity && b.le >= x) return b.le;
    }
    return null;
}

/** The largest finite boundary <= x, or null when x is below every finite boundary. */
export function largestBoundaryAtMost(x: number, buckets: readonly Bucket[]): number | null {
    let best: number | null = null;
    for (const b of buckets) {
        if (b.le !== Infinity && b.le <= x) best = b.le;
    }
    return best;
}
