import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BIN, Cluster, ROOT, gatewayApiCrds, istioCrds, manifestFiles, requireTools, run, startCluster } from "./support";

/**
 * The sticky canary's objects judged by the real thing: the VirtualService with the cookie route and
 * the destination's Set-Cookie, and the HTTPRoute with the RegularExpression Cookie rule and the
 * backendRef's ResponseHeaderModifier, applied (server-side dry run, so unknown fields are refused)
 * to a real kube-apiserver holding Istio's CRDs and the Gateway API v1.3.0 standard-channel CRDs,
 * and the Istio objects through istioctl validate and analyze. What Envoy then does with a cookie is
 * not in this tier (no istiod, no proxies).
 */

/** A dev stack file at v1 75 / v2 25 with a header route and the sticky canary, routed by `api`. */
function stackFile(api: "istio" | "gateway-api"): string {
    return [
        "config:",
        "  istio-canary:hosts:",
        "    - dev.myapp.apsissolutions.com",
        "  istio-canary:versions:",
        "    - { name: v1, image: jamaldevsecops/myapp:v1, replicas: 2, weight: 75 }",
        "    - { name: v2, image: jamaldevsecops/myapp:v2, replicas: 1, weight: 25 }",
        "  istio-canary:routing:",
        `    api: ${api}`,
        '    headerRoute: { header: x-canary, value: "true", version: v2 }',
        "    stickyCanary: { enabled: true }",
        "",
    ].join("\n");
}

/** Plans a sticky stack with `plan --config-dir --out`; returns the manifest directory. */
function planSticky(api: "istio" | "gateway-api"): string {
    const config = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-sticky-config-${api}-`));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(config, "Pulumi.yaml"));
    fs.writeFileSync(path.join(config, "Pulumi.dev.yaml"), stackFile(api));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-sticky-plan-${api}-`));
    run(process.execPath, [path.join(ROOT, "cli", "istio-canary.js"), "plan", "--stack", "dev", "--config-dir", config, "--out", out]);
    fs.rmSync(config, { recursive: true, force: true });
    return out;
}

describe("e2e: the sticky canary's routes on a real API server, and istioctl's judgement of them", function () {
    this.timeout(600_000);
    let cluster: Cluster | undefined;
    const plans: Record<string, string> = {};

    before(function () {
        requireTools(["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd", "kwok", "kubectl", "istioctl"]);
        plans.istio = planSticky("istio");
        plans["gateway-api"] = planSticky("gateway-api");
        cluster = startCluster();
        cluster.kubectl(["apply", "--server-side", "-f", "-"], { input: `${istioCrds()}\n---\n${gatewayApiCrds("v1.3.0")}` });
        cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"]);
    });

    after(function () {
        cluster?.stop();
        for (const dir of Object.values(plans)) {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    /** The plan's manifest of one object, by file name prefix (`virtualservice-myapp-vs`). */
    const manifestOf = (api: string, prefix: string) => {
        const file = manifestFiles(plans[api]).find((f) => path.basename(f).startsWith(prefix));
        assert.ok(file, `plan for ${api} has ${prefix}`);
        return file;
    };

    for (const [api, prefix, expect] of [
        ["istio", "virtualservice-myapp-vs", /sticky-v2[\s\S]*set-cookie: istio-canary=v2/],
        ["gateway-api", "httproute-myapp-route", /type: RegularExpression[\s\S]*type: ResponseHeaderModifier/],
    ] as const) {
        it(`accepts the ${api} sticky route with strict field validation (server-side dry run against the real schemas)`, () => {
            const file = manifestOf(api, prefix);
            assert.match(fs.readFileSync(file, "utf8"), expect);
            const r = cluster!.kubectl(["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", file], {
                allowFail: true,
            });
            assert.match(r.stdout + r.stderr, /serverside-applied/, r.stdout + r.stderr);
        });
    }

    it("would refuse a field the schema does not have (the dry run can fail)", () => {
        const text = fs
            .readFileSync(manifestOf("gateway-api", "httproute-myapp-route"), "utf8")
            .replace("responseHeaderModifier:", "responseHeaderModifierX:");
        const r = cluster!.kubectl(["apply", "--server-side", "--dry-run=server", "--validate=strict", "-f", "-"], {
            input: text,
            allowFail: true,
        });
        assert.match(r.stdout + r.stderr, /responseHeaderModifierX/);
    });

    it("passes istioctl validate and istioctl analyze for the sticky VirtualService stack", () => {
        const files = manifestFiles(plans.istio);
        const validate = run(path.join(BIN, "istioctl"), ["validate", ...files.flatMap((f) => ["-f", f])], { allowFail: true });
        assert.equal(validate.status, 0, validate.stdout + validate.stderr);
        const analyze = run(path.join(BIN, "istioctl"), ["analyze", "-A", "--use-kube=false", ...files], { allowFail: true });
        assert.equal(analyze.status, 0, analyze.stdout + analyze.stderr);
        assert.match(analyze.stdout + analyze.stderr, /No validation issues found/);
    });
});
