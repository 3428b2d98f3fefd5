import * as assert from "node:assert/strict";
import * as path from "node:path";
import { OfflineRun, isSecretValue, runProgramOffline } from "../../offline/run";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { PROJECT_ROOT } from "../../stack/load";
import { one, ofType } from "../support/program";

describe("examples/minimal: the components used by another program with minimal args", () => {
    let run: OfflineRun;
    before(async () => {
        const material = generateTlsMaterial(["shop.example.com"]);
        run = await runProgramOffline(
            {},
            {
                program: { dir: path.join(PROJECT_ROOT, "examples", "minimal"), project: "shop-canary" },
                tls: { cert: material.cert, key: material.key },
            },
        );
    });

    it("creates one Deployment per version and the Service in the app's namespace", () => {
        assert.deepEqual(
            ofType(run, ":Deployment").map((d) => [
                d.name,
                d.inputs.metadata.namespace,
                d.inputs.spec.replicas,
                d.inputs.spec.template.spec.containers[0].image,
            ]),
            [
                ["shop-v1", "shop", 1, "registry.example.com/shop:1.4.0"],
                ["shop-v2", "shop", 1, "registry.example.com/shop:1.5.0"],
            ],
        );
        const svc = one(run, "core/v1:Service");
        assert.equal(svc.inputs.metadata.name, "shop");
        assert.deepEqual(one(run, "core/v1:Namespace").inputs.metadata, { name: "shop", labels: { "istio-injection": "enabled" } });
    });

    it("puts the TLS Secret, still a Pulumi secret, in the gateway pods' default namespace under its credentialName", () => {
        const secret = one(run, "core/v1:Secret");
        assert.deepEqual([secret.inputs.metadata.name, secret.inputs.metadata.namespace], ["shop-tls", "istio-system"]);
        assert.ok(isSecretValue(secret.inputs.stringData));
        assert.deepEqual(one(run, ":Gateway").inputs.spec.servers[0].tls, { mode: "SIMPLE", credentialName: "shop-tls" });
    });

    it("routes 90/10 to the versions' subsets and exports the weights", () => {
        const vs = one(run, ":VirtualService");
        assert.deepEqual(
            vs.inputs.spec.http[0].route.map((d: { destination: { subset: string }; weight: number }) => [d.destination.subset, d.weight]),
            [
                ["v1", 90],
                ["v2", 10],
            ],
        );
        assert.equal(one(run, ":DestinationRule").inputs.spec.host, "shop.shop.svc.cluster.local");
        assert.deepEqual(run.outputs, { serviceFqdn: "shop.shop.svc.cluster.local", weights: { v1: 90, v2: 10 } });
    });
});
