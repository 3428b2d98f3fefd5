import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Browser } from "playwright-core";
import { runReportCli } from "../../cli/report";
import { RolloutState } from "../../rollout/state";
import { launchChromium } from "../support/chromium";
import { RealRollout, realRollout } from "./real-rollout";

/**
 * The report of a real rollout (the rollout CLI, engine and analysis against a real Prometheus,
 * ./real-rollout.ts) opened in Debian's chromium, headless, driven by playwright-core: the charts
 * hold the data points the state file recorded, the page loads nothing but itself and logs no error.
 */

/** What one chart holds, read from Chart.js's own instance in the page. */
interface ChartData {
    labels: string[];
    data: { x: number; y: number | null }[][];
    /** Drawn elements per dataset (points with finite pixel positions). */
    drawn: number[];
    width: number;
    height: number;
}

/** Looks of the state in order, as [step index, analysis record]. */
function looksOf(state: RolloutState) {
    return state.steps.flatMap((s, i) => s.analyses.map((a) => ({ step: i, a })));
}

/** The non-null y values of a series. */
const ys = (points: { y: number | null }[]) => points.filter((p) => p.y !== null).map((p) => p.y);

describe("the rollout report in headless chromium, from a real rollout", function () {
    this.timeout(120_000);
    let rollout: RealRollout;
    let browser: Browser;
    let file: string;
    const requests: string[] = [];
    const problems: string[] = [];
    const charts = new Map<string, ChartData>();
    let headline = "";

    before(async function () {
        this.timeout(110_000);
        browser = await launchChromium();
        rollout = await realRollout();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-browser-"));
        file = path.join(dir, "report.html");
        let err = "";
        const code = await runReportCli(["--state", rollout.stateFile, "--out", file], {
            out: () => undefined,
            err: (s) => (err += s),
            cwd: dir,
        });
        assert.equal(code, 0, err);
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        page.on("request", (r) => requests.push(r.url()));
        page.on("console", (m) => {
            if (m.type() === "error" || m.type() === "warning") {
                problems.push(`console ${m.type()}: ${m.text()}`);
            }
        });
        page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector("body[data-charts=ready]", { timeout: 15_000 });
        const read = await page.evaluate(() => {
            const w = globalThis as any;
            const out: Record<string, unknown> = {};
            for (const canvas of w.document.querySelectorAll("canvas")) {
                const chart = w.Chart.getChart(canvas);
                out[canvas.id] = {
                    labels: chart.data.datasets.map((d: any) => d.label),
                    data: chart.data.datasets.map((d: any) => d.data.map((p: any) => ({ x: p.x, y: p.y }))),
                    drawn: chart.data.datasets.map(
                        (_: unknown, i: number) =>
                            chart.getDatasetMeta(i).data.filter((e: any) => Number.isFinite(e.x) && Number.isFinite(e.y) && !e.skip).length,
                    ),
                    width: canvas.width,
                    height: canvas.height,
                };
            }
            return { charts: out, headline: w.document.getElementById("headline").textContent };
        });
        for (const [id, c] of Object.entries(read.charts)) {
            charts.set(id, c as ChartData);
        }
        headline = read.headline;
        await page.close();
    });

    after(async () => {
        await browser?.close();
    });

    it("comes from a rollout that held, passed two steps and was rolled back at 50% by the analysis", () => {
        const s = rollout.state;
        assert.equal(rollout.run.code, 1, rollout.run.out);
        assert.equal(s.status, "rolled-back");
        assert.deepEqual(
            s.steps.map((st) => [st.canaryWeight, st.decision?.decision]),
            [
                [10, "promote"],
                [25, "promote"],
                [50, "rollback"],
            ],
        );
        assert.ok(s.steps[0].analyses.length >= 2, "the first step held at least once (too few canary requests)");
        assert.match(headline, /^Rolled back at 50% to v1 after \d+s, because the analysis failed: canary "v2" 5xx ratio /);
    });

    it("draws the traffic split as the rollout applied it: 10, 25, 50, then 0 after the rollback", () => {
        const split = charts.get("chart-split")!;
        assert.deepEqual(split.labels, ["v2 (canary)", "v1 (baseline)"]);
        const canary = ys(split.data[0]);
        // The stack's split at the start, each confirmed apply, and the last one held to the end.
        assert.deepEqual(canary, [10, 10, 25, 50, 0, 0]);
        assert.deepEqual(
            ys(split.data[1]),
            canary.map((w) => 100 - w),
        );
        assert.deepEqual(split.drawn, [6, 6]);
    });

    it("draws both versions' requests, 5xx ratio and p99 at every look, as the state file recorded them", () => {
        const looks = looksOf(rollout.state);
        const expect = {
            "chart-requests": [looks.map((l) => l.a.result.baseline.requests), looks.map((l) => l.a.result.canary.requests)],
            "chart-errors": [
                looks.map((l) => (l.a.result.baseline.errorRate ?? NaN) * 100),
                looks.map((l) => (l.a.result.canary.errorRate ?? NaN) * 100),
            ],
            "chart-p99": [looks.map((l) => l.a.result.baseline.p99Ms), looks.map((l) => l.a.result.canary.p99Ms)],
        };
        for (const [id, [baseline, canary]] of Object.entries(expect)) {
            const c = charts.get(id)!;
            assert.deepEqual(c.labels.slice(0, 2), ["v1", "v2"], id);
            assert.deepEqual(ys(c.data[0]), baseline, `${id} v1`);
            assert.deepEqual(ys(c.data[1]), canary, `${id} v2`);
            assert.deepEqual(c.drawn.slice(0, 2), [looks.length, looks.length], `${id}: a point drawn per look`);
            assert.ok(c.width > 300 && c.height > 100, `${id} has a size (${c.width}x${c.height})`);
            // A gap between steps: the counts restart at every shift.
            assert.equal(c.data[0].filter((p) => p.y === null).length, rollout.state.steps.filter((s) => s.analyses.length > 0).length - 1);
        }
        assert.deepEqual(charts.get("chart-errors")!.labels[2], "limit (maxErrorRate)");
        assert.deepEqual(ys(charts.get("chart-errors")!.data[2]), [1, 1], "the 1% limit");
        assert.deepEqual(ys(charts.get("chart-p99")!.data[2]), [200, 200], "the 200 ms limit");
        const canaryErrors = ys(charts.get("chart-errors")!.data[1]) as number[];
        assert.ok(canaryErrors[canaryErrors.length - 1] > 5, `the canary's 5xx ratio at 50%: ${canaryErrors.at(-1)}%`);
    });

    it("draws each sequential test's e-value against its threshold at every look that ran it", () => {
        const looks = looksOf(rollout.state);
        const names = [...new Set(looks.flatMap((l) => ((l.a.result.evidence as any)?.statistics?.tests ?? []).map((t: any) => t.name)))];
        assert.ok(names.includes("errors-vs-baseline") && names.includes("latency-not-worse"), names.join(", "));
        names.forEach((name, i) => {
            const c = charts.get(`chart-test-${i}`);
            assert.ok(c !== undefined, `a chart for ${name}`);
            assert.deepEqual(c.labels, ["e-value (log10)", "threshold (log10)"]);
            const recorded = looks.flatMap((l) => ((l.a.result.evidence as any).statistics.tests as any[]).filter((t) => t.name === name));
            assert.deepEqual(
                ys(c.data[0]).map((y) => Number((y as number).toFixed(6))),
                recorded.map((t) => Number(Math.min(40, Math.max(-12, t.logEValue / Math.LN10)).toFixed(6))),
                name,
            );
            assert.deepEqual(
                ys(c.data[1]),
                recorded.map((t) => Math.log10(t.threshold)),
                `${name} threshold`,
            );
            assert.equal(c.drawn[0], recorded.length);
        });
        assert.equal(charts.get(`chart-test-${names.length}`), undefined, "one chart per test, no more");
        // The failing look: errors-vs-baseline reached its threshold there.
        const errorsVsBaseline = charts.get(`chart-test-${names.indexOf("errors-vs-baseline")}`)!;
        const last = ys(errorsVsBaseline.data[0]).at(-1) as number;
        assert.ok(last >= (ys(errorsVsBaseline.data[1]).at(-1) as number), `log10 e-value ${last} at the fail`);
    });

    it("loads nothing but the file itself and logs no error or warning", () => {
        assert.deepEqual(requests, [pathToFileURL(file).href]);
        assert.deepEqual(problems, []);
    });

    it("reads without JavaScript: the headline and a row per look in the tables", async () => {
        const context = await browser.newContext({ javaScriptEnabled: false });
        try {
            const page = await context.newPage();
            await page.goto(pathToFileURL(file).href);
            assert.equal(await page.textContent("#headline"), headline);
            assert.equal(await page.locator("#looks tbody tr").count(), looksOf(rollout.state).length);
            assert.equal(await page.locator("body[data-charts]").count(), 0, "the charts need the script");
        } finally {
            await context.close();
        }
    });
});
