/**
 * Edits the `istio-canary:versions` list of a Pulumi.<stack>.yaml in place.
 *
 * The `yaml` Document API finds the nodes and their source ranges; the edit replaces only the
 * text of what changes (a weight scalar, one list item, or the appended key), so comments, key
 * order, quoting, flow collections and alignment everywhere else stay byte-identical. The file
 * is never re-serialised from plain data. Every edit is checked before it is written: the
 * result is re-parsed and must hold exactly the intended versions and, apart from them, the
 * same data as before; the new list must pass config/validate.ts.
 *
 * Files are read as the loader reads them (stack/yaml.ts: no aliases, not a directory; the top
 * level as stack/load.ts checkStackFileShape wants it). Each line keeps its own line ending; added
 * lines take the ending most of the file's lines have. Every read-modify-write of a file holds its
 * lock (stack/lock.ts), so concurrent commands never lose each other's edits, and a symlinked
 * stack file is edited where it points.
 */
import * as path from "node:path";
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import { Document, Pair, YAMLMap, YAMLSeq, isMap, isScalar, isSeq, parseDocument, stringify } from "yaml";
import { ConfigError, PROJECT } from "../config/check";
import { validateConfig } from "../config/validate";
import { Version } from "../components/version";
import { writeFileAtomic } from "./atomic-write";
import { StackFileError, checkStackFileShape, readProjectDefaults } from "./load";
import { withFileLock } from "./lock";
import { parseYaml, readTextFile } from "./yaml";

/** The full key of the versions list in a stack file. */
export const VERSIONS_KEY = `${PROJECT}:versions`;

/** One entry of `istio-canary:versions`, as written in the stack file: the components' one version type. */
export type VersionEntry = Version;

/** Options of every edit. */
export interface EditOptions {
    /** Write the result to the file (atomically). Default true; false computes the change only (dry run). */
    write?: boolean;
    /** How long to wait, in ms, while another process edits the same file (holds its lock). Default 10000. */
    lockTimeoutMs?: number;
}

/** Options of addVersion. */
export interface AddVersionOptions extends EditOptions {
    /** Where the new entry goes. Default and only value: "end", after the last entry. */
    position?: "end";
}

/** The file's text before and after an edit; equal when the edit changed nothing (then nothing is written). */
export interface StackFileEdit {
    /** The text the edit started from. */
    before: string;
    /** The text after the edit (written unless the edit was a dry run). */
    after: string;
}

/** One change to the versions list, as applied by editVersionsText. */
export type VersionsEdit =
    { kind: "setWeights"; weights: Record<string, number> } | { kind: "remove"; name: string } | { kind: "add"; entry: VersionEntry };

/**
 * The versions a stack runs: the stack file's `istio-canary:versions`, or, when the file does
 * not set it, the default declared in the Pulumi.yaml next to it.
 * Throws StackFileError when a file is missing, is not YAML, or the list is malformed.
 */
export function readVersions(stackFile: string): VersionEntry[] {
    const text = readStackText(stackFile);
    const doc = parseStack(text, stackFile);
    const found = locate(doc, stackFile);
    if (found.seq === undefined) {
        return inheritedVersions(stackFile);
    }
    return toEntries(found.seq.toJS(doc), stackFile).map(entryOf);
}

/**
 * Sets the weights of the named versions; the others keep theirs. Every named version must exist,
 * each weight must be an integer 0-100 and the resulting weights must sum to 100.
 */
export function setWeights(stackFile: string, weights: Record<string, number>, opts: EditOptions = {}): StackFileEdit {
    return editStackFile(stackFile, { kind: "setWeights", weights }, opts);
}

/** Removes the named version; the remaining weights must still sum to 100 (remove a version at weight 0). */
export function removeVersion(stackFile: string, name: string, opts: EditOptions = {}): StackFileEdit {
    return editStackFile(stackFile, { kind: "remove", name }, opts);
}

/**
 * Appends a version after the last entry. Its name must be new and the weights must still sum
 * to 100 (add a canary at weight 0). When the stack file does not set `istio-canary:versions`
 * (it inherits Pulumi.yaml's default), the full list is written explicitly.
 */
export function addVersion(stackFile: string, entry: VersionEntry, opts: AddVersionOptions = {}): StackFileEdit {
    if ((opts.position ?? "end") !== "end") {
        throw new StackFileError(`addVersion: position ${JSON.stringify(opts.position)} is not supported; use "end"`);
    }
    return editStackFile(stackFile, { kind: "add", entry }, opts);
}

