import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StackFileError, loadStackConfig, readYamlFile } from "../../stack/load";

const ROOT = path.resolve(__dirname, "..", "..");

/** A temporary config directory with the project's Pulumi.yaml and one stack file `Pulumi.s.yaml` holding `text`. */
function stackDir(text: string): { dir: string; file: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-load-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const file = path.join(dir, "Pulumi.s.yaml");
    fs.writeFileSync(file, text);
    return { dir, file };
}

/** Loads stack `s` from a directory made by stackDir and returns the StackFileError's message. */
function refusal(text: string): { message: string; file: string } {
    const { dir, file } = stackDir(text);
    try {
        assert.throws(() => loadStackConfig("s", dir), StackFileError);
        try {
            loadStackConfig("s", dir);
        } catch (e) {
            return { message: (e as Error).message, file };
        }
        throw new Error("unreachable");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("stack/load", () => {
    describe("the shape of a stack file", () => {
        it("refuses config keys written without the config: wrapper, naming the first one", () => {
            const { message, file } = refusal(
                "istio-canary:versions:\n  - name: v1\n    image: r/a:v1\n    weight: 100\nistio-canary:hosts: [a.example.com]\n",
            );
            assert.equal(
                message,
                `${file}: "istio-canary:versions" is at the top level, where no stack setting is read; config keys go under "config:", indented below it`,
            );
        });

        it("refuses a top-level key that Pulumi stack files do not have, listing the ones they do", () => {
            const { message, file } = refusal("config: {}\nconfg:\n  istio-canary:hosts: [a.example.com]\n");
            assert.equal(
                message,
                `${file}: "confg" is not a key of a stack file; the top level may hold config, environment, secretsprovider, encryptedkey and encryptionsalt`,
            );
        });

        it("refuses an empty stack file and says how to write one that uses only the project's defaults", () => {
            for (const text of ["", "# nothing here yet\n", "---\n"]) {
                const { message, file } = refusal(text);
                assert.equal(
                    message,
                    `${file} is empty; a stack file holds its settings under "config:" (write "config: {}" for a stack that uses only Pulumi.yaml's defaults)`,
                );
            }
        });

        it("refuses a stack file whose top level is a list or a scalar", () => {
            const list = refusal("- istio-canary:hosts: [a.example.com]\n");
            assert.equal(
                list.message,
                `${list.file}: the top level is a list; a stack file is a map with a "config:" key holding the stack's settings`,
            );
            const scalar = refusal("just text\n");
            assert.equal(
                scalar.message,
                `${scalar.file}: the top level is a string; a stack file is a map with a "config:" key holding the stack's settings`,
            );
        });

        it("accepts a stack file holding only Pulumi's encryption salt, or an empty config", () => {
            for (const text of ["encryptionsalt: v1:abc=\n", "config:\n", "config: {}\nsecretsprovider: passphrase\n"]) {
                const { dir } = stackDir(text);
                try {
                    assert.equal(loadStackConfig("s", dir).raw.hosts !== undefined, true, text);
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            }
        });
    });

    describe("YAML aliases", () => {
        it("refuses an unquoted wildcard host, which YAML reads as an alias, and says to quote it", () => {
            const { message, file } = refusal("config:\n  istio-canary:hosts:\n    - *.example.com\n");
            assert.equal(
                message,
                `${file}:3: *.example.com is a YAML alias; stack files may not use aliases or anchors. ` +
                    `A value that starts with "*" or "&", such as a wildcard host, must be quoted: "*.example.com"`,
            );
        });

        it("refuses an alias bomb at its first anchor, before expanding it", () => {
            const levels = ["  a: &a [x, x, x, x, x, x, x, x, x]"];
            for (let i = 1; i < 9; i++) {
                const prev = String.fromCharCode(96 + i);
                const name = String.fromCharCode(97 + i);
                levels.push(`  ${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]`);
            }
            const { message, file } = refusal(`config:\n  istio-canary:app:\n  ${levels.join("\n  ")}\n`);
            assert.match(
                message,
                new RegExp(
                    `^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3: &a is a YAML anchor; stack files may not use aliases or anchors`,
                ),
            );
        });

        it("refuses aliases in Pulumi.yaml too, naming it", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-load-"));
            try {
                const file = path.join(dir, "Pulumi.yaml");
                fs.writeFileSync(file, "name: istio-canary\nconfig:\n  hosts:\n    default:\n      - *.example.com\n");
                assert.throws(() => readYamlFile(file), {
                    name: "StackFileError",
                    message: `${file}:5: *.example.com is a YAML alias; stack files may not use aliases or anchors. A value that starts with "*" or "&", such as a wildcard host, must be quoted: "*.example.com"`,
                });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("files that are not files", () => {
        it("names a stack file that is a directory", () => {
            const { dir, file } = stackDir("");
            try {
                fs.rmSync(file);
                fs.mkdirSync(file);
                assert.throws(
                    () => loadStackConfig("s", dir),
                    new StackFileError(`${file} is a directory; a stack file must be a YAML file`),
                );
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("names a Pulumi.yaml that is a directory", () => {
            const { dir } = stackDir("config: {}\n");
            try {
                const project = path.join(dir, "Pulumi.yaml");
                fs.rmSync(project);
                fs.mkdirSync(project);
                assert.throws(
                    () => loadStackConfig("s", dir),
                    new StackFileError(`${project} is a directory; a project file must be a YAML file`),
                );
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });

    describe("encrypted values", () => {
        it("refuses an encrypted rollout block, naming the key and the only keys that may be secret", () => {
            const { message, file } = refusal("config:\n  istio-canary:rollout:\n    secure: v1:AAAA\n");
            assert.equal(
                message,
                `${file}: istio-canary:rollout is encrypted (secure:); only istio-canary:tlsCert, istio-canary:tlsKey ` +
                    `and notification URLs (istio-canary:rollout.notifications[N].url) may be secrets. ` +
                    `Every other key is read from the stack file in plain text (an encrypted one would be replaced by the defaults): set it without --secret`,
            );
        });

        it("refuses encrypted versions and an encrypted value inside an object, naming each path", () => {
            const { message, file } = refusal(
                "config:\n  istio-canary:versions:\n    secure: v1:AAAA\n  istio-canary:rollout:\n    steps: [10, 100]\n    prometheusUrl:\n      secure: v1:BBBB\n",
            );
            assert.ok(
                message.startsWith(`${file}: istio-canary:versions, istio-canary:rollout.prometheusUrl are encrypted (secure:); only `),
                message,
            );
        });

        it("keeps an encrypted notification URL as it is for validation, and refuses any other encrypted field of a target", () => {
            const ok = stackDir(
                "config:\n  istio-canary:rollout:\n    notifications:\n      - name: chat\n        url:\n          secure: v1:AAAA\n",
            );
            try {
                const loaded = loadStackConfig("s", ok.dir);
                assert.deepEqual(loaded.raw.rollout, { notifications: [{ name: "chat", url: { secure: "v1:AAAA" } }] });
            } finally {
                fs.rmSync(ok.dir, { recursive: true, force: true });
            }
            const { message, file } = refusal(
                "config:\n  istio-canary:rollout:\n    notifications:\n      - name:\n          secure: v1:AAAA\n        url:\n          secure: v1:BBBB\n",
            );
            assert.ok(message.startsWith(`${file}: istio-canary:rollout.notifications[0].name is encrypted (secure:); only `), message);
        });

        it("keeps encrypted TLS keys as secure and other namespaces' secrets as [secret]", () => {
            const { dir } = stackDir(
                "config:\n  istio-canary:tlsCert:\n    secure: v1:AAAA\n  istio-canary:tlsKey:\n    secure: v1:BBBB\n  kubernetes:token:\n    secure: v1:CCCC\n",
            );
            try {
                const loaded = loadStackConfig("s", dir);
                assert.deepEqual(loaded.secure, ["tlsCert", "tlsKey"]);
                assert.deepEqual(loaded.other, { "kubernetes:token": "[secret]" });
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
