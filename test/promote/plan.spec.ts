import * as assert from "node:assert/strict";
import { VersionEntry } from "../../stack/edit";
import { PromotionRefused, orderProblem, planPromotion } from "../../promote";

const ORDER = ["dev", "staging", "prod"];
const v1: VersionEntry = { name: "v1", image: "r/app:v1", replicas: 3, weight: 100 };
const v2done: VersionEntry = { name: "v2", image: "r/app:v2", replicas: 1, weight: 100 };

function plan(source: VersionEntry[], target: VersionEntry[], from = "dev", to = "staging") {
    return planPromotion({ from, to, order: ORDER, source, target });
}

describe("promote/plan", () => {
    describe("orderProblem", () => {
        it("accepts each step of the order", () => {
            assert.equal(orderProblem("dev", "staging", ORDER), undefined);
            assert.equal(orderProblem("staging", "prod", ORDER), undefined);
        });

        it("names the stack a promotion would skip", () => {
            assert.equal(
                orderProblem("dev", "prod", ORDER),
                "it skips staging in the promotion order dev -> staging -> prod; promote dev -> staging first",
            );
        });

        it("names every skipped stack of a longer order", () => {
            assert.equal(
                orderProblem("a", "d", ["a", "b", "c", "d"]),
                "it skips b and c in the promotion order a -> b -> c -> d; promote a -> b first",
            );
        });

        it("refuses to go backwards", () => {
            assert.equal(
                orderProblem("prod", "staging", ORDER),
                "staging comes before prod in the promotion order dev -> staging -> prod; promotions only go forward",
            );
        });

        it("refuses a stack that is not in the order", () => {
            assert.equal(
                orderProblem("dev", "qa", ORDER),
                "qa is not in the promotion order dev -> staging -> prod (config promotionOrder)",
            );
        });
    });

    describe("planPromotion", () => {
        it("adds the released version after the baseline at weight 0 with the baseline's replicas", () => {
            const p = plan([{ ...v1, weight: 0 }, v2done], [v1]);
            assert.deepEqual(p.canary, { name: "v2", image: "r/app:v2", replicas: 3, weight: 0 });
            assert.deepEqual(p.baseline, v1);
            assert.deepEqual(p.released, v2done);
        });

        it("writes no replicas for the canary when the baseline sets none", () => {
            const p = plan([v2done], [{ name: "v1", image: "r/app:v1", weight: 100 }]);
            assert.deepEqual(p.canary, { name: "v2", image: "r/app:v2", weight: 0 });
        });

        it("refuses when no source version runs at 100%", () => {
            assert.throws(
                () =>
                    plan(
                        [
                            { ...v1, weight: 90 },
                            { ...v2done, weight: 10 },
                        ],
                        [v1],
                    ),
                new PromotionRefused(
                    "cannot promote dev -> staging: no version of dev runs at 100% (v1=90, v2=10); complete the rollout in dev first (npx istio-canary rollout --stack dev)",
                ),
            );
        });

        it("refuses when the target has a canary in progress", () => {
            assert.throws(
                () =>
                    plan(
                        [v2done],
                        [
                            { ...v1, weight: 75 },
                            { name: "v0", image: "r/app:v0", weight: 25 },
                        ],
                    ),
                new PromotionRefused(
                    "cannot promote dev -> staging: staging has a canary in progress (v1=75, v0=25); complete or abort that rollout first (npx istio-canary rollout --stack staging)",
                ),
            );
        });

        it("refuses when the target runs a second version without traffic", () => {
            assert.throws(
                () => plan([v2done], [v1, { name: "v0", image: "r/app:v0", weight: 0 }]),
                new PromotionRefused(
                    "cannot promote dev -> staging: staging runs 2 versions (v1=100, v0=0); a promotion adds a canary next to exactly one version: finish the rollout there and finalize it (npx istio-canary rollout --stack staging --finalize) first",
                ),
            );
        });

        it("refuses when the target already runs the image, whatever its name there", () => {
            assert.throws(
                () => plan([v2done], [{ name: "stable", image: "r/app:v2", weight: 100 }]),
                new PromotionRefused(
                    "cannot promote dev -> staging: staging already runs r/app:v2 (as stable); there is nothing to promote",
                ),
            );
        });

        it("refuses when the target's version has the released name but another image", () => {
            assert.throws(
                () => plan([v2done], [{ name: "v2", image: "r/app:v2-old", weight: 100 }]),
                new PromotionRefused(
                    "cannot promote dev -> staging: staging already has a version named v2 with image r/app:v2-old, and dev's v2 is r/app:v2; version names must be unique in a stack, so release the new image under a new name in dev",
                ),
            );
        });

        it("checks the order before looking at the versions", () => {
            assert.throws(
                () =>
                    plan(
                        [
                            { ...v1, weight: 50 },
                            { ...v2done, weight: 50 },
                        ],
                        [v1],
                        "dev",
                        "prod",
                    ),
                /: it skips staging/,
            );
        });
    });
});
