/**
 * `npm run report:screenshot`: makes docs/report.png, the screenshot docs/report.md shows. It runs
 * the same real rollout as the browser test (./real-rollout.ts: a real Prometheus, the real rollout
 * CLI and analysis; about 35 s), renders its state with `istio-canary report`, and photographs the
 * page's top (headline, the four time charts, the sequential tests) in headless chromium.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { runReportCli } from "../../cli/report";
import { launchChromium } from "../support/chromium";
import { realRollout } from "./real-rollout";

async function main(): Promise<void> {
    const out = path.resolve(__dirname, "..", "..", "docs", "report.png");
    const { stateFile } = await realRollout();
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "report-shot-")), "report.html");
    const code = await runReportCli(["--state", stateFile, "--out", file], {
        out: () => undefined,
        err: (s) => process.stderr.write(s),
        cwd: process.cwd(),
    });
    if (code !== 0) {
        throw new Error(`istio-canary report exited ${code}`);
    }
    const browser = await launchChromium();
    try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 1640 } });
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector("body[data-charts=ready]", { timeout: 15_000 });
        await page.screenshot({ path: out });
    } finally {
        await browser.close();
    }
    process.stdout.write(`wrote ${out} from the report of ${stateFile}\n`);
}

main().catch((e: unknown) => {
    process.stderr.write(`report:screenshot: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
});
