/** Test doubles for the rollout engine: a recording stack target, a scripted judge, a virtual clock. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readVersions, removeVersion, setWeights } from "../../stack/edit";
import { FileStateStore, RolloutState } from "../../rollout/state";
import { CanaryJudge, Clock, Judgement, RolloutEvent, StackTarget, StepPosition, Verdict, VersionStats } from "../../rollout/types";
import { Weights } from "../../rollout/weights";

/** One call the target received. */
export interface TargetCall {
    kind: "apply" | "remove";
    weights?: Weights;
    /** What an apply was asked to update (the engine's choice: the VirtualService only, or the whole stack). */
    scope?: string;
    name?: string;
    ok: boolean;
}

/**
 * Records every apply. Like the real adapter, it writes the stack's config before `pulumi up`, so a
 * failed apply leaves the new weights in the config.
 */
export class RecordingTarget implements StackTarget {
    readonly calls: TargetCall[] = [];
    weights: Weights;
    /** Decides whether a call fails (its message becomes the error), by call. */
    failWhen: (call: TargetCall, index: number) => string | undefined = () => undefined;
    /** Runs before each call resolves (to interrupt mid-apply, for example). */
    onCall: (call: TargetCall) => void = () => undefined;
    /** What preflight answers (undefined: ready); `preflights` counts the questions. */
    preflightProblem: string | undefined = undefined;
    preflights = 0;

    constructor(initial: Weights) {
        this.weights = { ...initial };
    }

    async applyWeights(weights: Weights, scope?: string): Promise<void> {
        this.weights = { ...this.weights, ...weights };
        await this.finish({ kind: "apply", weights: { ...weights }, ok: true, ...(scope !== undefined ? { scope } : {}) });
    }

    async removeVersion(name: string): Promise<void> {
        const next = { ...this.weights };
        delete next[name];
        this.weights = next;
        await this.finish({ kind: "remove", name, ok: true });
    }

    async currentWeights(): Promise<Weights> {
        return { ...this.weights };
    }

    async preflight(): Promise<string | undefined> {
        this.preflights += 1;
        return this.preflightProblem;
    }

    /** Weights of the successful applies, in order. */
    get applied(): Weights[] {
        return this.calls.filter((c) => c.kind === "apply" && c.ok).map((c) => c.weights!);
    }

    protected async finish(call: TargetCall): Promise<void> {
        await new Promise((r) => setImmediate(r));
        const error = this.failWhen(call, this.calls.length);
        call.ok = error === undefined;
        this.calls.push(call);
        this.onCall(call);
        if (error !== undefined) {
            throw new Error(error);
        }
    }
}

/**
 * A RecordingTarget that also knows what the cluster routes: `live` follows successful applies only
 * (a failed `pulumi up` changes the file, not the cluster), and a test can change it as `kubectl edit` would.
 */
export class LiveTarget extends RecordingTarget {
    /** The live VirtualService's weights; undefined when there is no VirtualService. */
    live: Weights | undefined;
    /** Times the live weights were read. */
    liveReads = 0;

    constructor(initial: Weights) {
        super(initial);
        this.live = { ...initial };
    }

    async liveWeights(): Promise<Weights | undefined> {
        this.liveReads += 1;
        return this.live === undefined ? undefined : { ...this.live };
    }

    protected async finish(call: TargetCall): Promise<void> {
        await super.finish(call);
        if (call.kind === "apply" && call.weights !== undefined) {
            this.live = { ...(this.live ?? {}), ...call.weights };
        } else if (call.kind === "remove" && call.name !== undefined && this.live !== undefined) {
            const next = { ...this.live };
            delete next[call.name];
            this.live = next;
        }
    }
}

/** Per-version traffic a scripted judge reports. */
export interface FakeTraffic {
    requests: number;
    errors: number;
    p99Ms: number | null;
}

/** A judge that answers from a script: a verdict (or a function of the call) per call. */
export class ScriptedJudge implements CanaryJudge {
    readonly calls: { baseline: string; canary: string; sinceSeconds: number; step?: StepPosition }[] = [];
    /** Called before answering; a test can block here. */
    gate: () => Promise<void> = async () => undefined;

    constructor(private readonly script: (call: number, input: { baseline: string; canary: string; sinceSeconds: number }) => Verdict) {}

    async judge(input: { baseline: string; canary: string; sinceSeconds: number; step?: StepPosition }): Promise<Judgement> {
        this.calls.push(input);
        await this.gate();
        const verdict = this.script(this.calls.length - 1, input);
        const canary: FakeTraffic =
            verdict === "fail"
                ? { requests: 120, errors: 12, p99Ms: 48 }
                : verdict === "inconclusive"
                  ? { requests: 0, errors: 0, p99Ms: null }
                  : { requests: 120, errors: 0, p99Ms: 47 };
        return {
            verdict,
            baseline: stats(input.baseline, { requests: 1080, errors: 1, p99Ms: 45 }),
            canary: stats(input.canary, canary),
            reasons: [
                verdict === "fail"
                    ? "canary 5xx ratio 10.00% exceeds 1.00%"
                    : verdict === "inconclusive"
                      ? "canary has 0 requests, fewer than minRequests 50"
                      : "canary within limits and not worse than baseline",
            ],
        };
    }
}

