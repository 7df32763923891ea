// One migrated template database per test run (built in globalSetup); each test file gets
// its own copy: a copied PGlite data directory, or a PostgreSQL database created from the
// template. Set TEST_DATABASE_URL to run on PostgreSQL.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../src/db/database';

export const TEMPLATE_ENV = 'PORTCULLIS_TEST_TEMPLATE';

export function testDatabaseUrl(): string | undefined {
  return process.env.TEST_DATABASE_URL || undefined;
}

/** The same server URL with another database name. */
export function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase extends Database {
  /** Closes the database and removes the copy. */
  drop(): Promise<void>;
  /** Where the copy lives: a PGlite data directory or a PostgreSQL URL. */
  location: string;
}

/** `onQuery`: see DatabaseOptions (reports every statement the app sends). */
export async function openTestDatabase(options: { onQuery?: (sql: string) => void } = {}): Promise<TestDatabase> {
  const { onQuery } = options;
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest (globalSetup builds it).`);
  const url = testDatabaseUrl();
  if (url) {
    const name = `portcullis_test_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    const location = withDatabaseName(url, name);
    const database = await openDatabase({ databaseUrl: location, dataDir: '', poolSize: 5, migrate: false, onQuery });
    return {
      ...database,
      location,
      drop: async () => {
        await database.close();
        await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      },
    };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-test-'));
  cpSync(template, dataDir, { recursive: true });
  const database = await openDatabase({ dataDir, poolSize: 1, migrate: false, onQuery });
  return {
    ...database,
    location: dataDir,
    drop: async () => {
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
