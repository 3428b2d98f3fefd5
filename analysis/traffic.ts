import { decide, DecisionNames, DecisionSettings, runTest, VersionCounts } from "./decide";
import { SequentialTest, SourceViewStats } from "./types";

/**
 * Traffic checks: whether the counts the decision is made on describe the canary as it is deployed
 * now. Pure functions, no I/O. They never fail a canary; a finding ("blocker") turns what would be a
 * pass into inconclusive, naming the cause:
 * - the traffic share: the canary's (and the baseline's) share of the requests must not be credibly
 *   below half of what the applied weights give it (canary-share-vs-weight, baseline-share-vs-weight);
 * - freshness: over the most recent stretch of the window (the freshness window) the canary must
 *   still get its share: not credibly below half of the expected share, or, without one, of its share
 *   over the whole window (recent-canary-share). Pods that stopped serving halfway through a step
 *   leave old counts that would still pass; this is what notices;
 * - the callers' view (reporter="source"): with reporter="destination", a canary without healthy
 *   pods records nothing under its version, while the callers record a 503 under
 *   destination_version "unknown". Counted as the canary's own, such 5xx must not change a pass.
 */

/**
 * Level of each share test (a rejection holds the verdict, it never rolls back). Strict because the
 * freshness window slides (each look is new data, so Ville's inequality does not bound the repeated
 * looks) and because repeated holds end in a rollback after maxStepRequests or maxStepSeconds; a canary that gets no
 * traffic at all rejects it within a few dozen requests.
 */
export const TRAFFIC_CHECK_LEVEL = 0.001;

/** How far below its expected share a version's share may fall: to half of it. */
export const SHARE_TOLERANCE = 0.5;

/** What the checks found. */
export interface TrafficFindings {
    /** Findings that forbid a pass, one sentence each naming the cause. */
    blockers: string[];
    /** Findings that do not change the verdict (a check that could not be made, and why). */
    notes: string[];
    /** The share tests run (purpose "hold"). */
    tests: SequentialTest[];
}

/** Inputs of {@link checkTrafficShares}. */
export interface ShareInput {
    /** Canary requests over the window. */
    canaryRequests: number;
    /** Baseline requests over the window. */
    baselineRequests: number;
    /** The share the applied weights give the canary, or null when unknown. */
    expectedCanaryShare: number | null;
    /** Requests over the freshness window, or null when it was not checked. */
    recent: { canary: number; baseline: number; window: string } | null;
}

/** A ratio as a percentage with two decimals. */
function pct(x: number): string {
    return `${(x * 100).toFixed(2)}%`;
}

/** An e-value for a sentence. */
function fmtE(e: number): string {
    if (!Number.isFinite(e)) return "> 1e300";
    if (e >= 1000 || (e > 0 && e < 0.01)) return e.toExponential(1);
    return e.toFixed(2);
}

/** Version names for sentences. */
function who(names?: DecisionNames): { c: string; b: string } {
    return names === undefined ? { c: "canary", b: "baseline" } : { c: `canary ${names.canary}`, b: `baseline ${names.baseline}` };
}

/**
 * Checks the traffic shares over the window (against the applied weights, when known) and over the
 * freshness window (see the module comment).
 */