/**
 * Applies one edit to a stack file and, unless `write` is false, writes the result atomically.
 * A write reads, edits and writes under the file's lock (waiting up to `lockTimeoutMs` for another
 * editor), so no concurrent edit is lost; a dry run takes no lock.
 */
export function editStackFile(stackFile: string, edit: VersionsEdit, opts: EditOptions = {}): StackFileEdit {
    const compute = (): StackFileEdit => {
        const before = readStackText(stackFile);
        return { before, after: editVersionsText(before, edit, { file: stackFile, inherited: () => inheritedVersions(stackFile) }) };
    };
    if (!(opts.write ?? true)) {
        return compute();
    }
    // Read once outside the lock so that a missing or unusable file is reported as such.
    readStackText(stackFile);
    return withFileLock(
        stackFile,
        () => {
            const result = compute();
            if (result.after !== result.before) {
                writeFileAtomic(stackFile, result.after);
            }
            return result;
        },
        { timeoutMs: opts.lockTimeoutMs },
    );
}

/** Where editVersionsText's file name and the inherited default list come from. */
export interface EditContext {
    /** File name used in error messages. */
    file: string;
    /** The Pulumi.yaml default list, read only when the text does not set `istio-canary:versions`. */
    inherited: () => VersionEntry[];
}

/**
 * The pure form of every edit: the text of a stack file after `edit`. Throws StackFileError when
 * the edit is not possible (unknown or duplicate name, weights that would not sum to 100, a list
 * written in a form this editor does not splice) and never returns a text that fails the checks
 * described at the top of this file.
 */
export function editVersionsText(text: string, edit: VersionsEdit, ctx: EditContext): string {
    const eol = lineEnding(text);
    const doc = parseStack(text, ctx.file);
    const found = locate(doc, ctx.file);
    const current: Record<string, unknown>[] =
        found.seq === undefined ? ctx.inherited().map(plainEntry) : toEntries(found.seq.toJS(doc), ctx.file);
    const next = applyToList(current, edit, ctx.file);
    checkList(next, edit, ctx.file);
    if (JSON.stringify(next) === JSON.stringify(current)) {
        return text;
    }

    let out: string;
    if (found.seq === undefined) {
        out = appendVersionsKey(text, found, next, ctx.file, eol);
    } else if (edit.kind === "setWeights") {
        out = spliceWeights(text, found.seq, edit.weights, ctx.file);
    } else if (found.seq.flow) {
        throw new StackFileError(
            `${ctx.file}: ${VERSIONS_KEY} is written in flow style ([...]); write it as a block list ("- name: ...") so entries can be added or removed without reformatting it`,
        );
    } else if (edit.kind === "remove") {
        out = spliceRemove(text, found.seq, edit.name, ctx.file);
    } else {
        out = spliceAdd(text, found.seq, next[next.length - 1], ctx.file, eol);
    }
    verify(text, out, next, ctx.file);
    return out;
}

/** The line ending most lines of `text` have ("\r\n" or "\n"); added lines use it. */
function lineEnding(text: string): string {
    const crlf = text.split("\r\n").length - 1;
    const lf = text.split("\n").length - 1 - crlf;
    return crlf > lf ? "\r\n" : "\n";
}

/** A unified diff of one file's change, with `a/` and `b/` file headers; empty when nothing changed. */
export function unifiedDiff(file: string, before: string, after: string): string {
    if (before === after) {
        return "";
    }
    const name = path.basename(file);
    return createTwoFilesPatch(`a/${name}`, `b/${name}`, before, after, undefined, undefined, { headerOptions: FILE_HEADERS_ONLY });
}

// ---------------------------------------------------------------------------------------------

/** What locate finds in a stack document. */
interface Located {
    /** The top-level map, if the document has one. */
    root?: YAMLMap;
    /** The `config:` pair, if present. */
    configPair?: Pair;
    /** The config map, if `config:` holds one. */
    config?: YAMLMap;
    /** The versions list, if the stack sets it. */
    seq?: YAMLSeq;
}

function readStackText(stackFile: string): string {
    return readTextFile(stackFile, "stack file");
}

/** Parses as the loader does; an empty text is allowed here (an edit gives it a config map). */
function parseStack(text: string, file: string): Document {
    const doc = parseYaml(text, file);
    const data: unknown = doc.toJS();
    if (data !== null && data !== undefined) {
        checkStackFileShape(data, file);
    }
    return doc;
}

function keyIs(pair: Pair, key: string): boolean {
    return isScalar(pair.key) && pair.key.value === key;
}

