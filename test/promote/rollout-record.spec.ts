import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { EXIT } from "../../cli/exit-codes";
import { runPromoteCli } from "../../cli/promote";
import { RolloutEngine } from "../../rollout/engine";
import { planFromConfig } from "../../rollout/plan";
import { FileStateStore } from "../../rollout/state";
import { Verdict } from "../../rollout/types";
import { validateConfig } from "../../config/validate";
import { loadStackConfig } from "../../stack/load";
import { readVersions, setWeights } from "../../stack/edit";
import { StackFileTarget, VirtualClock, always } from "../rollout/fakes";
import { read, snapshot, tempProject } from "./helpers";

const STAGING_BEFORE = read(path.join(__dirname, "..", ".."), "Pulumi.staging.yaml");

function promoteCli(argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = runPromoteCli(argv, {
        out: (s) => out.push(s),
        err: (s) => err.push(s),
        runPolicy: (stack) => ({ passed: true, command: `fake policy --stack ${stack}`, exitCode: 0, output: "" }),
        cwd: process.cwd(),
    });
    return { code, stdout: out.join(""), stderr: err.join("") };
}

/** Runs a real rollout of dev (the engine on dev's stack file, a scripted analysis and virtual time). */
async function rolloutDev(
    dir: string,
    mode: "start" | "resume" | "abort" | "finalize",
    opts: { verdict?: Verdict; failWhen?: (w: Record<string, number> | undefined) => boolean; at?: number } = {},
) {
    const loaded = loadStackConfig("dev", dir);
    const target = new StackFileTarget(loaded.stackFile);
    target.failWhen = (call) => (opts.failWhen?.(call.weights) === true ? "pulumi up failed: context deadline exceeded" : undefined);
    const engine = new RolloutEngine({
        target,
        judge: always(opts.verdict ?? "pass"),
        store: new FileStateStore(path.join(dir, ".rollout")),
        clock: new VirtualClock(opts.at),
    });
    return engine[mode](planFromConfig("dev", validateConfig(loaded.raw)));
}

