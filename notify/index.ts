/** Rollout notifications: targets, bodies, the fire-and-forget sender, secret URLs. Re-exports only. */
export * from "./types";
export { JsonBody, bodyOf, jsonBody, slackBody, teamsBody, summaryOf, titleOf, factsOf } from "./bodies";
export { Notifier, NotifierOptions, NotifyFailure, Post, HttpStatusError, axiosPost, describeSendError, maskUrl } from "./sender";
export {
    NOTIFICATION_FIELDS,
    NOTIFICATION_DEFAULTS,
    MAX_NOTIFICATION_TARGETS,
    resolveNotificationTargets,
    notificationUrlPath,
    isNotificationUrlPath,
    isSecureValue,
} from "./targets";
export { RunPulumi, SecretUrlOptions, pulumiRunner, runPulumiOnPath, urlResolver } from "./secrets";
export { NotificationRecordingStore, failureEntry } from "./record";
export { RolloutNotifications, RolloutNotificationsOptions, NOTIFY_EXIT_WAIT_MS } from "./run";
