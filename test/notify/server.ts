/** A local HTTP server for the notification tests: records each request, answers as told. */
import * as http from "node:http";
import { AddressInfo } from "node:net";

/** One request the server received. */
export interface Received {
    method: string;
    path: string;
    contentType: string | undefined;
    body: unknown;
    /** Milliseconds since the server started. */
    at: number;
}

/** How the server answers: a status, after a delay, or never (the connection is held open). */
export interface Behaviour {
    status?: number;
    delayMs?: number;
    hang?: boolean;
}

/** A running local server. */
export interface LocalServer {
    url: string;
    port: number;
    received: Received[];
    behaviour: Behaviour;
    close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 at a free port. */
export async function startServer(behaviour: Behaviour = {}): Promise<LocalServer> {
    const received: Received[] = [];
    const began = Date.now();
    const open = new Set<http.ServerResponse>();
    const state = { behaviour };
    const server = http.createServer((req, res) => {
        let text = "";
        req.on("data", (c: Buffer) => (text += c.toString("utf8")));
        req.on("end", () => {
            let body: unknown = text;
            try {
                body = JSON.parse(text);
            } catch {
                // kept as text
            }
            received.push({
                method: req.method ?? "",
                path: req.url ?? "",
                contentType: req.headers["content-type"],
                body,
                at: Date.now() - began,
            });
            const b = state.behaviour;
            if (b.hang === true) {
                open.add(res);
                return;
            }
            setTimeout(() => res.writeHead(b.status ?? 200, { "content-type": "text/plain" }).end("ok"), b.delayMs ?? 0);
        });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    return {
        url: `http://127.0.0.1:${port}`,
        port,
        received,
        get behaviour() {
            return state.behaviour;
        },
        set behaviour(b: Behaviour) {
            state.behaviour = b;
        },
        close: () =>
            new Promise<void>((resolve) => {
                open.forEach((r) => r.destroy());
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** A port on 127.0.0.1 where nothing listens (a server was bound there and closed): connections are refused. */
export async function refusedPort(): Promise<number> {
    const s = await startServer();
    await s.close();
    return s.port;
}
