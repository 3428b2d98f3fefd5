import * as pulumi from "@pulumi/pulumi";
import {
    CanaryApp,
    GatewayApiCrds,
    GatewayApiTraffic,
    IstioMesh,
    Monitoring,
    TlsSecret,
    Traffic,
    Waypoint,
    versionServiceName,
} from "./components";
import { loadConfig } from "./config";

/**
 * The istio-canary program. Pulumi calls the exported function and uses its result as the stack
 * outputs; being a function (no top-level side effects) lets the tests run it many times.
 * Config is read and validated first; no resource is registered when any value is bad.
 */
async function program(): Promise<Record<string, unknown>> {
    const config = loadConfig();
    const { app, istio } = config;
    const { api, allowVirtualServiceInAmbient: _acknowledged, ...routing } = config.routing;
    const gatewayApi = api === "gateway-api";
    const ambient = istio.mode === "ambient";

    // The Gateway API CRDs go first: istiod picks up Gateway API resources only when their CRDs exist.
    const crds =
        (gatewayApi || ambient) && config.gatewayApi.installCrds
            ? new GatewayApiCrds("gateway-api", { version: config.gatewayApi.version })
            : undefined;
    const mesh = istio.install
        ? new IstioMesh(
              "istio",
              {
                  mode: istio.mode,
                  ingressGateway: istio.ingressGateway,
                  version: istio.version,
                  namespace: istio.namespace,
                  gatewayNamespace: istio.gatewayNamespace,
                  gatewayName: istio.gatewayName,
                  gatewayServiceType: istio.gatewayServiceType,
                  chartRepo: istio.chartRepo,
              },
              crds ? { dependsOn: [crds] } : {},
          )
        : undefined;
    const meshReady = [...(crds ? [crds] : []), ...(mesh ? [mesh] : [])];
    // Everything Istio validates or injects goes after istiod and the gateway are up.
    const afterMesh: pulumi.ComponentResourceOptions = meshReady.length > 0 ? { dependsOn: meshReady } : {};

    const tls = new TlsSecret(
        "tls",
        { credentialName: config.tls.credentialName, namespace: istio.gatewayNamespace, cert: config.tlsCert, key: config.tlsKey },
        afterMesh,
    );
    const waypointName = `${app.name}-waypoint`;
    const canary = new CanaryApp(
        app.name,
        {
            app,
            versions: config.versions,
            pod: config.pod,
            dataplane: istio.mode,
            perVersionServices: gatewayApi,
            ...(ambient ? { useWaypoint: waypointName } : {}),
        },
        afterMesh,
    );
    // Ambient: in-mesh HTTP traffic is split (and measured) by a waypoint; ingress traffic by the gateway.
    const waypoint = ambient
        ? new Waypoint(waypointName, { namespace: app.namespace, name: waypointName }, { dependsOn: [...meshReady, canary.namespace] })
        : undefined;
    const routed = { dependsOn: [...meshReady, canary.service, ...Object.values(canary.versionServices), ...(waypoint ? [waypoint] : [])] };
    const traffic = gatewayApi
        ? new GatewayApiTraffic(
              app.name,
              {
                  namespace: app.namespace,
                  service: app.name,
                  port: app.port,
                  hosts: config.hosts,
                  versions: config.versions,
                  gatewayNamespace: istio.gatewayNamespace,
                  credentialName: tls.credentialName,
                  routing,
              },
              routed,
          )
        : new Traffic(
              app.name,
              {
                  namespace: app.namespace,
                  service: app.name,
                  hosts: config.hosts,
                  versions: config.versions,
                  gatewaySelector: istio.gatewaySelector,
                  credentialName: tls.credentialName,
                  routing,
              },
              routed,
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

    // With per-version Services each version's requests carry its own destination_service.
    const services = gatewayApi
        ? `destination_service=~"${config.versions.map((v) => `${versionServiceName(app.name, v.name)}.${app.namespace}.svc.cluster.local`.replace(/\./g, "\\\\.")).join("|")}"`
        : `destination_service="${canary.serviceFqdn}"`;
    const publicHost = config.hosts.find((h) => !h.startsWith("*")) ?? config.hosts[0];
    return {
        url: `https://${publicHost}`,
        serviceFqdn: canary.serviceFqdn,
        weights: traffic.weights,
        splitQuery: `sum(rate(istio_requests_total{reporter="${config.rollout.reporter}",${services}}[5m])) by (destination_version)`,
        ...(monitoring ? { prometheusUrl: monitoring.prometheusUrl, grafanaUrl: monitoring.grafanaUrl } : {}),
    };
}

export = program;
