import { StackValidationPolicy } from "@pulumi/policy";
import {
    ResourceLike,
    StackViolation,
    describe,
    installedGateways,
    isIstio,
    knownLabels,
    obj,
    plainResources,
    selectedGateways,
    showLabels,
} from "../istio";

/** The violations of the whole stack: Gateways whose selector matches no ingress gateway the stack installs. Pure. */
export function gatewaySelectorViolations(resources: readonly ResourceLike[]): StackViolation[] {
    const installed = installedGateways(resources);
    if (installed.length === 0 || installed.some((g) => g.labels === undefined)) {
        return []; // the stack installs no gateway (or its labels are not known yet): nothing to compare with
    }
    const out: StackViolation[] = [];
    for (const gw of resources) {
        if (!isIstio(gw, "Gateway")) {
            continue;
        }
        const selected = selectedGateways(gw, installed);
        if (selected === undefined || selected.length > 0) {
            continue;
        }
        const selector = knownLabels(obj(gw.props.spec)?.selector) ?? {};
        const found = installed.map((g) => `${g.what} labels its pods ${showLabels(g.labels ?? {})}`).join("; ");
        out.push({
            urn: gw.urn,
            message:
                `${describe("Gateway", gw)} selects pods labelled ${showLabels(selector)}, but no ingress gateway this stack installs has those labels: ${found}. ` +
                `The Gateway would configure no proxy; change the selector, name the gateway release so its pods get these labels ` +
                `(the chart labels pods istio: <release name without "istio-">), or set the chart's values.labels.`,
        });
    }
    return out;
}

/** A Gateway's selector matches the pods of an ingress gateway the stack installs, when it installs one. */
export const gatewaySelectsInstalledIngress: StackValidationPolicy = {
    name: "gateway-selects-installed-ingress",
    description:
        "When the stack installs an Istio ingress gateway, every Gateway's selector matches the labels of that gateway's pods (derived from the Helm release name, or its values.labels).",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        for (const v of gatewaySelectorViolations(plainResources(args.resources))) {
            reportViolation(v.message, v.urn);
        }
    },
};
