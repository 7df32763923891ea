// Jest only. jose is published as ES modules only, which Jest's CommonJS module registry cannot
// load (Node itself can: the gateway imports it as it is). jest.config.ts maps `jose` to this
// file, and its transform (transformJose below) replaces it with jose bundled as CommonJS by
// esbuild (tsx's compiler, installed with it).
'use strict';
module.exports = require('jose');
