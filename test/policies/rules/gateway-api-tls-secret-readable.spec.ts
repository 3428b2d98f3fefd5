import * as assert from "node:assert/strict";
import { gatewayApiTlsSecretReadable } from "../../../policies/rules";
import { UNKNOWN, certificate, resource, runStackPolicy, tlsSecret } from "../fixtures";
import { compliantGatewayApiStack, gatewayApiStackList, referenceGrant } from "../gateway-api-fixtures";

const run = (stack: ReturnType<typeof compliantGatewayApiStack>, extra: ReturnType<typeof resource>[] = []) =>
    runStackPolicy(gatewayApiTlsSecretReadable, [...gatewayApiStackList(stack), ...extra]);

/** The compliant stack with the Secret in namespace certs and the certificateRef naming it there. */
function crossNamespace() {
    const stack = compliantGatewayApiStack();
    stack.secret = tlsSecret("apsis-tls", "certs");
    stack.gateway.props.spec.listeners[0].tls.certificateRefs[0].namespace = "certs";
    return stack;
}

describe("policy gateway-api-tls-secret-readable", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(gatewayApiTlsSecretReadable.name, "gateway-api-tls-secret-readable");
        assert.equal(gatewayApiTlsSecretReadable.enforcementLevel, "mandatory");
        assert.match(gatewayApiTlsSecretReadable.description, /^Every HTTPS or TLS listener of a Gateway API Gateway .*\.$/);
    });

    it("accepts the compliant stack (kubernetes.io/tls Secret apsis-tls in the Gateway's namespace istio-system)", async () => {
        assert.deepEqual(await run(compliantGatewayApiStack()), []);
    });

    it("rejects a Secret in the app's namespace instead of the Gateway's, saying where Gateway API reads it", async () => {
        const stack = compliantGatewayApiStack();
        stack.secret = tlsSecret("apsis-tls", "default");
        assert.deepEqual(await run(stack), [
            {
                urn: stack.gateway.urn,
                message:
                    "Gateway istio-system/myapp-gateway listener https-0 (443/HTTPS ambient.myapp.example.com) tls.certificateRefs[0] names Secret istio-system/apsis-tls, but the stack has no Secret apsis-tls in namespace istio-system. " +
                    "Secret default/apsis-tls exists, but Gateway API reads a certificateRef in the Gateway's namespace unless the reference names another namespace and a ReferenceGrant there allows it. " +
                    "HTTPS on this listener would fail (ResolvedRefs: InvalidCertificateRef).",
            },
        ]);
    });

    it("accepts a Secret in another namespace whose ReferenceGrant allows the Gateway's namespace", async () => {
        assert.deepEqual(await run(crossNamespace(), [referenceGrant("certs", "Gateway", "istio-system", "Secret", "apsis-tls")]), []);
        assert.deepEqual(await run(crossNamespace(), [referenceGrant("certs", "Gateway", "istio-system", "Secret")]), []);
    });

    it("rejects a Secret in another namespace without a ReferenceGrant", async () => {
        const stack = crossNamespace();
        assert.deepEqual(
            (await run(stack)).map((v) => v.message),
            [
                "Gateway istio-system/myapp-gateway listener https-0 (443/HTTPS ambient.myapp.example.com) tls.certificateRefs[0] names Secret certs/apsis-tls in another namespace than the Gateway's (istio-system), " +
                    "but no ReferenceGrant in namespace certs allows Gateways of namespace istio-system to read it. Gateway API refuses the reference (ResolvedRefs: RefNotPermitted) and the listener serves no certificate.",
            ],
        );
    });

    it("rejects a ReferenceGrant for the wrong namespace, kind or Secret name", async () => {
        for (const grant of [
            referenceGrant("certs", "Gateway", "default", "Secret"),
            referenceGrant("certs", "HTTPRoute", "istio-system", "Secret"),
            referenceGrant("certs", "Gateway", "istio-system", "Secret", "other-tls"),
            referenceGrant("istio-system", "Gateway", "istio-system", "Secret"),
        ]) {
            assert.equal((await run(crossNamespace(), [grant])).length, 1, JSON.stringify(grant.props.spec));
        }
    });

    it("rejects a Secret of the wrong type, and a terminating HTTPS listener without certificateRefs", async () => {
        const stack = compliantGatewayApiStack();
        stack.secret = tlsSecret("apsis-tls", "istio-system", "Opaque");
        assert.match(
            (await run(stack))[0].message,
            /names Secret istio-system\/apsis-tls, but Secret istio-system\/apsis-tls has type Opaque; a listener certificate must be a kubernetes\.io\/tls Secret \(tls\.crt and tls\.key\)\.$/,
        );
        const none = compliantGatewayApiStack();
        delete none.gateway.props.spec.listeners[0].tls;
        assert.match(
            (await run(none))[0].message,
            /listener https-0 .* terminates HTTPS but has no tls\.certificateRefs, so it has no certificate to serve/,
        );
    });

    it("ignores Passthrough listeners, plain HTTP listeners and the waypoint's HBONE listener", async () => {
        const stack = compliantGatewayApiStack();
        stack.secret = tlsSecret("other-tls");
        stack.gateway.props.spec.listeners[0].protocol = "TLS";
        stack.gateway.props.spec.listeners[0].tls.mode = "Passthrough";
        assert.deepEqual(await run(stack), []);
    });

    it("says nothing when a certificateRef, the tls block, the Secret's name or a ReferenceGrant is unknown during preview", async () => {
        const ref = compliantGatewayApiStack();
        ref.secret = tlsSecret("other-tls");
        ref.gateway.props.spec.listeners[0].tls.certificateRefs[0] = UNKNOWN;
        assert.deepEqual(await run(ref), []);
        const tls = compliantGatewayApiStack();
        tls.secret = tlsSecret("other-tls");
        tls.gateway.props.spec.listeners[0].tls = UNKNOWN;
        assert.deepEqual(await run(tls), []);
        const secret = compliantGatewayApiStack();
        secret.secret = tlsSecret(UNKNOWN);
        assert.deepEqual(await run(secret), []);
        const grant = referenceGrant("certs", "Gateway", "istio-system", "Secret");
        grant.props.spec.from = UNKNOWN;
        assert.deepEqual(await run(crossNamespace(), [grant]), []);
    });

    describe("with a cert-manager Certificate instead of a Secret", () => {
        function withCertificate(secretName: unknown = "apsis-tls", namespace: unknown = "istio-system") {
            const { secret: _secret, ...rest } = compliantGatewayApiStack();
            return [...gatewayApiStackList(rest as ReturnType<typeof compliantGatewayApiStack>), certificate(secretName, namespace)];
        }

        it("accepts a Certificate whose secretName is the certificateRef, in its namespace (cert-manager creates a kubernetes.io/tls Secret there)", async () => {
            assert.deepEqual(await runStackPolicy(gatewayApiTlsSecretReadable, withCertificate()), []);
        });

        it("rejects a Certificate issuing the Secret in another namespace, naming the Certificate", async () => {
            const found = await runStackPolicy(gatewayApiTlsSecretReadable, withCertificate("apsis-tls", "default"));
            assert.equal(found.length, 1);
            assert.match(
                found[0].message,
                /but the stack has no Secret apsis-tls in namespace istio-system\. Secret default\/apsis-tls \(issued by Certificate default\/apsis-cert\) exists, but Gateway API reads/,
            );
        });

        it("says nothing when the Certificate's secretName or namespace is unknown during preview", async () => {
            assert.deepEqual(await runStackPolicy(gatewayApiTlsSecretReadable, withCertificate(UNKNOWN)), []);
            assert.deepEqual(await runStackPolicy(gatewayApiTlsSecretReadable, withCertificate("apsis-tls", UNKNOWN)), []);
        });
    });
});
