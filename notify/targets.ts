/**
 * The rules of `rollout.notifications`: a list of webhook targets, each
 * `{name, url, format, events, timeoutSeconds, retries}`. config/validate.ts calls the resolver with
 * the stack's key names; like the components' resolvers it records every problem on the checker and
 * returns what it could read. A URL is never shown in a message (it may be a credential, such as a
 * Slack or Teams webhook URL): its problems name the key and the target instead.
 */
import { Checker } from "../components/validation";
import type { RolloutEventType } from "../rollout/events";
import { NOTIFY_EVENTS, NOTIFY_FORMATS, NotificationTarget, NotifyFormat } from "./types";

/** The fields of one target. */
export const NOTIFICATION_FIELDS = ["name", "url", "format", "events", "timeoutSeconds", "retries"] as const;

/** Defaults of a target's optional fields. */
export const NOTIFICATION_DEFAULTS = { format: "json" as NotifyFormat, timeoutSeconds: 5, retries: 3 };

/** At most this many targets: each milestone is one POST per target. */
export const MAX_NOTIFICATION_TARGETS = 10;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HTTP_URL = /^https?:\/\/[^\s/?#]+([/?#]\S*)?$/;

/** True for the stack file's form of an encrypted value, `{secure: "v1:..."}`. */
export function isSecureValue(value: unknown): value is { secure: string } {
    return (
        value !== null &&
        typeof value === "object" &&
        !Array.isArray(value) &&
        Object.keys(value).length === 1 &&
        typeof (value as { secure?: unknown }).secure === "string"
    );
}

/** The config path of target `i`'s URL: the only values inside `rollout` that may be secrets. */
export function notificationUrlPath(i: number): string {
    return `rollout.notifications[${i}].url`;
}

/** True for `rollout.notifications[<i>].url`. */
export function isNotificationUrlPath(path: string): boolean {
    return /^rollout\.notifications\[\d+\]\.url$/.test(path);
}

/**
 * Reads `rollout.notifications` (`key` names it, without the checker's prefix). A URL is a plain
 * http(s) URL, or an encrypted value as the stack file holds it (`{secure: ...}`), which becomes a
 * SecretUrl naming its path; the program, which the engine gives decrypted values, sees a string.
 */
export function resolveNotificationTargets(value: unknown, c: Checker, key = "rollout.notifications"): NotificationTarget[] {
    if (value === undefined || value === null) {
        return [];
    }
    const list = c.array(key, value, "notification targets such as {name: team-chat, url: https://..., format: slack}");
    if (list === undefined) {
        return [];
    }
    if (list.length > MAX_NOTIFICATION_TARGETS) {
        c.add(`${c.keyOf(key)} has ${list.length} targets; at most ${MAX_NOTIFICATION_TARGETS} are allowed`);
    }
    const targets: NotificationTarget[] = [];
    const names = new Set<string>();
    list.forEach((entry, i) => {
        const at = `${key}[${i}]`;
        if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
            c.fail(at, entry, `it must be an object with fields ${NOTIFICATION_FIELDS.join(", ")}`);
            return;
        }
        const t = c.object(at, entry, NOTIFICATION_FIELDS);
        let ok = c.required(`${at}.name`, t.name, "each target needs a name, used in messages instead of its URL");
        const name = c.string(`${at}.name`, t.name, "", [
            (s) => NAME.test(s),
            "a name of letters, digits, '.', '_' and '-' (at most 63 characters)",
        ]);
        if (name === "") {
            ok = false;
        } else if (names.has(name)) {
            c.fail(`${at}.name`, name, "target names must be unique");
            ok = false;
        }
        names.add(name);
        const label = name === "" ? `target ${i}` : `target ${name}`;
        const url = readUrl(c, `${at}.url`, t.url, label, i);
        ok = url !== undefined && ok;
        const format = c.oneOf(`${at}.format`, t.format, NOTIFICATION_DEFAULTS.format, NOTIFY_FORMATS);
        const events = readEvents(c, `${at}.events`, t.events);
        const timeoutSeconds = c.integer(`${at}.timeoutSeconds`, t.timeoutSeconds, NOTIFICATION_DEFAULTS.timeoutSeconds, 1, 60);
        const retries = c.integer(`${at}.retries`, t.retries, NOTIFICATION_DEFAULTS.retries, 0, 10);
        if (ok && url !== undefined) {
            targets.push({ name, url, format, events, timeoutSeconds, retries });
        }
    });
    return targets;
}

function readUrl(c: Checker, key: string, value: unknown, label: string, i: number): NotificationTarget["url"] | undefined {
    if (!c.required(key, value, `${label} needs the http(s) URL its milestones are POSTed to`)) {
        return undefined;
    }
    if (isSecureValue(value)) {
        return { secret: notificationUrlPath(i) };
    }
    // The value is not shown: it may be a webhook URL, which is a credential.
    if (typeof value !== "string" || !HTTP_URL.test(value)) {
        c.add(
            `${c.keyOf(key)} (${label}) is not an http(s) URL such as https://hooks.example.com/...; ` +
                `the value is not shown, since a webhook URL is a credential (set it with pulumi config set --secret --path '${notificationUrlPath(i)}' URL)`,
        );
        return undefined;
    }
    return value;
}

function readEvents(c: Checker, key: string, value: unknown): RolloutEventType[] {
    if (value === undefined) {
        return [...NOTIFY_EVENTS];
    }
    const list = c.array(key, value, `milestones among ${NOTIFY_EVENTS.join(", ")}`);
    if (list === undefined) {
        return [...NOTIFY_EVENTS];
    }
    const ok =
        list.length > 0 &&
        list.every((e) => typeof e === "string" && (NOTIFY_EVENTS as readonly string[]).includes(e)) &&
        new Set(list).size === list.length;
    if (!ok) {
        c.fail(key, value, `it must be a non-empty list of distinct milestones among ${NOTIFY_EVENTS.join(", ")}`);
        return [...NOTIFY_EVENTS];
    }
    return list as RolloutEventType[];
}
