import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readVersions, setWeights } from "../../stack/edit";
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
});