function locate(doc: Document, file: string): Located {
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null)) {
        return {};
    }
    if (!isMap(contents)) {
        throw new StackFileError(`${file}: the top level must be a map with a "config" key`);
    }
    const root = contents as YAMLMap;
    const configPair = root.items.find((p) => keyIs(p, "config"));
    if (configPair === undefined || configPair.value === null || (isScalar(configPair.value) && configPair.value.value === null)) {
        return { root, configPair };
    }
    if (!isMap(configPair.value)) {
        throw new StackFileError(`${file}: "config" must be a map of keys to values`);
    }
    const config = configPair.value as YAMLMap;
    const versionsPair = config.items.find((p) => keyIs(p, VERSIONS_KEY));
    if (versionsPair === undefined) {
        return { root, configPair, config };
    }
    if (!isSeq(versionsPair.value)) {
        throw new StackFileError(`${file}: ${VERSIONS_KEY} must be a list of {name, image, replicas, weight} entries`);
    }
    return { root, configPair, config, seq: versionsPair.value as YAMLSeq };
}

function inheritedVersions(stackFile: string): VersionEntry[] {
    const { file, defaults } = readProjectDefaults(path.dirname(stackFile));
    if (defaults.versions === undefined) {
        throw new StackFileError(`${stackFile} does not set ${VERSIONS_KEY} and ${file} declares no default for it`);
    }
    return toEntries(defaults.versions, file).map(entryOf);
}

/** Checks the shape of a versions list (not its values; validateConfig does that on writes). */
function toEntries(value: unknown, file: string): Record<string, unknown>[] {
    if (!Array.isArray(value)) {
        throw new StackFileError(`${file}: ${VERSIONS_KEY} must be a list of {name, image, replicas, weight} entries`);
    }
    return value.map((e: unknown, i) => {
        const where = `${file}: ${VERSIONS_KEY}[${i}]`;
        if (e === null || typeof e !== "object" || Array.isArray(e)) {
            throw new StackFileError(`${where} must be a map with name, image, replicas and weight`);
        }
        const r = e as Record<string, unknown>;
        if (typeof r.name !== "string" || typeof r.image !== "string") {
            throw new StackFileError(`${where} needs a string name and image`);
        }
        if (typeof r.weight !== "number") {
            throw new StackFileError(`${where} (${r.name}) needs a numeric weight`);
        }
        if (r.replicas !== undefined && typeof r.replicas !== "number") {
            throw new StackFileError(`${where} (${r.name}) has a non-numeric replicas`);
        }
        return r;
    });
}

function entryOf(r: Record<string, unknown>): VersionEntry {
    const e: VersionEntry = { name: r.name as string, image: r.image as string, weight: r.weight as number };
    if (r.replicas !== undefined) {
        e.replicas = r.replicas as number;
    }
    return e;
}

/** An entry as plain data in the order name, image, replicas, weight, without an unset replicas. */
function plainEntry(e: VersionEntry): Record<string, unknown> {
    const r: Record<string, unknown> = { name: e.name, image: e.image };
    if (e.replicas !== undefined) {
        r.replicas = e.replicas;
    }
    r.weight = e.weight;
    return r;
}

function applyToList(current: Record<string, unknown>[], edit: VersionsEdit, file: string): Record<string, unknown>[] {
    const names = current.map((e) => e.name as string);
    const list = current.map((e) => ({ ...e }));
    switch (edit.kind) {
        case "setWeights": {
            for (const [name, weight] of Object.entries(edit.weights)) {
                if (!names.includes(name)) {
                    throw new StackFileError(`${file}: cannot set the weight of ${name}: ${VERSIONS_KEY} has ${names.join(", ")}`);
                }
                if (!Number.isInteger(weight) || weight < 0 || weight > 100) {
                    throw new StackFileError(`${file}: weight ${JSON.stringify(weight)} for ${name} is not an integer from 0 to 100`);
                }
                for (const e of list.filter((x) => x.name === name)) {
                    e.weight = weight;
                }
            }
            return list;
        }
        case "remove": {
            if (!names.includes(edit.name)) {
                throw new StackFileError(`${file}: cannot remove ${edit.name}: ${VERSIONS_KEY} has ${names.join(", ")}`);
            }
            return list.filter((e) => e.name !== edit.name);
        }
        case "add": {
            if (names.includes(edit.entry.name)) {
                throw new StackFileError(
                    `${file}: cannot add ${edit.entry.name}: ${VERSIONS_KEY} already has a version named ${edit.entry.name}`,
                );
            }
            const last = current[current.length - 1];
            return [...list, orderLike(plainEntry(edit.entry), last)];
        }
    }
}

