import * as assert from "node:assert/strict";
import { ambientWaypointPresent } from "../../../policies/rules";
import { UNKNOWN, resource, runStackPolicy } from "../fixtures";
import { ambientNamespace, compliantGatewayApiStack, gatewayApiStackList } from "../gateway-api-fixtures";

const run = (stack: ReturnType<typeof compliantGatewayApiStack>, extra: ReturnType<typeof resource>[] = []) =>
    runStackPolicy(ambientWaypointPresent, [...gatewayApiStackList(stack), ...extra]);
const HEAD =
    "HTTPRoute default/myapp-route parentRefs[1] attaches to Service default/myapp in namespace default, labelled istio.io/dataplane-mode=ambient, but ";
const TAIL =
    ". In ambient mode ztunnel carries in-mesh traffic at L4 only and ignores HTTPRoutes: in-mesh callers would not get this route's rules or split. " +
    "Label the Service istio.io/use-waypoint: <name> with a Gateway of class istio-waypoint of that name in the stack.";

describe("policy ambient-waypoint-present", () => {
    it("has its name, level and a full-sentence description", () => {
        assert.equal(ambientWaypointPresent.name, "ambient-waypoint-present");
        assert.equal(ambientWaypointPresent.enforcementLevel, "mandatory");
        assert.match(ambientWaypointPresent.description, /^Every Service an HTTPRoute is attached to .*\.$/);
    });

    it("accepts the compliant stack (the Service labelled istio.io/use-waypoint: myapp-waypoint, the waypoint in the stack)", async () => {
        assert.deepEqual(await run(compliantGatewayApiStack()), []);
    });

    it("rejects a Service-parented route in an ambient namespace whose Service uses no waypoint", async () => {
        const stack = compliantGatewayApiStack();
        delete stack.service.props.metadata.labels["istio.io/use-waypoint"];
        assert.deepEqual(await run(stack), [
            {
                urn: stack.route.urn,
                message: `${HEAD}neither Service default/myapp nor namespace default has an istio.io/use-waypoint label, so no waypoint serves it${TAIL}`,
            },
        ]);
    });

    it("rejects a waypoint label of none, a waypoint the stack does not have, one of another class and one for workloads only", async () => {
        const none = compliantGatewayApiStack();
        none.service.props.metadata.labels["istio.io/use-waypoint"] = "none";
        assert.deepEqual(
            (await run(none)).map((v) => v.message),
            [`${HEAD}the Service's istio.io/use-waypoint label is "none", so no waypoint serves it${TAIL}`],
        );
        const missing = compliantGatewayApiStack();
        missing.service.props.metadata.labels["istio.io/use-waypoint"] = "waypoint";
        assert.deepEqual(
            (await run(missing)).map((v) => v.message),
            [
                `${HEAD}the Service's istio.io/use-waypoint label names waypoint, and the stack has no Gateway waypoint in namespace default${TAIL}`,
            ],
        );
        const elsewhere = compliantGatewayApiStack();
        elsewhere.service.props.metadata.labels["istio.io/use-waypoint-namespace"] = "istio-system";
        assert.match(
            (await run(elsewhere))[0].message,
            /names myapp-waypoint, and the stack has no Gateway myapp-waypoint in namespace istio-system\./,
        );
        const klass = compliantGatewayApiStack();
        klass.waypoint.props.spec.gatewayClassName = "istio";
        assert.match(
            (await run(klass))[0].message,
            /label names Gateway default\/myapp-waypoint, which has class istio, not istio-waypoint\./,
        );
        const workload = compliantGatewayApiStack();
        workload.waypoint.props.metadata.labels["istio.io/waypoint-for"] = "workload";
        assert.match(
            (await run(workload))[0].message,
            /whose istio\.io\/waypoint-for label is "workload", so it takes no traffic addressed to Services\./,
        );
    });

    it("accepts a waypoint named by the namespace's label instead of the Service's", async () => {
        const stack = compliantGatewayApiStack();
        delete stack.service.props.metadata.labels["istio.io/use-waypoint"];
        stack.namespace = ambientNamespace({ "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "myapp-waypoint" });
        assert.deepEqual(await run(stack), []);
    });

    it("leaves routes alone outside ambient namespaces, and Gateway-only routes", async () => {
        const sidecar = compliantGatewayApiStack();
        delete sidecar.service.props.metadata.labels["istio.io/use-waypoint"];
        sidecar.namespace = ambientNamespace({ "istio-injection": "enabled" });
        assert.deepEqual(await run(sidecar), []);
        const ingressOnly = compliantGatewayApiStack();
        delete ingressOnly.service.props.metadata.labels["istio.io/use-waypoint"];
        ingressOnly.route.props.spec.parentRefs.pop();
        assert.deepEqual(await run(ingressOnly), []);
    });

    it("says nothing when parentRefs, the Service's labels, the namespace's labels or the waypoint's name are unknown during preview", async () => {
        const parents = compliantGatewayApiStack();
        delete parents.service.props.metadata.labels["istio.io/use-waypoint"];
        parents.route.props.spec.parentRefs = UNKNOWN;
        assert.deepEqual(await run(parents), []);
        const labels = compliantGatewayApiStack();
        labels.service.props.metadata.labels = UNKNOWN;
        assert.deepEqual(await run(labels), []);
        const ns = compliantGatewayApiStack();
        delete ns.service.props.metadata.labels["istio.io/use-waypoint"];
        ns.namespace.props.metadata.labels = UNKNOWN;
        assert.deepEqual(await run(ns), []);
        const name = compliantGatewayApiStack();
        name.waypoint.props.metadata.name = UNKNOWN;
        assert.deepEqual(await run(name), []);
    });
});
