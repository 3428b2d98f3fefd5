import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { escapeHtml, jsonForScript, renderHtml } from "../../report/html";
import { escapeMarkdown, renderMarkdown } from "../../report/markdown";
import { reportModel } from "../../report/model";
import { PLAN, engineRun } from "./states";

const EVIL = `"><script>alert(1)</script><img src=x onerror=alert(2)>&amp;|*_\``;

/** A rolled-back rollout whose image and reasons carry markup. */
async function evilModel() {
    const plan = { ...PLAN, versions: [PLAN.versions[0], { ...PLAN.versions[1], image: EVIL }] };
    const { state } = await engineRun(["pass", "fail"], {
        plan,
        decorate: (j) => ({ ...j, reasons: [`</script><script>alert(3)</script> ${EVIL}`] }),
    });
    return reportModel(state);
}

describe("report page and summary", () => {
    it("escapes every string from the state in the HTML, and the JSON block reads back unchanged", async () => {
        const model = await evilModel();
        const html = renderHtml(model, { chartJs: "/* chart.js */" });
        assert.equal((html.match(/<script/g) ?? []).length, 3, "the data block, Chart.js and the page script");
        assert.equal((html.match(/<\/script>/g) ?? []).length, 3);
        assert.equal(html.includes("<img"), false);
        assert.ok(html.includes(escapeHtml(EVIL)));
        const block = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html);
        assert.ok(block !== null, "the data block has no < inside");
        assert.deepEqual(JSON.parse(block[1]).model, JSON.parse(JSON.stringify(model)));
    });

    it("allows only its own inline scripts and style, by hash, and no network at all", async () => {
        const html = renderHtml(await evilModel(), { chartJs: "/* chart.js */" });
        const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1].replace(/&#39;/g, "'");
        const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
        const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => hash(m[1]));
        const style = hash(/<style>([\s\S]*?)<\/style>/.exec(html)![1]);
        assert.equal(
            csp,
            `default-src 'none'; script-src ${scripts.join(" ")}; style-src ${style}; img-src data:; base-uri 'none'; form-action 'none'`,
        );
        assert.equal(/<[a-z]+\b[^>]*\s(src|href|action)=/i.test(html), false, "no element loads anything from elsewhere");
        assert.equal(/<(link|iframe|object|embed|img)\b/i.test(html), false);
    });

    it("inlines the installed Chart.js without its source-map comment", async () => {
        const html = renderHtml(await evilModel());
        assert.match(html, /<script>\/\*!\n \* Chart\.js v4\./);
        assert.equal(html.includes("sourceMappingURL"), false);
    });

    it("writes JSON for a script block without <, > or & and the line separators", () => {
        const text = jsonForScript({ s: "</script><!-- & \u2028\u2029" });
        assert.equal(text, '{"s":"\\u003c/script\\u003e\\u003c!-- \\u0026 \\u2028\\u2029"}');
        assert.deepEqual(JSON.parse(text), { s: "</script><!-- & \u2028\u2029" });
    });

    it("escapes markup and table characters from the state in the markdown summary", async () => {
        assert.equal(escapeMarkdown("a|b <i>*x*</i>\n`c`"), "a\\|b &lt;i&gt;\\*x\\*&lt;/i&gt; \\`c\\`");
        const md = renderMarkdown(await evilModel());
        assert.equal(/<(script|img)/.test(md), false);
        assert.ok(md.includes(`canary v2 (\`${escapeMarkdown(EVIL)}\`)`));
    });

    it("lists the hook runs and gates the state records, escaped, in the page and the summary", async () => {
        const { state } = await engineRun(["pass", "pass", "pass"]);
        const withHooks = {
            ...state,
            hooks: [
                {
                    hook: "smoke",
                    at: "pre-step",
                    step: 0,
                    kind: "command",
                    status: "failed",
                    startedAt: "2025-01-01T12:00:00.100Z",
                    exitCode: 3,
                    durationMs: 1500,
                    then: "held",
                    output: "<b>boom</b>",
                },
            ],
            gates: [{ step: 3, status: "waiting", since: "2025-01-01T12:02:00.000Z", analyses: [], analysisCount: 0 }],
        };
        const model = reportModel(withHooks as typeof state);
        const html = renderHtml(model, { chartJs: "" });
        assert.ok(
            html.includes(
                '<td>smoke</td><td>pre-step</td><td class="n">1</td><td>command</td><td>failed</td><td>exit 3</td><td class="n">1.5s</td><td>held</td>',
            ),
        );
        assert.ok(html.includes("<pre>&#60;b&#62;boom&#60;/b&#62;</pre>"));
        assert.ok(html.includes('<td class="n">4</td><td class="n">100%</td><td>waiting</td><td>2025-01-01T12:02:00.000Z</td>'));
        const md = renderMarkdown(model);
        assert.ok(md.includes("Hooks:\n\n- smoke (pre-step, step 1): failed (exit 3, 1.5s, held)\n"), md);
        assert.ok(md.includes("Approval gates:\n\n- step 4 (100%): waiting, waiting since 2025-01-01T12:02:00.000Z\n"), md);
        assert.ok(renderHtml(reportModel(state), { chartJs: "" }).includes("This rollout recorded no hook runs and no approval gates."));
    });

    it("says in the summary's table when no step was applied", async () => {
        const { state } = await engineRun("abort");
        assert.ok(renderMarkdown(reportModel(state)).includes("|---:|---:|---:|---|---|---|\n| – | – | 0 | no step was applied | | |\n"));
    });

    it("summarises each step in one table row with both versions' numbers at its last look", async () => {
        const { state } = await engineRun(["inconclusive", "pass", "fail"]);
        const rows = renderMarkdown(reportModel(state))
            .split("\n")
            .filter((l) => /^\| \d/.test(l));
        assert.deepEqual(rows, [
            "| 1 | 10% | 2 | promote after 75s | 1,080 req, 0.09% 5xx, p99 45 ms | 120 req, 0.00% 5xx, p99 47 ms |",
            "| 2 | 25% | 1 | rollback after 60s | 1,080 req, 0.09% 5xx, p99 45 ms | 120 req, 10.00% 5xx, p99 48 ms |",
        ]);
    });
});
