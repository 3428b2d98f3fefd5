/** The progressive rollout: engine, state, interfaces, adapters and rendering. Re-exports only. */
export { RolloutEngine, EngineDeps, RolloutOutcome, NextCommand, where, describeAction, neverApplied } from "./engine";
export { rolloutCommand, shellWord } from "./command";
export { stateProblems } from "./state-schema";
export { RolloutPlan, PlanVersion, PlanSource, planFromConfig, whyNotRollable } from "./plan";
export * from "./state";
export * from "./types";
export * from "./weights";
export { systemClock } from "./clock";
export { JudgeSettings, analysisJudge, analysisOptions, checkJudgeSettings, toJudgement } from "./judge";
export {
    PulumiStackTarget,
    PulumiTargetOptions,
    ApplyError,
    StackLike,
    describePulumiError,
    virtualServiceUrn,
    weightsOfVirtualService,
} from "./automation";
export { Renderer, HumanRendererOptions, humanRenderer, jsonRenderer, formatAnalysisLine, formatStats, progressBar } from "./render";