function stats(version: string, t: FakeTraffic): VersionStats {
    return { version, requests: t.requests, errors: t.errors, errorRate: t.requests === 0 ? null : t.errors / t.requests, p99Ms: t.p99Ms };
}

/** A judge that always gives the same verdict. */
export function always(verdict: Verdict): ScriptedJudge {
    return new ScriptedJudge(() => verdict);
}

/** Virtual time: sleeps advance it at once; every sleep is recorded. */
export class VirtualClock implements Clock {
    readonly sleeps: number[] = [];
    /** Runs at the start of each sleep (to interrupt during a wait, for example). */
    onSleep: (ms: number, index: number) => void = () => undefined;

    constructor(public t = Date.parse("2025-01-01T12:00:00Z")) {}

    now(): number {
        return this.t;
    }

    async sleep(ms: number, signal?: AbortSignal): Promise<void> {
        this.sleeps.push(ms);
        this.onSleep(ms, this.sleeps.length - 1);
        await new Promise((r) => setImmediate(r));
        if (signal?.aborted) {
            const e = new Error("aborted");
            e.name = "AbortError";
            throw e;
        }
        this.t += ms;
    }
}

/** A FileStateStore in a fresh temp directory that also keeps a copy of every saved state. */
export class SnapshotStore extends FileStateStore {
    readonly snapshots: RolloutState[] = [];

    constructor(dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-state-"))) {
        super(dir);
    }

    save(state: RolloutState): void {
        super.save(state);
        this.snapshots.push(JSON.parse(JSON.stringify(state)) as RolloutState);
    }
}

/** Collects events. */
export function eventLog(): { events: RolloutEvent[]; emit: (e: RolloutEvent) => void } {
    const events: RolloutEvent[] = [];
    return { events, emit: (e) => events.push(e) };
}

/**
 * A target that does what the Automation API adapter does to the stack file (stack/edit.ts
 * edits), records each change, and replaces `pulumi up` with a call that can be made to fail.
 */
export class StackFileTarget implements StackTarget {
    readonly calls: TargetCall[] = [];
    failWhen: (call: TargetCall) => string | undefined = () => undefined;

    constructor(readonly stackFile: string) {}

    get configFile(): string {
        return this.stackFile;
    }

    async applyWeights(weights: Weights): Promise<void> {
        setWeights(this.stackFile, weights);
        this.up({ kind: "apply", weights: { ...weights }, ok: true });
    }

    async removeVersion(name: string): Promise<void> {
        if (readVersions(this.stackFile).some((v) => v.name === name)) {
            removeVersion(this.stackFile, name);
        }
        this.up({ kind: "remove", name, ok: true });
    }

    async currentWeights(): Promise<Weights> {
        return Object.fromEntries(readVersions(this.stackFile).map((v) => [v.name, v.weight]));
    }

    private up(call: TargetCall): void {
        const error = this.failWhen(call);
        call.ok = error === undefined;
        this.calls.push(call);
        if (error !== undefined) {
            throw new Error(error);
        }
    }
}

/** A temporary config dir with the project's Pulumi.yaml and a stack file of the given text. */
export function configDirWith(stackFiles: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rollout-config-"));
    fs.copyFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    for (const [stack, text] of Object.entries(stackFiles)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    }
    return dir;
}

/** A dev stack file: v1 (baseline) and v2 (canary), with a comment that edits must keep. */
export function devStackFile(
    opts: { weights?: [number, number]; rollout?: string; extraVersion?: boolean; canaryReplicas?: number } = {},
): string {
    const [w1, w2] = opts.weights ?? [90, 10];
    return [
        "# dev: v1 is the baseline, v2 the canary",
        "config:",
        "  istio-canary:hosts:",
        "    - dev.myapp.apsissolutions.com",
        "  istio-canary:versions:",
        "    - name: v1",
        "      image: jamaldevsecops/myapp:v1",
        "      replicas: 2",
        `      weight: ${w1}`,
        "    - name: v2 # the canary",
        "      image: jamaldevsecops/myapp:v2",
        `      replicas: ${opts.canaryReplicas ?? 1}`,
        `      weight: ${w2}`,
        ...(opts.extraVersion ? ["    - name: v3", "      image: jamaldevsecops/myapp:v3", "      replicas: 1", "      weight: 0"] : []),
        ...(opts.rollout !== undefined ? ["  istio-canary:rollout:", ...opts.rollout.split("\n").map((l) => `    ${l}`)] : []),
        "",
    ].join("\n");
}
