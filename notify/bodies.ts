/**
 * The bodies POSTed to a target, one pure function per format:
 *
 * - `json`: the milestone as a plain document (event, stack, versions, split, step, summary,
 *   evidence, time);
 * - `slack`: what a Slack incoming webhook takes: `text` (the notification's fallback) and Block Kit
 *   `blocks` (a header, the summary, the numbers as fields, the stack and time as context);
 * - `teams`: what a Microsoft Teams webhook (a Workflows "when a Teams webhook request is received"
 *   flow, or an incoming webhook) takes: a `message` whose one attachment is an Adaptive Card 1.4
 *   (title, summary, a FactSet of the numbers). Adaptive Cards rather than the legacy MessageCard,
 *   which only the retired Office 365 connectors take.
 */
import type { RolloutEvidence, RolloutStepRef } from "../rollout/events";
import { formatStats } from "../rollout/render";
import { formatSplit } from "../rollout/weights";
import { Milestone, NotifyFormat } from "./types";

/** The `json` body. */
export interface JsonBody {
    source: "istio-canary";
    /** The milestone: a lifecycle event type, or `rollback-failed`. */
    event: Milestone["type"];
    at: string;
    stack: string;
    baseline: string;
    canary: string;
    /** The split the cluster routes now. */
    split: Record<string, number>;
    /** 1-based step and the step count. */
    step?: { number: number; of: number; canaryWeight: number };
    /** One or two sentences saying what happened. */
    summary: string;
    evidence?: RolloutEvidence;
}

/** A title per milestone. */
const TITLES: Record<Milestone["type"], string> = {
    start: "rollout started",
    shift: "traffic shifted",
    hold: "rollout holding",
    "gate-waiting": "waiting for approval",
    rollback: "ROLLED BACK",
    "rollback-failed": "ROLLBACK FAILED",
    complete: "rollout complete",
    finalize: "finalized",
};

/** `istio-canary dev: v2 traffic shifted` */
export function titleOf(m: Milestone): string {
    return `istio-canary ${m.stack}: ${m.canary} ${TITLES[m.type]}`;
}

function stepText(s: RolloutStepRef): string {
    return `step ${s.index + 1}/${s.total}`;
}

/** One or two sentences saying what happened. Pure. */
export function summaryOf(m: Milestone): string {
    switch (m.type) {
        case "start":
            return m.mode === "start"
                ? `rollout of ${m.canary} on stack ${m.stack} started (baseline ${m.baseline}): ${m.steps.map((s) => `${s}%`).join(" -> ")}`
                : `rollout of ${m.canary} on stack ${m.stack} resumed${m.step !== undefined ? ` at ${stepText(m.step)}` : ""}`;
        case "shift":
            return `${m.canary} now gets ${m.step.canaryWeight}% of traffic on stack ${m.stack} (${stepText(m.step)}: ${formatSplit(m.split)})`;
        case "hold":
            return m.message;
        case "gate-waiting":
            return `${m.waitingFor}; approve with ${m.approve}, or reject (roll back) with ${m.reject}`;
        case "rollback":
            return `all traffic is back on ${m.baseline} (${m.cause}): ${m.reason}`;
        case "rollback-failed":
            return (
                `the rollback to ${formatSplit(m.applying)} FAILED to apply, traffic is NOT back on ${m.baseline} ` +
                `(it still routes ${formatSplit(m.split)}): ${m.error}. Finish it with ${m.retry}`
            );
        case "complete":
            return `rollout complete: ${m.reason}`;
        case "finalize":
            return `${m.removed} was removed from stack ${m.stack}; ${m.canary} is the only version`;
    }
}

/** The labelled numbers the chat formats show, in order. */
export function factsOf(m: Milestone): { title: string; value: string }[] {
    const facts = [{ title: "Split", value: formatSplit(m.split) }];
    if (m.step !== undefined) {
        facts.push({ title: "Step", value: `${m.step.index + 1}/${m.step.total} (${m.step.canaryWeight}%)` });
    }
    if (m.evidence !== undefined) {
        const ev = m.evidence;
        facts.push(
            { title: "Verdict", value: `${ev.verdict} after ${ev.sinceSeconds}s` },
            { title: ev.baseline.version, value: formatStats(ev.baseline) },
            { title: ev.canary.version, value: formatStats(ev.canary) },
        );
        if (ev.reasons.length > 0) {
            facts.push({ title: "Why", value: ev.reasons.join("; ") });
        }
    }
    return facts;
}

/** The generic JSON document. */
export function jsonBody(m: Milestone): JsonBody {
    return {
        source: "istio-canary",
        event: m.type,
        at: m.at,
        stack: m.stack,
        baseline: m.baseline,
        canary: m.canary,
        split: { ...m.split },
        ...(m.step !== undefined ? { step: { number: m.step.index + 1, of: m.step.total, canaryWeight: m.step.canaryWeight } } : {}),
        summary: summaryOf(m),
        ...(m.evidence !== undefined ? { evidence: m.evidence } : {}),
    };
}

/** Slack's mrkdwn needs `&`, `<` and `>` escaped (they start links and mentions). */
function mrkdwn(text: string): string {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Cuts a text to a Block Kit limit. */
function cut(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/** A Slack incoming-webhook message: the fallback text and Block Kit blocks. */
export function slackBody(m: Milestone): { text: string; blocks: unknown[] } {
    const summary = summaryOf(m);
    return {
        text: cut(`${titleOf(m)}: ${summary}`, 3000),
        blocks: [
            // a header is plain text of at most 150 characters
            { type: "header", text: { type: "plain_text", text: cut(titleOf(m), 150) } },
            { type: "section", text: { type: "mrkdwn", text: cut(mrkdwn(summary), 3000) } },
            // a section takes at most 10 fields of at most 2000 characters each
            {
                type: "section",
                fields: factsOf(m)
                    .slice(0, 10)
                    .map((f) => ({ type: "mrkdwn", text: cut(`*${mrkdwn(f.title)}*\n${mrkdwn(f.value)}`, 2000) })),
            },
            { type: "context", elements: [{ type: "mrkdwn", text: mrkdwn(`stack ${m.stack} · ${m.at}`) }] },
        ],
    };
}

/** A Teams webhook message carrying one Adaptive Card. */
export function teamsBody(m: Milestone): { type: "message"; attachments: unknown[] } {
    const alarm = m.type === "rollback" || m.type === "rollback-failed";
    return {
        type: "message",
        attachments: [
            {
                contentType: "application/vnd.microsoft.card.adaptive",
                contentUrl: null,
                content: {
                    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                    type: "AdaptiveCard",
                    version: "1.4",
                    body: [
                        {
                            type: "TextBlock",
                            size: "Medium",
                            weight: "Bolder",
                            wrap: true,
                            text: titleOf(m),
                            ...(alarm ? { color: "Attention" } : {}),
                        },
                        { type: "TextBlock", wrap: true, text: summaryOf(m) },
                        { type: "FactSet", facts: factsOf(m) },
                        { type: "TextBlock", wrap: true, isSubtle: true, size: "Small", text: `stack ${m.stack} · ${m.at}` },
                    ],
                },
            },
        ],
    };
}

/** The body of `format` for a milestone. */
export function bodyOf(format: NotifyFormat, m: Milestone): unknown {
    switch (format) {
        case "json":
            return jsonBody(m);
        case "slack":
            return slackBody(m);
        case "teams":
            return teamsBody(m);
    }
}
