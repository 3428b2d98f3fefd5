/**
 * A compliant Gateway API + ambient stack shaped as the program emits it (Pulumi.ambient.yaml:
 * components/gateway-api-traffic.ts, waypoint.ts, canary-app.ts), to start every failing case of the
 * Gateway API policies from, one change at a time.
 */
import { Fixture, deployment, resource, tlsSecret } from "./fixtures";

/** The Gateway API version the program emits. */
export const GATEWAY_API = "gateway.networking.k8s.io/v1";

/** The auto-named Gateway's name as the offline run's mocks generate it (`<resource name>-<8 hex>`). */
export const GATEWAY_NAME = "myapp-gateway-27b67332";

/** The public hostname of the fixtures. */
export const PUBLIC_HOST = "ambient.myapp.example.com";

/** A Gateway API object. */
export function gatewayApi(
    kind: string,
    name: string,
    metadata: Record<string, any>,
    spec: Record<string, any>,
    apiVersion = GATEWAY_API,
): Fixture {
    return resource(`kubernetes:${apiVersion}:${kind}`, name, { apiVersion, kind, metadata, spec });
}

/** A Service of the app: `myapp` (selects app) or `myapp-<version>` (selects app and version). */
export function appService(version?: string, labels: Record<string, string> = {}): Fixture {
    const name = version === undefined ? "myapp" : `myapp-${version}`;
    return resource("kubernetes:core/v1:Service", `${name}-svc`, {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name, namespace: "default", labels: { app: "myapp", ...(version !== undefined ? { version } : {}), ...labels } },
        spec: {
            selector: { app: "myapp", ...(version !== undefined ? { version } : {}) },
            ports: [{ name: "http", port: 8080, targetPort: 80, appProtocol: "http" }],
        },
    });
}

/** The north-south Gateway: class istio in istio-system, auto-named, HTTPS with the TLS Secret, and port 80. */
export function ingressGateway(): Fixture {
    const allowedRoutes = { namespaces: { from: "Selector", selector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } } };
    return gatewayApi(
        "Gateway",
        "myapp-gateway",
        { namespace: "istio-system" },
        {
            gatewayClassName: "istio",
            listeners: [
                {
                    name: "https-0",
                    port: 443,
                    protocol: "HTTPS",
                    hostname: PUBLIC_HOST,
                    tls: { mode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "apsis-tls" }] },
                    allowedRoutes,
                },
                { name: "http", port: 80, protocol: "HTTP", allowedRoutes },
            ],
        },
    );
}

/** The waypoint: a Gateway of class istio-waypoint named myapp-waypoint. */
export function waypoint(): Fixture {
    return gatewayApi(
        "Gateway",
        "myapp-waypoint-gateway",
        { name: "myapp-waypoint", namespace: "default", labels: { "istio.io/waypoint-for": "service" } },
        { gatewayClassName: "istio-waypoint", listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] },
    );
}

/** The canary HTTPRoute: attached to the Gateway's HTTPS listener and to the app's Service, split v1/v2. */
export function canaryRoute(weights: [unknown, unknown] = [90, 10]): Fixture {
    return gatewayApi(
        "HTTPRoute",
        "myapp-route",
        { namespace: "default" },
        {
            parentRefs: [
                { name: GATEWAY_NAME, namespace: "istio-system", sectionName: "https-0" },
                { group: "", kind: "Service", name: "myapp", port: 8080 },
            ],
            rules: [
                {
                    name: "weighted",
                    backendRefs: [
                        { name: "myapp-v1", port: 8080, weight: weights[0] },
                        { name: "myapp-v2", port: 8080, weight: weights[1] },
                    ],
                },
            ],
        },
    );
}

/** The port-80 redirect route. */
export function redirectRoute(): Fixture {
    return gatewayApi(
        "HTTPRoute",
        "myapp-redirect",
        { namespace: "default" },
        {
            parentRefs: [{ name: GATEWAY_NAME, namespace: "istio-system", sectionName: "http" }],
            hostnames: [PUBLIC_HOST],
            rules: [{ filters: [{ type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } }] }],
        },
    );
}

/** The app namespace labelled for ambient, as CanaryApp patches it. */
export function ambientNamespace(labels: Record<string, string> = { "istio.io/dataplane-mode": "ambient" }): Fixture {
    return resource("kubernetes:core/v1:NamespacePatch", "myapp-ns", {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "default", labels },
    });
}

/** A ReferenceGrant in `namespace` letting `fromKind` objects of `fromNamespace` refer to `toKind` objects (named `toName`, or all). */
export function referenceGrant(namespace: string, fromKind: string, fromNamespace: string, toKind: string, toName?: string): Fixture {
    return gatewayApi(
        "ReferenceGrant",
        `grant-${namespace}`,
        { namespace },
        {
            from: [{ group: "gateway.networking.k8s.io", kind: fromKind, namespace: fromNamespace }],
            to: [{ group: "", kind: toKind, ...(toName !== undefined ? { name: toName } : {}) }],
        },
        "gateway.networking.k8s.io/v1beta1",
    );
}

/** A VirtualService for `hosts` in default, routing to myapp-v1 (no subsets). */
export function plainVirtualService(hosts: string[], name = "legacy-vs"): Fixture {
    return resource("kubernetes:networking.istio.io/v1:VirtualService", name, {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { namespace: "default" },
        spec: { hosts, http: [{ route: [{ destination: { host: "myapp-v1.default.svc.cluster.local" } }] }] },
    });
}

/** The compliant Gateway API + ambient stack (v1 90 / v2 10), as a map to pick from and change. */
export function compliantGatewayApiStack() {
    return {
        namespace: ambientNamespace(),
        secret: tlsSecret(),
        service: appService(undefined, { "istio.io/use-waypoint": "myapp-waypoint" }),
        serviceV1: appService("v1"),
        serviceV2: appService("v2"),
        v1: deployment("v1"),
        v2: deployment("v2"),
        waypoint: waypoint(),
        gateway: ingressGateway(),
        redirect: redirectRoute(),
        route: canaryRoute(),
    };
}

/** The compliant stack (or a changed copy) as a list. */
export function gatewayApiStackList(stack: Record<string, Fixture> = compliantGatewayApiStack()): Fixture[] {
    return Object.values(stack);
}
