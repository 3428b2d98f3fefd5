import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { ConfigError } from "../../config/check";
import { validateConfig } from "../../config/validate";
import { planFromConfig } from "../../rollout/plan";

const ROOT = path.join(__dirname, "..", "..");

function problemsOf(rollout: unknown, extra: Record<string, unknown> = {}): string[] {
    try {
        validateConfig({ rollout, ...extra });
    } catch (e) {
        if (e instanceof ConfigError) {
            return e.problems;
        }
        throw e;
    }
    return [];
}

describe("config: rollout.hooks and gated steps", () => {
    it("reads a step written {weight, approve: true} as a gate before that step's shift", () => {
        const config = validateConfig({ rollout: { steps: [10, { weight: 50, approve: true }, { weight: 100, approve: true }] } });
        assert.deepEqual(config.rollout.steps, [10, 50, 100]);
        assert.deepEqual(config.rollout.approve, [50, 100]);
    });

    it("reads hooks with their defaults: a 60 s timeout and onFailure rollback", () => {
        const config = validateConfig({
            rollout: {
                hooks: [
                    { name: "smoke", at: "pre-step", command: ["./smoke.sh", "--fast"] },
                    { name: "ci", at: "post-step", url: "https://ci.example.com/hook", timeoutSeconds: 5, onFailure: "hold" },
                    { name: "page", at: "rollback", command: ["./page.sh"] },
                ],
            },
        });
        assert.deepEqual(config.rollout.hooks, [
            { name: "smoke", at: "pre-step", command: ["./smoke.sh", "--fast"], timeoutSeconds: 60, onFailure: "rollback" },
            { name: "ci", at: "post-step", url: "https://ci.example.com/hook", timeoutSeconds: 5, onFailure: "hold" },
            { name: "page", at: "rollback", command: ["./page.sh"], timeoutSeconds: 60, onFailure: "rollback" },
        ]);
    });

    const cases: [string, unknown, string][] = [
        [
            "hooks that are not a list",
            { hooks: "smoke.sh" },
            'istio-canary:rollout.hooks is "smoke.sh"; it must be a list of hooks ({name, at, command or url, timeoutSeconds, onFailure})',
        ],
        [
            "a hook without a name",
            { hooks: [{ at: "pre-step", command: ["true"] }] },
            "istio-canary:rollout.hooks[0].name is missing; every hook has a name, e.g. smoke-test",
        ],
        [
            "two hooks with one name",
            {
                hooks: [
                    { name: "a", at: "pre-step", command: ["true"] },
                    { name: "a", at: "post-step", command: ["true"] },
                ],
            },
            'istio-canary:rollout.hooks[1].name is "a"; it must be unique among rollout.hooks: the state records each hook\'s runs by name',
        ],
        [
            "an unknown point",
            { hooks: [{ name: "a", at: "during", command: ["true"] }] },
            'istio-canary:rollout.hooks[0].at is "during"; it must be one of pre-rollout, pre-step, post-step, rollback, complete',
        ],
        [
            "a command given as a shell string",
            { hooks: [{ name: "a", at: "pre-step", command: "./smoke.sh --fast" }] },
            'istio-canary:rollout.hooks[0].command is "./smoke.sh --fast"; it must be a non-empty list of strings, the program first and then its arguments, e.g. [./smoke.sh, --fast]; it is run without a shell, so write [sh, -c, "..."] for shell syntax',
        ],
        [
            "a hook with both command and url",
            { hooks: [{ name: "a", at: "pre-step", command: ["true"], url: "http://x" }] },
            "istio-canary:rollout.hooks[0] has both command and url; a hook is exactly one of command (a list: the program and its arguments, run without a shell, e.g. [./smoke.sh, --fast]) and url (an http(s) URL that receives a POST)",
        ],
        [
            "a hook with neither",
            { hooks: [{ name: "a", at: "pre-step" }] },
            "istio-canary:rollout.hooks[0] has neither command nor url; a hook is exactly one of command (a list: the program and its arguments, run without a shell, e.g. [./smoke.sh, --fast]) and url (an http(s) URL that receives a POST)",
        ],
        [
            "a url that is not one, without its password",
            { hooks: [{ name: "a", at: "pre-step", url: "ftp://user:hunter2@ci/x" }] },
            'istio-canary:rollout.hooks[0].url is "ftp://***@ci/x"; it must be an http(s) URL such as https://ci.example.com/hooks/smoke',
        ],
        [
            "a timeout of 0",
            { hooks: [{ name: "a", at: "pre-step", command: ["true"], timeoutSeconds: 0 }] },
            "istio-canary:rollout.hooks[0].timeoutSeconds is 0; it must be an integer from 1 to 3600",
        ],
        [
            "an unknown onFailure",
            { hooks: [{ name: "a", at: "pre-step", command: ["true"], onFailure: "ignore" }] },
            'istio-canary:rollout.hooks[0].onFailure is "ignore"; it must be one of rollback, hold, continue',
        ],
        [
            "onFailure on a rollback hook",
            { hooks: [{ name: "a", at: "rollback", command: ["true"], onFailure: "hold" }] },
            'istio-canary:rollout.hooks[0].onFailure is "hold"; it applies only to pre-rollout, pre-step, post-step hooks; a failing rollback hook is recorded and changes nothing, so leave it out',
        ],
        [
            "a misspelt hook field",
            { hooks: [{ name: "a", at: "pre-step", command: ["true"], timeout: 5 }] },
            "istio-canary:rollout.hooks[0].timeout is not a known field; known fields: name, at, command, url, timeoutSeconds, onFailure",
        ],
        [
            "a gated step without its weight",
            { steps: [10, { approve: true }, 100] },
            "istio-canary:rollout.steps[1].weight is missing; a step written as an object gives its canary weight, e.g. {weight: 100, approve: true}",
        ],
        [
            "approve that is not a boolean",
            { steps: [10, { weight: 100, approve: "yes" }] },
            'istio-canary:rollout.steps[1].approve is "yes"; it must be true or false',
        ],
        [
            "a gated step out of order",
            { steps: [50, { weight: 10, approve: true }, 100] },
            'istio-canary:rollout.steps is [50,{"weight":10,"approve":true},100]; it must be strictly increasing integer weights from 1 to 100 that end at 100, e.g. [10, 25, 50, 100]',
        ],
    ];
    for (const [what, rollout, message] of cases) {
        it(`rejects ${what}, naming the key`, () => {
            assert.deepEqual(problemsOf(rollout), [message]);
        });
    }

    it("gives the plan the gates, the hooks and the header route that reaches the canary", () => {
        const config = validateConfig({
            versions: [
                { name: "v1", image: "app:v1", replicas: 2, weight: 100 },
                { name: "v2", image: "app:v2", replicas: 1, weight: 0 },
            ],
            routing: { headerRoute: { header: "x-canary", value: "true", version: "v2" } },
            rollout: { steps: [10, { weight: 100, approve: true }], hooks: [{ name: "t", at: "pre-rollout", command: ["true"] }] },
        });
        const plan = planFromConfig("dev", config);
        assert.deepEqual(plan.approve, [100]);
        assert.equal(plan.hooks?.[0].name, "t");
        assert.deepEqual(plan.headerRoute, { header: "x-canary", value: "true" });
    });

    it("prod's stack file gates the shift to 100%", () => {
        const prod = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> };
        const raw = Object.fromEntries(Object.entries(prod.config).map(([k, v]) => [k.replace(/^istio-canary:/, ""), v]));
        const config = validateConfig(raw);
        assert.deepEqual(config.rollout.steps.at(-1), 100);
        assert.deepEqual(config.rollout.approve, [100]);
    });
});