describe("promote and the source stack's rollout", () => {
    let dir: string;
    beforeEach(() => {
        dir = tempProject();
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("promotes a version whose rollout in the source stack completed", async () => {
        assert.equal((await rolloutDev(dir, "start")).kind, "completed");
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /^ {2}dev completed the rollout of v2 \(jamaldevsecops\/myapp:v2\) at .*, recorded in .*dev\.json$/m);
    });

    it("promotes a version whose rollout was finalized", async () => {
        await rolloutDev(dir, "start");
        assert.equal((await rolloutDev(dir, "finalize")).kind, "finalized");
        assert.equal(promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]).code, 0);
    });

    it("refuses, with exit 4 and nothing written, after the final shift to 0/100 failed (state in progress, stack file at 0/100)", async () => {
        const stopped = await rolloutDev(dir, "start", { failWhen: (w) => w?.v2 === 100 });
        assert.equal(stopped.exitCode, 3);
        assert.deepEqual(
            readVersions(path.join(dir, "Pulumi.dev.yaml")).map((v) => v.weight),
            [0, 100],
            "the stack file already says 0/100",
        );
        const before = snapshot(dir);
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused, r.stdout);
        assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_BEFORE);
        assert.deepEqual(snapshot(dir), before);
        assert.match(
            r.stderr,
            /^promote: cannot promote dev -> staging: the rollout of v2 in dev has not completed: it is in-progress \(step 4\/4 at 100%, not yet applied\), recorded in .*dev\.json; finish it with `npx istio-canary rollout --stack dev --config-dir \S+ --resume` first\n/,
        );
    });

    it("refuses a version whose last rollout was rolled back, even when the stack file was then set to 100% by hand", async () => {
        assert.equal((await rolloutDev(dir, "start", { verdict: "fail" })).kind, "rolled-back");
        setWeights(path.join(dir, "Pulumi.dev.yaml"), { v1: 0, v2: 100 });
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused);
        assert.match(r.stderr, /the rollout of v2 in dev has not completed: it was rolled back \(analysis failed at .*\)/);
        assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_BEFORE);
    });

    it("refuses by default when the source stack has no rollout record, naming the override", () => {
        setWeights(path.join(dir, "Pulumi.dev.yaml"), { v1: 0, v2: 100 });
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused);
        assert.match(
            r.stderr,
            /no rollout of v2 \(jamaldevsecops\/myapp:v2\) is recorded for dev \(no .*\.rollout\/dev\.json and no archived state\).*--trust-stack-file/s,
        );
        assert.equal(read(dir, "Pulumi.staging.yaml"), STAGING_BEFORE);
    });

    it("promotes on the stack file alone with --trust-stack-file, and says so", () => {
        setWeights(path.join(dir, "Pulumi.dev.yaml"), { v1: 0, v2: 100 });
        const r = promoteCli(["--from", "dev", "--to", "staging", "--trust-stack-file", "--config-dir", dir]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
            r.stdout,
            /no rollout of v2 \(jamaldevsecops\/myapp:v2\) is recorded for dev; promoting on the stack file's weights alone \(--trust-stack-file\)/,
        );
    });

    it("does not let --trust-stack-file override a rollout record that says not completed", async () => {
        await rolloutDev(dir, "start", { failWhen: (w) => w?.v2 === 100 });
        const r = promoteCli(["--from", "dev", "--to", "staging", "--trust-stack-file", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused);
        assert.match(r.stderr, /has not completed/);
    });

    it("finds the completed rollout among the archived states when a later rollout of another canary was rolled back", async () => {
        await rolloutDev(dir, "start");
        await rolloutDev(dir, "finalize");
        // dev then gets v3 as its canary, whose rollout is rolled back: v2 is at 100% again.
        const file = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(
            file,
            read(dir, "Pulumi.dev.yaml").replace(
                "      weight: 100\n",
                "      weight: 100\n    - name: v3\n      image: jamaldevsecops/myapp:v3\n      replicas: 1\n      weight: 0\n",
            ),
        );
        assert.equal((await rolloutDev(dir, "start", { verdict: "fail", at: Date.parse("2025-02-01T00:00:00Z") })).kind, "rolled-back");
        assert.deepEqual(
            readVersions(file).map((v) => [v.name, v.weight]),
            [
                ["v2", 100],
                ["v3", 0],
            ],
        );
        // staging must be able to take v2 from dev: its rollout completed and was finalized there.
        const r = promoteCli(["--from", "dev", "--to", "staging", "--dry-run", "--config-dir", dir]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /dev completed the rollout of v2 .* recorded in .*dev\.2025-01-01T12-00-00-000Z\.json/);
    });

    it("refuses when the recorded rollout was of another image under the same name", async () => {
        await rolloutDev(dir, "start");
        const file = path.join(dir, "Pulumi.dev.yaml");
        fs.writeFileSync(file, read(dir, "Pulumi.dev.yaml").replace("jamaldevsecops/myapp:v2", "jamaldevsecops/myapp:v2-hotfix"));
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused);
        assert.match(r.stderr, /no rollout of v2 \(jamaldevsecops\/myapp:v2-hotfix\) is recorded for dev/);
    });

    it("refuses with exit 4 and the file's name when the source's rollout state is not valid", async () => {
        await rolloutDev(dir, "start");
        const state = path.join(dir, ".rollout", "dev.json");
        fs.writeFileSync(state, fs.readFileSync(state, "utf8").replace('"current": 3', '"current": 9'));
        const r = promoteCli(["--from", "dev", "--to", "staging", "--config-dir", dir]);
        assert.equal(r.code, EXIT.refused);
        assert.ok(r.stderr.includes(state), r.stderr);
        assert.match(r.stderr, /current is 9/);
    });
});
