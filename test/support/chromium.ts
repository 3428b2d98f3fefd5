/**
 * Debian's chromium, driven headless by playwright-core (which ships no browser of its own). A test
 * that needs it calls `launchChromium()`: without the binary it fails with how to install it, it
 * never skips.
 */
import * as fs from "node:fs";
import { Browser, chromium } from "playwright-core";

/** Where Debian's package puts the browser; CHROMIUM_PATH overrides it. */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The chromium binary, or an Error saying how to install it. */
export function chromiumPath(): string {
    const fromEnv = process.env.CHROMIUM_PATH;
    const found = fromEnv !== undefined && fromEnv !== "" ? [fromEnv] : CANDIDATES.filter((p) => fs.existsSync(p));
    if (found.length === 0 || !fs.existsSync(found[0])) {
        throw new Error(
            `chromium is not installed (looked for ${fromEnv ?? CANDIDATES.join(", ")}); the report tests render the page in a real browser. ` +
                `Install it with: apt-get update && apt-get install -y chromium (bash .ci/run does this when it is missing), ` +
                `or point CHROMIUM_PATH at a chromium binary`,
        );
    }
    return found[0];
}

/** Launches headless chromium; close the browser when done. */
export async function launchChromium(): Promise<Browser> {
    return chromium.launch({
        executablePath: chromiumPath(),
        headless: true,
        // Running as root (CI here) needs --no-sandbox; nothing but local files is loaded.
        args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
}
