/**
 * The one way stack and project files are read: the file must be a readable regular file, its text
 * valid YAML of one document, and free of aliases and anchors. Everything wrong is a StackFileError
 * naming the file (and the line); nothing here throws a parser's or the file system's own error.
 *
 * Aliases are refused outright rather than resolved: no stack setting needs one, an unquoted
 * wildcard host (`- *.example.com`) is one by accident, and expanding them is how an alias bomb
 * exhausts memory.
 */
import * as fs from "node:fs";
import { Document, LineCounter, isAlias, isNode, parseDocument, visit } from "yaml";
import { StackFileError } from "./errors";

/**
 * The text of a stack or project file. `what` names the kind of file in messages ("stack file",
 * "project file"). Throws StackFileError when it is missing, not a regular file, or unreadable.
 */
export function readTextFile(file: string, what: string): string {
    let stat: fs.Stats;
    try {
        stat = fs.statSync(file);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") {
            throw new StackFileError(`${file} does not exist`);
        }
        throw new StackFileError(`${file} cannot be read: ${(e as Error).message}`);
    }
    if (stat.isDirectory()) {
        throw new StackFileError(`${file} is a directory; a ${what} must be a YAML file`);
    }
    if (!stat.isFile()) {
        throw new StackFileError(`${file} is not a regular file; a ${what} must be a YAML file`);
    }
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`${file} cannot be read: ${(e as Error).message}`);
    }
}

/**
 * Parses the text of `file` into a YAML Document with source ranges (for the stack-file editor)
 * after refusing syntax errors, several documents, aliases and anchors.
 */
export function parseYaml(text: string, file: string): Document {
    const lines = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: true, lineCounter: lines });
    if (doc.errors.length > 0) {
        throw new StackFileError(`${file} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`);
    }
    visit(doc, (_key, node) => {
        if (!isNode(node)) {
            return undefined;
        }
        const at = node.range?.[0] ?? 0;
        const where = `${file}:${lines.linePos(at).line}`;
        const rule = `stack files may not use aliases or anchors.`;
        if (isAlias(node)) {
            const written = `*${node.source}`;
            throw new StackFileError(
                `${where}: ${written} is a YAML alias; ${rule} A value that starts with "*" or "&", such as a wildcard host, must be quoted: "${written}"`,
            );
        }
        if (node.anchor !== undefined) {
            throw new StackFileError(
                `${where}: &${node.anchor} is a YAML anchor; ${rule} A value that starts with "*" or "&" must be quoted`,
            );
        }
        return undefined;
    });
    return doc;
}

/** Reads a YAML file into plain data (see parseYaml), with errors that name the file. */
export function readYamlData(file: string, what: string): unknown {
    return parseYaml(readTextFile(file, what), file).toJS();
}
