import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags } from "./args";
import { describeError } from "./errors";
import { EXIT } from "./exit-codes";
import { RecordedResource, runStackOffline } from "../offline/run";
import { isKubernetesObject, manifest, manifestFileName, resourceTable, trafficSplit } from "../offline/plan-format";

/**
 * `istio-canary plan --stack <name> [--out DIR] [--config-dir <dir>]`: what `pulumi up` would create
 * for a stack, computed by running the real program under Pulumi's mocks with the stack's config.
 * Nothing is deployed. Exit 0: planned; 2: config the program rejects, bad flags or an unusable
 * stack file; 70: a bug (its stack trace is printed).
 */
export async function runPlan(argv: string[], io: CliIO): Promise<number> {
    const cmd = new Command("plan")
        .description("Show what `pulumi up` would create for a stack, offline (the real program under Pulumi's mocks).")
        .requiredOption("--stack <name>", "stack whose Pulumi.<stack>.yaml to use, e.g. dev")
        .option("--out <dir>", "also write each Kubernetes object as a YAML manifest into this directory")
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .allowExcessArguments(false)
        .addHelpText(
            "after",
            examples(
                ["plan --stack dev", "the split, resources and outputs of dev"],
                ["plan --stack prod --out /tmp/prod", "also write the manifests for review"],
            ),
        )
        .configureOutput({ writeOut: io.out, writeErr: io.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<{ stack: string; out?: string; configDir?: string }>();
    const configDir = configDirFlag(opts.configDir, io.cwd);
    if (configDir.problem !== undefined) {
        io.err(`plan: ${configDir.problem}\n`);
        return EXIT.usage;
    }
    if (io.progress === true) {
        io.err(`plan: running the program of stack ${opts.stack} under Pulumi's mocks...\n`);
    }
    let run;
    try {
        run = await runStackOffline(opts.stack, { configDir: configDir.dir });
    } catch (e) {
        const { message, expected } = describeError(e);
        io.err(`plan: ${message}\n`);
        // Config the program rejects and unusable files are both bad input, as for every command.
        return expected ? EXIT.usage : EXIT.internal;
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
        const dir = path.resolve(io.cwd, opts.out);
        if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
            io.err(`plan: --out ${opts.out} is not a directory; give a directory (it is created when missing)\n`);
            return EXIT.usage;
        }
        const written = writeManifests(dir, opts.stack, objects);
        out.push(
            "",
            `Wrote ${written.length} manifests to ${dir}, for review (each starts with a "do not apply" header; an earlier plan's manifests there were replaced).`,
            "Not written: Secrets (their values are secret; the table above shows their names and namespaces) and Helm releases (listed above, not rendered).",
        );
    }
    io.out(out.join("\n") + "\n");
    return EXIT.ok;
}

/**
 * Writes each non-Secret object as `<kind>-<name>.yaml` under a header that marks it as plan output,
 * after removing the manifests an earlier plan wrote there (recognised by that header), so the
 * directory never mixes two plans. Returns the files written.
 */
function writeManifests(dir: string, stack: string, objects: RecordedResource[]): string[] {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".yaml"))) {
        const file = path.join(dir, f);
        if (fs.statSync(file).isFile() && fs.readFileSync(file, "utf8").startsWith(MANIFEST_HEADER_PREFIX)) {
            fs.rmSync(file);
        }
    }
    const written: string[] = [];
    for (const r of objects.filter((o) => o.type !== "kubernetes:core/v1:Secret")) {
        const name = manifestFileName(r);
        fs.writeFileSync(
            path.join(dir, name),
            `${MANIFEST_HEADER_PREFIX} of stack ${stack}: offline, for review; deploy with pulumi up, not kubectl apply\n${manifest(r)}`,
        );
        written.push(name);
    }
    return written;
}

/** First words of every manifest the plan writes. */
const MANIFEST_HEADER_PREFIX = "# istio-canary plan";

/** `istio-canary plan`. */
export const planCommand: Subcommand = {
    name: "plan",
    summary: "show what pulumi up would create for a stack, offline (the real program under Pulumi's mocks)",
    run: runPlan,
};
