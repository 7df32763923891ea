// The Prisma client, on embedded PGlite (a data directory) or on PostgreSQL (a pool),
// chosen in this one place. Migrations are applied by Prisma's schema engine at open.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Pool } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './schemaEngine';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

export interface DatabaseOptions {
  /** postgresql://… ; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  migrate?: boolean;
}

export interface Database {
  kind: 'pglite' | 'postgresql';
  prisma: PrismaClient;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.databaseUrl ? openPostgres(options, options.databaseUrl) : openPglite(options);
}

async function openPostgres(options: DatabaseOptions, connectionString: string): Promise<Database> {
  const pool = new Pool({
    connectionString,
    max: options.poolSize,
    // Fail fast when the database is unreachable rather than queueing requests forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => undefined);
  const adapter = new PrismaPg(pool);
  if (options.migrate !== false) await applyMigrations(new PrismaPg({ connectionString, max: 1 }), MIGRATIONS_DIR);
  const prisma = new PrismaClient({ adapter });
  return {
    kind: 'postgresql',
    prisma,
    ping: () => pingWith(prisma),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  mkdirSync(options.dataDir, { recursive: true });
  const pglite = new PGlite(path.resolve(options.dataDir));
  await pglite.waitReady;
  if (options.migrate !== false) await applyMigrations(new PrismaPGlite(pglite), MIGRATIONS_DIR);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: 'pglite',
    prisma,
    ping: () => pingWith(prisma),
    close: async () => {
      await prisma.$disconnect();
      // Closing flushes PGlite's data directory; skipping it can lose recent writes.
      await pglite.close();
    },
  };
}

async function pingWith(prisma: PrismaClient): Promise<boolean> {
  try {
    await prisma.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}
