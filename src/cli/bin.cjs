#!/usr/bin/env node
// The `portcullis` executable (package.json "bin"). It runs the TypeScript source with no build
// step: tsx (a dependency) compiles each file as it is loaded.
'use strict';
const path = require('node:path');

require('tsx/cjs/api').register();
const { main } = require(path.join(__dirname, 'index.ts'));

main(process.argv).then((code) => {
  process.exitCode = code;
});
