// The Prisma client, on embedded PGlite (a data directory) or on PostgreSQL (a pool),
// chosen in this one place. Migrations are applied by Prisma's schema engine at open.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { Client, Pool, type PoolClient } from 'pg';
import { PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './schemaEngine';

export const MIGRATIONS_DIR = path.resolve(__dirname, '../../prisma/migrations');

export interface DatabaseOptions {
  /** postgresql://… ; when absent, PGlite in dataDir. */
  databaseUrl?: string;
  dataDir: string;
  poolSize: number;
  migrate?: boolean;
  /**
   * Called with the SQL of every statement the app sends to the database, at the driver
   * (each pg client's `query`; PGlite's `query`/`exec`, in transactions too). For tests that
   * count statements (test/nPlusOne.test.ts); migrations are not reported.
   */
  onQuery?: (sql: string) => void;
}

export interface Database {
  kind: 'pglite' | 'postgresql';
  prisma: PrismaClient;
  /**
   * A read straight through the driver, on the same connections as `prisma` (src/db/hotReads.ts):
   * for the few statements every request runs, where Prisma's client runtime costs more than the
   * database. On PostgreSQL the statement is prepared once per connection under its name.
   */
  read<Row>(statement: Statement, values: readonly unknown[]): Promise<Row[]>;
  /**
   * LISTENs on `channels` on a connection of its own (on PostgreSQL, named `name` in
   * pg_stat_activity); `onLost` is called once if that connection fails. See src/auth/credentialChanges.ts.
   */
  listen(channels: readonly string[], name: string, onNotice: (channel: string, payload: string) => void, onLost: () => void): Promise<Listener>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /** PostgreSQL only: the pool's connections now (for the metrics). PGlite has no pool. */
  connections?(): PoolConnections;
  close(): Promise<void>;
}

/** A statement of ours (never built from input): its name must be unique to its text. */
export interface Statement {
  name: string;
  text: string;
}

export interface PoolConnections {
  /** DB_POOL_SIZE */
  max: number;
  /** Open connections, idle ones included. */
  total: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
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
    // A connection that stops answering (a network partition: no RST, no FIN, the packets just
    // vanish) would otherwise hang its request for good, and with it a pool slot: no statement
    // of ours takes long, so one unanswered for this long means the database is gone (HTTP 503,
    // see maskError), and the connection is dropped (destroyOnReadTimeout).
    // (statement_timeout would not help here: it runs on the server, which never hears of it.)
    query_timeout: QUERY_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection must not crash the process.
  pool.on('error', () => undefined);
  pool.on('connect', destroyOnReadTimeout);
  const { onQuery } = options;
  // Every statement, pool.query's included, goes through one of the pool's clients.
  if (onQuery) pool.on('connect', (client) => reportQueries(client, onQuery));
  const adapter = new PrismaPg(pool);
  if (options.migrate !== false) await applyMigrations(new PrismaPg({ connectionString, max: 1 }), MIGRATIONS_DIR);
  const prisma = new PrismaClient({ adapter });
  return {
    kind: 'postgresql',
    prisma,
    read: async <Row>({ name, text }: Statement, values: readonly unknown[]) => (await pool.query({ name, text, values: values as unknown[] })).rows as Row[],
    listen: (channels, name, onNotice, onLost) => listenOnPostgres(connectionString, channels, name, onNotice, onLost),
    ping: () => pingWith(prisma),
    connections: () => ({ max: options.poolSize, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: async () => {
      await prisma.$disconnect();
      await pool.end().catch(() => undefined);
    },
  };
}

export interface Listener {
  /** A statement on the listening connection itself. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/** A dedicated PostgreSQL connection that LISTENs (pool connections come and go). */
async function listenOnPostgres(
  connectionString: string,
  channels: readonly string[],
  name: string,
  onNotice: (channel: string, payload: string) => void,
  onLost: () => void,
): Promise<Listener> {
  const client = new Client({ connectionString, application_name: name, connectionTimeoutMillis: 5_000, query_timeout: QUERY_TIMEOUT_MS });
  let lost = false;
  const lose = () => {
    if (lost) return;
    lost = true;
    onLost();
  };
  client.on('error', lose);
  client.on('end', lose);
  client.on('notification', (notice) => onNotice(notice.channel, notice.payload ?? ''));
  await client.connect();
  for (const channel of channels) await client.query(`LISTEN "${channel}"`);
  return {
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    close: async () => {
      lost = true; // closing on purpose is no loss
      await client.end().catch(() => undefined);
    },
  };
}

/** The longest any one statement may go unanswered on PostgreSQL (see openPostgres). */
export const QUERY_TIMEOUT_MS = 10_000;

/**
 * pg's query_timeout fails the query but keeps the connection, still waiting for the lost
 * answer: the next query on it would queue behind it, and a transaction's client goes back to
 * the pool as if healthy. So a timed-out connection is destroyed (the pool then drops it).
 */
function destroyOnReadTimeout(client: PoolClient) {
  // Destroying the socket makes the client emit 'error' when nobody may be listening any more.
  client.on('error', () => undefined);
  const destroy = (error: unknown) => {
    if (error instanceof Error && error.message === 'Query read timeout') {
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const callback = args[args.length - 1];
    if (typeof callback === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        destroy(error);
        callback(error, result);
      };
      return query(...args);
    }
    const result = query(...args);
    // Observes the promise the caller gets (and handles, as before); this branch swallows nothing.
    if (result instanceof Promise) result.catch(destroy);
    return result;
  };
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  mkdirSync(options.dataDir, { recursive: true });
  const pglite = new PGlite(path.resolve(options.dataDir));
  await pglite.waitReady;
  if (options.migrate !== false) await applyMigrations(new PrismaPGlite(pglite), MIGRATIONS_DIR);
  const { onQuery } = options;
  if (onQuery) {
    reportQueries(pglite, onQuery);
    const transaction = pglite.transaction.bind(pglite);
    pglite.transaction = (callback) => transaction((tx) => callback(reportQueries(tx, onQuery)));
  }
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: 'pglite',
    prisma,
    read: async <Row>({ text }: Statement, values: readonly unknown[]) => (await pglite.query<Row>(text, values as unknown[])).rows,
    // One process, one connection: PGlite delivers its own notices to its listeners.
    listen: async (channels, _name, onNotice) => {
      const unlisten = await Promise.all(channels.map((channel) => pglite.listen(channel, (payload) => onNotice(channel, payload))));
      return {
        query: async <T>(sql: string, params?: unknown[]) => (await pglite.query<T>(sql, params)).rows,
        close: async () => {
          await Promise.all(unlisten.map((stop) => stop())).catch(() => undefined);
        },
      };
    },
    ping: () => pingWith(prisma),
    close: async () => {
      await prisma.$disconnect();
      // A clean shutdown (checkpoint), so that the next start needs no WAL recovery. Skipping
      // it loses no committed write when the process dies: PGlite's NodeFS writes straight
      // through to the files (fs.writeSync, no JS-side buffer) and a commit writes its WAL
      // before it returns (test/pgliteDurability.test.ts kills the server with SIGKILL). It
      // never fsyncs, though (PGlite runs postgres with -F, and Emscripten's NODEFS has no
      // fsync): an operating-system crash or power loss can lose recent commits.
      await pglite.close();
    },
  };
}

/** Wraps `target.query` (and `exec`, when there is one) to report each statement's SQL first. */
function reportQueries<T extends object>(target: T, onQuery: (sql: string) => void): T {
  const methods = target as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const method of ['query', 'exec']) {
    const original = methods[method];
    if (typeof original !== 'function') continue;
    methods[method] = function (this: unknown, ...args: unknown[]) {
      const sql = args[0];
      onQuery(typeof sql === 'string' ? sql : String((sql as { text?: unknown } | undefined)?.text ?? ''));
      return original.apply(this, args);
    };
  }
  return target;
}

async function pingWith(prisma: PrismaClient): Promise<boolean> {
  try {
    await prisma.$queryRaw`SELECT 1`;
    return true;
  } catch {
    return false;
  }
}
