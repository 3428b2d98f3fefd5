#!/usr/bin/env node
// The `istio-canary` bin (package.json "bin"): runs cli/main.ts through ts-node, type-stripped
// only (`npm test` type-checks), so the command needs no build step after `npm ci`.
"use strict";
const path = require("node:path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("./main.ts")
    .main(process.argv.slice(2))
    .then((code) => process.exit(code));
