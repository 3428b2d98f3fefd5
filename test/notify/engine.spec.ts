import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { RolloutEngine } from "../../rollout/engine";
import { RolloutPlan } from "../../rollout/plan";
import { NotifyFailure } from "../../notify/sender";
import { RolloutNotifications } from "../../notify/run";
import { NotificationTarget } from "../../notify/types";
import { RecordingTarget, ScriptedJudge, SnapshotStore, VirtualClock } from "../rollout/fakes";
import { target } from "./fixtures";
import { LocalServer, refusedPort, startServer } from "./server";

const plan: RolloutPlan = {
    stack: "dev",
    versions: [
        { name: "v1", image: "myapp:v1", replicas: 2 },
        { name: "v2", image: "myapp:v2", replicas: 1 },
    ],
    steps: [10, 50, 100],
    waitSeconds: 60,
    analysisIntervalSeconds: 15,
    maxStepRequests: 1000,
    maxStepSeconds: 3600,
};

/** The engine on a virtual clock with notifications to `targets`; the second analysis fails, so it rolls back. */
function rig(targets: NotificationTarget[], failTarget?: (weights: Record<string, number>) => string | undefined) {
    const store = new SnapshotStore();
    const failures: NotifyFailure[] = [];
    const notifications = new RolloutNotifications({
        stack: "dev",
        targets,
        resolveUrl: async (t) => t.url as string,
        store,
        report: (f) => failures.push(f),
        baseline: "v1",
        canary: "v2",
        split: { v1: 100, v2: 0 },
        retryCommand: (flag) => `\`npx istio-canary rollout --stack dev --${flag}\``,
        notifier: { backoffMs: 100 },
        exitWaitMs: 10_000,
    });
    const stackTarget = new RecordingTarget({ v1: 100, v2: 0 });
    const clock = new VirtualClock();
    if (failTarget !== undefined) {
        stackTarget.failWhen = (call) => failTarget(call.weights ?? {});
    }
    const engine = new RolloutEngine({
        target: stackTarget,
        judge: new ScriptedJudge((call) => (call === 0 ? "pass" : "fail")),
        store: notifications.store,
        clock,
        emit: notifications.onOutput,
        onEvent: notifications.onEvent,
    });
    return { engine, notifications, store, failures, stackTarget, clock };
}

