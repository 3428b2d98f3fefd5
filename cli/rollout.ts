import * as os from "node:os";
import * as path from "node:path";
import { Command } from "commander";
import { serviceFqdn } from "../components/facts";
import { ConfigError } from "../config/check";
import { validateConfig } from "../config/validate";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags, stackNameProblem } from "./args";
import { StackFileError, loadStackConfig } from "../stack/load";
import { PulumiStackTarget } from "../rollout/automation";
import { rolloutCommand as rolloutCommandLine } from "../rollout/command";
import { systemClock } from "../rollout/clock";
import { RolloutEngine } from "../rollout/engine";
import { JudgeSettings, analysisJudge, checkJudgeSettings } from "../rollout/judge";
import { planFromConfig } from "../rollout/plan";
import { humanRenderer, jsonRenderer } from "../rollout/render";
import { FileStateStore } from "../rollout/state";
import { CanaryJudge, Clock, EXIT, RolloutEvent, StackTarget } from "../rollout/types";
import type { RolloutEventListener } from "../rollout/events";
import { ProcessHookRunner } from "../rollout/hooks";

/** Who answers a gate, as the state records it: user@host. */
function answeredBy(): string {
    let user = process.env.USER ?? "unknown";
    try {
        user = os.userInfo().username;
    } catch {
        // no passwd entry (some containers): keep $USER
    }
    return `${user}@${os.hostname()}`;
}
import { NotifyFailure, RolloutNotifications, RolloutNotificationsOptions, urlResolver } from "../notify";
import { NotificationTarget } from "../notify/types";

/**
 * `istio-canary rollout --stack <name> [--resume | --abort | --finalize | --approve | --reject] [--json] [--config-dir <dir>]`:
 * walks the canary (versions[1]) of a stack up its `rollout.steps`, one `pulumi up` per shift, with
 * the canary analysis between shifts; rolls back on failure. docs/rollout.md documents every flag and
 * config key, docs/cli.md the exit codes:
 *
 *   0 completed / finalized / aborted as asked    1 rolled back    2 bad usage or config
 *   3 stopped by a failed apply (state saved)     4 refused, or held because the live split was changed by hand
 *   130 interrupted (state saved)
 *   70 internal error (a bug; its stack trace is printed)
 */

/** What the command needs from the outside world; tests replace every piece. */
export interface RolloutCliDeps extends CliIO {
    /** Whether standard output is a terminal (progress bars only then). */
    isTTY: boolean;
    /** The stack the rollout changes. Default: Pulumi's Automation API on the project. */
    makeTarget: (ctx: {
        stack: string;
        stackFile: string;
        configDir: string;
        appName: string;
        routingApi: "istio" | "gateway-api";
        signal?: AbortSignal;
    }) => StackTarget;
    /** The analysis between shifts. Default: the analysis module against rollout.prometheusUrl. */
    makeJudge: (settings: JudgeSettings) => CanaryJudge;
    /** Time and waiting. */
    clock: Clock;
    /** Aborted by SIGINT/SIGTERM. */
    signal?: AbortSignal;
    /** Receives the rollout's lifecycle events (rollout/events.ts). Optional. */
    onEvent?: RolloutEventListener;
    /** Milliseconds between looks for an answer while a gate waits. Default 2000. */
    gatePollMs?: number;
    /**
     * The URL of a notification target: its plain URL, or its secret decrypted. Default: the Pulumi
     * CLI decrypts it with the stack's secrets provider (notify/secrets.ts).
     */
    makeUrlResolver?: (ctx: { stack: string; stackFile: string }) => (target: NotificationTarget) => Promise<string>;
    /** Tests: the notifier's backoff and the bound of the wait at the end of the command. */
    notifyTuning?: Pick<RolloutNotificationsOptions, "notifier" | "exitWaitMs">;
}

/** The defaults of a real run, printing through `io`. */
export function defaultDeps(io: CliIO, signal?: AbortSignal): RolloutCliDeps {
    return {
        ...io,
        isTTY: process.stdout.isTTY === true,
        // The program and Pulumi.yaml are the project's; with --config-dir the stack file comes from there (pulumi up --config-file).
        makeTarget: ({ stack, stackFile, appName, routingApi, signal: s }) =>
            new PulumiStackTarget({ stack, stackFile, appName, routingApi, signal: s }),
        makeJudge: (settings) => analysisJudge(settings),
        clock: systemClock,
        signal,
    };
}

interface Flags {
    stack: string;
    resume?: boolean;
    abort?: boolean;
    finalize?: boolean;
    approve?: boolean;
    reject?: boolean;
    json?: boolean;
    configDir?: string;
}

