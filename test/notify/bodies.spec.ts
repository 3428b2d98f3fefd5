import { strict as assert } from "node:assert";
import { jsonBody, slackBody, summaryOf, teamsBody } from "../../notify/bodies";
import { Milestone } from "../../notify/types";
import { ROLLBACK } from "./fixtures";

describe("notify: bodies", () => {
    it("the JSON body carries the event, stack, versions, split, 1-based step, summary, evidence and time", () => {
        assert.deepEqual(jsonBody(ROLLBACK), {
            source: "istio-canary",
            event: "rollback",
            at: "2025-01-01T12:03:00.000Z",
            stack: "dev",
            baseline: "v1",
            canary: "v2",
            split: { v1: 100, v2: 0 },
            step: { number: 2, of: 4, canaryWeight: 25 },
            summary: "all traffic is back on v1 (analysis): canary 5xx ratio 10.00% exceeds 1.00% after 60s at v1 75% / v2 25%",
            evidence: ROLLBACK.evidence,
        });
    });

    it("the Slack body has a fallback text and header, summary, fields and context blocks, with mrkdwn escaped", () => {
        const body = slackBody(ROLLBACK) as { text: string; blocks: any[] };
        assert.equal(body.text, `istio-canary dev: v2 ROLLED BACK: ${summaryOf(ROLLBACK)}`);
        assert.deepEqual(
            body.blocks.map((b) => b.type),
            ["header", "section", "section", "context"],
        );
        assert.deepEqual(body.blocks[0].text, { type: "plain_text", text: "istio-canary dev: v2 ROLLED BACK" });
        assert.equal(body.blocks[1].text.type, "mrkdwn");
        const fields = body.blocks[2].fields.map((f: { text: string }) => f.text);
        assert.deepEqual(fields.slice(0, 5), [
            "*Split*\nv1 100% / v2 0%",
            "*Step*\n2/4 (25%)",
            "*Verdict*\nfail after 60s",
            "*v1*\n1,080 req, 0.09% 5xx, p99 45 ms",
            "*v2*\n120 req, 10.00% 5xx, p99 48 ms",
        ]);
        assert.equal(fields[5], "*Why*\ncanary 5xx ratio 10.00% exceeds 1.00%; errors &lt;b&gt;&amp;&lt;/b&gt; more");
        assert.equal(body.blocks[3].elements[0].text, "stack dev · 2025-01-01T12:03:00.000Z");
    });

    it("the Teams body is a message with one Adaptive Card 1.4: a red title, the summary and a FactSet", () => {
        const body = teamsBody(ROLLBACK) as { type: string; attachments: any[] };
        assert.equal(body.type, "message");
        assert.equal(body.attachments.length, 1);
        const [a] = body.attachments;
        assert.equal(a.contentType, "application/vnd.microsoft.card.adaptive");
        assert.equal(a.content.type, "AdaptiveCard");
        assert.equal(a.content.version, "1.4");
        const [title, summary, facts] = a.content.body;
        assert.deepEqual([title.type, title.text, title.color], ["TextBlock", "istio-canary dev: v2 ROLLED BACK", "Attention"]);
        assert.equal(summary.text, summaryOf(ROLLBACK));
        assert.equal(facts.type, "FactSet");
        assert.deepEqual(facts.facts[0], { title: "Split", value: "v1 100% / v2 0%" });
        assert.deepEqual(facts.facts[4], { title: "v2", value: "120 req, 10.00% 5xx, p99 48 ms" });
    });

    it("says what each milestone means in one sentence", () => {
        const base = { at: ROLLBACK.at, stack: "dev", baseline: "v1", canary: "v2", split: { v1: 75, v2: 25 } };
        const step = { index: 1, total: 4, canaryWeight: 25 };
        const cases: [Milestone, string][] = [
            [
                { ...base, type: "start", mode: "start", steps: [10, 25, 50, 100] },
                "rollout of v2 on stack dev started (baseline v1): 10% -> 25% -> 50% -> 100%",
            ],
            [{ ...base, type: "start", mode: "resume", steps: [10, 25, 50, 100], step }, "rollout of v2 on stack dev resumed at step 2/4"],
            [
                { ...base, type: "shift", step, from: { v1: 90, v2: 10 } },
                "v2 now gets 25% of traffic on stack dev (step 2/4: v1 75% / v2 25%)",
            ],
            [{ ...base, type: "hold", cause: "drift", stopped: true, message: "holding: someone edited it" }, "holding: someone edited it"],
            [
                { ...base, type: "gate-waiting", step, waitingFor: "approval before 100%", approve: "`a`", reject: "`r`" },
                "approval before 100%; approve with `a`, or reject (roll back) with `r`",
            ],
            [{ ...base, type: "complete", reason: "v2 gets 100% of traffic" }, "rollout complete: v2 gets 100% of traffic"],
            [{ ...base, type: "finalize", removed: "v1" }, "v1 was removed from stack dev; v2 is the only version"],
            [
                { ...base, type: "rollback-failed", applying: { v1: 100, v2: 0 }, error: "pulumi up failed", retry: "`x --resume`" },
                "the rollback to v1 100% / v2 0% FAILED to apply, traffic is NOT back on v1 (it still routes v1 75% / v2 25%): pulumi up failed. Finish it with `x --resume`",
            ],
        ];
        for (const [m, text] of cases) {
            assert.equal(summaryOf(m), text, m.type);
        }
    });
});
