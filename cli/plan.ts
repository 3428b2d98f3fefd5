import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "commander";
import { CliIO, Subcommand, configDirFlag, examples, parseFlags } from "./args";
import { StackFlags, addStackFlags, stacksFromFlags, stacksSummary } from "./stacks";
import { describeError } from "./errors";
import { EXIT, worstExit } from "./exit-codes";
import { RecordedResource, runStackOffline } from "../offline/run";
import { isKubernetesObject, manifest, manifestFileName, resourceTable, trafficSplit } from "../offline/plan-format";

/**
 * `istio-canary plan --stack <name> [--stack <name>...] | --all-stacks [--out DIR] [--config-dir <dir>]`:
 * what `pulumi up` would create for each stack, computed by running the real program under Pulumi's
 * mocks with the stack's config, the stacks one after another in this process. Nothing is deployed.
 * Exit (the worst stack's): 0 planned; 2 config the program rejects, bad flags or an unusable stack
 * file; 70 a bug (its stack trace is printed).
 */
export async function runPlan(argv: string[], io: CliIO): Promise<number> {
    const cmd = addStackFlags(
        new Command("plan").description("Show what `pulumi up` would create for a stack, offline (the real program under Pulumi's mocks)."),
        "use",
    )
        .option(
            "--out <dir>",
            "also write each Kubernetes object as a YAML manifest into this directory (<dir>/<stack> for several stacks)",
        )
        .option("--config-dir <dir>", "directory holding Pulumi.yaml and the stack files (default: the repository)")
        .allowExcessArguments(false)
        .addHelpText(
            "after",
            examples(
                ["plan --stack dev", "the split, resources and outputs of dev"],
                ["plan --stack prod --out /tmp/prod", "also write the manifests for review"],
                ["plan --all-stacks", "every stack, one after another in one process"],
            ),
        )
        .configureOutput({ writeOut: io.out, writeErr: io.err });
    const parsed = parseFlags(cmd, argv);
    if (parsed !== undefined) {
        return parsed;
    }
    const opts = cmd.opts<StackFlags & { out?: string; configDir?: string }>();
    const configDir = configDirFlag(opts.configDir, io.cwd);
    if (configDir.problem !== undefined) {
        io.err(`plan: ${configDir.problem}\n`);
        return EXIT.usage;
    }
    const chosen = stacksFromFlags(opts, configDir.dir);
    if (chosen.problem !== undefined) {
        io.err(`plan: ${chosen.problem}\n`);
        return EXIT.usage;
    }
    const outDir = opts.out === undefined ? undefined : path.resolve(io.cwd, opts.out);
    if (outDir !== undefined && fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
        io.err(`plan: --out ${opts.out} is not a directory; give a directory (it is created when missing)\n`);
        return EXIT.usage;
    }
    const several = chosen.stacks.length > 1;
    const results: { stack: string; code: number }[] = [];
    let printed = false;
    const stackIO: CliIO = {
        ...io,
        // A blank line between two stacks' plans.
        out: (text) => {
            io.out(printed ? `\n${text}` : text);
            printed = true;
        },
    };
    for (const stack of chosen.stacks) {
        const out = outDir === undefined ? undefined : several ? path.join(outDir, stack) : outDir;
        const code = await planStack(stack, configDir.dir, out, stackIO, several ? `plan: stack ${stack}: ` : "plan: ");
        results.push({ stack, code });
    }
    if (several) {
        io.out(`\n${stacksSummary("plan", results)}\n`);
    }
    return worstExit(results.map((r) => r.code));
}

/** Plans one stack and prints it (errors to stderr after `prefix`); resolves to its exit code. */
async function planStack(stack: string, configDir: string, outDir: string | undefined, io: CliIO, prefix: string): Promise<number> {
    if (io.progress === true) {
        io.err(`plan: running the program of stack ${stack} under Pulumi's mocks...\n`);
    }
    let run;
    try {
        run = await runStackOffline(stack, { configDir });
    } catch (e) {
        const { message, expected } = describeError(e);
        io.err(`${prefix}${message}\n`);
        // Config the program rejects and unusable files are both bad input, as for every command.
        return expected ? EXIT.usage : EXIT.internal;
    }
    const out: string[] = [];
    out.push(`Plan for stack ${stack}: the program run offline under Pulumi's mocks; nothing is deployed.`);
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
    if (outDir !== undefined) {
        const written = writeManifests(outDir, stack, objects);
        out.push(
            "",
            `Wrote ${written.length} manifests to ${outDir}, for review (each starts with a "do not apply" header; an earlier plan's manifests there were replaced).`,
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
