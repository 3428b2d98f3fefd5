import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of TlsSecret. */
export interface TlsSecretArgs {
    /** Secret name: the Gateway's credentialName. */
    credentialName: string;
    /** Namespace of the ingress gateway pods: Istio looks credentialName up there, not in the app's namespace. */
    namespace: string;
    /** Certificate chain (PEM), a Pulumi secret. */
    cert: pulumi.Output<string>;
    /** Private key (PEM), a Pulumi secret. */
    key: pulumi.Output<string>;
}

/**
 * The kubernetes.io/tls Secret the Gateway serves. Its name is fixed (credentialName) because the
 * Gateway refers to it by name. Cert and key stay Pulumi secrets in state and outputs.
 */
export class TlsSecret extends pulumi.ComponentResource {
    /** The Secret. */
    readonly secret: k8s.core.v1.Secret;

    constructor(name: string, args: TlsSecretArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:tls:TlsSecret", name, {}, opts);
        this.secret = new k8s.core.v1.Secret(
            `${name}-secret`,
            {
                metadata: { name: args.credentialName, namespace: args.namespace },
                type: "kubernetes.io/tls",
                stringData: { "tls.crt": pulumi.secret(args.cert), "tls.key": pulumi.secret(args.key) },
            },
            { parent: this, additionalSecretOutputs: ["data", "stringData"] },
        );
        this.registerOutputs({});
    }
}
