import { strict as assert } from "node:assert";
import { NotifyFailure, Notifier, Post, axiosPost, maskUrl } from "../../notify/sender";
import { Milestone, NotificationTarget } from "../../notify/types";
import { ROLLBACK, target } from "./fixtures";
import { LocalServer, refusedPort, startServer } from "./server";

/** A Notifier over real axios, with a short backoff, collecting failures; `posts` counts the POSTs made. */
function notifier(targets: NotificationTarget[], over: { maxQueue?: number } = {}) {
    const failures: NotifyFailure[] = [];
    let posts = 0;
    const post: Post = (url, body, opts) => {
        posts += 1;
        return axiosPost(url, body, opts);
    };
    const n = new Notifier({
        targets,
        resolveUrl: async (t) => t.url as string,
        onFailure: (f) => failures.push(f),
        post,
        backoffMs: 20,
        ...over,
    });
    return { n, failures, posts: () => posts };
}

const shift = (i: number): Milestone => ({
    type: "shift",
    at: `2025-01-01T12:0${i}:00.000Z`,
    stack: "dev",
    baseline: "v1",
    canary: "v2",
    split: { v1: 100 - i * 10, v2: i * 10 },
    step: { index: i - 1, total: 4, canaryWeight: i * 10 },
    from: null,
});

