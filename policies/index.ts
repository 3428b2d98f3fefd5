import { PolicyPack } from "@pulumi/policy";
import { ALL_POLICIES, PACK_NAME } from "./rules";

// The engine runs this file (node @pulumi/pulumi/cmd/run-policy-pack, cwd = this folder); the pack
// serves the Analyzer gRPC protocol and prints its port. Policies live one per file in rules/.
new PolicyPack(PACK_NAME, {
    description: "Guard rails for Istio canary stacks that Istio itself does not check.",
    policies: ALL_POLICIES,
});
