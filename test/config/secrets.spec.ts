import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "../../config";
import { generateTlsMaterial } from "../../offline/self-signed-tls";

describe("config: which keys may be secret", () => {
    const tls = generateTlsMaterial(["myapp.apsissolutions.com"]);
    const base = {
        "istio-canary:tlsCert": tls.cert,
        "istio-canary:tlsKey": tls.key,
    };
    afterEach(() => pulumi.runtime.setAllConfig({}, []));

    it("stops the program when a key other than the TLS material is a secret, naming it", () => {
        pulumi.runtime.setAllConfig({ ...base, "istio-canary:rollout": JSON.stringify({ steps: [10, 100] }) }, [
            "istio-canary:tlsCert",
            "istio-canary:tlsKey",
            "istio-canary:rollout",
        ]);
        assert.throws(() => loadConfig(), {
            message:
                "invalid stack configuration (1 problem):\n" +
                "  - istio-canary:rollout is encrypted (secure:); only istio-canary:tlsCert and istio-canary:tlsKey may be secrets. " +
                "Every other key is read from the stack file in plain text (an encrypted one would be replaced by the defaults): set it without --secret",
        });
    });

    it("accepts the TLS material as secrets and everything else in plain text", () => {
        pulumi.runtime.setAllConfig({ ...base, "istio-canary:rollout": JSON.stringify({ steps: [10, 100] }) }, [
            "istio-canary:tlsCert",
            "istio-canary:tlsKey",
        ]);
        assert.deepEqual(loadConfig().rollout.steps, [10, 100]);
    });
});
