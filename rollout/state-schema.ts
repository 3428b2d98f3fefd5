/**
 * The schema of a rollout state file, checked on every load. A state file is only ever written by
 * the engine, so anything that does not hold here was edited by hand or is incomplete, and trusting
 * it could skip an analysis (`current` moved ahead), loosen the tolerance (`maxStepRequests: -1`) or
 * crash the engine (a missing list). Pure: from parsed JSON to a list of problems, each naming the
 * field, the value found and what is allowed.
 */
import { HOOK_POINTS } from "./hooks";
import { sameWeights, stepWeights } from "./weights";

const STATUSES = ["in-progress", "completed", "rolled-back", "aborted", "finalized"] as const;
const KINDS = ["shift", "rollback", "abort", "finalize", "prepare"] as const;
const VERDICTS = ["pass", "fail", "inconclusive"] as const;
const ROLLBACK_CAUSES = ["analysis", "hook", "rejected", "abort"] as const;
const HOOK_RUN_STATUSES = ["running", "succeeded", "failed", "timed-out", "interrupted"] as const;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
    return v === undefined ? "undefined" : JSON.stringify(v);
}

/** Collects problems with one field path each. */
class Problems {
    readonly list: string[] = [];

    add(field: string, value: unknown, allowed: string): void {
        this.list.push(value === undefined ? `${field} is missing; ${allowed}` : `${field} is ${show(value)}; ${allowed}`);
    }

    /** An object at `field`; records a problem and returns undefined otherwise. */
    object(field: string, v: unknown): Obj | undefined {
        if (isObject(v)) {
            return v;
        }
        this.add(field, v, "it must be an object");
        return undefined;
    }

    array(field: string, v: unknown): unknown[] | undefined {
        if (Array.isArray(v)) {
            return v;
        }
        this.add(field, v, "it must be a list");
        return undefined;
    }

    string(field: string, v: unknown, opts: { optional?: boolean; nonEmpty?: boolean } = {}): string | undefined {
        if (v === undefined && opts.optional === true) {
            return undefined;
        }
        if (typeof v === "string" && (opts.nonEmpty !== true || v !== "")) {
            return v;
        }
        this.add(field, v, opts.nonEmpty === true ? "it must be a non-empty string" : "it must be a string");
        return undefined;
    }

    time(field: string, v: unknown, optional = false): void {
        if (v === undefined && optional) {
            return;
        }
        if (typeof v !== "string" || !ISO.test(v) || Number.isNaN(Date.parse(v))) {
            this.add(field, v, "it must be an ISO timestamp such as 2025-01-01T12:00:00.000Z");
        }
    }

    number(field: string, v: unknown, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
        const min = opts.min ?? -Infinity;
        const max = opts.max ?? Infinity;
        if (typeof v === "number" && Number.isFinite(v) && (opts.integer !== true || Number.isInteger(v)) && v >= min && v <= max) {
            return v;
        }
        const kind = opts.integer === true ? "an integer" : "a number";
        const range = Number.isFinite(min) && Number.isFinite(max) ? ` from ${min} to ${max}` : Number.isFinite(min) ? ` >= ${min}` : "";
        this.add(field, v, `it must be ${kind}${range}`);
        return undefined;
    }

    oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[]): T | undefined {
        if (typeof v === "string" && (allowed as readonly string[]).includes(v)) {
            return v as T;
        }
        this.add(field, v, `it must be one of ${allowed.join(", ")}`);
        return undefined;
    }

    /** Weights: version names to integer percentages; `sum100` when they must add up to 100. */
    weights(field: string, v: unknown, sum100: boolean): Record<string, number> | undefined {
        const o = this.object(field, v);
        if (o === undefined) {
            return undefined;
        }
        let ok = true;
        for (const [name, w] of Object.entries(o)) {
            ok = this.number(`${field}.${name}`, w, { integer: true, min: 0, max: 100 }) !== undefined && ok;
        }
        if (!ok) {
            return undefined;
        }
        const weights = o as Record<string, number>;
        const sum = Object.values(weights).reduce((a, b) => a + b, 0);
        if (sum100 && sum !== 100) {
            this.add(field, v, `the weights must sum to 100 (they sum to ${sum})`);
            return undefined;
        }
        return weights;
    }
}

/**
 * Every problem of a parsed state file for `stack`, empty when it is a state the engine could have
 * written. Checks each field's type and range, then that the fields agree with each other: `current`
 * is a step of the plan, every step before it was applied and promoted by a passing analysis, a
 * pending action is the one the engine would have saved at that point, a terminal status has its
 * outcome.
 */
