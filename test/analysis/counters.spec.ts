import * as assert from "node:assert/strict";
import { errorDispersion, intervalsFromCounters } from "../../analysis/counters";

describe("the 5xx variance factor from counters at the scrape interval", () => {
    it("takes each interval's requests and 5xx from the differences of the counter sums", () => {
        const intervals = intervalsFromCounters([
            { errors: false, points: [0, 100, 190, 300].map((v, i) => ({ t: 15 * i, v })) },
            { errors: true, points: [0, 1, 1, 4].map((v, i) => ({ t: 15 * i, v })) },
        ]);
        assert.deepEqual(intervals, [
            { requests: 101, errors: 1 },
            { requests: 90, errors: 0 },
            { requests: 113, errors: 3 },
        ]);
    });

    it("leaves out an interval with a counter reset and one where a series appears", () => {
        const intervals = intervalsFromCounters([
            { errors: false, points: [100, 200, 50, 150].map((v, i) => ({ t: 15 * i, v })) },
            { errors: true, points: [2, 3].map((v, i) => ({ t: 15 * (i + 2), v })) },
        ]);
        // 0 -> 15: fine (only the 2xx series); 15 -> 30: the 2xx sum went down and a 5xx series appeared; 30 -> 45: fine.
        assert.deepEqual(intervals, [
            { requests: 100, errors: 0 },
            { requests: 101, errors: 1 },
        ]);
    });

    it("is about 1 for independent errors and well above it for errors in clumps", () => {
        const even = Array.from({ length: 40 }, (_, i) => ({ requests: 300, errors: [1, 2, 1, 2, 2][i % 5] }));
        assert.ok(errorDispersion(even) < 1.5, String(errorDispersion(even)));
        // Clumps of 5: the same 1.6 errors per interval on average, in groups.
        const clumped = Array.from({ length: 40 }, (_, i) => ({ requests: 300, errors: i % 3 === 0 ? 5 : 0 }));
        assert.ok(errorDispersion(clumped) > 3, String(errorDispersion(clumped)));
    });

    it("is 1 without enough intervals or without any 5xx, never below 1", () => {
        assert.equal(errorDispersion([{ requests: 10, errors: 5 }]), 1);
        assert.equal(errorDispersion(Array.from({ length: 10 }, () => ({ requests: 100, errors: 0 }))), 1);
        assert.equal(errorDispersion(Array.from({ length: 10 }, () => ({ requests: 100, errors: 1 }))), 1);
    });
});
