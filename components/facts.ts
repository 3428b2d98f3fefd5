/**
 * Facts of Kubernetes, Istio and Pulumi that the program, the offline runner, the rollout and the
 * policy pack share, each defined once. Free of imports, so the policy pack loads it at no cost.
 */

/** The cluster's DNS domain (Kubernetes' default; Istio's `destination_service` carries it). */
export const CLUSTER_DOMAIN = "cluster.local";

/** A Service's FQDN inside the cluster: the DestinationRule host and Istio's `destination_service` label. */
export function serviceFqdn(name: string, namespace: string): string {
    return `${name}.${namespace}.svc.${CLUSTER_DOMAIN}`;
}

/** The Service of one version (`<app>-<version>`), which a Gateway API backendRef addresses: HTTPRoute cannot address DestinationRule subsets. */
export function versionServiceName(service: string, version: string): string {
    return `${service}-${version}`;
}

/** The labels the Istio gateway chart puts on its pods for a release (or `name` value): `app: <name>`, `istio: <name minus "istio-">`. */
export function gatewayChartPodLabels(releaseName: string): Record<string, string> {
    return { app: releaseName, istio: releaseName.replace(/^istio-/, "") };
}

/** The key Pulumi marks a secret value with, in the wire form of inputs and state. */
export const PULUMI_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
/** The value under PULUMI_SECRET_SIG_KEY that means "secret". */
export const PULUMI_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