export function stateProblems(value: unknown, stack: string): string[] {
    const p = new Problems();
    if (!isObject(value)) {
        p.add("the state", value, "it must be a JSON object");
        return p.list;
    }
    const s = value;
    if (s.format !== 1 && s.format !== 2 && s.format !== 3) {
        p.add(
            "format",
            s.format,
            "it must be 3 (the format this version writes), 2 (before the step tolerances in requests and seconds) or 1 (before hooks and gates)",
        );
        return p.list;
    }
    if (s.stack !== stack) {
        p.add("stack", s.stack, `it must be ${JSON.stringify(stack)}, the stack this file is named for`);
    }
    const version = (field: string) => {
        const o = p.object(field, s[field]);
        if (o === undefined) {
            return undefined;
        }
        const name = p.string(`${field}.name`, o.name, { nonEmpty: true });
        p.string(`${field}.image`, o.image, { optional: true });
        return name;
    };
    const baseline = version("baseline");
    const canary = version("canary");
    if (baseline !== undefined && baseline === canary) {
        p.add("canary.name", canary, "it must differ from baseline.name");
    }

    let steps: number[] | undefined;
    const plan = p.object("plan", s.plan);
    if (plan !== undefined) {
        const list = p.array("plan.steps", plan.steps);
        if (list !== undefined) {
            const ok = list.every((w, i) => p.number(`plan.steps[${i}]`, w, { integer: true, min: 1, max: 100 }) !== undefined);
            const nums = list as number[];
            if (ok) {
                if (nums.length < 2 || nums.some((w, i) => i > 0 && w <= nums[i - 1]) || nums[nums.length - 1] !== 100) {
                    p.add(
                        "plan.steps",
                        list,
                        "they must be strictly increasing weights ending at 100, with at least one analysed step below 100",
                    );
                } else {
                    steps = nums;
                }
            }
        }
        p.number("plan.waitSeconds", plan.waitSeconds, { min: 0 });
        p.number("plan.analysisIntervalSeconds", plan.analysisIntervalSeconds, { min: 0 });
        p.number("plan.maxStepRequests", plan.maxStepRequests, { integer: true, min: 1 });
        p.number("plan.maxStepSeconds", plan.maxStepSeconds, { integer: true, min: 1 });
        if (plan.approve !== undefined) {
            const gated = p.array("plan.approve", plan.approve);
            gated?.forEach((g, i) =>
                p.number(`plan.approve[${i}]`, g, { integer: true, min: 0, max: steps === undefined ? undefined : steps.length - 1 }),
            );
        }
    }

    const status = p.oneOf("status", s.status, STATUSES);
    const current =
        steps === undefined
            ? p.number("current", s.current, { integer: true, min: 0 })
            : p.number("current", s.current, { integer: true, min: 0, max: steps.length - 1 });
    const records = p.array("steps", s.steps);
    const names = baseline !== undefined && canary !== undefined ? { baseline, canary } : undefined;
    if (records !== undefined) {
        checkSteps(p, records, steps, current, names);
    }

    if (s.applied !== null) {
        p.weights("applied", s.applied, true);
    }
    if (s.from !== undefined && s.from !== null) {
        p.weights("from", s.from, false);
    }
    if (s.pending !== null) {
        checkPending(p, s.pending, { status, current, steps, names, records });
    }
    if (s.outcome !== undefined) {
        const o = p.object("outcome", s.outcome);
        if (o !== undefined) {
            p.time("outcome.at", o.at);
            p.string("outcome.reason", o.reason);
        }
    } else if (status !== undefined && status !== "in-progress") {
        p.add("outcome", undefined, `a ${status} rollout records how it ended`);
    }
    if (status === "completed" && steps !== undefined && current !== undefined) {
        const last = records?.[steps.length - 1];
        if (current !== steps.length - 1 || !isObject(last) || last.appliedAt === undefined) {
            p.add("status", status, `a completed rollout has applied its last step (${steps.length}, 100%)`);
        }
    }
    const history = p.array("history", s.history);
    history?.forEach((h, i) => {
        const o = p.object(`history[${i}]`, h);
        if (o !== undefined) {
            p.string(`history[${i}].at`, o.at);
            p.string(`history[${i}].event`, o.event, { nonEmpty: true });
            if (o.detail !== undefined) {
                p.object(`history[${i}].detail`, o.detail);
            }
        }
    });
    if (s.hooks !== undefined) {
        checkHookRuns(p, s.hooks);
    }
    if (s.gates !== undefined) {
        checkGates(p, s.gates, steps);
    }
    if (s.hooksDue !== undefined) {
        const due = p.oneOf("hooksDue", s.hooksDue, ["rollback", "complete"] as const);
        const owner = due === "rollback" ? "rolled-back" : "completed";
        if (due !== undefined && status !== undefined && status !== owner) {
            p.add("hooksDue", due, `${due} hooks are due only in a ${owner} rollout, not a ${status} one`);
        }
    }
    p.time("startedAt", s.startedAt);
    p.time("updatedAt", s.updatedAt);
    return p.list;
}

