export type { PromotionInput, PromotionPlan } from "./plan";
export { PromotionRefused, describeSplit, orderProblem, planPromotion } from "./plan";
export type { NpmPolicyOptions, PolicyRunner, PolicyVerdict } from "./policy";
export { npmPolicyRunner } from "./policy";
export type { PromoteOptions, PromoteResult } from "./promote";
export { promote } from "./promote";
