import * as assert from "node:assert/strict";
import { virtualServiceWeightedSubsetsHaveReplicas } from "../../../policies/rules";
import { HOST, UNKNOWN, compliantStack, dest, deployment, resource, runStackPolicy, stackList } from "../fixtures";

type Stack = ReturnType<typeof compliantStack>;
async function run(edit: (stack: Stack) => void = () => undefined) {
    const stack = compliantStack();
    edit(stack);
    return (await runStackPolicy(virtualServiceWeightedSubsetsHaveReplicas, stackList(stack))).map((v) => v.message);
}
const scaleToZero = (d: { props: Record<string, any> }) => (d.props.spec.replicas = 0);

describe("policy virtualservice-weighted-subsets-have-replicas", () => {
    it("is a mandatory stack policy named and described for what it checks", () => {
        assert.equal(virtualServiceWeightedSubsetsHaveReplicas.name, "virtualservice-weighted-subsets-have-replicas");
        assert.equal(virtualServiceWeightedSubsetsHaveReplicas.enforcementLevel, "mandatory");
        assert.match(
            virtualServiceWeightedSubsetsHaveReplicas.description,
            /^Every subset a VirtualService route gives traffic to .* not scaled to 0 replicas\.$/,
        );
    });

    it("accepts the compliant stack (v1 90 / v2 10, one replica each), and replicas left to the default (1)", async () => {
        assert.deepEqual(await run(), []);
        assert.deepEqual(await run((s) => delete s.v2.props.spec.replicas), []);
    });

    it("rejects weight 10 on subset v2 whose only Deployment has replicas: 0, on the VirtualService", async () => {
        const stack = compliantStack();
        scaleToZero(stack.v2);
        assert.deepEqual(await runStackPolicy(virtualServiceWeightedSubsetsHaveReplicas, stackList(stack)), [
            {
                urn: stack.vs.urn,
                message:
                    `VirtualService default/myapp-vs http[0] "weighted" sends 10% of its traffic (weight 10) to subset v2 of ${HOST}, but the only workload there, ` +
                    "Deployment default/myapp-v2, has replicas: 0: the subset has no endpoints and those requests fail with 503. " +
                    "Scale the workload up before giving its subset weight, or give the subset weight 0.",
            },
        ]);
    });

    it("rejects the only destination of a route (all of its traffic) on a subset scaled to 0", async () => {
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.http = [{ route: [dest("v1")] }];
                scaleToZero(s.v1);
            }),
            [
                `VirtualService default/myapp-vs http[0] sends all of its traffic to subset v1 of ${HOST}, but the only workload there, Deployment default/myapp-v1, has replicas: 0: ` +
                    "the subset has no endpoints and those requests fail with 503. Scale the workload up before giving its subset weight, or give the subset weight 0.",
            ],
        );
    });

    it("names every workload of the subset when all are at 0", async () => {
        const found = await run((s) => {
            scaleToZero(s.v2);
            const sts = deployment("v2");
            sts.type = "kubernetes:apps/v1:StatefulSet";
            sts.name = "myapp-v2-sts";
            sts.urn = sts.urn.replace("apps/v1:Deployment::myapp-v2", "apps/v1:StatefulSet::myapp-v2-sts");
            scaleToZero(sts);
            (s as Record<string, unknown>).sts = sts;
        });
        assert.equal(found.length, 1);
        assert.match(
            found[0],
            /but every workload there \(Deployment default\/myapp-v2, StatefulSet default\/myapp-v2-sts\) has replicas: 0:/,
        );
    });

    it("accepts a subset at 0 with weight 0, a mirror to it, and one with another workload still running", async () => {
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.http[0].route = [dest("v1", 100), dest("v2", 0)];
                scaleToZero(s.v2);
            }),
            [],
        );
        assert.deepEqual(
            await run((s) => {
                s.vs.props.spec.http[0].route = [dest("v1", 100)];
                s.vs.props.spec.http[0].mirror = { host: HOST, subset: "v2" };
                scaleToZero(s.v2);
            }),
            [],
        );
        assert.deepEqual(
            await run((s) => {
                scaleToZero(s.v2);
                const pod = resource("kubernetes:core/v1:Pod", "myapp-v2-debug", {
                    apiVersion: "v1",
                    kind: "Pod",
                    metadata: { namespace: "default", labels: { app: "myapp", version: "v2" } },
                    spec: s.v2.props.spec.template.spec,
                });
                (s as Record<string, unknown>).pod = pod;
            }),
            [],
        );
    });

    it("leaves a subset that selects no workload at all to destinationrule-subsets-select-pods", async () => {
        assert.deepEqual(await run((s) => delete (s as Partial<Stack>).v2), []);
    });

    it("says nothing when replicas, the weight, the subset's labels, a pod template's labels or the Service's selector are unknown during preview", async () => {
        const cases: [string, (s: Stack) => void][] = [
            ["replicas", (s) => (s.v2.props.spec.replicas = UNKNOWN)],
            ["weight", (s) => (scaleToZero(s.v2), (s.vs.props.spec.http[0].route[1].weight = UNKNOWN))],
            ["subset labels", (s) => (scaleToZero(s.v2), (s.dr.props.spec.subsets[1].labels = UNKNOWN))],
            ["DestinationRule host", (s) => (scaleToZero(s.v2), (s.dr.props.spec.host = UNKNOWN))],
            ["pod labels", (s) => (scaleToZero(s.v2), (s.v1.props.spec.template.metadata.labels = UNKNOWN))],
            ["Service selector", (s) => (scaleToZero(s.v2), (s.service.props.spec.selector = UNKNOWN))],
        ];
        for (const [what, edit] of cases) {
            assert.deepEqual(await run(edit), [], what);
        }
    });
});