/** The hook runs: each names its hook, point and status, with its times. */
function checkHookRuns(p: Problems, value: unknown): void {
    const runs = p.array("hooks", value);
    runs?.forEach((r, i) => {
        const f = `hooks[${i}]`;
        const o = p.object(f, r);
        if (o === undefined) {
            return;
        }
        p.string(`${f}.hook`, o.hook, { nonEmpty: true });
        p.oneOf(`${f}.at`, o.at, HOOK_POINTS);
        if (o.step !== undefined) {
            p.number(`${f}.step`, o.step, { integer: true, min: 0 });
        }
        p.oneOf(`${f}.kind`, o.kind, ["command", "webhook"] as const);
        p.oneOf(`${f}.status`, o.status, HOOK_RUN_STATUSES);
        p.time(`${f}.startedAt`, o.startedAt);
        p.time(`${f}.finishedAt`, o.finishedAt, true);
        if (o.then !== undefined) {
            p.oneOf(`${f}.then`, o.then, ["continued", "held", "rolled-back"] as const);
        }
        if (o.output !== undefined) {
            p.string(`${f}.output`, o.output);
        }
        if (o.pid !== undefined) {
            p.number(`${f}.pid`, o.pid, { integer: true, min: 1 });
        }
    });
}

/** The gates: each at a step of the plan, with its status and its analyses. */
function checkGates(p: Problems, value: unknown, steps: number[] | undefined): void {
    const gates = p.array("gates", value);
    gates?.forEach((g, i) => {
        const f = `gates[${i}]`;
        const o = p.object(f, g);
        if (o === undefined) {
            return;
        }
        p.number(`${f}.step`, o.step, { integer: true, min: 0, max: steps === undefined ? undefined : steps.length - 1 });
        const status = p.oneOf(`${f}.status`, o.status, ["waiting", "approved", "rejected"] as const);
        p.time(`${f}.since`, o.since);
        p.time(`${f}.answeredAt`, o.answeredAt, status === "waiting");
        p.number(`${f}.analysisCount`, o.analysisCount, { integer: true, min: 0 });
        const analyses = p.array(`${f}.analyses`, o.analyses);
        analyses?.forEach((a, j) => {
            const ao = p.object(`${f}.analyses[${j}]`, a);
            if (ao !== undefined) {
                p.time(`${f}.analyses[${j}].at`, ao.at);
                p.oneOf(`${f}.analyses[${j}].verdict`, ao.verdict, VERDICTS);
            }
        });
    });
}

/** The step records: one per step reached, each with its plan weight, and every step before `current` promoted by a pass. */
function checkSteps(
    p: Problems,
    records: unknown[],
    steps: number[] | undefined,
    current: number | undefined,
    names: { baseline: string; canary: string } | undefined,
): void {
    if (current !== undefined && records.length > current + 1) {
        p.add("steps", `${records.length} records`, `a rollout at step index ${current} has at most ${current + 1} step records`);
    }
    if (current !== undefined && records.length < current) {
        p.add(
            "current",
            current,
            `steps has ${records.length} records, so step ${records.length + 1} was never applied and analysed; current can be at most ${records.length}`,
        );
    }
    records.forEach((r, i) => {
        const field = `steps[${i}]`;
        const o = p.object(field, r);
        if (o === undefined) {
            return;
        }
        if (steps !== undefined && o.canaryWeight !== steps[i]) {
            p.add(`${field}.canaryWeight`, o.canaryWeight, `it must be ${steps[i]}, plan.steps[${i}]`);
        }
        const w = p.weights(`${field}.weights`, o.weights, true);
        if (w !== undefined && names !== undefined && steps?.[i] !== undefined) {
            const expected = stepWeights(names.baseline, names.canary, steps[i]);
            if (!sameWeights(w, expected)) {
                p.add(`${field}.weights`, o.weights, `it must be ${JSON.stringify(expected)}, the split of step ${i + 1}`);
            }
        }
        p.time(`${field}.appliedAt`, o.appliedAt, true);
        const analyses = p.array(`${field}.analyses`, o.analyses) ?? [];
        analyses.forEach((a, j) => {
            const af = `${field}.analyses[${j}]`;
            const ao = p.object(af, a);
            if (ao === undefined) {
                return;
            }
            p.time(`${af}.at`, ao.at);
            p.number(`${af}.sinceSeconds`, ao.sinceSeconds, { min: 0 });
            const verdict = p.oneOf(`${af}.verdict`, ao.verdict, VERDICTS);
            const result = p.object(`${af}.result`, ao.result);
            if (result !== undefined) {
                if (verdict !== undefined && result.verdict !== verdict) {
                    p.add(`${af}.result.verdict`, result.verdict, `it must be ${JSON.stringify(verdict)}, the analysis's verdict`);
                }
                const reasons = p.array(`${af}.result.reasons`, result.reasons);
                reasons?.forEach((x, k) => p.string(`${af}.result.reasons[${k}]`, x));
            }
        });
        if (analyses.length > 0 && o.appliedAt === undefined) {
            p.add(`${field}.appliedAt`, undefined, "a step with analyses was applied first");
        }
        let decision: string | undefined;
        if (o.decision !== undefined) {
            const d = p.object(`${field}.decision`, o.decision);
            if (d !== undefined) {
                p.time(`${field}.decision.at`, d.at);
                decision = p.oneOf(`${field}.decision.decision`, d.decision, ["promote", "rollback"] as const);
                p.string(`${field}.decision.reason`, d.reason);
            }
        }
        if (current === undefined) {
            return;
        }
        if (i < current) {
            const last = analyses[analyses.length - 1];
            if (o.appliedAt === undefined || decision !== "promote" || !isObject(last) || last.verdict !== "pass") {
                p.add(
                    field,
                    `${o.appliedAt === undefined ? "not applied" : "applied"}, ${analyses.length} analyses, decision ${decision ?? "none"}`,
                    `every step before current (${current}) was applied and promoted by a passing analysis`,
                );
            }
        } else if (i === current && decision === "promote") {
            p.add(`${field}.decision.decision`, decision, `a promoted step moves current past it, but current is ${current}`);
        }
    });
}

