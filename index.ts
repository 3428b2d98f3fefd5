import * as pulumi from "@pulumi/pulumi";
import { CanaryApp, IstioMesh, Monitoring, TlsSecret, Traffic } from "./components";
import { loadConfig } from "./config";

/**
 * The istio-canary program. Pulumi calls the exported function and uses its result as the stack
 * outputs; being a function (no top-level side effects) lets the tests run it many times.
 * Config is read and validated first; no resource is registered when any value is bad.
 */
async function program(): Promise<Record<string, unknown>> {
    const config = loadConfig();
    const { app, istio } = config;

    const mesh = istio.install
        ? new IstioMesh("istio", {
              version: istio.version,
              namespace: istio.namespace,
              gatewayNamespace: istio.gatewayNamespace,
              gatewayName: istio.gatewayName,
              gatewayServiceType: istio.gatewayServiceType,
              chartRepo: istio.chartRepo,
          })
        : undefined;
    // Everything Istio validates or injects goes after istiod and the gateway are up.
    const afterMesh: pulumi.ComponentResourceOptions = mesh ? { dependsOn: [mesh] } : {};

    const tls = new TlsSecret(
        "tls",
        { credentialName: config.tls.credentialName, namespace: istio.gatewayNamespace, cert: config.tlsCert, key: config.tlsKey },
        afterMesh,
    );
    const canary = new CanaryApp(app.name, { app, versions: config.versions, pod: config.pod }, afterMesh);
    const traffic = new Traffic(
        app.name,
        {
            namespace: app.namespace,
            service: app.name,
            hosts: config.hosts,
            versions: config.versions,
            gatewaySelector: istio.gatewaySelector,
            credentialName: tls.credentialName,
            routing: config.routing,
        },
        { dependsOn: [...(mesh ? [mesh] : []), canary.service] },
    );

    // Prometheus (scraping Istio), Grafana with the canary dashboard and Kiali, when monitoring.enabled.
    const monitoring = config.monitoring.enabled
        ? new Monitoring(
              "monitoring",
              {
                  serviceFqdn: canary.serviceFqdn,
                  namespace: config.monitoring.namespace,
                  istioNamespace: istio.namespace,
                  reporter: config.rollout.reporter,
                  prometheusChartVersion: config.monitoring.prometheusChartVersion,
                  grafanaChartVersion: config.monitoring.grafanaChartVersion,
                  kialiChartVersion: config.monitoring.kialiChartVersion,
              },
              afterMesh,
          )
        : undefined;

    const publicHost = config.hosts.find((h) => !h.startsWith("*")) ?? config.hosts[0];
    return {
        url: `https://${publicHost}`,
        serviceFqdn: canary.serviceFqdn,
        weights: traffic.weights,
        splitQuery: `sum(rate(istio_requests_total{destination_service="${canary.serviceFqdn}"}[5m])) by (destination_version)`,
        ...(monitoring ? { prometheusUrl: monitoring.prometheusUrl, grafanaUrl: monitoring.grafanaUrl } : {}),
    };
}

export = program;
