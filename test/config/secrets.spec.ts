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

    it("stops the program when a key other than the TLS material and rollout is a secret, naming it", () => {
        pulumi.runtime.setAllConfig({ ...base, "istio-canary:routing": JSON.stringify({ timeout: "5s" }) }, [
            "istio-canary:tlsCert",
            "istio-canary:tlsKey",
            "istio-canary:routing",
        ]);
        assert.throws(() => loadConfig(), {
            message:
                "invalid stack configuration (1 problem):\n" +
                "  - istio-canary:routing is encrypted (secure:); only istio-canary:tlsCert, istio-canary:tlsKey " +
                "and notification URLs (istio-canary:rollout.notifications[N].url) may be secrets. " +
                "Every other key is read from the stack file in plain text (an encrypted one would be replaced by the defaults): set it without --secret",
        });
    });

    it("accepts rollout marked secret, as the engine marks it when a notification URL in it is, and reads the URL decrypted", () => {
        const rollout = { steps: [10, 100], notifications: [{ name: "chat", url: "https://hooks.example.com/T/B/x", format: "slack" }] };
        pulumi.runtime.setAllConfig({ ...base, "istio-canary:rollout": JSON.stringify(rollout) }, [
            "istio-canary:tlsCert",
            "istio-canary:tlsKey",
            "istio-canary:rollout",
        ]);
        const config = loadConfig();
        assert.deepEqual(config.rollout.steps, [10, 100]);
        assert.equal(config.rollout.notifications[0].url, "https://hooks.example.com/T/B/x");
    });

    it("accepts the TLS material as secrets and everything else in plain text", () => {
        pulumi.runtime.setAllConfig({ ...base, "istio-canary:rollout": JSON.stringify({ steps: [10, 100] }) }, [
            "istio-canary:tlsCert",
            "istio-canary:tlsKey",
        ]);
        assert.deepEqual(loadConfig().rollout.steps, [10, 100]);
    });
});
