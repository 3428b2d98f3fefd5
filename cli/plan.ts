import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError } from "commander";
import { EXIT_USAGE, describeError } from "../lib/cli-errors";
import { runStackOffline } from "../lib/offline";
import { StackFileError } from "../lib/stack-config";
import { isKubernetesObject, manifest, manifestFileName, resourceTable, trafficSplit } from "../lib/plan-format";

/**
 * `npm run plan -- --stack <name> [--out DIR] [--config-dir DIR]`: what `pulumi up` would create for a
 * stack, computed by running the real program under Pulumi's mocks with the stack's config. Nothing is
 * deployed. Exit 0: planned; 1: the program rejects the stack's config; 2: bad flags or an unusable
 * stack file; 70: a bug.
 */
async function main(argv: string[]): Promise<number> {
    const cmd = new Command("plan")
        .description("Show what `pulumi up` would create for a stack, offline (the real program under Pulumi's mocks).")
        .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml to use, e.g. dev")
        .option("--out <dir>", "also write each Kubernetes object as a YAML manifest into this directory")
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .exitOverride()
        .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    try {
        cmd.parse(argv, { from: "user" });
    } catch (e) {
        return e instanceof CommanderError && e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const opts = cmd.opts<{ stack: string; out?: string; configDir?: string }>();
    let run;
    try {
        run = await runStackOffline(opts.stack, { configDir: opts.configDir ? path.resolve(opts.configDir) : undefined });
    } catch (e) {
        const { message, expected } = describeError(e);
        process.stderr.write(`error: ${message}\n`);
        // As `npm run policy`: unusable files are bad input (2), a config the program rejects fails the plan (1).
        return !expected ? 70 : e instanceof StackFileError ? EXIT_USAGE : 1;
    }
    const out: string[] = [];
    out.push(`Plan for stack ${opts.stack}: the program run offline under Pulumi's mocks; nothing is deployed.`);
    for (const note of run.notes) {
        out.push(`note: ${note}`);
    }
    const objects = run.resources.filter(isKubernetesObject);
    out.push("", `Resources (${run.resources.length - 1}, of which ${objects.length} Kubernetes objects):`, resourceTable(run.resources));
    out.push("", "Traffic split:", trafficSplit(run.resources));
    out.push("", "Outputs:");
    for (const [k, v] of Object.entries(run.outputs)) {
        out.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    }
    if (opts.out) {
        const dir = path.resolve(opts.out);
        fs.mkdirSync(dir, { recursive: true });
        for (const r of objects) {
            fs.writeFileSync(path.join(dir, manifestFileName(r)), manifest(r));
        }
        out.push("", `Wrote ${objects.length} manifests to ${dir} (secret values replaced by [secret]; Helm releases are listed above, not rendered).`);
    }
    process.stdout.write(out.join("\n") + "\n");
    return 0;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`error: ${describeError(e).message}\n`);
        process.exit(70);
    },
);
