/**
 * The components used by another program, with the fewest args they take: a cluster that already
 * runs Istio (no IstioMesh), one app with two versions split 90/10, the TLS Secret from secret
 * config. Everything else is a component default. The tests run this program under Pulumi's mocks.
 */
import * as pulumi from "@pulumi/pulumi";
import { CanaryApp, TlsSecret, Traffic } from "../../components";

export = async (): Promise<Record<string, unknown>> => {
    const config = new pulumi.Config();
    const versions = [
        { name: "v1", image: "registry.example.com/shop:1.4.0", weight: 90 },
        { name: "v2", image: "registry.example.com/shop:1.5.0", weight: 10 },
    ];
    const app = new CanaryApp("shop", { app: { name: "shop", namespace: "shop" }, versions });
    const tls = new TlsSecret("shop-tls", {
        credentialName: "shop-tls",
        cert: config.requireSecret("tlsCert"),
        key: config.requireSecret("tlsKey"),
    });
    const traffic = new Traffic(
        "shop",
        { namespace: "shop", service: "shop", hosts: ["shop.example.com"], versions, credentialName: tls.credentialName },
        { dependsOn: [app] },
    );
    return { serviceFqdn: app.serviceFqdn, weights: traffic.weights };
};
