import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addVersion, readVersions, setWeights } from "../../stack/edit";
import { StackFileError } from "../../stack/load";

const ROOT = path.resolve(__dirname, "..", "..");

const TWO =
    "config:\n  istio-canary:versions:\n    - name: v1\n      image: r/a:v1\n      weight: 90\n    - name: v2\n      image: r/a:v2\n      weight: 10\n";

describe("stack files: safe edits", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-safety-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    });
    afterEach(() => {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    function write(name: string, text: string): string {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
    }

    describe("files the editor refuses, as the loader does", () => {
        it("refuses versions written without the config: wrapper instead of reading the project default", () => {
            const file = write("Pulumi.s.yaml", TWO.replace("config:\n  ", "").replace(/\n {2}/g, "\n"));
            const message = `${file}: "istio-canary:versions" is at the top level, where no stack setting is read; config keys go under "config:", indented below it`;
            assert.throws(() => readVersions(file), new StackFileError(message));
            assert.throws(() => setWeights(file, { v1: 100 }), new StackFileError(message));
        });

        it("refuses an alias in the versions list with the loader's sentence", () => {
            const file = write(
                "Pulumi.s.yaml",
                "config:\n  istio-canary:versions:\n    - &one { name: v1, image: r/a:v1, weight: 100 }\n    - *one\n",
            );
            assert.throws(() => readVersions(file), {
                name: "StackFileError",
                message: `${file}:3: &one is a YAML anchor; stack files may not use aliases or anchors. A value that starts with "*" or "&" must be quoted`,
            });
        });

        it("names a stack file that is a directory", () => {
            const file = path.join(dir, "Pulumi.s.yaml");
            fs.mkdirSync(file);
            assert.throws(
                () => setWeights(file, { v1: 100 }),
                new StackFileError(`${file} is a directory; a stack file must be a YAML file`),
            );
        });
    });

    describe("line endings", () => {
        it("keeps each line's own ending in a file that mixes CRLF and LF, changing only the weights", () => {
            const text =
                "# written on Windows\r\nconfig:\r\n  istio-canary:versions:\n    - name: v1\r\n      image: r/a:v1\n      weight: 90\n    - name: v2\r\n      image: r/a:v2\r\n      weight: 10\r\n";
            const file = write("Pulumi.s.yaml", text);
            setWeights(file, { v1: 50, v2: 50 });
            assert.equal(fs.readFileSync(file, "utf8"), text.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50"));
        });

        it("writes an added version with the line ending the file uses", () => {
            const file = write("Pulumi.s.yaml", TWO.replace(/\n/g, "\r\n"));
            addVersion(file, { name: "v3", image: "r/a:v3", weight: 0 });
            const after = fs.readFileSync(file, "utf8");
            assert.ok(after.endsWith("    - name: v3\r\n      image: r/a:v3\r\n      weight: 0\r\n"), JSON.stringify(after));
            assert.doesNotMatch(after, /[^\r]\n/);
        });
    });
});
