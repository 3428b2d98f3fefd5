import { StackValidationPolicy } from "@pulumi/policy";
import {
    ResourceLike,
    StackViolation,
    arr,
    certManagerSecrets,
    describe,
    installedGateways,
    isIstio,
    isKube,
    isUnknown,
    namespaceOf,
    obj,
    plainResources,
    selectedGateways,
    serverLabel,
    serversOf,
    str,
} from "../istio";

/** Modes whose credentials Istio does not read from credentialName. */
const NO_CREDENTIAL_MODES = new Set(["PASSTHROUGH", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL"]);

/** A Secret of the stack as far as it is known: a Secret resource, or one a cert-manager Certificate issues. */
interface SecretInfo {
    /** For messages: `Secret istio-system/apsis-tls`, or `Secret istio-system/apsis-tls (issued by Certificate istio-system/apsis-cert)`. */
    label: string;
    /** metadata.name; undefined when Pulumi generates it (auto-naming) or it is unknown. */
    name: string | undefined;
    /** Its namespace; undefined when unknown. */
    namespace: string | undefined;
    /** Its type (`Opaque` when absent), possibly unknown. */
    type: unknown;
    /** True when its name or namespace is unknown during preview: it might be the secret looked for. */
    uncertain: boolean;
}

function secretsOf(resources: readonly ResourceLike[]): SecretInfo[] {
    const out: SecretInfo[] = [];
    for (const r of resources.filter((x) => isKube(x, "", "Secret"))) {
        const namespace = namespaceOf(r.props);
        const metaName = obj(r.props.metadata)?.name;
        out.push({
            label: describe("Secret", r),
            name: str(metaName),
            namespace,
            type: r.props.type ?? "Opaque",
            // An auto-named Secret (no metadata.name) gets a random suffix: it is never the credentialName.
            uncertain: (metaName !== undefined && str(metaName) === undefined) || namespace === undefined,
        });
    }
    // Istio's cert-manager integration page: create the Certificate in the ingress gateway's namespace.
    for (const issued of certManagerSecrets(resources)) {
        out.push({ ...issued, type: "kubernetes.io/tls" });
    }
    return out;
}

/** The credential names a server's tls block references (credentialName and credentialNames), without a `kubernetes://` prefix. */
function credentialNames(tls: Record<string, unknown>): (string | undefined)[] {
    const names = [...(tls.credentialName !== undefined ? [tls.credentialName] : []), ...arr(tls.credentialNames)];
    return names.map((n) => str(n)?.replace(/^kubernetes:\/\//, ""));
}

/** The violations of the whole stack: credentialNames without a kubernetes.io/tls Secret in the gateway pods' namespace. Pure. */
export function gatewaySecretViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const installed = installedGateways(resources);
    if (installed.length === 0) {
        return []; // the gateway pods' namespace is known only for a gateway the stack installs
    }
    const secrets = secretsOf(resources);
    const uncertain = secrets.some((s) => s.uncertain);
    const out: StackViolation[] = [];
    for (const gw of resources) {
        if (!isIstio(gw, "Gateway")) {
            continue;
        }
        const selected = selectedGateways(gw, installed);
        if (selected === undefined || selected.length === 0) {
            continue; // selector not known, or matches no installed gateway (gateway-selects-installed-ingress says so)
        }
        for (const { index, server } of serversOf(obj(gw.props.spec) ?? {})) {
            const tls = obj(server.tls);
            const mode = str(tls?.mode);
            if (tls === undefined || isUnknown(tls.mode) || (mode !== undefined && NO_CREDENTIAL_MODES.has(mode))) {
                continue; // no TLS, a mode unknown during preview (it may ignore credentialName), or one that ignores it
            }
            for (const name of credentialNames(tls)) {
                for (const g of selected) {
                    if (name === undefined || g.namespace === undefined) {
                        continue;
                    }
                    const head = `${describe("Gateway", gw)} ${serverLabel(index, server)} uses credentialName ${name}`;
                    const found = secrets.filter((s) => s.name === name && s.namespace === g.namespace);
                    if (found.length > 0) {
                        // A Secret resource of another type is wrong even next to a Certificate for it: a Secret's
                        // type is immutable, so cert-manager cannot turn it into a kubernetes.io/tls Secret.
                        const wrong = found.find((s) => str(s.type) !== undefined && str(s.type) !== "kubernetes.io/tls");
                        if (wrong !== undefined) {
                            out.push({
                                urn: gw.urn,
                                message: `${head}, but ${wrong.label} has type ${str(wrong.type)}; it must be kubernetes.io/tls (with tls.crt and tls.key).`,
                            });
                        }
                        continue;
                    }
                    if (uncertain) {
                        continue;
                    }
                    const elsewhere = secrets.filter((s) => s.name === name);
                    const hint =
                        elsewhere.length > 0
                            ? ` ${elsewhere.map((s) => s.label).join(" and ")} exist${elsewhere.length === 1 ? "s" : ""}, but Istio reads the secret from the namespace of the gateway pods, not of the Gateway resource.`
                            : "";
                    out.push({
                        urn: gw.urn,
                        message:
                            `${head}, but the stack has no kubernetes.io/tls Secret ${name} in namespace ${g.namespace}, where the gateway pods of ${g.what} run.${hint} ` +
                            `HTTPS on this server would fail (istioctl analyze: IST0161).`,
                    });
                }
            }
        }
    }
    return out;
}

/** Every credentialName of a Gateway has a kubernetes.io/tls Secret in the namespace of the gateway pods. */
export const gatewayTlsSecretExists: StackValidationPolicy = {
    name: "gateway-tls-secret-exists",
    description:
        "Every credentialName of a Gateway served by an ingress gateway the stack installs has a kubernetes.io/tls Secret of that name in the stack (a Secret, or a cert-manager Certificate whose secretName it is), in the namespace of the gateway pods.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of gatewaySecretViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
