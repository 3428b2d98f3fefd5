/**
 * `istio-canary rollout` as its own process, for e2e/specs/rollout.spec.ts (which SIGKILLs it
 * during a `pulumi up`): cli/rollout.ts's runRolloutCli with its default dependencies and the real
 * Automation API adapter (rollout/automation.ts, unchanged: it edits the stack file and runs the
 * targeted or full `pulumi up` and the targeted refresh), except how the adapter opens the stack.
 * The Pulumi CLI cannot run this project folder here without a Node.js language host, so the stack
 * is opened as an Automation API inline program running this project's program (index.ts) in this
 * process, on the --config-dir, whose Pulumi.yaml and Pulumi.<stack>.yaml the CLI reads: the real
 * CLI, engine, provider and API server do the rest.
 *
 *   node -r ts-node/register/transpile-only e2e/specs/rollout-process.ts rollout --stack e2e --config-dir DIR [...]
 */
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import { processIO } from "../../cli/args";
import { EXIT } from "../../cli/exit-codes";
import { defaultDeps, runRolloutCli } from "../../cli/rollout";
import { PulumiStackTarget } from "../../rollout/automation";
import { readProjectDefaults } from "../../stack/load";

async function main(argv: string[]): Promise<number> {
    if (argv[0] !== "rollout") {
        process.stderr.write("usage: rollout-process.ts rollout --stack <name> --config-dir <dir> [flags]\n");
        return EXIT.usage;
    }
    const io = processIO();
    const deps = defaultDeps(io);
    return runRolloutCli(argv.slice(1), {
        ...deps,
        makeTarget: ({ stack, configDir, appName, routingApi }) =>
            new PulumiStackTarget({
                stack,
                appName,
                routingApi,
                workDir: configDir,
                openStack: async () => {
                    // eslint-disable-next-line @typescript-eslint/no-require-imports
                    const program = require(path.join(__dirname, "..", "..", "index")) as () => Promise<Record<string, unknown>>;
                    const pulumiCommand = await PulumiCommand.get();
                    const projectName = readProjectDefaults(configDir).name;
                    return LocalWorkspace.selectStack({ stackName: stack, projectName, program }, { workDir: configDir, pulumiCommand });
                },
            }),
    });
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
        process.stderr.write(`rollout-process: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exit(EXIT.internal);
    },
);
