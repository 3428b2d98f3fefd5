import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GATEWAY_API_VERSION } from "./gateway-api-traffic";
import { Checker } from "./validation";

/** Arguments of GatewayApiCrds. */
export interface GatewayApiCrdsArgs {
    /** Gateway API release whose standard-channel CRDs to install, e.g. `v1.3.0`. Defaults to v1.3.0 (what the routes are written for). */
    version?: string;
}

/** Where a Gateway API release publishes its standard-channel CRDs. Pure. */
export function standardInstallUrl(version: string): string {
    return `https://github.com/kubernetes-sigs/gateway-api/releases/download/${version}/standard-install.yaml`;
}

/** Checks GatewayApiCrds' arguments and applies the default. Pure. Without `c`, throws ArgsError. */
export function resolveGatewayApiCrdsArgs(args: GatewayApiCrdsArgs, c?: Checker): Required<GatewayApiCrdsArgs> {
    const check = c ?? new Checker();
    const resolved = {
        version: check.string("version", args.version, GATEWAY_API_VERSION, [
            (s) => /^v1\.\d+\.\d+$/.test(s),
            "a Gateway API release such as v1.3.0 (v1 and later: the routes use gateway.networking.k8s.io/v1)",
        ]),
    };
    if (c === undefined) {
        check.throwIfAny("GatewayApiCrds");
    }
    return resolved;
}

/**
 * The Kubernetes Gateway API CRDs (standard channel, pinned release); Istio's charts do not install
 * them. Skip this component on clusters that already have them (config `gatewayApi.installCrds: false`).
 *
 * ## Example Usage
 * ```typescript
 * const crds = new GatewayApiCrds("gateway-api", { version: "v1.3.0" });
 * new GatewayApiTraffic("shop", { ... }, { dependsOn: [crds] });
 * ```
 */
export class GatewayApiCrds extends pulumi.ComponentResource {
    /** The CRDs, applied from the release's standard-install.yaml. */
    readonly crds: k8s.yaml.v2.ConfigFile;
    /** The installed release. */
    readonly version: string;

    constructor(name: string, args: GatewayApiCrdsArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("istio-canary:gateway-api:GatewayApiCrds", name, {}, opts);
        const r = resolveGatewayApiCrdsArgs(args);
        this.crds = new k8s.yaml.v2.ConfigFile(`${name}-standard`, { file: standardInstallUrl(r.version) }, { parent: this });
        this.version = r.version;
        this.registerOutputs({ crds: this.crds, version: this.version });
    }
}