/** Parses the flags, runs the engine and prints; returns the exit code. */
export async function runRolloutCli(argv: string[], deps: RolloutCliDeps): Promise<number> {
    const cmd = new Command("rollout")
        .description(
            "Walk a stack's canary (the second entry of versions) up rollout.steps, one pulumi up per shift, analysing between shifts; roll back on failure.",
        )
        .requiredOption("--stack <name>", "stack to roll out, e.g. dev")
        .option("--resume", "continue an interrupted rollout from its last completed action")
        .option("--abort", "route all traffic to the baseline (the first entry of versions) at once")
        .option("--finalize", "after a completed rollout, remove the baseline from versions and apply")
        .option("--approve", "answer the gate the rollout waits at (a step with approve: true): go ahead with its shift")
        .option("--reject", "answer the gate the rollout waits at: roll back to the baseline")
        .option("--json", "print one JSON event per line instead of text")
        .option(
            "--config-dir <dir>",
            "directory holding Pulumi.yaml and Pulumi.<stack>.yaml (default: the repository); the state goes to <dir>/.rollout/",
        )
        .allowExcessArguments(false)
        .showHelpAfterError("(run npx istio-canary rollout --help for usage)")
        .addHelpText(
            "after",
            examples(
                ["rollout --stack dev", "walk dev's canary up rollout.steps"],
                ["rollout --stack dev --resume", "continue after an interruption or a failed apply"],
                ["rollout --stack dev --abort", "send all traffic back to the baseline now"],
                ["rollout --stack dev --finalize", "after completion, remove the old version"],
                ["rollout --stack prod --approve", "let a rollout waiting at a gate shift to its next step"],
            ),
        )
        .configureOutput({ writeOut: deps.out, writeErr: deps.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const flags = cmd.opts<Flags>();
    const modes = (["resume", "abort", "finalize", "approve", "reject"] as const).filter((m) => flags[m] === true);
    const mode: "start" | (typeof modes)[number] = modes.length === 0 ? "start" : modes[0];
    const { dir: configDir, problem: configDirProblem } = configDirFlag(flags.configDir, deps.cwd);
    const problem =
        stackNameProblem("--stack", flags.stack) ??
        (modes.length > 1 ? `${modes.map((m) => `--${m}`).join(" and ")} cannot be combined; give at most one` : undefined) ??
        configDirProblem;
    if (problem !== undefined) {
        deps.err(`rollout: ${problem}\n(run npx istio-canary rollout --help for usage)\n`);
        return EXIT.usage;
    }

    let loaded;
    let config;
    try {
        loaded = loadStackConfig(flags.stack, configDir);
        config = validateConfig(loaded.raw);
    } catch (e) {
        if (e instanceof StackFileError || e instanceof ConfigError) {
            deps.err(`rollout: ${e.message}\n`);
            return EXIT.usage;
        }
        throw e;
    }
    const plan = planFromConfig(flags.stack, config);
    const settings: JudgeSettings = {
        prometheusUrl: config.rollout.prometheusUrl,
        service: serviceFqdn(config.app.name, config.app.namespace),
        maxErrorRate: config.rollout.maxErrorRate,
        maxP99Ms: config.rollout.maxP99Ms,
        minRequests: config.rollout.minRequests,
        reporter: config.rollout.reporter,
        // Looks come at the scrape interval, and the variance factor batches by it.
        scrapeIntervalSeconds: config.rollout.analysisIntervalSeconds,
        // With the Gateway API each version has its own Service, so its requests carry that destination_service.
        perVersionServices: config.routing.api === "gateway-api",
        // Sticky users make the canary's share exceed its weight: no expected share from the weights.
        ...(config.routing.stickyCanary !== undefined ? { stickyCanary: true } : {}),
    };
    if ((mode === "start" || mode === "resume" || mode === "approve" || mode === "reject") && config.versions.length === 2) {
        const problems = checkJudgeSettings(settings, config.versions[0].name, config.versions[1].name);
        if (problems.length > 0) {
            deps.err(`rollout: the analysis cannot run with this stack's config:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
            return EXIT.usage;
        }
    }

    const renderer = flags.json === true ? jsonRenderer(deps.out) : humanRenderer({ out: deps.out, tty: deps.isTTY });
    const baseStore = new FileStateStore(path.join(configDir, ".rollout"));
    const notifications =
        config.rollout.notifications.length === 0
            ? undefined
            : new RolloutNotifications({
                  stack: flags.stack,
                  targets: config.rollout.notifications,
                  resolveUrl: (deps.makeUrlResolver ?? urlResolver)({ stack: flags.stack, stackFile: loaded.stackFile }),
                  store: baseStore,
                  report: (f) => reportNotifyFailure(f, flags.stack, flags.json === true, deps),
                  baseline: config.versions[0]?.name ?? "",
                  canary: config.versions[1]?.name ?? "",
                  split: Object.fromEntries(config.versions.map((v) => [v.name, v.weight])),
                  retryCommand: (flag) => `\`${rolloutCommandLine(flags.stack, flags.configDir)} --${flag}\``,
                  ...deps.notifyTuning,
              });
    if (notifications !== undefined && mode === "start") {
        // A new rollout checks its secret URLs before it changes anything; a resume, abort or finalize
        // never waits for them (they are decrypted as the first milestone is sent).
        const problems = await notifications.check();
        if (problems.length > 0) {
            deps.err(`rollout: the notification targets cannot be used:\n${problems.map((p) => `  - ${p}`).join("\n")}\n`);
            return EXIT.usage;
        }
    }
    const engine = new RolloutEngine({
        target: deps.makeTarget({
            stack: flags.stack,
            stackFile: loaded.stackFile,
            configDir,
            appName: config.app.name,
            routingApi: config.routing.api,
            signal: deps.signal,
        }),
        judge: deps.makeJudge(settings),
        store: notifications?.store ?? baseStore,
        clock: deps.clock,
        emit: (event: RolloutEvent) => {
            renderer.emit(event);
            notifications?.onOutput(event);
        },
        signal: deps.signal,
        // The ways forward the messages name, as this person would type them (with their --config-dir).
        command: (stack) => rolloutCommandLine(stack, flags.configDir),
        // The notifier only queues and returns: a notification never holds up a shift or a rollback.
        onEvent: (event) => {
            notifications?.onEvent(event);
            deps.onEvent?.(event);
        },
        // Hook commands run in the config dir, where Pulumi.yaml and the stack file are.
        hooks: new ProcessHookRunner({ cwd: configDir }),
        gatePollMs: deps.gatePollMs,
    });
    try {
        const outcome = mode === "approve" || mode === "reject" ? await engine.answer(plan, mode, answeredBy()) : await engine[mode](plan);
        return outcome.exitCode;
    } finally {
        renderer.close();
        // Bounded: a target that is down delays the end of the command by at most NOTIFY_EXIT_WAIT_MS.
        const unrecorded = await notifications?.finish();
        if (unrecorded !== undefined) {
            deps.err(`rollout: ${unrecorded}\n`);
        }
    }
}

/** A failed notification: a line on stderr, or with --json a `notification-failed` event on stdout. */
function reportNotifyFailure(f: NotifyFailure, stack: string, json: boolean, io: CliIO): void {
    if (json) {
        io.out(
            `${JSON.stringify({ type: "notification-failed", at: f.at, stack, target: f.target, milestone: f.event, attempts: f.attempts, error: f.error })}\n`,
        );
    } else {
        const tries = f.attempts === 0 ? "" : ` after ${f.attempts} attempt${f.attempts === 1 ? "" : "s"}`;
        io.err(`rollout: notification ${f.event} to ${f.target} failed${tries}: ${f.error}\n`);
    }
}

/**
 * Runs a real rollout: SIGINT/SIGTERM stop it after the current action (the state stays
 * consistent, --resume continues); a second signal quits at once.
 */
async function runRealRollout(argv: string[], io: CliIO): Promise<number> {
    const controller = new AbortController();
    let signals = 0;
    const onSignal = (name: string): void => {
        signals += 1;
        if (signals > 1) {
            io.err(`\nrollout: ${name} again, quitting now; the state file is consistent, --resume continues\n`);
            process.exit(EXIT.interrupted);
        }
        io.err(`\nrollout: ${name}: stopping after the current action (send it again to quit at once)\n`);
        controller.abort();
    };
    const onInt = (): void => onSignal("SIGINT");
    const onTerm = (): void => onSignal("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    try {
        return await runRolloutCli(argv, defaultDeps(io, controller.signal));
    } finally {
        process.off("SIGINT", onInt);
        process.off("SIGTERM", onTerm);
    }
}

/** `istio-canary rollout`. */
export const rolloutCommand: Subcommand = {
    name: "rollout",
    summary: "walk a stack's canary up rollout.steps, one pulumi up per shift, analysing between shifts; roll back on failure",
    run: runRealRollout,
};
