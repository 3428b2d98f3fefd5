/**
 * Shared helpers of the policy pack, one module per concern in lib/: reading resources as the
 * engine sends them (values), Kubernetes objects (kubernetes), Istio's host resolution (hosts), the
 * weight and route checks as pure functions (routes), installed gateways and the gateways a
 * VirtualService is bound to (gateways), stack policies (stack), exportTo (visibility) and sticky canary routes (sticky). Nothing
 * here reports violations; the policies in rules/ do. Re-exports only.
 */
export * from "./lib/values";
export * from "./lib/kubernetes";
export * from "./lib/hosts";
export * from "./lib/routes";
export * from "./lib/gateways";
export * from "./lib/stack";
export * from "./lib/gateway-api";
export * from "./lib/visibility";
export * from "./lib/destination-rules";
export * from "./lib/sticky";
