/**
 * The rollout report as one self-contained HTML page: Chart.js (from node_modules, minified) and the
 * page's own script (report/page.js) inlined, the report model as a JSON block, and every number
 * also in plain HTML tables, so the page needs no network and reads without JavaScript. Its
 * Content-Security-Policy allows only these inline scripts and style (by hash) and no connection
 * at all.
 *
 * Every string from the state file (version names, images, reasons, history details) reaches the page
 * escaped: as HTML text through `escapeHtml`, inside the JSON block through `jsonForScript`, which
 * leaves no `<`, `>` or `&` that could close the block.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Look, Marker, MarkerKind, ReportModel, formatDuration, formatEValue, hookResultText } from "./model";

/** `&`, `<`, `>`, `"` and `'` as entities: text safe in an element and in a quoted attribute. */
export function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the line separators U+2028
 * and U+2029 as \u escapes, so no string in it can end the block or start a comment; JSON.parse
 * reads it back unchanged.
 */
export function jsonForScript(value: unknown): string {
    return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Chart.js's minified browser build as shipped in node_modules, without its source-map comment. */
export function chartJsSource(): string {
    const file = path.join(path.dirname(require.resolve("chart.js")), "chart.umd.min.js");
    const text = fs
        .readFileSync(file, "utf8")
        .replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n")
        .trimEnd();
    if (/<\/script/i.test(text) || /<!--/.test(text)) {
        throw new Error(`${file} contains a sequence that would end an inline <script>; it cannot be inlined as is`);
    }
    return text;
}

/** The page's chart script (report/page.js). */
export function pageScript(): string {
    return fs.readFileSync(path.join(__dirname, "page.js"), "utf8").trimEnd();
}

function sha256(text: string): string {
    return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

/** The colour of each kind of timeline event: its vertical line on the charts and its swatch in the legend. */
export const MARKER_COLORS: Record<MarkerKind, string> = {
    start: "#444444",
    resumed: "#444444",
    shift: "#2b8cbe",
    promote: "#31a354",
    hold: "#bdbdbd",
    rollback: "#cb181d",
    abort: "#cb181d",
    finalize: "#756bb1",
    completed: "#31a354",
    "apply-failed": "#fd8d3c",
    drift: "#fd8d3c",
    interrupted: "#fd8d3c",
    hook: "#8c6d31",
    gate: "#7b4173",
};

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; color: #1b1b1b; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.headline { font-size: 16px; padding: 10px 14px; border-left: 6px solid #888; background: #f6f6f6; margin: 8px 0 12px; }
.status-completed, .status-finalized { border-left-color: #31a354; }
.status-rolled-back, .status-aborted { border-left-color: #cb181d; }
.status-in-progress { border-left-color: #2b8cbe; }
.facts { color: #444; margin: 0; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 12px 20px; }
.chart { position: relative; height: 260px; }
.tests { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 8px 16px; }
.tests .chart { height: 200px; }
table { border-collapse: collapse; font-size: 12px; margin: 6px 0; }
pre { margin: 0; white-space: pre-wrap; font-size: 11px; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: 4px 0 10px; }
summary { cursor: pointer; color: #555; font-size: 12px; }
.kind { font-weight: 600; }
.legend { font-size: 12px; color: #444; }
.swatch { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin: 0 4px 0 10px; }
${Object.entries(MARKER_COLORS)
    .map(([kind, color]) => `.mk-${kind} { background: ${color}; }`)
    .join("\n")}
`.trim();

function pct(ratio: number | null): string {
    return ratio === null ? "n/a" : `${(ratio * 100).toFixed(2)}%`;
}

function ms(v: number | null): string {
    return v === null ? "n/a" : `${Math.round(v)} ms`;
}

function clock(seconds: number): string {
    const s = Math.round(seconds);
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function table(id: string, head: string[], rows: string[][]): string {
    const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
    const body = rows.map((r) => `<tr>${r.join("")}</tr>`).join("\n");
    return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const td = (text: string): string => `<td>${escapeHtml(text)}</td>`;
const tn = (text: string): string => `<td class="n">${escapeHtml(text)}</td>`;

function lookRows(looks: Look[]): string[][] {
    return looks.map((l) => [
        tn(clock(l.t)),
        tn(String(l.step + 1)),
        tn(`${l.canaryWeight}%`),
        tn(`${l.sinceSeconds}s`),
        tn(String(l.baseline.requests)),
        tn(String(l.canary.requests)),
        tn(pct(l.baseline.errorRate)),
        tn(pct(l.canary.errorRate)),
        tn(ms(l.baseline.p99Ms)),
        tn(ms(l.canary.p99Ms)),
        td(l.verdict),
        td(l.decision),
    ]);
}

function markerRows(markers: Marker[]): string[][] {
    return markers.map((m) => [tn(clock(m.t)), td(m.at), `<td class="kind">${escapeHtml(m.kind)}</td>`, td(m.label), td(m.detail)]);
}

function hooksAndGates(model: ReportModel): string {
    if (model.hooks.length === 0 && model.gates.length === 0) {
        return `<p class="facts">This rollout recorded no hook runs and no approval gates.</p>`;
    }
    const hooks = table(
        "hooks",
        ["hook", "point", "step", "kind", "status", "result", "duration", "then", "started", "output (tail) or error"],
        model.hooks.map((h) => [
            td(h.hook),
            td(h.point),
            tn(h.step === undefined ? "" : String(h.step + 1)),
            td(h.kind ?? ""),
            td(h.status),
            td(hookResultText(h)),
            tn(h.durationMs === undefined ? "" : `${(h.durationMs / 1000).toFixed(1)}s`),
            td(h.then ?? ""),
            td(h.startedAt),
            `<td><pre>${escapeHtml([h.error, h.output?.slice(-500)].filter((x) => x !== undefined && x !== "").join("\n"))}</pre></td>`,
        ]),
    );
    const gates = table(
        "gates",
        ["step", "canary weight", "status", "waiting since", "answered", "by", "analyses while waiting"],
        model.gates.map((g) => [
            tn(String(g.step + 1)),
            tn(model.plan.steps[g.step] === undefined ? "" : `${model.plan.steps[g.step]}%`),
            td(g.status),
            td(g.since),
            td(g.answeredAt ?? ""),
            td(g.by ?? ""),
            tn(g.analysisCount === undefined ? "" : String(g.analysisCount)),
        ]),
    );
    return `${model.hooks.length > 0 ? hooks : ""}\n${model.gates.length > 0 ? gates : ""}`;
}

function chartBox(id: string, title: string): string {
    return `<div><h3>${escapeHtml(title)}</h3><div class="chart"><canvas id="${id}" role="img" aria-label="${escapeHtml(title)}"></canvas></div></div>`;
}

/** Options of the page. */
export interface HtmlOptions {
    /** Chart.js's browser build; default: the installed one (chartJsSource). */
    chartJs?: string;
    /** When the report was made, ISO; default now. */
    generatedAt?: string;
}

/** The report as one HTML page. */
export function renderHtml(model: ReportModel, opts: HtmlOptions = {}): string {
    const chartJs = opts.chartJs ?? chartJsSource();
    const page = pageScript();
    const generatedAt = opts.generatedAt ?? new Date().toISOString();
    const csp = [
        "default-src 'none'",
        `script-src ${sha256(chartJs)} ${sha256(page)}`,
        `style-src ${sha256(STYLE)}`,
        "img-src data:",
        "base-uri 'none'",
        "form-action 'none'",
    ].join("; ");
    const b = model.baseline;
    const c = model.canary;
    const version = (v: { name: string; image?: string }): string => (v.image !== undefined ? `${v.name} (${v.image})` : v.name);
    const title = `Rollout of ${c.name} on ${model.stack}: ${model.status}`;
    const testBoxes = model.tests.map((t, i) => chartBox(`chart-test-${i}`, `${t.name} (${t.purpose})`)).join("\n");
    const testRows = model.looks.flatMap((l) =>
        l.tests.map((t) => [
            tn(clock(l.t)),
            tn(String(l.step + 1)),
            td(t.name),
            td(t.purpose),
            tn(formatEValue(t.log10E)),
            tn(formatEValue(t.log10Threshold)),
            td(t.rejected ? "rejected" : "not rejected"),
            td(t.summary),
        ]),
    );
    const stepRows = model.steps.map((s) => [
        tn(String(s.step + 1)),
        tn(`${s.canaryWeight}%`),
        td(s.appliedAt ?? "not applied"),
        tn(String(s.looks)),
        td(s.decision ?? (s.canaryWeight === 100 && s.appliedAt !== undefined ? "(100%: no analysis)" : "none")),
        td(s.reason ?? ""),
    ]);
    const reasons = model.looks
        .map(
            (l) =>
                `<li>${escapeHtml(`${clock(l.t)} step ${l.step + 1} (${l.canaryWeight}%), ${l.verdict} -> ${l.decision}`)}<ul>${l.reasons
                    .map((r) => `<li>${escapeHtml(r)}</li>`)
                    .join("")}</ul></li>`,
        )
        .join("\n");
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="istio-canary report">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(`Rollout of ${c.name} on stack ${model.stack}`)}</h1>
<p id="headline" class="headline status-${escapeHtml(model.status)}">${escapeHtml(model.headline)}</p>
<p class="facts">${escapeHtml(
        `baseline ${version(b)}, canary ${version(c)}; steps ${model.plan.steps.map((s) => `${s}%`).join(" -> ")}; ` +
            `wait ${model.plan.waitSeconds}s after a shift, re-analyse every ${model.plan.analysisIntervalSeconds}s, ` +
            `a step without a verdict rolls back after ${model.plan.maxStepRequests} canary requests or ${model.plan.maxStepSeconds}s; started ${model.startedAt}, ` +
            `${model.status === "in-progress" ? "last update" : "ended"} ${model.endedAt} (${formatDuration(model.durationSeconds)}); ` +
            `report made ${generatedAt}`,
    )}</p>
</header>
<h2>Traffic and the two versions</h2>
<p class="facts">Each look is one analysis; its counts cover the step since its traffic shift, so they restart at every shift. Vertical lines are the timeline's events (dotted: holds).</p>
<p class="legend" id="legend">Events:${[...new Set(model.markers.map((m) => m.kind))]
        .map((k) => `<span class="swatch mk-${k}"></span>${escapeHtml(k)}`)
        .join("")}</p>
<div class="grid">
${chartBox("chart-split", "Traffic split")}
${chartBox("chart-requests", "Requests per version")}
${chartBox("chart-errors", "5xx ratio per version")}
${chartBox("chart-p99", "p99 latency per version")}
</div>
<details><summary>The numbers of every look</summary>
${table(
    "looks",
    [
        "time",
        "step",
        "canary weight",
        "window",
        `${b.name} requests`,
        `${c.name} requests`,
        `${b.name} 5xx`,
        `${c.name} 5xx`,
        `${b.name} p99`,
        `${c.name} p99`,
        "verdict",
        "decision",
    ],
    lookRows(model.looks),
)}
</details>
<h2>Sequential tests: e-value against threshold at every look</h2>
<p class="facts">A test rejects its null hypothesis when its e-value reaches the threshold (1 / its share of the error rate). fail tests roll back, pass tests are all needed to promote, hold tests make a look inconclusive. Diamonds mark rejections.${
        model.tests.length === 0 ? " This rollout's state recorded no test statistics." : ""
    }</p>
<div class="tests">
${testBoxes}
</div>
<details><summary>Every test at every look</summary>
${table("tests", ["time", "step", "test", "purpose", "e-value", "threshold", "result", "summary"], testRows)}
</details>
<h2>Timeline</h2>
${table("timeline", ["time", "at", "event", "what", "details"], markerRows(model.markers))}
<h2>Hooks and gates</h2>
${hooksAndGates(model)}
<h2>Steps</h2>
${table("steps", ["step", "canary weight", "applied", "looks", "decision", "reason"], stepRows)}
<h2>Why, look by look</h2>
<ul id="reasons">
${reasons}
</ul>
<script type="application/json" id="report-data">${jsonForScript({ model, markerColors: MARKER_COLORS })}</script>
<script>${chartJs}</script>
<script>${page}</script>
</body>
</html>
`;
}
