/**
 * The realistic benchmark (bench/realistic.ts) computes in TypeScript what Prometheus would answer:
 * `increase()` of a scraped counter, and the module's exact delta since the shift (analysis/promql.ts's
 * sinceWindow). Its claims about `increase()` hiding a canary's first errors rest on that arithmetic,
 * so here it is checked against the real Prometheus (Debian's 2.42, the version it imitates): the
 * same samples backfilled into its TSDB, the same queries at the same instants.
 */
import { strict as assert } from "node:assert";
import { CounterSample, prometheusIncrease, promqlSinceWindow } from "../../bench/realistic";
import { sinceWindow } from "../../analysis/promql";
import { RunningPrometheus, startPrometheus } from "../support/prometheus";

/** Series as the benchmark stores them: seconds after a base instant, counter values. */
const SERIES: Record<string, CounterSample[]> = {
    // Scraped every 15 s from the start.
    steady: Array.from({ length: 41 }, (_, i) => ({ t: i * 15, v: 3 * i + (i % 4) })),
    // Born at 200 s (its first sample is its first increment), then scraped every 15 s.
    born: Array.from({ length: 27 }, (_, i) => ({ t: 200 + i * 15, v: 7 + 2 * i })),
    // A pod restart between 300 and 315 s: the counter starts again from 0.
    reset: Array.from({ length: 41 }, (_, i) => ({ t: i * 15, v: i * 15 <= 300 ? 5 * i : 2 * (i - 20) })),
    // Scraped every 60 s, with a phase: ranges may hold one sample or none.
    sparse: Array.from({ length: 10 }, (_, i) => ({ t: 7 + i * 60, v: 10 * i * i })),
    // Flat, then one increment: a canary's single 5xx.
    single: Array.from({ length: 41 }, (_, i) => ({ t: i * 15, v: i * 15 >= 330 ? 1 : 0 })).filter((s) => s.t >= 90),
};

/** Query instants (seconds after the base) and windows (seconds): on and between samples, ranges starting on a sample. */
const INSTANTS = [100, 200, 215, 300, 330, 347, 400, 455, 600];
const WINDOWS = [15, 30, 100, 115, 237, 300];

describe("the realistic benchmark's Prometheus arithmetic against Prometheus 2.42 itself", function () {
    this.timeout(120_000);
    let prom: RunningPrometheus;
    // Three hours ago, on a whole minute: inside the retention, before anything the head could hold.
    const base = Math.floor((Date.now() / 1000 - 3 * 3600) / 60) * 60;

    before(async () => {
        // One gauge family (PromQL does not care about the type), series by series, each in time order.
        const lines = ["# TYPE bench_counter gauge"];
        for (const [id, samples] of Object.entries(SERIES)) {
            for (const s of samples) lines.push(`bench_counter{id="${id}"} ${s.v} ${base + s.t}`);
        }
        prom = await startPrometheus({ targets: [], backfill: `${lines.join("\n")}\n# EOF\n` });
    });
    after(async () => {
        await prom?.stop();
    });

    /** The value of an instant query for one series at base + t, or null when the answer is empty. */
    async function at(promql: string, t: number): Promise<number | null> {
        const r = await prom.query(promql, new Date((base + t) * 1000));
        assert.ok(r.length <= 1, `${promql}: more than one series`);
        return r.length === 0 ? null : r[0].value;
    }

    const close = (actual: number | null, expected: number | null, what: string): void => {
        if (expected === null || actual === null) {
            assert.equal(actual, expected, what);
            return;
        }
        assert.ok(
            Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
            `${what}: Prometheus ${actual}, the benchmark ${expected}`,
        );
    };

    it("extrapolates increase() as Prometheus does: new series, resets, ranges holding one sample or none", async () => {
        let compared = 0;
        for (const [id, samples] of Object.entries(SERIES)) {
            for (const t of INSTANTS) {
                for (const w of WINDOWS) {
                    const real = await at(`increase(bench_counter{id="${id}"}[${w}s])`, t);
                    close(real, prometheusIncrease(samples, t - w, t), `increase of ${id} over ${w}s at ${t}s`);
                    compared++;
                }
            }
        }
        assert.equal(compared, Object.keys(SERIES).length * INSTANTS.length * WINDOWS.length);
    });

    it("computes the module's counter delta since the shift (sinceWindow) as Prometheus answers it", async () => {
        for (const [id, samples] of Object.entries(SERIES)) {
            for (const t of INSTANTS) {
                for (const w of WINDOWS) {
                    const real = await at(sinceWindow("bench_counter", `id="${id}"`, `${w}s`), t);
                    // The benchmark counts a series without samples in the range as 0; Prometheus gives nothing.
                    close(real ?? 0, promqlSinceWindow(samples, t - w, t), `delta of ${id} over ${w}s at ${t}s`);
                }
            }
        }
    });
});
