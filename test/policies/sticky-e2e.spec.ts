/**
 * The sticky canary's routes through the real pack over the Analyzer protocol: the objects the
 * program emits with routing.stickyCanary (both routing APIs) pass every policy at the stack's
 * levels, and a cookie route left behind by a rollback fails the pack's sticky-canary-route.
 */
import * as assert from "node:assert/strict";
import { PolicyPackProcess, PolicyViolation, checkResources, readPolicyConfigFile, stackPolicyConfigFile } from "../../policy-runner";
import { POLICY_PACK_DIR } from "../../policy-runner";
import { RecordedResource } from "../../offline/run";
import { runWith } from "../support/program";

const versions = (canary: number) => [
    { name: "v1", image: "jamaldevsecops/myapp:v1", replicas: 2, weight: 100 - canary },
    { name: "v2", image: "jamaldevsecops/myapp:v2", replicas: 1, weight: canary },
];

function summary(violations: PolicyViolation[]): string[] {
    return violations.map((v) => `${v.enforcementLevel} ${v.policyName} ${v.name}`);
}

describe("sticky canary routes through the policy pack over the Analyzer protocol", function () {
    this.timeout(180_000);
    let pack: PolicyPackProcess;

    before(async () => {
        pack = PolicyPackProcess.launch(POLICY_PACK_DIR, { env: { PULUMI_NODEJS_STACK: "dev", PULUMI_NODEJS_PROJECT: "istio-canary" } });
        await pack.ready();
    });

    after(async () => {
        await pack?.close();
    });

    const check = (resources: RecordedResource[], stack = "dev") =>
        checkResources(stack, resources, { pack, policyConfig: readPolicyConfigFile(stackPolicyConfigFile(stack)) });

    it("passes the dev stack with a sticky canary at 25%, header route included, with dev's levels", async () => {
        const run = await runWith(
            {
                versions: versions(25),
                routing: { stickyCanary: { enabled: true }, headerRoute: { header: "x-canary", value: "true", version: "v2" } },
            },
            "dev",
            { preview: true },
        );
        const vs = run.resources.find((r) => r.type.endsWith(":VirtualService"))!;
        assert.equal(vs.inputs.spec.http[1].name, "sticky-v2");
        const report = await check(run.resources);
        assert.deepEqual(summary(report.violations), []);
        assert.equal(report.passed, true);
    });

    it("passes the ambient stack (routing.api gateway-api) with a sticky canary at 25%, with ambient's levels", async () => {
        const run = await runWith({ versions: versions(25), routing: { api: "gateway-api", stickyCanary: { enabled: true } } }, "ambient", {
            preview: true,
        });
        const route = run.resources.find((r) => r.name === "myapp-route")!;
        assert.equal(route.inputs.spec.rules[0].matches[0].headers[0].name, "Cookie");
        const report = await check(run.resources, "ambient");
        assert.deepEqual(summary(report.violations), []);
    });

    it("fails a VirtualService whose weights went to 100/0 by hand while its cookie route stayed, as a mandatory violation", async () => {
        const run = await runWith({ versions: versions(25), routing: { stickyCanary: { enabled: true } } }, "dev", { preview: true });
        const vs = run.resources.find((r) => r.type.endsWith(":VirtualService"))!;
        vs.inputs.spec.http[1].route[0].weight = 100;
        vs.inputs.spec.http[1].route[1].weight = 0;
        const report = await check(run.resources);
        assert.equal(report.passed, false);
        assert.deepEqual(summary(report.violations), ["mandatory sticky-canary-route myapp-vs"]);
        assert.match(
            report.violations[0].message,
            /\nVirtualService default\/myapp-vs http\[0\] "sticky-v2" matches the sticky cookie istio-canary=v2 that http\[1\] "weighted" sets on the responses of myapp\.default\.svc\.cluster\.local\/v2, while myapp\.default\.svc\.cluster\.local\/v2 gets 0% of that route's traffic/,
        );
    });
});
