import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { parse } from "yaml";

/**
 * Just enough of a Kubernetes API client for the traffic simulator: GET a JSON object with the
 * current context of a kubeconfig (client certificate or bearer token, the cluster's CA), over one
 * keep-alive connection so polling every 100 ms costs the API server next to nothing.
 */

/** A GET-only client of one API server. */
export interface KubeReader {
    /** The API server's URL. */
    server: string;
    /** GETs `apiPath` (e.g. /apis/networking.istio.io/v1/namespaces/default/virtualservices) as JSON; rejects on a status other than 200. */
    get(apiPath: string): Promise<unknown>;
    /** Closes the kept-alive connection. */
    close(): void;
}

interface Named<T> {
    name: string;
    [key: string]: unknown;
    cluster?: T;
    user?: T;
    context?: T;
}

/** Reads a file path or inline base64 data of a kubeconfig field, relative to the kubeconfig's folder. */
function material(dir: string, file: unknown, data: unknown): Buffer | undefined {
    if (typeof data === "string") return Buffer.from(data, "base64");
    if (typeof file === "string") return fs.readFileSync(path.resolve(dir, file));
    return undefined;
}

/** A reader for the current context of `kubeconfig`; throws naming what the file lacks. */
export function kubeReader(kubeconfig: string, timeoutMs = 5000): KubeReader {
    const doc = parse(fs.readFileSync(kubeconfig, "utf8")) as {
        "current-context"?: string;
        contexts?: Named<{ cluster?: string; user?: string }>[];
        clusters?: Named<Record<string, string>>[];
        users?: Named<Record<string, string>>[];
    };
    const context = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
    const cluster = doc.clusters?.find((c) => c.name === context?.cluster)?.cluster;
    const user = doc.users?.find((u) => u.name === context?.user)?.user ?? {};
    if (context === undefined || cluster?.server === undefined) {
        throw new Error(`${kubeconfig}: no cluster server for the current context ${JSON.stringify(doc["current-context"])}`);
    }
    const dir = path.dirname(kubeconfig);
    const agent = new https.Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: material(dir, cluster["certificate-authority"], cluster["certificate-authority-data"]),
        cert: material(dir, user["client-certificate"], user["client-certificate-data"]),
        key: material(dir, user["client-key"], user["client-key-data"]),
    });
    const headers: Record<string, string> = { Accept: "application/json" };
    if (typeof user.token === "string") headers.Authorization = `Bearer ${user.token}`;
    const server = cluster.server.replace(/\/$/, "");
    const get = (apiPath: string): Promise<unknown> =>
        new Promise((resolve, reject) => {
            const req = https.get(`${server}${apiPath}`, { agent, headers, timeout: timeoutMs }, (res) => {
                let body = "";
                res.setEncoding("utf8");
                res.on("data", (d: string) => (body += d));
                res.on("end", () => {
                    if (res.statusCode !== 200) {
                        reject(new Error(`GET ${apiPath}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`));
                        return;
                    }
                    try {
                        resolve(JSON.parse(body));
                    } catch (e) {
                        reject(new Error(`GET ${apiPath}: not JSON: ${(e as Error).message}`));
                    }
                });
            });
            req.on("timeout", () => req.destroy(new Error(`GET ${apiPath}: no answer in ${timeoutMs} ms`)));
            req.on("error", reject);
        });
    return { server, get, close: () => agent.destroy() };
}
