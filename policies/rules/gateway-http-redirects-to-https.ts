import { ResourceValidationPolicy } from "@pulumi/policy";
import { Obj, arr, describe, isIstio, isUnknown, obj, plainProps, serverLabel, serversOf, str } from "../istio";

/** Plain-text protocols of a Gateway server. */
const PLAIN_PROTOCOLS = new Set(["HTTP", "HTTP2"]);

/** One message per plain-HTTP server of a Gateway that does not redirect to HTTPS. Pure. */
export function plainHttpViolations(r: { name: string; props: Obj }): string[] {
    const out: string[] = [];
    for (const { index, server } of serversOf(obj(r.props.spec) ?? {})) {
        const protocol = str(obj(server.port)?.protocol)?.toUpperCase();
        const redirect = obj(server.tls)?.httpsRedirect;
        if (protocol === undefined || !PLAIN_PROTOCOLS.has(protocol) || redirect === true || isUnknown(redirect) || isUnknown(server.tls)) {
            continue;
        }
        const hosts = arr(server.hosts)
            .map((h) => str(h) ?? "?")
            .join(", ");
        out.push(
            `${describe("Gateway", r)} ${serverLabel(index, server)} serves plain HTTP${hosts !== "" ? ` for ${hosts}` : ""}; ` +
                `set tls.httpsRedirect: true so it redirects to HTTPS, or remove the server.`,
        );
    }
    return out;
}

/** A Gateway serves plain HTTP only to redirect to HTTPS. */
export const gatewayHttpRedirectsToHttps: ResourceValidationPolicy = {
    name: "gateway-http-redirects-to-https",
    description: "A Gateway has no plain-HTTP server unless that server redirects to HTTPS (tls.httpsRedirect).",
    enforcementLevel: "advisory",
    validateResource: (args, reportViolation) => {
        const props = plainProps(args.props);
        if (!isIstio({ type: args.type, props }, "Gateway")) {
            return;
        }
        for (const message of plainHttpViolations({ name: args.name, props })) {
            reportViolation(message);
        }
    },
};
