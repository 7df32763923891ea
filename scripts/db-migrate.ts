// npm run db:migrate — applies prisma/migrations to DATABASE_URL when set, else to the
// PGlite data directory DATA_DIR (default ./data), with Prisma's WASM schema engine.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { loadConfig } from '../src/env';
import { applyMigrations } from '../src/db/schemaEngine';

const MIGRATIONS_DIR = path.resolve(__dirname, '../prisma/migrations');

async function main(): Promise<void> {
  const config = loadConfig();
  const started = Date.now();
  let applied: string[];
  let target: string;
  if (config.databaseUrl) {
    target = new URL(config.databaseUrl).pathname.slice(1) || 'PostgreSQL';
    applied = await applyMigrations(new PrismaPg({ connectionString: config.databaseUrl, max: 1 }), MIGRATIONS_DIR);
  } else {
    target = path.resolve(config.dataDir);
    mkdirSync(target, { recursive: true });
    const pglite = new PGlite(target);
    try {
      applied = await applyMigrations(new PrismaPGlite(pglite), MIGRATIONS_DIR);
    } finally {
      // Closing flushes the data directory.
      await pglite.close();
    }
  }
  const took = `${Date.now() - started} ms`;
  if (applied.length === 0) console.log(`${target}: already up to date (${took}).`);
  else console.log(`${target}: applied ${applied.join(', ')} (${took}).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
