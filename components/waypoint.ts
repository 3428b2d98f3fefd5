import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GATEWAY_API, GatewayApiGatewaySpec } from "./gateway-api-types";
import { Checker, DNS_LABEL } from "./validation";

/** Arguments of Waypoint. */
export interface WaypointArgs {
    /** Namespace of the app whose Services use the waypoint. Defaults to `default`. */
    namespace?: string;
    /** The waypoint's name, which a Service's `istio.io/use-waypoint` label names. Required. */
    name: string;
}

/** The waypoint spec: a Gateway of class `istio-waypoint` with Istio's HBONE listener on 15008. Pure. */
export function waypointSpec(): GatewayApiGatewaySpec {
    return { gatewayClassName: "istio-waypoint", listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] };
}

/** Checks Waypoint's arguments and applies the defaults. Pure. Without `c`, throws ArgsError. */
export function resolveWaypointArgs(args: WaypointArgs, c?: Checker): Required<WaypointArgs> {
    const check = c ?? new Checker();
    check.required("name", args.name, "a waypoint needs the name its Services' istio.io/use-waypoint label gives");
    const resolved = {
        namespace: check.string("namespace", args.namespace, "default", DNS_LABEL),
        name: check.string("name", args.name, "", DNS_LABEL),
    };
    if (c === undefined) {
        check.throwIfAny("Waypoint");
    }
    return resolved;
}

/**
 * An ambient-mode waypoint proxy for the app's Services: ztunnel only does L4, so the HTTP split of
 * in-mesh traffic (and its HTTP metrics, reporter="waypoint") needs a waypoint. Istio deploys the
 * proxy for this Gateway; a Service uses it when labelled `istio.io/use-waypoint: <name>` (CanaryApp's
 * `useWaypoint`). Its name is fixed because that label refers to it.
 *
 * ## Example Usage
 * ```typescript
 * const waypoint = new Waypoint("shop-waypoint", { namespace: "shop", name: "shop-waypoint" });
 * new CanaryApp("shop", { app: { name: "shop", namespace: "shop" }, versions, dataplane: "ambient", useWaypoint: waypoint.name });
 * ```
 */
export class Waypoint extends pulumi.ComponentResource {
    /** The Gateway of class istio-waypoint. */
    readonly gateway: k8s.apiextensions.CustomResource;
    /** Its name, for the Services' istio.io/use-waypoint label. */
    readonly name: string;

    constructor(name: string, args: WaypointArgs, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:ambient:Waypoint", name, {}, opts);
        const r = resolveWaypointArgs(args);
        this.gateway = new k8s.apiextensions.CustomResource(
            `${name}-gateway`,
            {
                apiVersion: GATEWAY_API,
                kind: "Gateway",
                metadata: { name: r.name, namespace: r.namespace, labels: { "istio.io/waypoint-for": "service" } },
                spec: waypointSpec(),
            },
            { parent: this },
        );
        this.name = r.name;
        this.registerOutputs({ gateway: this.gateway, name: this.name });
    }
}
