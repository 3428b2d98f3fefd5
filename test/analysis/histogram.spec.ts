import * as assert from "node:assert/strict";
import {
    Bucket,
    histogramQuantile,
    interpolatedCdf,
    medianBoundary,
    normalizeBuckets,
    smallestBoundaryAtLeast,
} from "../../analysis/histogram";

const h = (pairs: Array<[number, number]>): Bucket[] => pairs.map(([le, count]) => ({ le, count }));

describe("histogram helpers", () => {
    // 100 requests: 10 <= 10 ms, 60 <= 25 ms, 95 <= 50 ms, 99 <= 100 ms, 100 <= 250 ms.
    const buckets = h([
        [10, 10],
        [25, 60],
        [50, 95],
        [100, 99],
        [250, 100],
        [Infinity, 100],
    ]);

    it("interpolates the p99 inside its bucket as histogram_quantile does", () => {
        // rank 99 falls at the top of (50, 100]: 50 + 50 * (99 - 95) / (99 - 95) = 100
        assert.equal(histogramQuantile(0.99, buckets), 100);
        // rank 50 in (10, 25]: 10 + 15 * (50 - 10) / 50 = 22
        assert.equal(histogramQuantile(0.5, buckets), 22);
        // rank 5 in the first bucket, lower bound 0: 10 * 5 / 10 = 5
        assert.equal(histogramQuantile(0.05, buckets), 5);
    });

    it("answers the highest finite boundary when the quantile falls into +Inf", () => {
        assert.equal(
            histogramQuantile(
                0.99,
                h([
                    [10, 50],
                    [25, 90],
                    [Infinity, 100],
                ]),
            ),
            25,
        );
    });

    it("has no quantile without observations", () => {
        assert.equal(
            histogramQuantile(
                0.99,
                h([
                    [10, 0],
                    [Infinity, 0],
                ]),
            ),
            null,
        );
    });

    it("rounds extrapolated counts and makes them cumulative again", () => {
        const r = normalizeBuckets(
            h([
                [Infinity, 99.6],
                [10, 10.4],
                [25, 9.9],
            ]),
        );
        assert.ok("buckets" in r);
        assert.deepEqual(
            r.buckets,
            h([
                [10, 10],
                [25, 10],
                [Infinity, 100],
            ]),
        );
    });

    it("refuses buckets without +Inf, naming the problem", () => {
        assert.deepEqual(
            normalizeBuckets(
                h([
                    [10, 1],
                    [25, 2],
                ]),
            ),
            { problem: "the histogram has no +Inf bucket" },
        );
        assert.deepEqual(
            normalizeBuckets(
                h([
                    [10, NaN],
                    [Infinity, 2],
                ]),
            ),
            { problem: "bucket le=10 has count NaN" },
        );
    });

    it("picks the boundary closest to the median", () => {
        assert.equal(medianBoundary(buckets), 25);
        assert.equal(
            medianBoundary(
                h([
                    [10, 0],
                    [25, 100],
                    [Infinity, 100],
                ]),
            ),
            null,
        );
    });

    it("inverts histogram_quantile with its interpolated CDF", () => {
        assert.equal(interpolatedCdf(22, buckets), 0.5);
        assert.equal(interpolatedCdf(1000, buckets), 1);
    });

    it("finds the smallest boundary at or above a limit", () => {
        assert.equal(smallestBoundaryAtLeast(200, buckets), 250);
        assert.equal(smallestBoundaryAtLeast(100, buckets), 100);
        assert.equal(smallestBoundaryAtLeast(300, buckets), null);
    });
});
