#!/usr/bin/env node
// `prisma generate` that also works where Prisma's engine binaries cannot be downloaded.
//
// Before every command the Prisma CLI makes sure its native schema-engine binary is present,
// downloading it from Prisma's servers if not. `generate` never runs that binary (the client
// uses the TypeScript/WASM query compiler and driver adapters), so when no binary is at hand
// we name an existing file instead: PRISMA_SCHEMA_ENGINE_BINARY only has to point at one.
// A value you set yourself, or a binary already downloaded, is left alone: there the CLI
// behaves exactly as usual. Extra arguments are passed on (e.g. `-- --schema other.prisma`).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const prismaPackage = require.resolve('prisma/package.json');
const prismaCli = path.join(path.dirname(prismaPackage), require(prismaPackage).bin.prisma);

/** True when @prisma/engines (where the CLI keeps it) already holds a schema-engine binary. */
function engineBinaryDownloaded() {
  try {
    const enginesDir = path.dirname(
      require.resolve('@prisma/engines/package.json', { paths: [path.dirname(prismaPackage)] }),
    );
    return readdirSync(enginesDir).some((name) => name.startsWith('schema-engine-'));
  } catch {
    return false;
  }
}

// The `prisma-pothos-types` generator is run as a command: found on PATH under `npm run`,
// so add node_modules/.bin for direct `node scripts/prisma-generate.mjs` too.
const env = { ...process.env };
env.PATH = [path.join(projectRoot, 'node_modules', '.bin'), env.PATH].filter(Boolean).join(path.delimiter);
if (!env.PRISMA_SCHEMA_ENGINE_BINARY && !env.PRISMA_MIGRATION_ENGINE_BINARY && !engineBinaryDownloaded()) {
  // Any existing file will do; the WASM schema engine (what our migrations use) is a fitting one.
  const wasmGlue = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  env.PRISMA_SCHEMA_ENGINE_BINARY = path.join(path.dirname(wasmGlue), 'schema_engine_bg.wasm');
}

const result = spawnSync(process.execPath, [prismaCli, 'generate', ...process.argv.slice(2)], {
  cwd: projectRoot,
  env,
  stdio: 'inherit',
});
if (result.error) throw result.error;
process.exit(result.status ?? 1);
