// A Jest transform: jose (ES modules only) bundled as one CommonJS file; see joseCommonJs.cjs.
'use strict';
const { buildSync } = require('esbuild');
const { version } = require('jose/package.json');

module.exports = {
  getCacheKey: () => `jose-${version}`,
  process() {
    const [output] = buildSync({
      stdin: { contents: "module.exports = require('jose');", resolveDir: __dirname, loader: 'js' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      write: false,
    }).outputFiles;
    return { code: output.text };
  },
};
