import * as assert from "node:assert/strict";
import { ConfigError, validateConfig } from "../../config";
import { RawConfig } from "../../config/validate";

const versions = [
    { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 90 },
    { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: 10 },
];
const withTargets = (notifications: unknown): RawConfig => ({ versions, rollout: { notifications } });

function problemsOf(raw: RawConfig): string[] {
    try {
        validateConfig(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
        return e.problems;
    }
    assert.fail("expected the config to be refused");
}

describe("config: rollout.notifications", () => {
    it("has no targets by default", () => {
        assert.deepEqual(validateConfig({ versions }).rollout.notifications, []);
    });

    it("reads a target with its defaults: json, every milestone, 5 s, 3 retries", () => {
        const [t] = validateConfig(withTargets([{ name: "ops", url: "https://hooks.example.com/x" }])).rollout.notifications;
        assert.deepEqual(t, {
            name: "ops",
            url: "https://hooks.example.com/x",
            format: "json",
            events: ["start", "shift", "hold", "gate-waiting", "rollback", "complete", "finalize"],
            timeoutSeconds: 5,
            retries: 3,
        });
    });

    it("keeps an encrypted URL from the stack file as a reference to its key", () => {
        const targets = validateConfig(
            withTargets([
                { name: "a", url: "http://127.0.0.1:9/a" },
                { name: "chat", url: { secure: "v1:AAAA" }, format: "slack", events: ["rollback"], timeoutSeconds: 2, retries: 0 },
            ]),
        ).rollout.notifications;
        assert.deepEqual(targets[1], {
            name: "chat",
            url: { secret: "rollout.notifications[1].url" },
            format: "slack",
            events: ["rollback"],
            timeoutSeconds: 2,
            retries: 0,
        });
    });

    it("names the key of each bad field, and what is allowed", () => {
        const problems = problemsOf(
            withTargets([
                { name: "ok", url: "https://a.example.com/" },
                {
                    name: "ok",
                    url: "https://b.example.com/",
                    format: "discord",
                    events: ["start", "deploy"],
                    timeoutSeconds: 0,
                    retries: 11,
                    color: "red",
                },
            ]),
        );
        assert.deepEqual(problems, [
            "istio-canary:rollout.notifications[1].color is not a known field; known fields: name, url, format, events, timeoutSeconds, retries",
            'istio-canary:rollout.notifications[1].name is "ok"; target names must be unique',
            'istio-canary:rollout.notifications[1].format is "discord"; it must be one of json, slack, teams',
            'istio-canary:rollout.notifications[1].events is ["start","deploy"]; it must be a non-empty list of distinct milestones among start, shift, hold, gate-waiting, rollback, complete, finalize',
            "istio-canary:rollout.notifications[1].timeoutSeconds is 0; it must be an integer from 1 to 60",
            "istio-canary:rollout.notifications[1].retries is 11; it must be an integer from 0 to 10",
        ]);
    });

    it("refuses a bad URL without showing it, since a webhook URL is a credential", () => {
        const problems = problemsOf(withTargets([{ name: "chat", url: "hooks.slack.com/services/T0/B0/s3cr3t" }]));
        assert.deepEqual(problems, [
            "istio-canary:rollout.notifications[0].url (target chat) is not an http(s) URL such as https://hooks.example.com/...; " +
                "the value is not shown, since a webhook URL is a credential (set it with pulumi config set --secret --path 'rollout.notifications[0].url' URL)",
        ]);
    });

    it("needs a name and a URL, and a list", () => {
        assert.deepEqual(problemsOf(withTargets([{ format: "teams" }])), [
            "istio-canary:rollout.notifications[0].name is missing; each target needs a name, used in messages instead of its URL",
            "istio-canary:rollout.notifications[0].url is missing; target 0 needs the http(s) URL its milestones are POSTed to",
        ]);
        assert.deepEqual(problemsOf(withTargets({ name: "x" })), [
            'istio-canary:rollout.notifications is {"name":"x"}; it must be a list of notification targets such as {name: team-chat, url: https://..., format: slack}',
        ]);
    });
});
