import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { Checker, DNS_LABEL, SECRET_NAME } from "./validation";

/** Arguments of TlsSecret. */
export interface TlsSecretArgs {
    /** Secret name: the Gateway's credentialName. Defaults to `apsis-tls`. */
    credentialName?: string;
    /**
     * Namespace of the ingress gateway pods: Istio looks credentialName up there, not in the app's
     * namespace (istioctl analyze IST0161). Defaults to `istio-system`.
     */
    namespace?: string;
    /** Certificate chain (PEM); kept a Pulumi secret whether or not it arrives as one. Required. */
    cert: pulumi.Input<string>;
    /** Private key (PEM) of the first certificate; kept a Pulumi secret. Required. */
    key: pulumi.Input<string>;
}

/** TlsSecret's plain arguments with their defaults applied and checked (cert and key are not inspected here). */
export interface ResolvedTlsSecretArgs {
    /** Secret name. */
    credentialName: string;
    /** Namespace. */
    namespace: string;
}

/** The Secret name the Gateway refers to when nobody says otherwise (the workflow's). */
export const DEFAULT_CREDENTIAL_NAME = "apsis-tls";
/** The ingress gateway pods' namespace when nobody says otherwise. */
export const DEFAULT_GATEWAY_NAMESPACE = "istio-system";

/**
 * Checks TlsSecret's name and namespace and applies the defaults. Pure. Problems go to `c`; without
 * one, throws ArgsError. The PEM material is checked by config/tls.ts where it is plain text.
 */
export function resolveTlsSecretArgs(args: Pick<TlsSecretArgs, "credentialName" | "namespace">, c?: Checker): ResolvedTlsSecretArgs {
    const check = c ?? new Checker();
    const resolved = {
        credentialName: check.string("credentialName", args.credentialName, DEFAULT_CREDENTIAL_NAME, SECRET_NAME),
        namespace: check.string("namespace", args.namespace, DEFAULT_GATEWAY_NAMESPACE, DNS_LABEL),
    };
    if (c === undefined) {
        check.throwIfAny("TlsSecret");
    }
    return resolved;
}

/**
 * The kubernetes.io/tls Secret the Gateway serves. Its name is fixed (credentialName) because the
 * Gateway refers to it by name. Cert and key stay Pulumi secrets in state and outputs.
 *
 * ## Example Usage
 * ```typescript
 * const cfg = new pulumi.Config();
 * new TlsSecret("tls", {
 *     credentialName: "shop-tls",
 *     cert: cfg.requireSecret("tlsCert"),
 *     key: cfg.requireSecret("tlsKey"),
 * });
 * ```
 */
export class TlsSecret extends pulumi.ComponentResource {
    /** The Secret. */
    readonly secret: k8s.core.v1.Secret;
    /** Its name, the Gateway's credentialName. */
    readonly credentialName: string;

    constructor(name: string, args: TlsSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:tls:TlsSecret", name, {}, opts);
        const r = resolveTlsSecretArgs(args);
        this.secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            {
                metadata: { name: r.credentialName, namespace: r.namespace },
                type: "kubernetes.io/tls",
                stringData: { "tls.crt": pulumi.secret(args.cert), "tls.key": pulumi.secret(args.key) },
            },
            { parent: this, additionalSecretOutputs: ["data", "stringData"] },
        );
        this.credentialName = r.credentialName;
        this.registerOutputs({ secret: this.secret, credentialName: this.credentialName });
    }
}
