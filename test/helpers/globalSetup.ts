// Builds the migrated template database that every test file copies. Applying the
// migrations here also tests them, through Prisma's schema engine, on every run.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { MIGRATIONS_DIR } from '../../src/db/database';
import { ensureConsoleBuilt } from '../../src/server/console';
import { applyMigrations } from '../../src/db/schemaEngine';
import { TEMPLATE_ENV, adminQuery, testDatabaseUrl, withDatabaseName } from './testDatabase';

export default async function globalSetup() {
  // The console's build (npm install made it; a changed source is rebuilt once here, before the
  // test files that serve it run side by side).
  ensureConsoleBuilt();
  const url = testDatabaseUrl();
  if (url) {
    const name = `portcullis_template_${process.pid}`;
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await adminQuery(`CREATE DATABASE "${name}"`);
    await applyMigrations(new PrismaPg({ connectionString: withDatabaseName(url, name), max: 1 }), MIGRATIONS_DIR);
    process.env[TEMPLATE_ENV] = name;
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-template-'));
  const pglite = new PGlite(dir);
  await pglite.waitReady;
  await applyMigrations(new PrismaPGlite(pglite), MIGRATIONS_DIR);
  await pglite.close();
  process.env[TEMPLATE_ENV] = dir;
}
