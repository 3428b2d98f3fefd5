import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isHostname } from "../components/validation";

/** A generated certificate and key, for offline runs only. */
export interface TlsMaterial {
    /** Self-signed certificate (PEM) covering the hosts. */
    cert: string;
    /** Its private key (PEM). */
    key: string;
}

const cache = new Map<string, TlsMaterial>();

/**
 * Generates a self-signed certificate (valid 30 days) whose subjectAltName covers `hosts`, with
 * openssl. Used where a stack's real TLS material is encrypted or absent: the offline plan, the
 * policy check and the tests. Never used by `pulumi up`. Every host must be a DNS hostname
 * (`*.` allowed; `*` alone is skipped): nothing else reaches openssl's command line.
 */
export function generateTlsMaterial(hosts: string[], days = 30): TlsMaterial {
    const bad = hosts.find((h) => !isHostname(h));
    if (bad !== undefined) {
        throw new Error(
            `cannot generate test TLS material for ${JSON.stringify(bad)}: it is not a DNS hostname (a name such as myapp.example.com, or *.example.com)`,
        );
    }
    const names = hosts.filter((h) => h !== "*");
    const cacheKey = `${names.join(",")}|${days}`;
    const hit = cache.get(cacheKey);
    if (hit !== undefined) {
        return hit;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-tls-"));
    try {
        const cn = names.find((h) => !h.startsWith("*")) ?? "istio-canary.test";
        const san = (names.length > 0 ? names : [cn]).map((h) => `DNS:${h}`).join(",");
        const keyFile = path.join(dir, "key.pem");
        const certFile = path.join(dir, "cert.pem");
        try {
            execFileSync(
                "openssl",
                [
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    keyFile,
                    "-out",
                    certFile,
                    "-days",
                    String(days),
                    "-subj",
                    `/CN=${cn}`,
                    "-addext",
                    `subjectAltName=${san}`,
                ],
                { stdio: ["ignore", "ignore", "pipe"] },
            );
        } catch (e) {
            const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
            if (err.code === "ENOENT") {
                throw new Error("openssl is needed to generate test TLS material; install it (apt-get install openssl)");
            }
            throw new Error(`openssl could not generate test TLS material: ${err.stderr?.toString().trim() ?? err.message}`);
        }
        const material = { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
        cache.set(cacheKey, material);
        return material;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
