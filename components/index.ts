export { IstioMesh, IstioMeshArgs } from "./istio-mesh";
export { TlsSecret, TlsSecretArgs } from "./tls-secret";
export { CanaryApp, CanaryAppArgs, podLabels, podSpecFor, serviceFqdn } from "./canary-app";
export { Traffic, TrafficArgs, gatewaySpec, destinationRuleSpec, httpRoutes, virtualServiceSpec, weightsByVersion } from "./traffic";
export * from "./istio-types";
export { Monitoring, MonitoringArgs, monitoringFor } from "./monitoring";
