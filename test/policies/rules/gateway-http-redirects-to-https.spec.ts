import * as assert from "node:assert/strict";
import { gatewayHttpRedirectsToHttps } from "../../../policies/rules";
import { UNKNOWN, gateway, runResourcePolicy } from "../fixtures";

describe("policy gateway-http-redirects-to-https", () => {
    it("accepts an HTTPS server plus a port 80 server that redirects", async () => {
        assert.deepEqual(await runResourcePolicy(gatewayHttpRedirectsToHttps, gateway()), []);
    });

    it("rejects a plain-HTTP server that does not redirect", async () => {
        const gw = gateway();
        gw.props.spec.servers[1].tls = { httpsRedirect: false };
        assert.deepEqual(await runResourcePolicy(gatewayHttpRedirectsToHttps, gw), [
            "Gateway default/myapp-gateway servers[1] (port 80 HTTP) serves plain HTTP for dev.myapp.example.com; set tls.httpsRedirect: true so it redirects to HTTPS, or remove the server.",
        ]);
    });

    it("says nothing when httpsRedirect is unknown during preview", async () => {
        const gw = gateway();
        gw.props.spec.servers[1].tls = { httpsRedirect: UNKNOWN };
        assert.deepEqual(await runResourcePolicy(gatewayHttpRedirectsToHttps, gw), []);
    });
});
