import { StackValidationPolicy } from "@pulumi/policy";
import {
    GATEWAY_API_GROUP,
    ResourceLike,
    StackViolation,
    arr,
    certManagerSecrets,
    certificateDefaults,
    describe,
    findObject,
    identityOf,
    isGatewayApi,
    isKube,
    isUnknown,
    listenersOf,
    obj,
    plainResources,
    readRef,
    referenceGrantAllows,
    str,
} from "../istio";

/** Listener protocols that terminate TLS with the listener's certificateRefs (mode Terminate, the default). */
const TLS_PROTOCOLS = new Set(["HTTPS", "TLS"]);

const isSecret = (r: ResourceLike) => isKube(r, "", "Secret");

/** The violations of the whole stack: listener certificateRefs that name no kubernetes.io/tls Secret the Gateway may read. Pure. */
export function gatewayApiSecretViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const out: StackViolation[] = [];
    for (const gw of resources) {
        if (!isGatewayApi(gw, "Gateway")) {
            continue;
        }
        const ns = identityOf(gw.props).namespace;
        const spec = obj(gw.props.spec);
        if (ns === undefined || spec === undefined) {
            continue;
        }
        for (const { listener, label } of listenersOf(spec)) {
            const protocol = str(listener.protocol);
            if (protocol === undefined || !TLS_PROTOCOLS.has(protocol) || isUnknown(listener.tls)) {
                continue;
            }
            const tls = obj(listener.tls);
            const mode = tls?.mode === undefined ? "Terminate" : str(tls.mode);
            if (mode !== "Terminate" || isUnknown(tls?.certificateRefs)) {
                continue; // Passthrough (the backend terminates), or unknown during preview
            }
            const head = `${describe("Gateway", gw)} ${label}`;
            const refs = arr(tls?.certificateRefs);
            if (refs.length === 0) {
                out.push({
                    urn: gw.urn,
                    message: `${head} terminates ${protocol} but has no tls.certificateRefs, so it has no certificate to serve; the listener would be invalid (Programmed: False).`,
                });
                continue;
            }
            refs.forEach((raw, j) => {
                const ref = readRef(raw, certificateDefaults(ns));
                if (ref === undefined || ref.group !== "" || ref.kind !== "Secret") {
                    return; // unknown during preview, or another kind of certificate source: not judged
                }
                const what = `${head} tls.certificateRefs[${j}] names Secret ${ref.namespace}/${ref.name}`;
                if (ref.namespace !== ns) {
                    const grant = referenceGrantAllows(
                        resources,
                        { group: GATEWAY_API_GROUP, kind: "Gateway", namespace: ns },
                        { group: "", kind: "Secret", name: ref.name, namespace: ref.namespace },
                    );
                    if (grant === "unknown") {
                        return;
                    }
                    if (grant === "no") {
                        out.push({
                            urn: gw.urn,
                            message:
                                `${what} in another namespace than the Gateway's (${ns}), but no ReferenceGrant in namespace ${ref.namespace} allows Gateways of namespace ${ns} to read it. ` +
                                `Gateway API refuses the reference (ResolvedRefs: RefNotPermitted) and the listener serves no certificate.`,
                        });
                        return;
                    }
                }
                const { found, uncertain } = findObject(resources, isSecret, ref.name, ref.namespace);
                if (found === undefined) {
                    // A cert-manager Certificate creates a kubernetes.io/tls Secret named spec.secretName in its own namespace.
                    const issued = certManagerSecrets(resources);
                    if (uncertain || issued.some((c) => c.uncertain || (c.name === ref.name && c.namespace === ref.namespace))) {
                        return;
                    }
                    const elsewhere = [
                        ...resources.filter((r) => isSecret(r) && identityOf(r.props).name === ref.name).map((r) => describe("Secret", r)),
                        ...issued.filter((c) => c.name === ref.name).map((c) => c.label),
                    ];
                    const hint =
                        elsewhere.length > 0
                            ? ` ${elsewhere.join(" and ")} exist${elsewhere.length === 1 ? "s" : ""}, but Gateway API reads a certificateRef in the Gateway's namespace unless the reference names another namespace and a ReferenceGrant there allows it.`
                            : "";
                    out.push({
                        urn: gw.urn,
                        message: `${what}, but the stack has no Secret ${ref.name} in namespace ${ref.namespace}.${hint} HTTPS on this listener would fail (ResolvedRefs: InvalidCertificateRef).`,
                    });
                    return;
                }
                const type = found.props.type === undefined ? "Opaque" : str(found.props.type);
                if (type !== undefined && type !== "kubernetes.io/tls") {
                    out.push({
                        urn: gw.urn,
                        message: `${what}, but ${describe("Secret", found)} has type ${type}; a listener certificate must be a kubernetes.io/tls Secret (tls.crt and tls.key).`,
                    });
                }
            });
        }
    }
    return out;
}

/** Every certificateRef of a Gateway API listener names a kubernetes.io/tls Secret of the stack that the Gateway may read. */
export const gatewayApiTlsSecretReadable: StackValidationPolicy = {
    name: "gateway-api-tls-secret-readable",
    description:
        "Every HTTPS or TLS listener of a Gateway API Gateway that terminates TLS has certificateRefs, and each names a kubernetes.io/tls Secret the stack has (a Secret, or a cert-manager Certificate whose secretName it is), in the Gateway's namespace or in a namespace whose ReferenceGrant allows the Gateway to read it.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of gatewayApiSecretViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