/** The entry's fields in the order the previous entry writes them; fields it lacks follow in their own order. */
function orderLike(entry: Record<string, unknown>, model: Record<string, unknown> | undefined): Record<string, unknown> {
    const keys = Object.keys(model ?? {}).filter((k) => k in entry);
    for (const k of Object.keys(entry)) {
        if (!keys.includes(k)) {
            keys.push(k);
        }
    }
    return Object.fromEntries(keys.map((k) => [k, entry[k]]));
}

function checkList(next: Record<string, unknown>[], edit: VersionsEdit, file: string): void {
    try {
        validateConfig({ versions: next });
    } catch (e) {
        if (!(e instanceof ConfigError)) {
            throw e;
        }
        const what =
            edit.kind === "setWeights"
                ? "setting the weights"
                : edit.kind === "remove"
                  ? `removing ${edit.name}`
                  : `adding ${edit.entry.name}`;
        throw new StackFileError(`${file}: ${what} would leave ${VERSIONS_KEY} invalid:\n${e.problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

function lineStart(text: string, pos: number): number {
    return text.lastIndexOf("\n", pos - 1) + 1;
}

/** The offset just past the newline that ends the line holding the character before `pos`. */
function endOfLine(text: string, pos: number): number {
    if (pos > 0 && text[pos - 1] === "\n") {
        return pos;
    }
    const nl = text.indexOf("\n", pos);
    return nl < 0 ? text.length : nl + 1;
}

/** Where a node's content ends (its value, without comments after it). */
function valueEnd(node: unknown, file: string): number {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range === undefined) {
        throw new StackFileError(`${file}: cannot locate a node of ${VERSIONS_KEY} in the source`);
    }
    return range[1];
}

/** The offset of the `-` that starts a block sequence item. */
function dashOf(text: string, item: unknown, file: string): number {
    const start = (item as { range: [number, number, number] }).range[0];
    let i = start - 1;
    while (i >= 0 && (text[i] === " " || text[i] === "\n" || text[i] === "\r")) {
        i--;
    }
    if (text[i] !== "-") {
        throw new StackFileError(
            `${file}: an entry of ${VERSIONS_KEY} is written in a form this editor does not splice (comment or tag between "-" and the entry)`,
        );
    }
    return i;
}

/** The offset just past an item's last content line. */
function itemEnd(text: string, item: unknown, file: string): number {
    if (!isMap(item) || item.items.length === 0) {
        return endOfLine(text, valueEnd(item, file));
    }
    const last = item.items[item.items.length - 1];
    return endOfLine(text, valueEnd(last.value ?? last.key, file));
}

function renderScalar(value: unknown, file: string): string {
    const text = stringify(value, { lineWidth: 0 }).replace(/\n$/, "");
    if (text.includes("\n")) {
        throw new StackFileError(`${file}: value ${JSON.stringify(value)} cannot be written on one line`);
    }
    return text;
}

/** The lines of one block list item: `-` at dashCol, keys at keyCol, each ended by `eol`. */
function itemText(entry: Record<string, unknown>, dashCol: number, keyCol: number, file: string, eol: string): string {
    return Object.entries(entry)
        .map(
            ([k, v], i) =>
                (i === 0 ? " ".repeat(dashCol) + "-" + " ".repeat(keyCol - dashCol - 1) : " ".repeat(keyCol)) +
                `${k}: ${renderScalar(v, file)}${eol}`,
        )
        .join("");
}

function spliceWeights(text: string, seq: YAMLSeq, weights: Record<string, number>, file: string): string {
    const edits: { from: number; to: number; text: string }[] = [];
    for (const item of seq.items) {
        if (!isMap(item)) {
            continue;
        }
        const name = item.get("name");
        if (typeof name !== "string" || !(name in weights)) {
            continue;
        }
        const pair = item.items.find((p) => keyIs(p as Pair, "weight")) as Pair | undefined;
        if (pair === undefined || !isScalar(pair.value) || pair.value.range === undefined || pair.value.range === null) {
            throw new StackFileError(`${file}: ${name} in ${VERSIONS_KEY} has no weight to set`);
        }
        const [from, to] = pair.value.range;
        const rendered = String(weights[name]);
        if (text.slice(from, to) !== rendered) {
            edits.push({ from, to, text: rendered });
        }
    }
    return applyEdits(text, edits);
}

function applyEdits(text: string, edits: { from: number; to: number; text: string }[]): string {
    let out = text;
    for (const e of [...edits].sort((a, b) => b.from - a.from)) {
        out = out.slice(0, e.from) + e.text + out.slice(e.to);
    }
    return out;
}

function spliceRemove(text: string, seq: YAMLSeq, name: string, file: string): string {
    const item = seq.items.find((i) => isMap(i) && i.get("name") === name);
    const from = lineStart(text, dashOf(text, item, file));
    return text.slice(0, from) + text.slice(itemEnd(text, item, file));
}

function spliceAdd(text: string, seq: YAMLSeq, entry: Record<string, unknown>, file: string, eol: string): string {
    const last = seq.items[seq.items.length - 1];
    const dash = dashOf(text, last, file);
    const dashCol = dash - lineStart(text, dash);
    const start = (last as { range: [number, number, number] }).range[0];
    const keyCol = lineStart(text, start) === lineStart(text, dash) ? start - lineStart(text, start) : dashCol + 2;
    const at = itemEnd(text, last, file);
    const glue = at > 0 && text[at - 1] !== "\n" ? eol : "";
    return text.slice(0, at) + glue + itemText(entry, dashCol, keyCol, file, eol) + text.slice(at);
}

/** Writes `istio-canary:versions:` with the whole list at the end of the config map (creating `config:` if needed). */
function appendVersionsKey(text: string, found: Located, list: Record<string, unknown>[], file: string, eol: string): string {
    const block = (keyCol: number): string =>
        " ".repeat(keyCol) + `${VERSIONS_KEY}:${eol}` + list.map((e) => itemText(e, keyCol + 2, keyCol + 4, file, eol)).join("");
    if (found.config !== undefined) {
        if (found.config.flow) {
            throw new StackFileError(
                `${file}: "config" is written in flow style ({...}); write it as a block map so ${VERSIONS_KEY} can be added`,
            );
        }
        const first = found.config.items[0];
        const keyStart = (first.key as { range: [number, number, number] }).range[0];
        const keyCol = keyStart - lineStart(text, keyStart);
        const last = found.config.items[found.config.items.length - 1];
        const at = endOfLine(text, valueEnd(last.value ?? last.key, file));
        const glue = at > 0 && text[at - 1] !== "\n" ? eol : "";
        return text.slice(0, at) + glue + block(keyCol) + text.slice(at);
    }
    if (found.configPair !== undefined) {
        // `config:` with no value: the list goes on the lines after the key.
        const keyEnd = valueEnd(found.configPair.key, file);
        const valueNode = found.configPair.value as { range?: [number, number, number] } | null;
        const replaceTo = valueNode?.range != null ? valueNode.range[1] : keyEnd;
        const at = endOfLine(text, replaceTo);
        const head = text.slice(0, at);
        return head + (head.endsWith("\n") ? "" : eol) + block(2) + text.slice(at);
    }
    const glue = text.length > 0 && !text.endsWith("\n") ? eol : "";
    return text + glue + `config:${eol}` + block(2);
}

/** Re-parses the result: it must hold exactly `next` as the versions and otherwise the same data as `before`. */
function verify(before: string, after: string, next: Record<string, unknown>[], file: string): void {
    const parsed = parseDocument(after);
    const fail = (why: string): never => {
        throw new StackFileError(`${file}: internal error, the edit would ${why}; nothing was written`);
    };
    if (parsed.errors.length > 0) {
        fail(`not be valid YAML (${parsed.errors[0].message.split("\n")[0]})`);
    }
    const newData = (parsed.toJS() ?? {}) as Record<string, unknown>;
    const oldData = (parseDocument(before).toJS() ?? {}) as Record<string, unknown>;
    const newConfig = { ...((newData.config ?? {}) as Record<string, unknown>) };
    const oldConfig = { ...((oldData.config ?? {}) as Record<string, unknown>) };
    if (JSON.stringify(newConfig[VERSIONS_KEY]) !== JSON.stringify(next)) {
        fail(`write ${JSON.stringify(newConfig[VERSIONS_KEY])} instead of ${JSON.stringify(next)}`);
    }
    delete newConfig[VERSIONS_KEY];
    delete oldConfig[VERSIONS_KEY];
    if (JSON.stringify({ ...newData, config: newConfig }) !== JSON.stringify({ ...oldData, config: oldConfig })) {
        fail("change more than the versions");
    }
}

/**
 * Writes `after` atomically, but only while the file still holds `before`; otherwise throws
 * StackFileError and writes nothing (someone else changed the file since it was read). The
 * comparison and the write happen under the file's lock, so no other editor can write in between.
 */
export function writeIfUnchanged(file: string, before: string, after: string, opts: { lockTimeoutMs?: number } = {}): void {
    readStackText(file);
    withFileLock(
        file,
        () => {
            if (readStackText(file) !== before) {
                throw new StackFileError(`${file} changed while it was being edited; nothing was written, run the command again`);
            }
            writeFileAtomic(file, after);
        },
        { timeoutMs: opts.lockTimeoutMs },
    );
}
