/**
 * The e2e tier's plumbing: the tools built by e2e/tools/build.sh, a throw-away loopback cluster
 * (e2e/cluster.sh), kubectl against it, and the offline plan's manifests.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** The repository. */
export const ROOT = path.resolve(__dirname, "..", "..");
/** Where build.sh puts the tools. */
export const TOOLS = process.env.ISTIO_CANARY_TOOLS ?? path.join(os.homedir(), ".cache", "istio-canary", "tools");
/** Their binaries. */
export const BIN = path.join(TOOLS, "bin");

/** The environment every tool runs with: the built tools first on PATH. */
export function toolEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { ...process.env, PATH: `${BIN}:${process.env.PATH ?? ""}`, ...extra };
}

/** Fails, naming what is missing and how to build it, unless every tool exists. */
export function requireTools(names: string[]): void {
    const missing = names.filter((n) => !fs.existsSync(path.join(BIN, n)));
    if (missing.length > 0) {
        throw new Error(
            `e2e tools missing in ${BIN}: ${missing.join(", ")}; build them with: bash e2e/tools/build.sh (Go and the Go module proxy)`,
        );
    }
}

/** Runs a command; throws with its output when it fails unless `allowFail`. */
export function run(
    cmd: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; input?: string; allowFail?: boolean; cwd?: string } = {},
) {
    const r = spawnSync(cmd, args, {
        encoding: "utf8",
        env: opts.env ?? toolEnv(),
        input: opts.input,
        cwd: opts.cwd ?? ROOT,
        maxBuffer: 64 << 20,
    });
    if (r.error !== undefined) {
        throw new Error(`${cmd} could not run: ${r.error.message}`);
    }
    if (r.status !== 0 && opts.allowFail !== true) {
        throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A running loopback cluster. */
export interface Cluster {
    /** Its kubeconfig. */
    kubeconfig: string;
    /** kubectl against it; throws on failure unless allowFail. */
    kubectl(args: string[], opts?: { input?: string; allowFail?: boolean }): { status: number | null; stdout: string; stderr: string };
    /** Stops it and removes its directory. */
    stop(): void;
}

/** Starts e2e/cluster.sh's cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok with one node). */
export function startCluster(): Cluster {
    const started = run("bash", [path.join(ROOT, "e2e", "cluster.sh"), "start"]);
    const kubeconfig = started.stdout.trim().split("\n").pop() ?? "";
    if (!fs.existsSync(kubeconfig)) {
        throw new Error(`e2e/cluster.sh start printed no kubeconfig:\n${started.stdout}\n${started.stderr}`);
    }
    return {
        kubeconfig,
        kubectl: (args, opts = {}) => run(path.join(BIN, "kubectl"), ["--kubeconfig", kubeconfig, ...args], { ...opts, env: toolEnv() }),
        stop: () => {
            run("bash", [path.join(ROOT, "e2e", "cluster.sh"), "stop", kubeconfig], { allowFail: true });
        },
    };
}

/** Writes a stack's `plan --out` manifests into a new temp directory and returns it. */
export function planManifests(stack: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `e2e-plan-${stack}-`));
    run(process.execPath, [path.join(ROOT, "cli", "istio-canary.js"), "plan", "--stack", stack, "--out", dir]);
    return dir;
}

/** The manifest files of a plan directory. */
export function manifestFiles(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => path.join(dir, f));
}

/** Istio's CRDs, from the manifests embedded in istioctl (the release the program installs). */
export function istioCrds(): string {
    const all = run(path.join(BIN, "istioctl"), ["manifest", "generate"]).stdout;
    return all
        .split(/^---\s*$/m)
        .filter((doc) => /^kind: CustomResourceDefinition$/m.test(doc))
        .join("\n---\n");
}

/** The Gateway API standard-channel CRDs of the pinned release, from its Go module (the same files its standard-install.yaml holds). */
export function gatewayApiCrds(version: string): string {
    const mod = JSON.parse(run("go", ["mod", "download", "-json", `sigs.k8s.io/gateway-api@${version}`], { cwd: os.tmpdir() }).stdout) as {
        Dir: string;
    };
    const dir = path.join(mod.Dir, "config", "crd", "standard");
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .map((f) => fs.readFileSync(path.join(dir, f), "utf8"))
        .join("\n---\n");
}
