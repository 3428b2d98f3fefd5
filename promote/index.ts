export type { PromotionInput, PromotionPlan } from "./plan";
export { PromotionRefused, describeSplit, orderProblem, planPromotion } from "./plan";
export type { CliPolicyOptions, PolicyRunner, PolicyVerdict } from "./policy";
export { cliPolicyRunner } from "./policy";
export type { PromoteOptions, PromoteResult } from "./promote";
export { promote } from "./promote";
export type { RecordOptions, RecordVerdict } from "./record";
export { checkRolloutRecord } from "./record";
