/**
 * What a promotion between two stacks adds, or why it is refused. Pure functions over the two
 * stacks' version lists and the promotion order; no files are read here.
 */
import { VersionEntry } from "../stack/edit";

/** A promotion that can be made. */
export interface PromotionPlan {
    /** Source stack, e.g. `dev`. */
    from: string;
    /** Target stack, e.g. `staging`. */
    to: string;
    /** The source's version at 100%: the one being promoted. */
    released: VersionEntry;
    /** The target's only version, which stays first as the baseline. */
    baseline: VersionEntry;
    /** The entry added after the baseline: the released name and image, weight 0, the baseline's replicas. */
    canary: VersionEntry;
}

/** Everything planPromotion looks at. */
export interface PromotionInput {
    /** Source stack name. */
    from: string;
    /** Target stack name. */
    to: string;
    /** Stacks in promotion order (config `promotionOrder`, default dev, staging, prod). */
    order: string[];
    /** The source stack's versions, in file order. */
    source: VersionEntry[];
    /** The target stack's versions, in file order. */
    target: VersionEntry[];
}

/** A promotion that must not be made; the message says why and what to do instead. */
export class PromotionRefused extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PromotionRefused";
    }
}

/** `v1=90, v2=10`: a version list as its split. */
export function describeSplit(versions: VersionEntry[]): string {
    return versions.map((v) => `${v.name}=${v.weight}`).join(", ");
}

/**
 * Why `from -> to` is not a step of the promotion order, or undefined when it is: both must be
 * in the order and `from` must come immediately before `to`.
 */
export function orderProblem(from: string, to: string, order: string[]): string | undefined {
    const chain = order.join(" -> ");
    for (const stack of [from, to]) {
        if (!order.includes(stack)) {
            return `${stack} is not in the promotion order ${chain} (config promotionOrder)`;
        }
    }
    const i = order.indexOf(from);
    const j = order.indexOf(to);
    if (j <= i) {
        return `${to} comes before ${from} in the promotion order ${chain}; promotions only go forward`;
    }
    if (j > i + 1) {
        const skipped = order.slice(i + 1, j);
        return `it skips ${skipped.join(" and ")} in the promotion order ${chain}; promote ${from} -> ${order[i + 1]} first`;
    }
    return undefined;
}

/**
 * Plans the promotion of the source's version at 100% into the target, or throws PromotionRefused.
 *
 * The rule for the new entry: it keeps the released version's name and image, goes after the
 * target's current version (baseline first, canary second, the order `istio-canary rollout` reads),
 * takes the baseline's replicas (none written when the baseline sets none), and always starts at
 * weight 0. A merge of the promotion therefore deploys the canary's pods without sending them
 * traffic; the first traffic is the target's first `rollout.steps` entry, applied by the rollout
 * command under analysis.
 *
 * Refused when: the pair is not one step of the promotion order; no source version has weight
 * 100; the target runs more than one version (a canary in progress, or one not yet finalized);
 * the target already runs the released image; the target's version already uses the released
 * name for another image.
 */
export function planPromotion(input: PromotionInput): PromotionPlan {
    const { from, to } = input;
    // Annotated so that TypeScript narrows after a call (an assertion-style `never` needs an explicit type).
    const refuse: (why: string) => never = (why) => {
        throw new PromotionRefused(`cannot promote ${from} -> ${to}: ${why}`);
    };
    const order = orderProblem(from, to, input.order);
    if (order !== undefined) {
        refuse(order);
    }
    const released = input.source.find((v) => v.weight === 100);
    if (released === undefined) {
        refuse(
            `no version of ${from} runs at 100% (${describeSplit(input.source)}); complete the rollout in ${from} first (npx istio-canary rollout --stack ${from})`,
        );
    }
    const withTraffic = input.target.filter((v) => v.weight > 0);
    if (withTraffic.length >= 2) {
        refuse(
            `${to} has a canary in progress (${describeSplit(input.target)}); complete or abort that rollout first (npx istio-canary rollout --stack ${to})`,
        );
    }
    if (input.target.length > 1) {
        refuse(
            `${to} runs ${input.target.length} versions (${describeSplit(input.target)}); a promotion adds a canary next to exactly one version: finish the rollout there and finalize it (npx istio-canary rollout --stack ${to} --finalize) first`,
        );
    }
    const baseline = input.target[0];
    if (baseline === undefined) {
        refuse(`${to} runs no version`);
    }
    if (baseline.image === released.image) {
        refuse(`${to} already runs ${released.image} (as ${baseline.name}); there is nothing to promote`);
    }
    if (baseline.name === released.name) {
        refuse(
            `${to} already has a version named ${released.name} with image ${baseline.image}, and ${from}'s ${released.name} is ${released.image}; version names must be unique in a stack, so release the new image under a new name in ${from}`,
        );
    }
    const canary: VersionEntry = {
        name: released.name,
        image: released.image,
        ...(baseline.replicas !== undefined ? { replicas: baseline.replicas } : {}),
        weight: 0,
    };
    return { from, to, released, baseline, canary };
}
