import * as assert from "node:assert/strict";
import { gatewayTlsSecretExists } from "../../../policies/rules";
import { UNKNOWN, certificate, compliantStack, gateway, release, runStackPolicy, stackList, tlsSecret } from "../fixtures";

describe("policy gateway-tls-secret-exists", () => {
    it("accepts the compliant stack (kubernetes.io/tls Secret apsis-tls in istio-system)", async () => {
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, stackList()), []);
    });

    it("rejects a secret in the Gateway's namespace instead of the gateway pods' (the seed's mistake)", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("apsis-tls", "default");
        const found = await runStackPolicy(gatewayTlsSecretExists, stackList(stack));
        assert.deepEqual(found, [
            {
                urn: stack.gateway.urn,
                message:
                    "Gateway default/myapp-gateway servers[0] (port 443 HTTPS) uses credentialName apsis-tls, but the stack has no kubernetes.io/tls Secret apsis-tls in namespace istio-system, " +
                    "where the gateway pods of Helm release istio-ingressgateway (chart gateway) in istio-system run. Secret default/apsis-tls exists, but Istio reads the secret from the " +
                    "namespace of the gateway pods, not of the Gateway resource. HTTPS on this server would fail (istioctl analyze: IST0161).",
            },
        ]);
    });

    it("follows the gateway pods to another namespace", async () => {
        const stack = compliantStack();
        stack.ingress = release("istio-gateway", "gateway", "istio-ingressgateway", "istio-ingress");
        const found = await runStackPolicy(gatewayTlsSecretExists, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /no kubernetes\.io\/tls Secret apsis-tls in namespace istio-ingress, where the gateway pods of Helm release istio-ingressgateway \(chart gateway\) in istio-ingress run/,
        );
    });

    it("rejects a secret of the wrong type", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("apsis-tls", "istio-system", "Opaque");
        const found = await runStackPolicy(gatewayTlsSecretExists, stackList(stack));
        assert.deepEqual(
            found.map((f) => f.message),
            [
                "Gateway default/myapp-gateway servers[0] (port 443 HTTPS) uses credentialName apsis-tls, but Secret istio-system/apsis-tls has type Opaque; it must be kubernetes.io/tls (with tls.crt and tls.key).",
            ],
        );
    });

    it("rejects a credentialName with no secret at all", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("other-tls");
        const found = await runStackPolicy(gatewayTlsSecretExists, stackList(stack));
        assert.equal(found.length, 1);
        assert.match(
            found[0].message,
            /uses credentialName apsis-tls, but the stack has no kubernetes\.io\/tls Secret apsis-tls in namespace istio-system, where .* run\. HTTPS on this server/,
        );
    });

    it("says nothing when the stack installs no gateway, or when a secret's namespace is unknown during preview", async () => {
        const { ingress: _ingress, ...noGateway } = compliantStack();
        noGateway.secret = tlsSecret("apsis-tls", "default");
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, Object.values(noGateway)), []);
        const unknown = compliantStack();
        unknown.secret = tlsSecret("apsis-tls", UNKNOWN);
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, stackList(unknown)), []);
    });

    it("says nothing when the server's TLS mode is unknown during preview (PASSTHROUGH would ignore credentialName)", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("apsis-tls", "default");
        stack.gateway.props.spec.servers[0].tls.mode = UNKNOWN;
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, stackList(stack)), []);
    });

    it("still rejects a misplaced secret when the stack also has an auto-named Secret (it cannot be the credentialName)", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("apsis-tls", "default");
        const autoNamed = tlsSecret("unused", "istio-system", "Opaque");
        autoNamed.name = "app-config";
        autoNamed.urn = autoNamed.urn.replace(/::tls-secret$/, "::app-config");
        delete autoNamed.props.metadata.name;
        const found = await runStackPolicy(gatewayTlsSecretExists, [...stackList(stack), autoNamed]);
        assert.deepEqual(
            found.map((f) => f.urn),
            [stack.gateway.urn],
        );
        assert.match(
            found[0].message,
            /no kubernetes\.io\/tls Secret apsis-tls in namespace istio-system, .* Secret default\/apsis-tls exists/,
        );
    });

    it("says nothing when another Secret's name is unknown during preview (it may be the credentialName)", async () => {
        const stack = compliantStack();
        stack.secret = tlsSecret("apsis-tls", "default");
        const unknownName = tlsSecret(UNKNOWN, "istio-system");
        unknownName.name = "other-tls";
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, [...stackList(stack), unknownName]), []);
    });

    describe("with a cert-manager Certificate instead of a Secret", () => {
        function withCertificate(secretName: unknown = "apsis-tls", namespace: unknown = "istio-system") {
            const { secret: _secret, ...rest } = compliantStack();
            return { ...rest, certificate: certificate(secretName, namespace) };
        }

        it("accepts a Certificate whose secretName is the credentialName, in the gateway pods' namespace (cert-manager creates a kubernetes.io/tls Secret there)", async () => {
            assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, Object.values(withCertificate())), []);
        });

        it("rejects a Certificate issuing the secret in the Gateway's namespace, naming the Certificate", async () => {
            const stack = withCertificate("apsis-tls", "default");
            const found = await runStackPolicy(gatewayTlsSecretExists, Object.values(stack));
            assert.deepEqual(found, [
                {
                    urn: stack.gateway.urn,
                    message:
                        "Gateway default/myapp-gateway servers[0] (port 443 HTTPS) uses credentialName apsis-tls, but the stack has no kubernetes.io/tls Secret apsis-tls in namespace istio-system, " +
                        "where the gateway pods of Helm release istio-ingressgateway (chart gateway) in istio-system run. Secret default/apsis-tls (issued by Certificate default/apsis-cert) exists, " +
                        "but Istio reads the secret from the namespace of the gateway pods, not of the Gateway resource. HTTPS on this server would fail (istioctl analyze: IST0161).",
                },
            ]);
        });

        it("rejects a Certificate whose secretName is another name", async () => {
            const found = await runStackPolicy(gatewayTlsSecretExists, Object.values(withCertificate("other-tls")));
            assert.equal(found.length, 1);
            assert.match(
                found[0].message,
                /uses credentialName apsis-tls, but the stack has no kubernetes\.io\/tls Secret apsis-tls in namespace istio-system/,
            );
        });

        it("says nothing when the Certificate's secretName or namespace is unknown during preview", async () => {
            assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, Object.values(withCertificate(UNKNOWN))), []);
            assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, Object.values(withCertificate("apsis-tls", UNKNOWN))), []);
        });

        it("still rejects an Opaque Secret of that name next to the Certificate (a Secret's type cannot change, so cert-manager cannot make it kubernetes.io/tls)", async () => {
            const stack = { ...withCertificate(), secret: tlsSecret("apsis-tls", "istio-system", "Opaque") };
            const found = await runStackPolicy(gatewayTlsSecretExists, Object.values(stack));
            assert.deepEqual(
                found.map((f) => f.message),
                [
                    "Gateway default/myapp-gateway servers[0] (port 443 HTTPS) uses credentialName apsis-tls, but Secret istio-system/apsis-tls has type Opaque; it must be kubernetes.io/tls (with tls.crt and tls.key).",
                ],
            );
        });

        it("ignores a Certificate of another API group", async () => {
            const stack = withCertificate();
            stack.certificate.type = "kubernetes:example.com/v1:Certificate";
            stack.certificate.props.apiVersion = "example.com/v1";
            const found = await runStackPolicy(gatewayTlsSecretExists, Object.values(stack));
            assert.equal(found.length, 1);
        });
    });

    it("leaves a Gateway that selects no installed gateway to gateway-selects-installed-ingress", async () => {
        const stack = compliantStack();
        stack.gateway = gateway({ istio: "elsewhere" });
        stack.secret = tlsSecret("apsis-tls", "default");
        assert.deepEqual(await runStackPolicy(gatewayTlsSecretExists, stackList(stack)), []);
    });
});
