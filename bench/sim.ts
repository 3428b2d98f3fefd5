/**
 * Shared pieces of the benchmarks: a seedable PRNG, the distributions the simulated streams are
 * drawn from, Istio's latency buckets, and the summary statistics (quantiles, Wilson intervals).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Bucket, ISTIO_DURATION_BUCKETS_MS } from "../analysis/histogram";

/** sfc32: a small, fast, seedable PRNG with a 128-bit state. */
export function sfc32(a: number, b: number, c: number, d: number): () => number {
    return () => {
        a >>>= 0;
        b >>>= 0;
        c >>>= 0;
        d >>>= 0;
        let t = (a + b) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        d = (d + 1) | 0;
        t = (t + d) | 0;
        c = (c + t) | 0;
        return (t >>> 0) / 4294967296;
    };
}

/** A generator for run `run` of the shared seed: scenarios reuse the same seeds (common random numbers). */
export function rngFor(seed: number, run: number): () => number {
    const r = sfc32(0x9e3779b9, seed, run, 0x85ebca6b ^ run);
    for (let i = 0; i < 16; i++) r();
    return r;
}

/** A Poisson draw (Knuth's product method below 30, a rounded normal approximation above). */
export function poisson(rand: () => number, lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rand)));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = rand();
    while (p > limit) {
        k++;
        p *= rand();
    }
    return k;
}

/** A standard normal draw (Box-Muller). */
export function normal(rand: () => number): number {
    let u = 0;
    while (u === 0) u = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** A geometric draw on 1, 2, ... with the given mean (>= 1). */
export function geometric(rand: () => number, mean: number): number {
    if (mean <= 1) return 1;
    const q = 1 - 1 / mean;
    let u = 0;
    while (u === 0) u = rand();
    return 1 + Math.floor(Math.log(u) / Math.log(q));
}

/** A gamma draw with mean 1 and the given coefficient of variation (Marsaglia-Tsang; shape 1/cv^2). */
export function gammaMeanOne(rand: () => number, cv: number): number {
    const shape = 1 / (cv * cv);
    const boost = shape < 1 ? Math.pow(rand() || 1e-12, 1 / shape) : 1;
    const k = shape < 1 ? shape + 1 : shape;
    const d = k - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
        let x: number;
        let v: number;
        do {
            x = normal(rand);
            v = 1 + c * x;
        } while (v <= 0);
        v = v * v * v;
        const u = rand();
        if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return (d * v * boost) / shape;
    }
}

/** Bucket index (into ISTIO_DURATION_BUCKETS_MS, or its length for +Inf) of a latency. */
export function bucketIndex(latencyMs: number): number {
    let i = 0;
    while (i < ISTIO_DURATION_BUCKETS_MS.length && latencyMs > ISTIO_DURATION_BUCKETS_MS[i]) i++;
    return i;
}

/** Number of buckets including +Inf. */
export const BUCKETS = ISTIO_DURATION_BUCKETS_MS.length + 1;

/** Cumulative buckets of per-bucket (non-cumulative) counts. */
export function cumulative(perBucket: readonly number[]): Bucket[] {
    let running = 0;
    return perBucket.map((n, i) => {
        running += n;
        return { le: i < ISTIO_DURATION_BUCKETS_MS.length ? ISTIO_DURATION_BUCKETS_MS[i] : Infinity, count: running };
    });
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf). */
export function normalCdf(z: number): number {
    const x = Math.abs(z) / Math.SQRT2;
    const t = 1 / (1 + 0.3275911 * x);
    const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
    return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** The q-quantile of sorted values (nearest rank), NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
    if (sorted.length === 0) return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
    return sorted[i];
}

/** Wilson score interval (95%) of a binomial share k/n. */
export function wilson(k: number, n: number): [number, number] {
    const z = 1.959964;
    const p = k / n;
    const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
    return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export const pctCell = (x: number): string => `${(x * 100).toFixed(1)}%`;
export const pct2 = (x: number): string => `${(x * 100).toFixed(2)}%`;
/** "k / n = share (low to high)" with the Wilson interval. */
export const shareWithCi = (k: number, n: number): string => {
    const [lo, hi] = wilson(k, n);
    return `${k} / ${n} = ${pct2(k / n)} (${pct2(lo)} to ${pct2(hi)})`;
};
/** A rounded number, "-" for NaN. */
export const num = (x: number): string => (Number.isNaN(x) ? "-" : String(Math.round(x)));

/**
 * Prints a benchmark's markdown and, when `write` is set (`--write`), replaces its committed results
 * in bench/results/<file>; otherwise says how to.
 */
export function printResults(md: string, file: string, write: boolean): void {
    process.stdout.write(md);
    if (write) {
        const out = path.join(__dirname, "results", file);
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, md);
        process.stdout.write(`\nwrote ${path.relative(process.cwd(), out)}\n`);
    } else {
        process.stdout.write(`\n(not written to bench/results/${file}; run with --write to replace the committed results)\n`);
    }
}

/**
 * The arguments `--write` and `--runs N` (a whole number from `minRuns` to 100000; default
 * `defaultRuns`), or the message naming what is wrong and what is allowed.
 */
export function runsAndWrite(
    argv: readonly string[],
    defaultRuns: number,
    minRuns: number,
): { runs: number; write: boolean } | { problem: string } {
    let write = false;
    let runs = defaultRuns;
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--write") write = true;
        else if (argv[i] === "--runs") {
            runs = Number(argv[++i]);
            if (!(Number.isInteger(runs) && runs >= minRuns && runs <= 100000)) {
                return { problem: `--runs: ${JSON.stringify(argv[i])} is not allowed; expected a whole number from ${minRuns} to 100000` };
            }
        } else {
            return { problem: `unknown argument ${JSON.stringify(argv[i])}; allowed: --write, --runs N` };
        }
    }
    return { runs, write };
}
