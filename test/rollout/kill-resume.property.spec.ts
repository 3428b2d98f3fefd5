/**
 * Property test: a rollout killed at random points and continued by whatever its last message says
 * (or, after a kill, by what its state says) never skips an analysis, never applies a step twice,
 * never leaves a state file that does not load, and always has a way forward.
 *
 * The kill is in-process: every action of the command (each state save, stack-file write,
 * `pulumi up`, live read, analysis and wait) is a point where the fakes can end the "process". From
 * there on nothing it does reaches the world: saves are dropped, applies do nothing, and the lock it
 * held stays behind with a dead holder, as after a SIGKILL. A kill inside a `pulumi up` takes effect
 * in the cluster or not, at random. Between commands, someone may change the live split by hand.
 * The world (stack file, cluster, state file, lock) outlives each command; the engine does not.
 * Deterministic per seed; a failure names its seed and the command log.
 */
import { strict as assert } from "node:assert";
import { NextCommand, RolloutEngine, RolloutOutcome } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { Lock, LockHeldError, RolloutState, StateStore, parseState } from "../../rollout/state";
import { ApplyScope, CanaryJudge, Clock, Judgement, StackTarget, Verdict } from "../../rollout/types";
import { Weights, allToBaseline, sameWeights, stepWeights } from "../../rollout/weights";

const SEEDS = 1000;
const STATE_FILE = "/state/dev.json";

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

class Killed extends Error {
    constructor() {
        super("killed");
        this.name = "Killed";
    }
}

/** What outlives a command: the stack file, the cluster, the state file and lock, and a log of what happened. */
interface World {
    file: Weights;
    live: Weights;
    stateText?: string;
    lock?: { alive: boolean };
    archived: number;
    t: number;
    /** In order: every change of the live split by the rollout or by hand, and every analysis with the split it saw. */
    log: ({ type: "live"; weights: Weights; by: "rollout" | "hand" } | { type: "judge"; live: Weights; verdict: Verdict })[];
}

/** One command's process: counts its actions and dies at the chosen one. */
class Process {
    private actions = 0;
    dead = false;

    constructor(
        private readonly killAt: number,
        readonly random: () => number,
    ) {}

    /** One action; throws Killed at the kill point and at every action after it. */
    act(): void {
        if (this.dead) {
            throw new Killed();
        }
        this.actions += 1;
        if (this.actions === this.killAt) {
            this.dead = true;
            throw new Killed();
        }
    }

    /** True when this action is the kill point (the caller decides what reached the world first). */
    killedHere(): boolean {
        if (this.dead) {
            return true;
        }
        this.actions += 1;
        if (this.actions === this.killAt) {
            this.dead = true;
            return true;
        }
        return false;
    }
}

class KillableTarget implements StackTarget {
    readonly configFile = "Pulumi.dev.yaml";

    constructor(
        private readonly world: World,
        private readonly p: Process,
        private readonly failRate: number,
    ) {}

    async applyWeights(weights: Weights, _scope?: ApplyScope): Promise<void> {
        this.p.act();
        this.world.file = { ...this.world.file, ...weights }; // the stack file is written first
        this.p.act();
        if (this.p.random() < this.failRate) {
            throw new Error("pulumi up failed: context deadline exceeded");
        }
        if (this.p.killedHere()) {
            if (this.p.random() < 0.5) {
                this.takeEffect(weights); // killed after the cluster took the change, before `up` returned
            }
            throw new Killed();
        }
        this.takeEffect(weights);
        this.p.act();
    }

    async removeVersion(name: string): Promise<void> {
        this.p.act();
        const next = { ...this.world.file };
        delete next[name];
        this.world.file = next;
        this.p.act();
        if (this.p.random() < this.failRate) {
            throw new Error("pulumi up failed: context deadline exceeded");
        }
        const live = { ...this.world.live };
        delete live[name];
        this.world.live = live;
        this.p.act();
    }

    async currentWeights(): Promise<Weights> {
        this.p.act();
        return { ...this.world.file };
    }

    async liveWeights(): Promise<Weights | undefined> {
        this.p.act();
        return { ...this.world.live };
    }

