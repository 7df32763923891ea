// npm run db:migration -- <name> — writes prisma/migrations/<timestamp>_<name>/migration.sql:
// the SQL that takes the database from the state of the existing migrations to
// prisma/schema.prisma. Offline: the migrations are replayed on an in-memory PGlite.
// Review the file, then `npm run db:migrate`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diffMigrationsToSchema } from '../src/db/schemaEngine';

const ROOT = path.resolve(__dirname, '..');
const MIGRATIONS_DIR = path.join(ROOT, 'prisma/migrations');
const SCHEMA_PATH = path.join(ROOT, 'prisma/schema.prisma');

/** 20250102030405: the UTC timestamp prefix `prisma migrate dev` uses, so names sort in order. */
function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

async function main(): Promise<void> {
  const name = (process.argv[2] ?? '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (!name) throw new Error('Usage: npm run db:migration -- <name>   (e.g. add_item_priority)');

  const sql = await diffMigrationsToSchema(MIGRATIONS_DIR, SCHEMA_PATH);
  if (sql === null) {
    throw new Error('No changes: prisma/schema.prisma matches the existing migrations. Edit the schema first.');
  }
  const dir = path.join(MIGRATIONS_DIR, `${timestamp()}_${name}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'migration.sql'), sql);
  console.log(`Wrote ${path.relative(ROOT, path.join(dir, 'migration.sql'))}. Review it, then run npm run db:migrate.`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