describe("notify: sending to a local HTTP server", () => {
    const servers: LocalServer[] = [];
    const server = async (b = {}) => {
        const s = await startServer(b);
        servers.push(s);
        return s;
    };
    afterEach(async () => {
        await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    it("POSTs each format's body as JSON: the generic document, Slack's text and blocks, Teams' Adaptive Card", async () => {
        const s = await server();
        const { n, failures } = notifier([
            target("plain", `${s.url}/json`, "json"),
            target("chat", `${s.url}/slack`, "slack"),
            target("teams", `${s.url}/teams`, "teams"),
        ]);
        n.notify(ROLLBACK);
        assert.equal(await n.drain(5000), 0);
        assert.deepEqual(failures, []);
        const byPath = Object.fromEntries(s.received.map((r) => [r.path, r]));
        assert.deepEqual(
            s.received.map((r) => [r.method, r.contentType]),
            [
                ["POST", "application/json"],
                ["POST", "application/json"],
                ["POST", "application/json"],
            ],
        );
        const json = byPath["/json"].body as any;
        assert.deepEqual(
            [json.event, json.stack, json.split, json.evidence.verdict, json.at],
            ["rollback", "dev", { v1: 100, v2: 0 }, "fail", ROLLBACK.at],
        );
        const slack = byPath["/slack"].body as any;
        assert.match(slack.text, /^istio-canary dev: v2 ROLLED BACK: all traffic is back on v1/);
        assert.deepEqual(
            slack.blocks.map((b: { type: string }) => b.type),
            ["header", "section", "section", "context"],
        );
        const teams = byPath["/teams"].body as any;
        assert.equal(teams.type, "message");
        assert.equal(teams.attachments[0].contentType, "application/vnd.microsoft.card.adaptive");
        assert.equal(teams.attachments[0].content.body[2].facts[2].value, "fail after 60s");
    });

    it("sends a target only the milestones it subscribes to, in the order they happened", async () => {
        const s = await server({ delayMs: 30 });
        const { n } = notifier([target("t", s.url, "json", { events: ["shift", "rollback"] })]);
        n.notify({ ...ROLLBACK, type: "complete", reason: "done" } as Milestone);
        n.notify(shift(1));
        n.notify(shift(2));
        n.notify(ROLLBACK);
        await n.drain(5000);
        assert.deepEqual(
            s.received.map((r) => [(r.body as any).event, (r.body as any).split.v2]),
            [
                ["shift", 10],
                ["shift", 20],
                ["rollback", 0],
            ],
        );
    });

    it("retries a target that answers 500, then reports it by name after 1 + retries attempts, without its URL", async () => {
        const s = await server({ status: 500 });
        const url = `${s.url}/hooks/T000/B000/secret-token`;
        const { n, failures } = notifier([target("team-chat", url, "slack", { retries: 2 })]);
        n.notify(ROLLBACK);
        await n.drain(5000);
        assert.equal(s.received.length, 3);
        assert.equal(failures.length, 1);
        const [f] = failures;
        assert.deepEqual([f.target, f.event, f.attempts, f.error], ["team-chat", "rollback", 3, "HTTP 500"]);
        assert.doesNotMatch(JSON.stringify(f), /secret-token|127\.0\.0\.1/);
    });

    it("retries a target whose port refuses connections, then reports it as refused, without host or port", async () => {
        const port = await refusedPort();
        const { n, failures, posts } = notifier([target("down", `http://127.0.0.1:${port}/x`, "json", { retries: 3 })]);
        n.notify(ROLLBACK);
        await n.drain(5000);
        assert.equal(posts(), 4);
        assert.equal(failures.length, 1);
        assert.deepEqual([failures[0].target, failures[0].attempts, failures[0].error], ["down", 4, "connection refused (ECONNREFUSED)"]);
        assert.doesNotMatch(failures[0].error, new RegExp(String(port)));
    });

    it("gives up an attempt that gets no answer at the target's timeout", async () => {
        const s = await server({ hang: true });
        const { n, failures } = notifier([target("slow", s.url, "json", { timeoutSeconds: 1, retries: 0 })]);
        const began = Date.now();
        n.notify(ROLLBACK);
        await n.drain(10_000);
        assert.equal(failures.length, 1);
        assert.match(failures[0].error, /^no answer within 1s/);
        assert.ok(Date.now() - began < 5000, "the attempt was cut at its timeout");
    });

    it("waits at most the given time at the end, and reports what it gave up as not sent", async () => {
        const s = await server({ hang: true });
        const { n, failures } = notifier([target("slow", s.url, "json", { timeoutSeconds: 30, retries: 0 })]);
        n.notify(shift(1));
        n.notify(shift(2));
        const began = Date.now();
        assert.equal(await n.drain(200), 2);
        assert.ok(Date.now() - began < 3000);
        assert.deepEqual(
            failures.map((f) => [f.event, f.error.startsWith("not sent: ") || f.error.startsWith("stopped: ")]),
            [
                ["shift", true],
                ["shift", true],
            ],
        );
    });

    it("drops a target's oldest waiting milestone when its queue is full, and reports it", async () => {
        const s = await server({ hang: true });
        const { n, failures } = notifier([target("slow", s.url, "json", { timeoutSeconds: 30, retries: 0 })], { maxQueue: 2 });
        n.notify(shift(1));
        await new Promise((r) => setTimeout(r, 50));
        for (let i = 2; i <= 4; i++) {
            n.notify(shift(i));
        }
        // 1 is in flight, 2 and 3 waited, 4 pushed 2 out
        assert.equal(failures.length, 1);
        assert.equal(failures[0].event, "shift");
        assert.equal(failures[0].attempts, 0);
        assert.match(failures[0].error, /^dropped: 2 newer milestones were waiting/);
        await n.drain(100);
    });

    it("reports a target whose URL cannot be resolved, with the resolver's message, and sends the others", async () => {
        const s = await server();
        const failures: NotifyFailure[] = [];
        let asked = 0;
        const n = new Notifier({
            targets: [target("secret", { secret: "rollout.notifications[0].url" } as never), target("plain", s.url)],
            resolveUrl: async (t) => {
                asked += 1;
                if (typeof t.url !== "string") throw new Error("cannot decrypt istio-canary:rollout.notifications[0].url (target secret)");
                return t.url;
            },
            onFailure: (f) => failures.push(f),
        });
        n.notify(ROLLBACK);
        assert.equal(asked, 0, "notify returns before any URL is asked for");
        await n.drain(5000);
        assert.equal(asked, 2);
        assert.equal(s.received.length, 1);
        assert.deepEqual(
            failures.map((f) => [f.target, f.attempts, f.error]),
            [["secret", 0, "its URL could not be resolved: cannot decrypt istio-canary:rollout.notifications[0].url (target secret)"]],
        );
    });

    it("masks a URL, its host and its path wherever they appear in a message", () => {
        const url = "https://hooks.example.com/services/T1/B2/tok3n";
        assert.equal(
            maskUrl(`failed: ${url}; host hooks.example.com; path /services/T1/B2/tok3n`, url, "chat"),
            "failed: <chat's URL>; host <chat's URL>; path <chat's URL>",
        );
    });
});