    private takeEffect(weights: Weights): void {
        this.world.live = { ...this.world.live, ...weights };
        this.world.log.push({ type: "live", weights: { ...this.world.live }, by: "rollout" });
    }
}

class KillableJudge implements CanaryJudge {
    constructor(
        private readonly world: World,
        private readonly p: Process,
        private readonly verdicts: () => Verdict,
    ) {}

    async judge(input: { baseline: string; canary: string; sinceSeconds: number }): Promise<Judgement> {
        this.p.act();
        const verdict = this.verdicts();
        this.world.log.push({ type: "judge", live: { ...this.world.live }, verdict });
        const stats = (version: string) => ({ version, requests: 100, errors: verdict === "fail" ? 20 : 0, errorRate: 0, p99Ms: 40 });
        return { verdict, baseline: stats(input.baseline), canary: stats(input.canary), reasons: [`scripted ${verdict}`] };
    }
}

class KillableClock implements Clock {
    constructor(
        private readonly world: World,
        private readonly p: Process,
    ) {}

    now(): number {
        return this.world.t;
    }

    async sleep(ms: number): Promise<void> {
        this.p.act();
        this.world.t += ms;
    }
}

/** The state file and lock in the world; a save is atomic (a kill leaves the old text or the new). */
class KillableStore implements StateStore {
    constructor(
        private readonly world: World,
        private readonly p: Process,
    ) {}

    load(stack: string): RolloutState | undefined {
        this.p.act();
        return this.world.stateText === undefined ? undefined : parseState(this.world.stateText, STATE_FILE, stack);
    }

    save(state: RolloutState): void {
        this.p.act();
        this.world.stateText = JSON.stringify(state);
    }

    lock(stack: string): Lock {
        this.p.act();
        if (this.world.lock?.alive === true) {
            throw new LockHeldError(`a rollout of stack ${stack} is already running`, { pid: 1, hostname: "h", since: "", command: "" });
        }
        const held = { alive: true };
        this.world.lock = held;
        return {
            file: "/state/dev.lock",
            release: () => {
                if (!this.p.dead && this.world.lock === held) {
                    this.world.lock = undefined;
                }
            },
        };
    }

    fileOf(): string {
        return STATE_FILE;
    }

    archive(): string {
        this.p.act();
        this.world.archived += 1;
        return `/state/dev.${this.world.archived}.json`;
    }
}

type Command = "start" | NextCommand;

const FLAG: Record<NextCommand, string> = { start: "", resume: " --resume", abort: " --abort", finalize: " --finalize" };

