// Loaded by every mocha config before the specs: the run's temporary files (state dirs, stack files,
// Prometheus data, clusters) go under one directory of this run, which is removed when the run ends,
// so a test that forgets its own clean-up leaves nothing on disk. Child processes inherit TMPDIR.
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const root = fs.mkdtempSync(path.join(os.tmpdir(), "istio-canary-tests-"));
process.env.TMPDIR = root;
process.on("exit", () => fs.rmSync(root, { recursive: true, force: true }));
