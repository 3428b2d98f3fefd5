import * as assert from "node:assert/strict";
import { VersionCounts } from "../../analysis/decide";
import { Bucket } from "../../analysis/histogram";
import { checkTrafficShares, crossCheckSourceView } from "../../analysis/traffic";
import { SourceViewStats } from "../../analysis/types";
import { SETTINGS } from "./fixtures";

const NAMES = { canary: '"v2"', baseline: '"v1"' };
const buckets = (n: number): Bucket[] => [
    { le: 10, count: Math.round(n * 0.2) },
    { le: 25, count: Math.round(n * 0.6) },
    { le: 50, count: Math.round(n * 0.95) },
    { le: 100, count: n },
    { le: Infinity, count: n },
];
const counts = (requests: number, errors: number): VersionCounts => ({ requests, errors, buckets: buckets(requests) });
const view = (v: Partial<SourceViewStats>): SourceViewStats => ({
    canaryRequests: 0,
    canaryErrors: 0,
    baselineRequests: 0,
    baselineErrors: 0,
    unattributedRequests: 0,
    unattributedErrors: 0,
    ...v,
});

describe("traffic checks", () => {
    it("finds nothing when the shares follow the weights, over the window and the freshness window", () => {
        const f = checkTrafficShares(
            {
                canaryRequests: 1000,
                baselineRequests: 9000,
                expectedCanaryShare: 0.1,
                recent: { canary: 100, baseline: 900, window: "30s" },
            },
            NAMES,
        );
        assert.deepEqual(f.blockers, []);
        assert.deepEqual(
            f.tests.map((t) => [t.name, t.purpose, t.rejected]),
            [
                ["canary-share-vs-weight", "hold", false],
                ["baseline-share-vs-weight", "hold", false],
                ["recent-canary-share", "hold", false],
            ],
        );
    });

    it("blocks a canary that gets credibly less than half of its weight's share", () => {
        const f = checkTrafficShares({ canaryRequests: 200, baselineRequests: 9800, expectedCanaryShare: 0.1, recent: null }, NAMES);
        assert.equal(f.blockers.length, 1);
        assert.match(
            f.blockers[0],
            /^canary "v2" received 2\.00% of the requests of both versions \(200\/10000\), credibly less than half of the 10\.00% the applied weights give it/,
        );
    });

    it("blocks a baseline that gets credibly less than half of its weight's share (traffic that does not follow the weights)", () => {
        const f = checkTrafficShares({ canaryRequests: 9000, baselineRequests: 1000, expectedCanaryShare: 0.5, recent: null }, NAMES);
        assert.deepEqual(
            f.tests.filter((t) => t.rejected).map((t) => t.name),
            ["baseline-share-vs-weight"],
        );
    });

    it("blocks counts whose freshness window holds no requests of either version, saying how to fix a short window", () => {
        const f = checkTrafficShares(
            { canaryRequests: 500, baselineRequests: 4500, expectedCanaryShare: null, recent: { canary: 0, baseline: 0, window: "30s" } },
            NAMES,
        );
        assert.deepEqual(f.blockers, [
            `neither version has requests over the last 30s (the freshness window): the counts are not fresh, canary "v2"'s 500 requests may all be old ` +
                `(if Istio's metrics are scraped less often than twice per 30s, raise the freshness window)`,
        ]);
    });

    it("does not call a quiet canary stale on too few recent requests to tell", () => {
        const f = checkTrafficShares(
            { canaryRequests: 500, baselineRequests: 4500, expectedCanaryShare: null, recent: { canary: 0, baseline: 9, window: "30s" } },
            NAMES,
        );
        assert.deepEqual(f.blockers, []);
    });

    it("notes that the callers' view cannot cross-check when there is none", () => {
        const f = crossCheckSourceView(view({}), counts(1000, 0), counts(9000, 0), SETTINGS, "reviews.default.svc.cluster.local", NAMES);
        assert.deepEqual(f.blockers, []);
        assert.match(
            f.notes[0],
            /^no callers' view to cross-check with: Prometheus has no reporter="source" requests to reviews\.default\.svc\.cluster\.local/,
        );
    });

    it("blocks a pass when the callers' unattributed 5xx, counted as the canary's, would not pass", () => {
        const f = crossCheckSourceView(
            view({ canaryRequests: 1000, baselineRequests: 9000, unattributedRequests: 300, unattributedErrors: 300 }),
            counts(1000, 0),
            counts(9000, 0),
            SETTINGS,
            "reviews.default.svc.cluster.local",
            NAMES,
        );
        assert.equal(f.blockers.length, 1);
        assert.match(f.blockers[0], /^callers \(reporter="source"\) recorded 300 5xx under destination_version "unknown"/);
        assert.match(
            f.blockers[0],
            /counted as its own they make its 5xx ratio 23\.08% \(300\/1300\), and on those counts the analysis would be fail/,
        );
    });

    it("counts the callers' extra 5xx under the canary's own version too", () => {
        const f = crossCheckSourceView(
            view({ canaryRequests: 1000, canaryErrors: 200, baselineRequests: 9000 }),
            counts(1000, 0),
            counts(9000, 0),
            SETTINGS,
            "s",
            NAMES,
        );
        assert.match(f.blockers[0], /recorded 200 more 5xx under canary "v2" than its own sidecars recorded/);
    });

    it("lets a pass stand when the unattributed 5xx are too few to change it, and says so", () => {
        const f = crossCheckSourceView(
            view({ canaryRequests: 5000, baselineRequests: 45000, unattributedRequests: 1, unattributedErrors: 1 }),
            counts(5000, 0),
            counts(45000, 0),
            SETTINGS,
            "s",
            NAMES,
        );
        assert.deepEqual(f.blockers, []);
        assert.match(f.notes[0], /it passes even counting them as its own \(1\/5001 5xx\)$/);
    });
});
