import { Policies } from "@pulumi/policy";
import { containerImagesPinned } from "./container-images-pinned";
import { containerResourcesAndReadiness } from "./container-resources-and-readiness";
import { destinationRuleSubsetsSelectPods } from "./destinationrule-subsets-select-pods";
import { exportToReachesProxies } from "./exportto-reaches-proxies";
import { gatewayHttpRedirectsToHttps } from "./gateway-http-redirects-to-https";
import { gatewaySelectsInstalledIngress } from "./gateway-selects-installed-ingress";
import { gatewayTlsSecretExists } from "./gateway-tls-secret-exists";
import { virtualServiceCatchAllLast } from "./virtualservice-catch-all-last";
import { virtualServiceHostsUnique } from "./virtualservice-hosts-unique";
import { virtualServiceMirror } from "./virtualservice-mirror";
import { virtualServiceSubsetsExist } from "./virtualservice-subsets-exist";
import { virtualServiceWeightedSubsetsHaveReplicas } from "./virtualservice-weighted-subsets-have-replicas";
import { virtualServiceWeights } from "./virtualservice-weights";
import { httpRouteWeights } from "./httproute-weights";
import { httpRouteBackendsExist } from "./httproute-backends-exist";
import { httpRouteParentsExist } from "./httproute-parents-exist";
import { gatewayApiTlsSecretReadable } from "./gateway-api-tls-secret-readable";
import { httpRouteNoVirtualServiceOverlap } from "./httproute-no-virtualservice-overlap";
import { ambientWaypointPresent } from "./ambient-waypoint-present";
import { stickyCanaryRoute } from "./sticky-canary-route";

export * from "./container-images-pinned";
export * from "./container-resources-and-readiness";
export * from "./destinationrule-subsets-select-pods";
export * from "./exportto-reaches-proxies";
export * from "./gateway-http-redirects-to-https";
export * from "./gateway-selects-installed-ingress";
export * from "./gateway-tls-secret-exists";
export * from "./virtualservice-catch-all-last";
export * from "./virtualservice-hosts-unique";
export * from "./virtualservice-mirror";
export * from "./virtualservice-subsets-exist";
export * from "./virtualservice-weighted-subsets-have-replicas";
export * from "./virtualservice-weights";
export * from "./httproute-weights";
export * from "./httproute-backends-exist";
export * from "./httproute-parents-exist";
export * from "./gateway-api-tls-secret-readable";
export * from "./httproute-no-virtualservice-overlap";
export * from "./ambient-waypoint-present";
export * from "./sticky-canary-route";

/** The pack's name, as `pulumi preview` and the offline runner report it. */
export const PACK_NAME = "istio-canary-policies";

/** Every policy of the pack: mandatory ones first, then those advisory by default (mandatory in prod's config). */
export const ALL_POLICIES: Policies = [
    virtualServiceWeights,
    virtualServiceMirror,
    virtualServiceSubsetsExist,
    destinationRuleSubsetsSelectPods,
    gatewaySelectsInstalledIngress,
    gatewayTlsSecretExists,
    httpRouteWeights,
    httpRouteBackendsExist,
    httpRouteParentsExist,
    gatewayApiTlsSecretReadable,
    httpRouteNoVirtualServiceOverlap,
    ambientWaypointPresent,
    virtualServiceCatchAllLast,
    stickyCanaryRoute,
    virtualServiceHostsUnique,
    exportToReachesProxies,
    virtualServiceWeightedSubsetsHaveReplicas,
    containerImagesPinned,
    containerResourcesAndReadiness,
    gatewayHttpRedirectsToHttps,
];
