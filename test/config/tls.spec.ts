import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateTlsMaterial } from "../../config";
import { generateTlsMaterial } from "../../offline/self-signed-tls";
import { runProgramOffline } from "../../offline/run";
import { loadStackConfig } from "../../stack/load";

const HOSTS = ["a.example.com"];

/** A CA and a leaf it issued, made with openssl. */
function chain(): { leaf: string; leafKey: string; ca: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tls-chain-"));
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "30"];
    execFileSync("openssl", ["req", "-x509", ...ec, "-keyout", `${dir}/ca.key`, "-out", `${dir}/ca.pem`, "-subj", "/CN=Test CA"], {
        stdio: "ignore",
    });
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            ...ec,
            "-keyout",
            `${dir}/leaf.key`,
            "-out",
            `${dir}/leaf.pem`,
            "-subj",
            "/CN=a.example.com",
            "-addext",
            "subjectAltName=DNS:a.example.com",
            "-CA",
            `${dir}/ca.pem`,
            "-CAkey",
            `${dir}/ca.key`,
        ],
        { stdio: "ignore" },
    );
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    const result = { leaf: read("leaf.pem"), leafKey: read("leaf.key"), ca: read("ca.pem") };
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
}

describe("TLS material checks", () => {
    const good = generateTlsMaterial(HOSTS);
    const other = generateTlsMaterial(["b.example.com"]);

    it("accepts a valid certificate with its key", () => {
        assert.deepEqual(validateTlsMaterial(good.cert, good.key, HOSTS), []);
    });

    it("accepts a chain in order, leaf first", () => {
        const c = chain();
        assert.deepEqual(validateTlsMaterial(c.leaf + c.ca, c.leafKey, HOSTS), []);
    });

    it("rejects a chain out of order, naming the certificates", () => {
        const c = chain();
        const problems = validateTlsMaterial(c.ca + c.leaf, c.leafKey, HOSTS);
        assert.ok(
            problems.some((p) => /^istio-canary:tlsCert certificate 2 \(subject CN=a.example.com\) did not issue certificate 1/.test(p)),
            problems.join("\n"),
        );
    });

    it("rejects a chain whose next certificate has the issuer's name but did not sign it", () => {
        const mine = chain();
        const impostor = chain(); // another CA with the same name, "Test CA"
        const problems = validateTlsMaterial(mine.leaf + impostor.ca, mine.leafKey, HOSTS);
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^istio-canary:tlsCert certificate 2 \(subject CN=Test CA\) did not issue certificate 1/);
    });

    it("rejects missing values with the command that sets them", () => {
        assert.deepEqual(validateTlsMaterial(undefined, good.key, HOSTS), [
            'istio-canary:tlsCert is missing; set the full certificate chain (PEM) with: pulumi config set --secret tlsCert -- "$(cat CA_chain.crt)"',
        ]);
    });

    it("rejects a certificate that is not PEM", () => {
        assert.deepEqual(validateTlsMaterial("not a certificate", good.key, HOSTS), [
            'istio-canary:tlsCert is not a PEM certificate chain; it must contain only "-----BEGIN CERTIFICATE-----" blocks (leaf first, then intermediates, then root)',
        ]);
    });

    it("rejects a PEM block that does not parse", () => {
        const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        const problems = validateTlsMaterial(broken, good.key, HOSTS);
        assert.equal(problems.length, 1);
        assert.match(
            problems[0],
            /^istio-canary:tlsCert certificate 1 of 1 does not parse \(.+\); it must be a valid X.509 certificate in PEM$/,
        );
    });

    it("rejects a key that is not PEM, without echoing it", () => {
        const problems = validateTlsMaterial(good.cert, "secret-key-material", HOSTS);
        assert.equal(problems.length, 1);
        assert.match(problems[0], /^istio-canary:tlsKey is not a PEM private key/);
        assert.doesNotMatch(problems[0], /secret-key-material/);
    });

    it("rejects an expired certificate", () => {
        const inSixtyDays = new Date(Date.now() + 60 * 86400_000);
        const problems = validateTlsMaterial(good.cert, good.key, HOSTS, inSixtyDays);
        assert.equal(problems.length, 1);
        assert.match(
            problems[0],
            /^istio-canary:tlsCert the leaf certificate \(certificate 1\) \(subject CN=a.example.com\) expired on .+; renew it$/,
        );
    });

    it("rejects a key that does not match the certificate", () => {
        const problems = validateTlsMaterial(good.cert, other.key, HOSTS);
        assert.deepEqual(problems, [
            "istio-canary:tlsKey does not match the leaf certificate of tlsCert (subject CN=a.example.com); the key must be the one the first certificate was issued for",
        ]);
        assert.doesNotMatch(problems[0], /PRIVATE KEY/);
    });

    it("rejects a certificate that does not cover a configured host", () => {
        assert.deepEqual(validateTlsMaterial(good.cert, good.key, ["a.example.com", "c.example.com"]), [
            "istio-canary:tlsCert leaf certificate (subject CN=a.example.com) does not cover host c.example.com from istio-canary:hosts; add it to the certificate's subjectAltName or fix hosts",
        ]);
    });

    it("stops the program when the TLS key is not stored as a secret", async () => {
        const raw = { ...loadStackConfig("dev").raw, hosts: HOSTS };
        await assert.rejects(
            runProgramOffline(raw, { tls: { cert: good.cert, key: good.key, plain: true } }),
            /istio-canary:tlsKey is stored in plain text in the stack.s config; remove it from the file \(and from git history\), rotate it, and set it as a secret with: pulumi config set --secret tlsKey/,
        );
    });
});
