#!/usr/bin/env node
// The `istio-canary` bin (package.json "bin"): runs cli/main.ts compiled (cli/compiled.js: the tree
// in build/ whose key matches the sources as they are, compiled first when there is none), or, when
// the sources do not type-check or ISTIO_CANARY_FROM_SOURCES=1 is set, the sources themselves
// through ts-node, type-stripped only (`npm test` type-checks), as before there was a build.
"use strict";
const path = require("node:path");

function fromSources() {
    require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
    return require("./main.ts");
}

function load() {
    if (process.env.ISTIO_CANARY_FROM_SOURCES === "1") {
        return fromSources();
    }
    const tty = process.stderr.isTTY === true;
    const build = require("./compiled").ensureBuild({ progress: tty ? (s) => process.stderr.write(`istio-canary: ${s}\n`) : undefined });
    if (build.dir === undefined) {
        if (tty) {
            const first = build.problems.split("\n")[0];
            process.stderr.write(`istio-canary: not compiled (${first}); running the sources through ts-node, which is slower\n`);
        }
        return fromSources();
    }
    process.setSourceMapsEnabled(true);
    return require(path.join(build.dir, "cli", "main.js"));
}

load()
    .main(process.argv.slice(2))
    .then((code) => process.exit(code));