describe("notify: a rollout with targets that are down", () => {
    const servers: LocalServer[] = [];
    afterEach(async () => {
        await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    it("shifts and rolls back while notifications are still unanswered, then reports and records each failure without its URL", async () => {
        const ok = await startServer();
        const hung = await startServer({ hang: true });
        const broken = await startServer({ status: 500 });
        servers.push(ok, hung, broken);
        const down = await refusedPort();
        const secretPath = "/hooks/T01/B02/s3cr3t-t0ken";
        const r = rig([
            target("ok", `${ok.url}/in`),
            target("hung", `${hung.url}${secretPath}`, "slack", { timeoutSeconds: 3, retries: 0, events: ["start"] }),
            target("broken", `${broken.url}${secretPath}`, "teams", { retries: 2 }),
            target("down", `http://127.0.0.1:${down}${secretPath}`, "json", { retries: 3 }),
        ]);

        const outcome = await r.engine.start(plan);
        // Measured ordering, not timing: the engine is done (both shifts and the rollback applied, after
        // exactly the plan's waits on its clock) while the hung target still holds the start milestone
        // unanswered: nothing on the engine's path waited for a notification.
        assert.equal(outcome.kind, "rolled-back");
        assert.deepEqual(r.clock.sleeps, [60_000, 60_000]);
        assert.deepEqual(r.stackTarget.applied, [
            { v1: 90, v2: 10 },
            { v1: 50, v2: 50 },
            { v1: 100, v2: 0 },
        ]);
        assert.equal(hung.received.length, 1, "the hung target got the start milestone");
        assert.equal(
            r.failures.some((f) => f.target === "hung"),
            false,
            "and has not answered it yet",
        );

        assert.equal(await r.notifications.finish(), undefined);
        assert.deepEqual(
            ok.received.map((x) => (x.body as { event: string }).event),
            ["start", "shift", "shift", "rollback"],
        );
        const first = (name: string) => r.failures.find((f) => f.target === name && f.event === "start");
        assert.deepEqual([first("broken")?.attempts, first("broken")?.error], [3, "HTTP 500"]);
        assert.deepEqual([first("down")?.attempts, first("down")?.error], [4, "connection refused (ECONNREFUSED)"]);
        assert.deepEqual([first("hung")?.attempts, first("hung")?.error.startsWith("no answer within 3s")], [1, true]);

        const file = fs.readFileSync(r.store.fileOf("dev"), "utf8");
        const recorded = (JSON.parse(file).history as { event: string; detail?: Record<string, unknown> }[]).filter(
            (h) => h.event === "notification-failed",
        );
        assert.equal(recorded.length, r.failures.length);
        assert.ok(recorded.some((h) => h.detail?.target === "down" && h.detail?.milestone === "rollback" && h.detail?.attempts === 4));
        for (const text of [file, JSON.stringify(r.failures)]) {
            assert.doesNotMatch(text, /s3cr3t-t0ken|hooks\/T01|127\.0\.0\.1/);
        }
    });

    it("tells a target that the rollout waits at a gate, with the commands that answer it", async () => {
        const ok = await startServer();
        servers.push(ok);
        const store = new SnapshotStore();
        const notifications = new RolloutNotifications({
            stack: "dev",
            targets: [target("ops", ok.url, "slack", { events: ["gate-waiting"] })],
            resolveUrl: async (t) => t.url as string,
            store,
            report: () => undefined,
            baseline: "v1",
            canary: "v2",
            split: { v1: 100, v2: 0 },
            retryCommand: (flag) => `--${flag}`,
        });
        const controller = new AbortController();
        const clock = new VirtualClock();
        // Nobody answers: stop the waiting rollout a few polls into its wait.
        clock.onSleep = () => {
            if (clock.sleeps.length > 6) controller.abort();
        };
        const engine = new RolloutEngine({
            target: new RecordingTarget({ v1: 100, v2: 0 }),
            judge: new ScriptedJudge(() => "pass"),
            store: notifications.store,
            clock,
            onEvent: notifications.onEvent,
            signal: controller.signal,
            gatePollMs: 1000,
        });
        const outcome = await engine.start({ ...plan, approve: [100] });
        assert.equal(outcome.kind, "interrupted");
        await notifications.finish();
        assert.equal(ok.received.length, 1);
        const body = ok.received[0].body as { text: string; blocks: { text?: { text: string } }[] };
        assert.equal(body.blocks[0].text?.text, "istio-canary dev: v2 waiting for approval");
        assert.match(
            body.text,
            /approval of step 3\/3, the shift to v1 0% \/ v2 100%.*; approve with `npx istio-canary rollout --stack dev --approve`, or reject \(roll back\) with `npx istio-canary rollout --stack dev --reject`$/,
        );
    });

    it("tells the targets that a rollback failed to apply, with the command that finishes it", async () => {
        const ok = await startServer();
        servers.push(ok);
        const r = rig([target("ok", ok.url, "json", { events: ["rollback"] })], (w) =>
            w.v2 === 0 ? "pulumi up failed: cluster unreachable" : undefined,
        );
        const outcome = await r.engine.start(plan);
        assert.equal(outcome.kind, "apply-failed");
        await r.notifications.finish();
        assert.equal(ok.received.length, 1);
        const body = ok.received[0].body as { event: string; split: Record<string, number>; summary: string };
        assert.equal(body.event, "rollback-failed");
        assert.deepEqual(body.split, { v1: 50, v2: 50 });
        assert.match(
            body.summary,
            /FAILED to apply, traffic is NOT back on v1 .*cluster unreachable\. Finish it with `npx istio-canary rollout --stack dev --resume`$/,
        );
    });
});
