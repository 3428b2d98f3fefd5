import { X509Certificate, createPrivateKey, KeyObject } from "node:crypto";
import { PROJECT } from "./check";

/**
 * The message for config keys stored encrypted (`secure:`) that are not the TLS material; `keys` are
 * full keys or paths (`istio-canary:rollout.prometheusUrl`). Only tlsCert, tlsKey and notification
 * URLs may be secret: plan, policy, rollout and promote read the stack file, where an encrypted value
 * cannot be read (the rollout has the Pulumi CLI decrypt the notification URLs, notify/secrets.ts).
 */
export function encryptedKeyProblem(keys: string[]): string {
    return (
        `${keys.join(", ")} ${keys.length === 1 ? "is" : "are"} encrypted (secure:); only ${PROJECT}:tlsCert, ${PROJECT}:tlsKey ` +
        `and notification URLs (${PROJECT}:rollout.notifications[N].url) may be secrets. ` +
        `Every other key is read from the stack file in plain text (an encrypted one would be replaced by the defaults): set it without --secret`
    );
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const KEY_BLOCK = /^-----BEGIN ((RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+-----END \1-----\s*$/;

/**
 * Checks the TLS material before anything is created: both values are PEM, parse, the chain is in
 * order (each certificate issued by the next), no certificate is expired or not yet valid, the key
 * matches the first certificate, and every non-wildcard host is covered by it.
 * Returns one message per problem. Messages never contain the key or certificate text.
 */
export function validateTlsMaterial(cert: string | undefined, key: string | undefined, hosts: string[], now: Date = new Date()): string[] {
    const problems: string[] = [];
    const setCert = `pulumi config set --secret tlsCert -- "$(cat CA_chain.crt)"`;
    const setKey = `pulumi config set --secret tlsKey -- "$(cat server.key)"`;
    if (cert === undefined || cert.trim() === "") {
        problems.push(`${PROJECT}:tlsCert is missing; set the full certificate chain (PEM) with: ${setCert}`);
    }
    if (key === undefined || key.trim() === "") {
        problems.push(`${PROJECT}:tlsKey is missing; set the private key (PEM) with: ${setKey}`);
    }
    if (problems.length > 0) {
        return problems;
    }
    const certs: X509Certificate[] = [];
    const blocks = cert!.match(CERT_BLOCK) ?? [];
    const leftover = cert!.replace(CERT_BLOCK, "").trim();
    if (blocks.length === 0 || leftover !== "") {
        problems.push(
            `${PROJECT}:tlsCert is not a PEM certificate chain; it must contain only "-----BEGIN CERTIFICATE-----" blocks (leaf first, then intermediates, then root)`,
        );
    } else {
        blocks.forEach((block, i) => {
            try {
                certs.push(new X509Certificate(block));
            } catch (e) {
                problems.push(
                    `${PROJECT}:tlsCert certificate ${i + 1} of ${blocks.length} does not parse (${(e as Error).message}); it must be a valid X.509 certificate in PEM`,
                );
            }
        });
    }
    let privateKey: KeyObject | undefined;
    if (!KEY_BLOCK.test(key!.trim())) {
        problems.push(
            `${PROJECT}:tlsKey is not a PEM private key; it must be one "-----BEGIN PRIVATE KEY-----" (or RSA/EC PRIVATE KEY) block`,
        );
    } else if (/ENCRYPTED/.test(key!)) {
        problems.push(`${PROJECT}:tlsKey is an encrypted private key; Istio needs it unencrypted (it stays a Pulumi secret)`);
    } else {
        try {
            privateKey = createPrivateKey(key!);
        } catch (e) {
            problems.push(`${PROJECT}:tlsKey does not parse (${(e as Error).message.split("\n")[0]}); it must be a valid PEM private key`);
        }
    }
    if (certs.length !== blocks.length || certs.length === 0) {
        return problems;
    }
    certs.forEach((c, i) => {
        const which = i === 0 ? "the leaf certificate (certificate 1)" : `certificate ${i + 1} of the chain`;
        if (new Date(c.validTo) < now) {
            problems.push(
                `${PROJECT}:tlsCert ${which} (subject ${oneLine(c.subject)}) expired on ${new Date(c.validTo).toISOString()}; renew it`,
            );
        } else if (new Date(c.validFrom) > now) {
            problems.push(
                `${PROJECT}:tlsCert ${which} (subject ${oneLine(c.subject)}) is not valid before ${new Date(c.validFrom).toISOString()}`,
            );
        }
        if (i > 0 && !(certs[i - 1].checkIssued(c) && certs[i - 1].verify(c.publicKey))) {
            problems.push(
                `${PROJECT}:tlsCert certificate ${i + 1} (subject ${oneLine(c.subject)}) did not issue certificate ${i} (issuer ${oneLine(certs[i - 1].issuer)}); order the chain leaf > intermediates > root`,
            );
        }
    });
    if (privateKey !== undefined && !certs[0].checkPrivateKey(privateKey)) {
        problems.push(
            `${PROJECT}:tlsKey does not match the leaf certificate of tlsCert (subject ${oneLine(certs[0].subject)}); the key must be the one the first certificate was issued for`,
        );
    }
    for (const host of hosts) {
        if (!host.startsWith("*") && certs[0].checkHost(host) === undefined) {
            problems.push(
                `${PROJECT}:tlsCert leaf certificate (subject ${oneLine(certs[0].subject)}) does not cover host ${host} from ${PROJECT}:hosts; add it to the certificate's subjectAltName or fix hosts`,
            );
        }
    }
    return problems;
}

function oneLine(dn: string): string {
    return dn.split("\n").join(", ");
}
