import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../config";
import { runStackOffline } from "../../offline/run";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { StackFileError } from "../../stack/load";

const ROOT = path.resolve(__dirname, "..", "..");

/** A config directory with the project's Pulumi.yaml and `Pulumi.s.yaml` holding `text`. */
function stackDir(text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "offline-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), text);
    return dir;
}

const HOSTILE_HOSTS: [string, string][] = [
    ["a slash", "a/b.example.com"],
    ["a comma", "a.example.com,b"],
    ["a newline", "a.example.com\nb"],
];

describe("offline runs", function () {
    this.timeout(120_000);

    describe("hosts that are not hostnames", () => {
        for (const [what, host] of HOSTILE_HOSTS) {
            it(`refuses a host with ${what} as invalid config, before any TLS material is generated`, async () => {
                const dir = stackDir(`config:\n  istio-canary:hosts:\n    - ${JSON.stringify(host)}\n`);
                try {
                    await assert.rejects(runStackOffline("s", { configDir: dir }), (e: unknown) => {
                        assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
                        assert.deepEqual(e.problems, [
                            `istio-canary:hosts[0] is ${JSON.stringify(host)}; it must be a DNS hostname such as myapp.example.com (lower case; '*.' prefix allowed)`,
                        ]);
                        return true;
                    });
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            });
        }

        it("generateTlsMaterial refuses a name that is not a hostname without running openssl", () => {
            assert.throws(() => generateTlsMaterial(["ok.example.com", "a/b"]), {
                message:
                    'cannot generate test TLS material for "a/b": it is not a DNS hostname (a name such as myapp.example.com, or *.example.com)',
            });
        });
    });

    describe("encrypted keys", () => {
        it("refuses an encrypted rollout block instead of running on the defaults and calling it test material", async () => {
            const dir = stackDir("config:\n  istio-canary:rollout:\n    secure: v1:AAAA\n");
            try {
                await assert.rejects(runStackOffline("s", { configDir: dir }), (e: unknown) => {
                    assert.ok(e instanceof StackFileError, String(e));
                    assert.match(
                        e.message,
                        /istio-canary:rollout is encrypted \(secure:\); only istio-canary:tlsCert, istio-canary:tlsKey and notification URLs \(istio-canary:rollout\.notifications\[N\]\.url\) may be secrets/,
                    );
                    return true;
                });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("says it generated test material only for the encrypted TLS keys", async () => {
            const dir = stackDir("config:\n  istio-canary:tlsCert:\n    secure: v1:AAAA\n  istio-canary:tlsKey:\n    secure: v1:BBBB\n");
            try {
                const run = await runStackOffline("s", { configDir: dir });
                assert.equal(run.notes[0], "tlsCert, tlsKey in Pulumi.s.yaml are encrypted; replaced with generated test material");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
