import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../stack/load";

/** Runs `npm run plan` as a user would, in a child process. */
function plan(args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync("npm", ["run", "-s", "plan", "--", ...args], { cwd: PROJECT_ROOT, encoding: "utf8", timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run plan", function () {
    this.timeout(180_000);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-"));
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("shows the dev stack's 90/10 split, its resources and outputs, and says what it generated", () => {
        const r = plan(["--stack", "dev"]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /v1\s+█{36}░{4}\s+90%/);
        assert.match(r.stdout, /v2\s+█{4}░{36}\s+10%/);
        assert.match(r.stdout, /apps\/v1:Deployment\s+myapp-v1\s+default\s+2 x jamaldevsecops\/myapp:v1/);
        assert.match(r.stdout, /core\/v1:Secret\s+tls-secret \(apsis-tls\)\s+istio-system\s+kubernetes.io\/tls, data \[secret\]/);
        assert.match(r.stdout, /note: tlsCert and tlsKey: generated a self-signed certificate/);
        assert.match(r.stdout, /weights: \{"v1":90,"v2":10\}/);
        assert.doesNotMatch(r.stdout, /PRIVATE KEY|BEGIN CERTIFICATE/);
    });

    it("writes every Kubernetes object but the Secret as a marked manifest, replacing an earlier plan's", () => {
        const out = path.join(tmp, "manifests");
        fs.mkdirSync(out);
        fs.writeFileSync(
            path.join(out, "deployment-myapp-v0.yaml"),
            "# istio-canary plan of stack dev: offline, for review\nkind: Deployment\n",
        );
        fs.writeFileSync(path.join(out, "notes.yaml"), "mine: true\n");
        const r = plan(["--stack", "dev", "--out", out]);
        assert.equal(r.code, 0, r.stderr);
        const files = fs.readdirSync(out).sort();
        assert.deepEqual(files, [
            "deployment-myapp-v1.yaml",
            "deployment-myapp-v2.yaml",
            "destinationrule-myapp-dr.yaml",
            "gateway-myapp-gateway.yaml",
            "namespacepatch-myapp-ns.yaml",
            "notes.yaml",
            "service-myapp-svc.yaml",
            "virtualservice-myapp-vs.yaml",
        ]);
        assert.match(r.stdout, /Not written: Secrets/);
        const text = fs.readFileSync(path.join(out, "virtualservice-myapp-vs.yaml"), "utf8");
        assert.match(text, /^# istio-canary plan of stack dev: offline, for review; deploy with pulumi up, not kubectl apply\n/);
        const vs = parse(fs.readFileSync(path.join(out, "virtualservice-myapp-vs.yaml"), "utf8"));
        assert.equal(vs.apiVersion, "networking.istio.io/v1");
        assert.deepEqual(
            vs.spec.http[0].route.map((d: { weight: number }) => d.weight),
            [90, 10],
        );
        for (const f of files) {
            assert.doesNotMatch(fs.readFileSync(path.join(out, f), "utf8"), /PRIVATE KEY|BEGIN CERTIFICATE/, f);
        }
    });

    it("refuses --out naming a file, with exit 2", () => {
        const file = path.join(tmp, "a-file");
        fs.writeFileSync(file, "x");
        const r = plan(["--stack", "dev", "--out", file]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /^plan: --out .*a-file is not a directory; give a directory \(it is created when missing\)\n$/);
    });

    it("refuses a stack file with the TLS key in plain text, without printing the key", () => {
        const dir = path.join(tmp, "leak");
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const dev = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8");
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            dev + "  istio-canary:tlsKey: |\n    -----BEGIN PRIVATE KEY-----\n    MIIsecretvalue\n    -----END PRIVATE KEY-----\n",
        );
        const r = plan(["--stack", "dev", "--config-dir", dir]);
        assert.equal(r.code, 2);
        assert.match(
            r.stderr,
            /istio-canary:tlsKey is stored in plain text in Pulumi.dev.yaml; remove it from the file \(and from git history\), rotate it/,
        );
        assert.doesNotMatch(r.stdout + r.stderr, /MIIsecretvalue/);
    });

    it("ends with the config messages and exit 2 on invalid stack config, without a stack trace", () => {
        const dir = path.join(tmp, "bad");
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        const dev = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.dev.yaml"), "utf8");
        fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), dev.replace("weight: 10\n", "weight: 20\n"));
        const r = plan(["--stack", "bad", "--config-dir", dir]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /istio-canary:versions weights are v1=90, v2=20 \(sum 110\); they must sum to 100/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
        assert.equal(r.stdout, "");
    });

    it("names the missing stack file and the stacks there are, as bad input (exit 2)", () => {
        const r = plan(["--stack", "qa"]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /no stack file .*Pulumi\.qa\.yaml for stack "qa"; stacks here: ambient, dev, prod, staging/);
    });

    /** A config directory holding the project's Pulumi.yaml and `Pulumi.s.yaml` with `text`. */
    function stackDir(name: string, text: string): string {
        const dir = path.join(tmp, name);
        fs.mkdirSync(dir);
        fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), text);
        return dir;
    }

    /** Asserts a refusal as bad input: exit 2, one `plan:` message, no stack trace, nothing planned. */
    function assertRefused(r: { code: number; stdout: string; stderr: string }, message: RegExp): void {
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
        assert.doesNotMatch(r.stderr, /\n\s+at |Error:/);
        assert.equal(r.stdout, "");
    }

    it("exits 2 naming the line of an unquoted wildcard host (a YAML alias) and how to quote it", () => {
        const dir = stackDir("alias", "config:\n  istio-canary:hosts:\n    - *.example.com\n");
        assertRefused(
            plan(["--stack", "s", "--config-dir", dir]),
            /^plan: .*Pulumi\.s\.yaml:3: \*\.example\.com is a YAML alias; .*must be quoted: "\*\.example\.com"\n$/,
        );
    });

    it("exits 2 for a host with a slash, from validation, before openssl is run", () => {
        const dir = stackDir("slash", "config:\n  istio-canary:hosts:\n    - a/b.example.com\n");
        const r = plan(["--stack", "s", "--config-dir", dir]);
        assertRefused(r, /istio-canary:hosts\[0\] is "a\/b\.example\.com"; it must be a DNS hostname/);
        assert.doesNotMatch(r.stderr, /openssl/);
    });

    it("exits 2 for a stack file that is a directory", () => {
        const dir = stackDir("isdir", "");
        fs.rmSync(path.join(dir, "Pulumi.s.yaml"));
        fs.mkdirSync(path.join(dir, "Pulumi.s.yaml"));
        assertRefused(plan(["--stack", "s", "--config-dir", dir]), /Pulumi\.s\.yaml is a directory; a stack file must be a YAML file\n$/);
    });

    it("exits 2 for config keys written without the config: wrapper, instead of planning the defaults", () => {
        const dir = stackDir("nowrap", "istio-canary:hosts:\n  - qa.example.com\n");
        assertRefused(
            plan(["--stack", "s", "--config-dir", dir]),
            /"istio-canary:hosts" is at the top level, where no stack setting is read; config keys go under "config:"/,
        );
    });

    it("exits 2 for an encrypted rollout block instead of saying it generated test material for it", () => {
        const dir = stackDir("secure", "config:\n  istio-canary:rollout:\n    secure: v1:AAAA\n");
        assertRefused(
            plan(["--stack", "s", "--config-dir", dir]),
            /istio-canary:rollout is encrypted \(secure:\); only istio-canary:tlsCert/,
        );
    });

    it("exits 2 with commander's message for a missing --stack", () => {
        const r = plan([]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /required option '--stack <name>' not specified/);
    });
});