/** One seed: drives the rollout to its end, checking the invariants after every command. */
async function runSeed(seed: number): Promise<{ commands: number; kills: number }> {
    const random = prng(seed);
    const stepsChoices = [
        [10, 50, 100],
        [10, 25, 50, 100],
        [5, 100],
        [20, 40, 60, 80, 100],
    ];
    const plan: RolloutPlan = {
        stack: "dev",
        versions: [
            { name: "v1", image: "myapp:v1", replicas: 2 },
            { name: "v2", image: "myapp:v2", replicas: 1 },
        ],
        steps: stepsChoices[Math.floor(random() * stepsChoices.length)],
        waitSeconds: 60,
        analysisIntervalSeconds: 15,
        maxStepRequests: 1000,
        maxStepSeconds: 60 + 15 * Math.floor(random() * 3),
    };
    const from = { v1: 100, v2: 0 };
    const world: World = { file: { ...from }, live: { ...from }, archived: 0, t: Date.parse("2025-01-01T12:00:00Z"), log: [] };
    const failRate = random() < 0.5 ? 0 : 0.1;
    const verdict = (): Verdict => {
        const x = random();
        return x < 0.8 ? "pass" : x < 0.92 ? "inconclusive" : "fail";
    };
    const trail: string[] = [];
    const fail = (why: string): never => assert.fail(`seed ${seed}: ${why}\n  ${trail.join("\n  ")}`);

    let command: Command = "start";
    let kills = 0;
    let commands = 0;
    for (; commands < 200; commands++) {
        // Most commands die, at any of their first 25 actions (a whole rollout from the start takes some 25 to 60).
        const killAt = random() < 0.85 ? 1 + Math.floor(random() * 25) : 0;
        const p = new Process(killAt, random);
        const engine = new RolloutEngine({
            target: new KillableTarget(world, p, failRate),
            judge: new KillableJudge(world, p, verdict),
            store: new KillableStore(world, p),
            clock: new KillableClock(world, p),
        });
        let outcome: RolloutOutcome | undefined;
        try {
            outcome = await engine[command](plan);
        } catch (e) {
            if (!(e instanceof Killed)) {
                fail(`${command} threw ${(e as Error).stack ?? String(e)}`);
            }
        }
        const state = loadState(world, fail);
        if (p.dead) {
            kills += 1;
            trail.push(`${command}: killed at action ${killAt} (state ${describeState(state)})`);
            if (world.lock !== undefined) {
                world.lock.alive = false; // the holder died
            }
            // Sometimes someone changes the split by hand while nothing runs.
            if (state?.status === "in-progress" && state.applied !== null && random() < 0.1) {
                world.live = { v1: 100, v2: 0 };
                world.log.push({ type: "live", weights: { ...world.live }, by: "hand" });
                trail.push("  live split set to v1 100% / v2 0% by hand");
            }
            // After a kill there is no message: the state says what to run.
            const after = nextAfterKill(state, random);
            if (after === "done") {
                // It died after saving its end: nothing is left to do.
                checkHistory(world, plan, state, from, fail);
                return { commands: commands + 1, kills };
            }
            command = after;
            continue;
        }
        if (outcome === undefined) {
            return fail(`${command} ended without an outcome`);
        }
        trail.push(`${command}: ${outcome.kind} (${outcome.exitCode}) next [${(outcome.next ?? []).join(", ")}]`);
        if (outcome.kind === "refused") {
            fail(`${command}, the way forward, was refused: ${outcome.message}`);
        }
        if (["completed", "rolled-back", "aborted", "finalized"].includes(outcome.kind)) {
            if (outcome.kind === "completed" && random() < 0.4) {
                command = "finalize";
                continue;
            }
            checkHistory(world, plan, state, from, fail);
            return { commands: commands + 1, kills };
        }
        // Not done: the message must name a way forward, and that way is taken.
        const next: NextCommand[] = outcome.next ?? [];
        if (next.length === 0) {
            fail(`${outcome.kind} names no way forward: ${outcome.message}`);
        }
        for (const n of next) {
            if (!outcome.message.includes(`npx istio-canary rollout --stack dev${FLAG[n]}\``)) {
                fail(`${outcome.kind} lists ${n} as a way forward but its message does not name it: ${outcome.message}`);
            }
        }
        if (outcome.kind === "held") {
            // The person either restores the split the rollout applied, or aborts.
            if (random() < 0.5 && state?.applied !== null && state !== undefined) {
                world.live = { ...state.applied };
                world.log.push({ type: "live", weights: { ...world.live }, by: "hand" });
                trail.push("  live split restored by hand");
                command = "resume";
            } else {
                command = "abort";
            }
        } else {
            command = next[Math.floor(random() * next.length)];
        }
    }
    return fail(`no end after ${commands} commands: the ways forward went round in circles`);
}

/** The state file as the next command would load it: it must always load. */
function loadState(world: World, fail: (why: string) => never): RolloutState | undefined {
    if (world.stateText === undefined) {
        return undefined;
    }
    try {
        return parseState(world.stateText, STATE_FILE, "dev");
    } catch (e) {
        return fail(`the state file does not load: ${(e as Error).message}`);
    }
}

function describeState(state: RolloutState | undefined): string {
    if (state === undefined) {
        return "none";
    }
    return `${state.status}, current ${state.current}, pending ${state.pending?.kind ?? "none"}, applied ${JSON.stringify(state.applied)}`;
}