/** The pending action: one the engine saves at that point of a rollout, with the weights it computes for it. */
function checkPending(
    p: Problems,
    value: unknown,
    ctx: {
        status: string | undefined;
        current: number | undefined;
        steps: number[] | undefined;
        names: { baseline: string; canary: string } | undefined;
        records: unknown[] | undefined;
    },
): void {
    const o = p.object("pending", value);
    if (o === undefined) {
        return;
    }
    const kind = p.oneOf("pending.kind", o.kind, KINDS);
    p.time("pending.startedAt", o.startedAt);
    p.number("pending.failures", o.failures, { integer: true, min: 0 });
    p.string("pending.reason", o.reason, { optional: true });
    if (o.cause !== undefined) {
        p.oneOf("pending.cause", o.cause, ROLLBACK_CAUSES);
    }
    const allowed: Record<(typeof KINDS)[number], string[]> = {
        shift: ["in-progress"],
        rollback: ["in-progress"],
        abort: ["in-progress", "completed"],
        finalize: ["completed"],
        prepare: ["in-progress"],
    };
    if (kind !== undefined && ctx.status !== undefined && !allowed[kind].includes(ctx.status)) {
        p.add("pending.kind", kind, `a pending ${kind} belongs to a rollout that is ${allowed[kind].join(" or ")}, not ${ctx.status}`);
    }
    const { names } = ctx;
    if (kind === "finalize") {
        if (names !== undefined && o.remove !== names.baseline) {
            p.add("pending.remove", o.remove, `a finalize removes the baseline, ${JSON.stringify(names.baseline)}`);
        }
        return;
    }
    const weights = p.weights("pending.weights", o.weights, true);
    if (weights === undefined || names === undefined || kind === undefined) {
        return;
    }
    if (kind === "shift") {
        if (ctx.current !== undefined && o.step !== ctx.current) {
            p.add("pending.step", o.step, `a pending shift is to the current step, ${ctx.current}`);
        }
        const w = ctx.steps?.[ctx.current ?? -1];
        if (w !== undefined && !sameWeights(weights, stepWeights(names.baseline, names.canary, w))) {
            p.add(
                "pending.weights",
                weights,
                `a shift to step ${(ctx.current ?? 0) + 1} applies ${JSON.stringify(stepWeights(names.baseline, names.canary, w))}`,
            );
        }
        const record = ctx.records?.[ctx.current ?? -1];
        if (isObject(record) && record.appliedAt !== undefined) {
            p.add("pending", "a shift", `step ${(ctx.current ?? 0) + 1} was already applied; its shift cannot be pending`);
        }
        return;
    }
    if (kind === "prepare") {
        if (!sameWeights(weights, stepWeights(names.baseline, names.canary, 0))) {
            p.add(
                "pending.weights",
                weights,
                `a prepare deploys the canary at 0: ${JSON.stringify(stepWeights(names.baseline, names.canary, 0))}`,
            );
        }
        if (ctx.current !== 0) {
            p.add("pending.kind", kind, "a prepare comes before the first step, so current must be 0");
        }
        return;
    }
    if (weights[names.baseline] !== 100) {
        p.add("pending.weights", weights, `a ${kind} sends all traffic (100) to the baseline, ${JSON.stringify(names.baseline)}`);
    }
}
