/**
 * One promotion from start to end: load and validate both stacks, plan, edit the target's
 * stack file (or only compute the edit, for a dry run), then run the policy check on it.
 */
import * as path from "node:path";
import { ConfigError } from "../config/check";
import { validateConfig } from "../config/validate";
import { StackFileError, loadStackConfig } from "../stack/load";
import { addVersion, readVersions, unifiedDiff, writeIfUnchanged } from "../stack/edit";
import { FileStateStore, StateFileError } from "../rollout/state";
import { PromotionPlan, PromotionRefused, planPromotion } from "./plan";
import { PolicyRunner, PolicyVerdict } from "./policy";
import { checkRolloutRecord } from "./record";

/** What promote needs. */
export interface PromoteOptions {
    /** Source stack. */
    from: string;
    /** Target stack. */
    to: string;
    /** Directory holding Pulumi.yaml and the stack files. */
    configDir: string;
    /** Compute and show the change, write nothing, run no policy check. */
    dryRun: boolean;
    /** Runs the policy check on the target after a write. */
    runPolicy: PolicyRunner;
    /** Told what takes long (the policy check), for a terminal. Default: nothing. */
    progress?: (step: string) => void;
    /**
     * Promote on the source's stack file alone when no rollout of the released version is recorded
     * in `<configDir>/.rollout/` (a stack set to 100% by hand in a reviewed change, or a rollout run in
     * another checkout). Never overrides a record that says the rollout did not complete. Default false.
     */
    trustStackFile?: boolean;
    /** The rollout command for a stack as the person types it, for messages. Default: `npx istio-canary rollout --stack <stack>`. */
    rolloutCommand?: (stack: string) => string;
}

/** How a promotion ended. */
export type PromoteResult =
    | {
          /** Nothing was changed; `reason` says why. */
          status: "refused";
          reason: string;
      }
    | {
          /** Nothing was changed; `diff` is what a real run would write. */
          status: "dry-run";
          /** The promotion that would be made. */
          plan: PromotionPlan;
          /** The target's stack file. */
          file: string;
          /** Unified diff of the target's stack file. */
          diff: string;
          /** What the source's rollout record says about the released version, one sentence. */
          record: string;
      }
    | {
          /** The target file was written; `policy` is the check that followed. */
          status: "written";
          /** The promotion that was made. */
          plan: PromotionPlan;
          /** The target's stack file, as written. */
          file: string;
          /** Unified diff of what was written. */
          diff: string;
          /** What the source's rollout record says about the released version, one sentence. */
          record: string;
          /** The policy check on the target after the write. */
          policy: PolicyVerdict;
      };

/**
 * Promotes the version at 100% in `from` to `to` as a canary at weight 0, when the rollout record of
 * `from` shows that version's rollout completed there (promote/record.ts). Never throws for a refusal.
 */
export function promote(opts: PromoteOptions): PromoteResult {
    const { from, to, configDir } = opts;
    const refused = (reason: string): PromoteResult => ({ status: "refused", reason });

    const problems: string[] = [];
    const stacks = [from, to].map((stack) => {
        try {
            const loaded = loadStackConfig(stack, configDir);
            try {
                return { file: loaded.stackFile, config: validateConfig(loaded.raw) };
            } catch (e) {
                if (!(e instanceof ConfigError)) {
                    throw e;
                }
                problems.push(`${loaded.stackFile}: ${e.message}`);
            }
        } catch (e) {
            if (!(e instanceof StackFileError)) {
                throw e;
            }
            problems.push(e.message);
        }
        return undefined;
    });
    const [source, target] = stacks;
    if (source === undefined || target === undefined) {
        return refused(`cannot promote ${from} -> ${to}: ${problems.join("\n")}`);
    }

    const orderA = source.config.promotionOrder.join(" -> ");
    const orderB = target.config.promotionOrder.join(" -> ");
    if (orderA !== orderB) {
        return refused(
            `cannot promote ${from} -> ${to}: the stacks disagree on promotionOrder (${from}: ${orderA}; ${to}: ${orderB}); set it once, in Pulumi.yaml, not in a stack file`,
        );
    }

    let plan: PromotionPlan;
    let edit: { before: string; after: string };
    let record: string;
    try {
        plan = planPromotion({
            from,
            to,
            order: source.config.promotionOrder,
            source: readVersions(source.file),
            target: readVersions(target.file),
        });
        const verdict = checkRolloutRecord({
            stack: from,
            released: plan.released,
            store: new FileStateStore(path.join(configDir, ".rollout")),
            trustStackFile: opts.trustStackFile === true,
            rolloutCommand: opts.rolloutCommand?.(from) ?? `npx istio-canary rollout --stack ${from}`,
        });
        if (!verdict.allowed) {
            return refused(`cannot promote ${from} -> ${to}: ${verdict.reason}`);
        }
        record = verdict.note;
        edit = addVersion(target.file, plan.canary, { write: false });
    } catch (e) {
        if (e instanceof PromotionRefused) {
            return refused(e.message);
        }
        if (e instanceof StackFileError || e instanceof StateFileError) {
            return refused(`cannot promote ${from} -> ${to}: ${e.message}`);
        }
        throw e;
    }
    const diff = unifiedDiff(target.file, edit.before, edit.after);
    if (opts.dryRun) {
        return { status: "dry-run", plan, file: target.file, diff, record };
    }
    try {
        writeIfUnchanged(target.file, edit.before, edit.after);
    } catch (e) {
        if (e instanceof StackFileError) {
            return refused(`cannot promote ${from} -> ${to}: ${e.message}`);
        }
        throw e;
    }
    opts.progress?.(`running the policy check on ${to} (the program offline and the policy pack; takes seconds)...`);
    return { status: "written", plan, file: target.file, diff, record, policy: opts.runPolicy(to, configDir) };
}