/** What a person runs after the command died, from the state alone. */
function nextAfterKill(state: RolloutState | undefined, random: () => number): Command | "done" {
    if (state === undefined) {
        return "start";
    }
    if (state.status === "in-progress" || state.pending !== null) {
        if (state.status === "in-progress" && state.applied === null && state.pending?.kind !== "abort" && random() < 0.3) {
            return "start"; // a rollout that never applied anything can also be started again
        }
        return state.pending?.kind === "abort" ? "abort" : state.pending?.kind === "finalize" ? "finalize" : "resume";
    }
    return "done";
}

/**
 * The invariants over the whole run: every analysis judged the split of its step as the rollout
 * applied it; every shift to step k > 0 came right after a passing analysis of step k - 1; the
 * rollout's own changes of the live split walk the steps in order, each at most once, and end with
 * at most one move of all traffic to the baseline; the final state agrees.
 */
function checkHistory(world: World, plan: RolloutPlan, state: RolloutState | undefined, from: Weights, fail: (why: string) => never): void {
    const split = (i: number) => stepWeights("v1", "v2", plan.steps[i]);
    const home = allToBaseline("v1", ["v2"]);
    let lastJudge: { live: Weights; verdict: Verdict } | undefined;
    let at = -1; // index of the step the rollout's live split is at; -1 before the first shift
    let liveNow = { ...from };
    let ended = false;
    for (const e of world.log) {
        if (e.type === "judge") {
            if (at < 0 || !sameWeights(e.live, split(at)) || !sameWeights(liveNow, split(at))) {
                fail(`an analysis judged ${JSON.stringify(e.live)}, not the split of the step the rollout applied (${at})`);
            }
            lastJudge = e;
            continue;
        }
        if (e.by === "hand") {
            liveNow = e.weights;
            continue;
        }
        const same = sameWeights(e.weights, liveNow);
        liveNow = e.weights;
        if (ended && sameWeights(e.weights, home)) {
            continue; // an unconfirmed rollback or abort applied again
        }
        if (ended) {
            fail(`the rollout changed the split to ${JSON.stringify(e.weights)} after it had sent all traffic home`);
        }
        if (at >= 0 && sameWeights(e.weights, split(at)) && same) {
            continue; // an unconfirmed apply re-applied: the same split, not a second step
        }
        const k = plan.steps.findIndex((_, i) => sameWeights(e.weights, split(i)));
        if (k >= 0 && (k === at + 1 || (at === -1 && k === 0) || (k === at && !same))) {
            if (
                k > 0 &&
                k === at + 1 &&
                (lastJudge === undefined || lastJudge.verdict !== "pass" || !sameWeights(lastJudge.live, split(k - 1)))
            ) {
                fail(`the shift to step ${k + 1} was not preceded by a passing analysis of step ${k}`);
            }
            at = k;
            lastJudge = undefined;
            continue;
        }
        if (sameWeights(e.weights, home)) {
            ended = true;
            continue;
        }
        fail(`the rollout applied ${JSON.stringify(e.weights)} at step ${at + 1}: out of order`);
    }
    if (state === undefined) {
        return;
    }
    for (const [i, record] of state.steps.entries()) {
        const applied = state.history.filter((h) => h.event === "applied" && h.detail?.action === "shift" && h.detail?.step === i).length;
        if (applied > 1) {
            fail(`step ${i + 1} was confirmed applied ${applied} times`);
        }
        if (i < state.current && record.decision?.decision !== "promote") {
            fail(`step ${i + 1} was passed without a promoting analysis`);
        }
    }
    if (state.status === "completed" || state.status === "finalized") {
        if (at !== plan.steps.length - 1) {
            fail(`${state.status}, but the rollout's live split reached only step ${at + 1}`);
        }
    }
}

describe("rollout killed at random points (property, in-process kills)", function () {
    this.timeout(120_000);

    it(`over ${SEEDS} seeds never skips an analysis, never applies a step twice, never corrupts its state, and always has a way forward`, async () => {
        let kills = 0;
        let commands = 0;
        for (let seed = 1; seed <= SEEDS; seed++) {
            const r = await runSeed(seed);
            kills += r.kills;
            commands += r.commands;
        }
        assert.ok(kills >= 2 * SEEDS, `expected at least two kills per seed on average, got ${kills} in ${commands} commands`);
    });
});
