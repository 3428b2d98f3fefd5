export * from "./facts";
export * from "./validation";
export * from "./version";
export * from "./istio-types";
export {
    IstioMesh,
    IstioMeshArgs,
    IstioMode,
    ResolvedIstioMeshArgs,
    ISTIO_MESH_DEFAULTS,
    ISTIO_MESH_FIELDS,
    ISTIO_MODES,
    GATEWAY_SERVICE_TYPES,
    resolveIstioMeshArgs,
} from "./istio-mesh";
export {
    TlsSecret,
    TlsSecretArgs,
    ResolvedTlsSecretArgs,
    DEFAULT_CREDENTIAL_NAME,
    DEFAULT_GATEWAY_NAMESPACE,
    resolveTlsSecretArgs,
} from "./tls-secret";
export {
    CanaryApp,
    CanaryAppArgs,
    AppArgs,
    PodArgs,
    ProbeArgs,
    QuantitiesArgs,
    ResolvedCanaryAppArgs,
    ResolvedPod,
    ResolvedProbe,
    APP_DEFAULTS,
    APP_FIELDS,
    POD_DEFAULTS,
    SYSTEM_NAMESPACES,
    meshNamespaceLabels,
    podLabels,
    podSpecFor,
    readApp,
    readPod,
    resolveCanaryAppArgs,
} from "./canary-app";
export {
    Traffic,
    TrafficArgs,
    ResolvedTrafficArgs,
    RoutingArgs,
    ResolvedRouting,
    MirrorArgs,
    HeaderRouteArgs,
    RetriesArgs,
    StickyCanaryArgs,
    ResolvedStickyCanary,
    StickySplit,
    DEFAULT_GATEWAY_SELECTOR,
    RETRY_ON,
    ROUTING_FIELDS,
    STICKY_CANARY_DEFAULTS,
    STICKY_CANARY_FIELDS,
    MAX_STICKY_AGE_SECONDS,
    destinationRuleSpec,
    gatewaySpec,
    httpRoutes,
    readHosts,
    readRouting,
    resolveTrafficArgs,
    stickySplit,
    virtualServiceSpec,
} from "./traffic";
export {
    Monitoring,
    MonitoringArgs,
    ResolvedMonitoringArgs,
    MONITORING_DEFAULTS,
    MONITORING_CHART_FIELDS,
    resolveMonitoringArgs,
} from "./monitoring";
export * from "./gateway-api-types";
export {
    GatewayApiTraffic,
    GatewayApiTrafficArgs,
    ResolvedGatewayApiTrafficArgs,
    GATEWAY_API_VERSION,
    canaryRouteSpec,
    gatewayApiGatewaySpec,
    redirectRouteSpec,
    resolveGatewayApiTrafficArgs,
} from "./gateway-api-traffic";
export { GatewayApiCrds, GatewayApiCrdsArgs, resolveGatewayApiCrdsArgs, standardInstallUrl } from "./gateway-api-crds";
export { Waypoint, WaypointArgs, resolveWaypointArgs, waypointSpec } from "./waypoint";
