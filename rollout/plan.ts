/**
 * What a rollout works from: the stack's versions and its `rollout` settings, taken from validated
 * config. Pure; the engine decides what may start.
 */
import type { HookConfig } from "./hooks";
import { checkSteps } from "./weights";

/** One version as the rollout sees it. */
export interface PlanVersion {
    /** Version name (label value, subset name). */
    name: string;
    /** Container image, recorded in the state for the audit trail. */
    image?: string;
    /** Replicas; a canary with 0 replicas cannot get traffic and is refused. */
    replicas?: number;
}

/** The input of every engine command. */
export interface RolloutPlan {
    /** Stack name. */
    stack: string;
    /** The stack's `versions` in order: the baseline first, the canary second. */
    versions: PlanVersion[];
    /** Canary weight of each step, strictly increasing, ending at 100. */
    steps: number[];
    /** Seconds to wait after a traffic shift before the first analysis. */
    waitSeconds: number;
    /** Seconds between analyses while a step is inconclusive. */
    analysisIntervalSeconds: number;
    /** Canary requests a step may gather without a verdict before it is rolled back. */
    maxStepRequests: number;
    /** Seconds a step may last without a verdict before it is rolled back. */
    maxStepSeconds: number;
    /** Canary weights (entries of `steps`) whose shift waits for `--approve`. Default none. */
    approve?: number[];
    /** Hooks, read from config on every run (a resume runs what the config says now). Default none. */
    hooks?: HookConfig[];
    /** The header route that reaches the canary whatever the weights, when routing.headerRoute names the canary. */
    headerRoute?: { header: string; value: string };
}

/** The subset of validated stack config a plan is made from (config/types.ts CanaryConfig fits). */
export interface PlanSource {
    versions: { name: string; image: string; replicas: number }[];
    rollout: {
        steps: number[];
        waitSeconds: number;
        analysisIntervalSeconds: number;
        maxStepRequests: number;
        maxStepSeconds: number;
        approve?: number[];
        hooks?: HookConfig[];
    };
    routing?: { headerRoute?: { header: string; value: string; version: string } };
}

/** Builds the plan of a stack from its validated config. Throws a RangeError for impossible settings. */
export function planFromConfig(stack: string, config: PlanSource): RolloutPlan {
    const { rollout } = config;
    for (const [key, value] of Object.entries({
        waitSeconds: rollout.waitSeconds,
        analysisIntervalSeconds: rollout.analysisIntervalSeconds,
        maxStepRequests: rollout.maxStepRequests,
        maxStepSeconds: rollout.maxStepSeconds,
    })) {
        if (!Number.isFinite(value) || value < 0) {
            throw new RangeError(`rollout.${key} must be a number >= 0, got ${String(value)}`);
        }
    }
    return {
        stack,
        versions: config.versions.map((v) => ({ name: v.name, image: v.image, replicas: v.replicas })),
        steps: checkSteps(rollout.steps),
        waitSeconds: rollout.waitSeconds,
        analysisIntervalSeconds: rollout.analysisIntervalSeconds,
        maxStepRequests: rollout.maxStepRequests,
        maxStepSeconds: rollout.maxStepSeconds,
        approve: [...(rollout.approve ?? [])],
        hooks: [...(rollout.hooks ?? [])],
        ...headerRouteTo(config, config.versions[1]?.name),
    };
}

/** `{headerRoute}` when routing.headerRoute reaches `canary`, else nothing. */
function headerRouteTo(config: PlanSource, canary: string | undefined): { headerRoute?: { header: string; value: string } } {
    const h = config.routing?.headerRoute;
    return h !== undefined && canary !== undefined && h.version === canary ? { headerRoute: { header: h.header, value: h.value } } : {};
}

/**
 * Why a rollout cannot run on these versions, or undefined when it can: exactly two versions, the
 * baseline first and the canary second, and a canary with replicas.
 */
export function whyNotRollable(plan: RolloutPlan): string | undefined {
    const names = plan.versions.map((v) => v.name);
    if (plan.versions.length < 2) {
        return (
            `stack ${plan.stack} has ${names.length === 0 ? "no versions" : `one version (${names[0]})`}: there is no canary to roll out; ` +
            `add the canary as the second entry of istio-canary:versions (the baseline stays first)`
        );
    }
    if (plan.versions.length > 2) {
        return (
            `stack ${plan.stack} has ${names.length} versions (${names.join(", ")}): a rollout moves traffic between exactly two, ` +
            `the baseline (first entry) and the canary (second); remove the others from istio-canary:versions first`
        );
    }
    const canary = plan.versions[1];
    if (canary.replicas === 0) {
        return `canary ${canary.name} has replicas: 0 on stack ${plan.stack}, so it cannot get traffic to analyse; give it replicas first`;
    }
    return undefined;
}
