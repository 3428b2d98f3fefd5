/**
 * The policy pack run as the Pulumi engine runs it, without the CLI: the Analyzer gRPC client
 * (client.ts), the policy config file format (policy-config.ts) and the offline check of a stack
 * (check.ts). Re-exports only.
 */
export * from "./check";
export * from "./client";
export * from "./policy-config";
