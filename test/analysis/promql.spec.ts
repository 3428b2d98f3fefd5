import * as assert from "node:assert/strict";
import { escapeLabelValue, isServerErrorCode, latencyBucketsQuery, requestsByCodeQuery } from "../../analysis/promql";

describe("PromQL built by the analysis", () => {
    it("escapes backslash, double quote, newline and other control characters in label values", () => {
        assert.equal(escapeLabelValue('a"b\\c\nd\re\tf\u0001'), 'a\\"b\\\\c\\nd\\re\\tf\\u0001');
        assert.equal(escapeLabelValue("v2"), "v2");
    });

    it("keeps a hostile version inside one label matcher", () => {
        const m =
            'istio_requests_total{reporter="destination",destination_service="s",destination_version="x\\"} or vector(1) or up{a=\\""}';
        const q = requestsByCodeQuery({ reporter: "destination", service: "s", version: 'x"} or vector(1) or up{a="' }, "1m");
        assert.equal(q, `sum by (response_code) ((${m} - (${m} offset 1m or ${m} * 0)) and (resets(${m}[1m]) == 0) or increase(${m}[1m]))`);
    });

    it("reads the latency histogram by le with the same matchers, as exact counter deltas since the window's start", () => {
        const m =
            'istio_request_duration_milliseconds_bucket{reporter="source",destination_service="reviews.default.svc.cluster.local",destination_version="v2"}';
        assert.equal(
            latencyBucketsQuery({ reporter: "source", service: "reviews.default.svc.cluster.local", version: "v2" }, "95s"),
            `sum by (le) ((${m} - (${m} offset 95s or ${m} * 0)) and (resets(${m}[95s]) == 0) or increase(${m}[95s]))`,
        );
    });

    it("counts only 5xx response codes as errors", () => {
        assert.deepEqual(["500", "503", "599", "404", "0", "5000", undefined].map(isServerErrorCode), [
            true,
            true,
            true,
            false,
            false,
            false,
            false,
        ]);
    });
});
