/**
 * The rollout report as a short markdown summary, for a pull-request comment or a CI job summary
 * ($GITHUB_STEP_SUMMARY): the one-sentence headline, one table row per step with both versions'
 * numbers at its last look, the tests that decided, and the timeline's events (holds counted, not
 * listed). Every string from the state file is escaped, so a version name or a reason can neither
 * break the table nor inject HTML (GitHub renders HTML in markdown).
 */
import { formatStats } from "../rollout/render";
import { Look, ReportModel, formatDuration, formatEValue, hookResultText } from "./model";

/**
 * Text safe inline in GitHub-flavoured markdown, in a table cell too: HTML's `&`, `<`, `>` as
 * entities, markdown's emphasis, code, link and table characters backslash-escaped, newlines as spaces.
 */
export function escapeMarkdown(text: string): string {
    return text
        .replace(/[\r\n]+/g, " ")
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/[\\`*_[\]|~]/g, (ch) => `\\${ch}`);
}

/** The tests that decided a look: the rejected ones; for a look without any, none. */
function decidingTests(look: Look): string[] {
    return look.tests
        .filter((t) => t.rejected)
        .map(
            (t) =>
                `- \`${escapeMarkdown(t.name)}\` (${t.purpose}): e-value ${formatEValue(t.log10E)} >= ${formatEValue(t.log10Threshold)}` +
                (t.summary !== "" ? `: ${escapeMarkdown(t.summary)}` : ""),
        );
}

/** The summary, ending with a newline. `htmlName`, when given, names the HTML report (e.g. a CI artifact). */
export function renderMarkdown(model: ReportModel, opts: { htmlName?: string } = {}): string {
    const b = escapeMarkdown(model.baseline.name);
    const c = escapeMarkdown(model.canary.name);
    const lines: string[] = [];
    lines.push(`### Rollout of ${c} on stack ${escapeMarkdown(model.stack)}: ${model.status}`, "");
    lines.push(`**${escapeMarkdown(model.headline)}**`, "");
    const image = (v: { name: string; image?: string }): string => (v.image !== undefined ? ` (\`${escapeMarkdown(v.image)}\`)` : "");
    lines.push(
        `Baseline ${b}${image(model.baseline)}, canary ${c}${image(model.canary)}; steps ${model.plan.steps.map((s) => `${s}%`).join(" → ")}; ` +
            `started ${model.startedAt}, ${model.status === "in-progress" ? "last update" : "ended"} ${model.endedAt} (${formatDuration(model.durationSeconds)}).`,
        "",
    );
    lines.push(`| Step | Canary weight | Looks | Decision | ${b} at the last look | ${c} at the last look |`);
    lines.push("|---:|---:|---:|---|---|---|");
    for (const s of model.steps) {
        const looks = model.looks.filter((l) => l.step === s.step);
        const last = looks[looks.length - 1];
        const decision =
            s.decision !== undefined
                ? `${s.decision} after ${last?.sinceSeconds ?? "?"}s`
                : s.appliedAt === undefined
                  ? "not applied"
                  : s.canaryWeight === 100
                    ? "100%: no analysis"
                    : "none yet";
        const stats = (which: "baseline" | "canary"): string => (last === undefined ? "" : escapeMarkdown(formatStats(last[which])));
        lines.push(`| ${s.step + 1} | ${s.canaryWeight}% | ${s.looks} | ${decision} | ${stats("baseline")} | ${stats("canary")} |`);
    }
    if (model.steps.length === 0) {
        lines.push("| – | – | 0 | no step was applied | | |");
    }
    const deciding = [...model.looks].reverse().find((l) => l.decision !== "hold");
    if (deciding !== undefined) {
        const tests = decidingTests(deciding);
        lines.push(
            "",
            `Tests that rejected at the last decision (step ${deciding.step + 1}, ${deciding.canaryWeight}%, ${deciding.verdict} -> ${deciding.decision}):`,
            ...(tests.length > 0 ? tests : ["- none recorded"]),
        );
    }
    const holds = model.markers.filter((m) => m.kind === "hold").length;
    const events = model.markers.filter((m) => m.kind !== "hold" && m.kind !== "promote");
    lines.push("", `Timeline (${holds} hold${holds === 1 ? "" : "s"} not listed):`, "");
    for (const m of events) {
        lines.push(
            `- ${m.at} ${escapeMarkdown(m.label)}${m.kind === "apply-failed" || m.kind === "hook" || m.kind === "gate" ? `: ${escapeMarkdown(m.detail)}` : ""}`,
        );
    }
    if (model.hooks.length > 0) {
        lines.push("", "Hooks:", "");
        for (const h of model.hooks) {
            const where = `${h.point}${h.step !== undefined ? `, step ${h.step + 1}` : ""}`;
            const result = [hookResultText(h), h.durationMs !== undefined ? `${(h.durationMs / 1000).toFixed(1)}s` : "", h.then ?? ""]
                .filter((x) => x !== "")
                .join(", ");
            lines.push(
                `- ${escapeMarkdown(h.hook)} (${escapeMarkdown(where)}): ${escapeMarkdown(h.status)}${result !== "" ? ` (${escapeMarkdown(result)})` : ""}`,
            );
        }
    }
    if (model.gates.length > 0) {
        lines.push("", "Approval gates:", "");
        for (const g of model.gates) {
            const answered =
                g.answeredAt !== undefined ? ` at ${g.answeredAt}${g.by !== undefined ? ` by ${escapeMarkdown(g.by)}` : ""}` : "";
            lines.push(
                `- step ${g.step + 1} (${model.plan.steps[g.step] ?? "?"}%): ${escapeMarkdown(g.status)}${answered}, waiting since ${g.since}`,
            );
        }
    }
    if (opts.htmlName !== undefined) {
        lines.push("", `The charts: ${escapeMarkdown(opts.htmlName)}.`);
    }
    return `${lines.join("\n")}\n`;
}