export function checkTrafficShares(input: ShareInput, names?: DecisionNames): TrafficFindings {
    const { c, b } = who(names);
    const out: TrafficFindings = { blockers: [], notes: [], tests: [] };
    const total = input.canaryRequests + input.baselineRequests;
    const expected = input.expectedCanaryShare;
    const shareTest = (
        name: SequentialTest["name"],
        successes: number,
        trials: number,
        bound: number,
        what: string,
        verdictText: (e: number, thr: number) => string,
    ): SequentialTest => {
        const t = runTest(
            {
                name,
                purpose: "hold",
                nullHypothesis: `${what} is at least ${pct(bound)}`,
                successes,
                trials,
                nullProbability: bound,
                side: "less",
                level: TRAFFIC_CHECK_LEVEL,
                describe: (e, thr, rejected) =>
                    rejected
                        ? verdictText(e, thr)
                        : `${what} ${pct(trials > 0 ? successes / trials : 0)} is not credibly below ${pct(bound)} (e-value ${fmtE(e)} < ${fmtE(thr)})`,
            },
            undefined,
        );
        out.tests.push(t);
        if (t.rejected) out.blockers.push(t.summary);
        return t;
    };

    if (expected !== null && total > 0) {
        const cBound = expected * (1 - SHARE_TOLERANCE);
        shareTest(
            "canary-share-vs-weight",
            input.canaryRequests,
            total,
            cBound,
            `the ${c} share of requests`,
            (e, thr) =>
                `${c} received ${pct(input.canaryRequests / total)} of the requests of both versions (${input.canaryRequests}/${total}), credibly less than ` +
                `half of the ${pct(expected)} the applied weights give it (e-value ${fmtE(e)} >= ${fmtE(thr)}): the traffic does not follow the weights ` +
                `(canary pods not serving, or callers that bypass the weighted route), so the counts do not describe the split being judged`,
        );
        const bBound = (1 - expected) * (1 - SHARE_TOLERANCE);
        shareTest(
            "baseline-share-vs-weight",
            input.baselineRequests,
            total,
            bBound,
            `the ${b} share of requests`,
            (e, thr) =>
                `${b} received ${pct(input.baselineRequests / total)} of the requests of both versions (${input.baselineRequests}/${total}), credibly less than ` +
                `half of the ${pct(1 - expected)} the applied weights give it (e-value ${fmtE(e)} >= ${fmtE(thr)}): the traffic does not follow the weights, ` +
                `so the comparison does not describe the split being judged`,
        );
    }

    const recent = input.recent;
    if (recent !== null && total > 0) {
        const recentTotal = recent.canary + recent.baseline;
        const reference = expected ?? input.canaryRequests / total;
        const refText = expected !== null ? "the share the applied weights give it" : "its share over the whole window";
        if (recentTotal === 0) {
            out.blockers.push(
                `neither version has requests over the last ${recent.window} (the freshness window): the counts are not fresh, ` +
                    `${c}'s ${input.canaryRequests} requests may all be old (if Istio's metrics are scraped less often than twice per ` +
                    `${recent.window}, raise the freshness window)`,
            );
        } else if (reference > 0) {
            const bound = reference * (1 - SHARE_TOLERANCE);
            shareTest(
                "recent-canary-share",
                recent.canary,
                recentTotal,
                bound,
                `the ${c} share of requests over the last ${recent.window}`,
                (e, thr) =>
                    `${c}'s series are not fresh: over the last ${recent.window} it had ${recent.canary} of ${recentTotal} requests ` +
                    `(${pct(recent.canary / recentTotal)}), credibly less than half of ${refText}, ${pct(reference)} (e-value ${fmtE(e)} >= ${fmtE(thr)}): ` +
                    `its pods may have stopped serving, and its older counts do not describe it now`,
            );
        }
    }
    return out;
}

/** 5xx of the callers' view that the destination reporter did not record for the canary. */
function unrecorded(view: SourceViewStats, canary: VersionCounts): { unattributed: number; missing: number } {
    return { unattributed: view.unattributedErrors, missing: Math.max(0, view.canaryErrors - canary.errors) };
}

/**
 * Cross-checks a destination-reported analysis with the callers' view (see the module comment): the
 * 5xx the callers recorded under destination_version "unknown", and any 5xx they recorded under the
 * canary beyond what its own sidecars did, are counted as the canary's; if the decision on those
 * counts is not a pass, that is a blocker. Without a callers' view (callers outside the mesh, or
 * sidecars that do not report) the cross-check cannot be made: a note says so.
 */
export function crossCheckSourceView(
    view: SourceViewStats,
    canary: VersionCounts,
    baseline: VersionCounts,
    settings: DecisionSettings,
    service: string,
    names?: DecisionNames,
): TrafficFindings {
    const { c } = who(names);
    const out: TrafficFindings = { blockers: [], notes: [], tests: [] };
    const seen = view.canaryRequests + view.baselineRequests + view.unattributedRequests;
    if (seen === 0) {
        out.notes.push(
            `no callers' view to cross-check with: Prometheus has no reporter="source" requests to ${service} of either version in the window ` +
                `(callers outside the mesh?); a canary without healthy pods is then seen only by the freshness check`,
        );
        return out;
    }
    const { unattributed, missing } = unrecorded(view, canary);
    const extra = unattributed + missing;
    if (extra === 0) return out;
    const parts: string[] = [];
    if (unattributed > 0) {
        parts.push(
            `${unattributed} 5xx under destination_version "unknown" (requests that reached no pod: a subset without healthy endpoints answers 503 at the caller)`,
        );
    }
    if (missing > 0) parts.push(`${missing} more 5xx under ${c} than its own sidecars recorded`);
    const worst: VersionCounts = { requests: canary.requests + extra, errors: canary.errors + extra, buckets: canary.buckets };
    const d = decide(worst, baseline, settings, names);
    const text = `callers (reporter="source") recorded ${parts.join(" and ")}, which the destination reporter does not count for ${c}`;
    if (d.verdict === "pass") {
        out.notes.push(`${text}; it passes even counting them as its own (${worst.errors}/${worst.requests} 5xx)`);
    } else {
        out.blockers.push(
            `${text}; counted as its own they make its 5xx ratio ${pct(worst.errors / worst.requests)} (${worst.errors}/${worst.requests}), ` +
                `and on those counts the analysis would be ${d.verdict}: ${d.reasons[0]}`,
        );
    }
    return out;
}
