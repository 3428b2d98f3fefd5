import * as pulumi from "@pulumi/pulumi";
import { CanaryApp, IstioMesh, TlsSecret, Traffic, monitoringFor, serviceFqdn, weightsByVersion } from "./components";
import { loadConfig } from "./config";

/**
 * The istio-canary program. Pulumi calls the exported function and uses its result as the stack
 * outputs; being a function (no top-level side effects) lets the tests run it many times.
 * Config is read and validated first; no resource is registered when any value is bad.
 */
async function program(): Promise<Record<string, unknown>> {
    const config = loadConfig();
    const fqdn = serviceFqdn(config.app);

    const mesh = config.istio.install ? new IstioMesh("istio", { istio: config.istio }) : undefined;
    const afterMesh: pulumi.ComponentResourceOptions = mesh ? { dependsOn: [mesh] } : {};

    new TlsSecret(
        "tls",
        { credentialName: config.tls.credentialName, namespace: config.istio.gatewayNamespace, cert: config.tlsCert, key: config.tlsKey },
        afterMesh,
    );
    const app = new CanaryApp(config.app.name, { app: config.app, versions: config.versions, pod: config.pod }, afterMesh);
    new Traffic(
        config.app.name,
        {
            namespace: config.app.namespace,
            hosts: config.hosts,
            serviceFqdn: fqdn,
            versions: config.versions,
            gatewaySelector: config.istio.gatewaySelector,
            credentialName: config.tls.credentialName,
            routing: config.routing,
        },
        { dependsOn: [...(mesh ? [mesh] : []), app.service] },
    );

    // Prometheus (scraping Istio), Grafana with the canary dashboard and Kiali, when monitoring.enabled.
    const monitoring = monitoringFor(
        "monitoring",
        { config: config.monitoring, serviceFqdn: fqdn, istioNamespace: config.istio.namespace, reporter: config.rollout.reporter },
        afterMesh,
    );

    const publicHost = config.hosts.find((h) => !h.startsWith("*")) ?? config.hosts[0];
    return {
        url: `https://${publicHost}`,
        serviceFqdn: fqdn,
        weights: weightsByVersion(config.versions),
        splitQuery: `sum(rate(istio_requests_total{destination_service="${fqdn}"}[5m])) by (destination_version)`,
        ...(monitoring ? { prometheusUrl: monitoring.prometheusUrl, grafanaUrl: monitoring.grafanaUrl } : {}),
    };
}

export = program;
