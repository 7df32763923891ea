// What the in-process benchmarks (bench/compare.ts, bench/instructions.ts) share: one version
// of the gateway ("a side": the working tree, or a git ref) compiled into one file, the seeded
// database both sides read, the two apps each side builds, and the requests they are sent.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../src/db/database';
import { growTokens, seedDataset, settle, type Dataset } from './seed';
import { BOARD_QUERY, UNREFUSING_LIMITS } from './workload';

type AppModule = typeof import('./compare-entry');

const REPO_ROOT = path.resolve(__dirname, '..');
export const BUILD_DIR = path.join(__dirname, '.build', 'compare');
const ENTRY = path.join(__dirname, 'compare-entry.ts');

/** A positive integer from the environment (`fallback` when unset). */
export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1 (got ${JSON.stringify(raw)})`);
  return value;
}

/** The side's sources compiled into one CommonJS file; packages stay in node_modules. */
function build(side: string, sourceRoot: string): string {
  const entry = path.join(sourceRoot, 'bench', 'compare-entry.ts');
  if (sourceRoot !== REPO_ROOT) {
    mkdirSync(path.dirname(entry), { recursive: true });
    cpSync(ENTRY, entry);
  }
  return bundle(entry, path.join(BUILD_DIR, `${side}.js`), sourceRoot);
}

/** One TypeScript entry and what it imports from the project, as one CommonJS file. */
export function bundle(entry: string, outfile: string, cwd = REPO_ROOT): string {
  execFileSync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'),
    [entry, '--bundle', '--platform=node', '--format=cjs', '--target=node20', '--packages=external', '--log-level=warning', `--outfile=${outfile}`],
    { cwd, stdio: 'inherit' },
  );
  return outfile;
}

/** `ref` as a source tree under bench/.build/compare, with the working tree's generated client. */
function checkout(ref: string): string {
  const root = path.join(BUILD_DIR, 'tree');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const archive = execFileSync('git', ['archive', '--format=tar', ref, 'src', 'prisma'], { cwd: REPO_ROOT, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', root], { input: archive });
  const schema = (dir: string) => readFileSync(path.join(dir, 'prisma', 'schema.prisma'), 'utf8');
  if (schema(root) !== schema(REPO_ROOT)) throw new Error(`${ref} has another prisma/schema.prisma: its generated client would differ`);
  cpSync(path.join(REPO_ROOT, 'src', 'generated'), path.join(root, 'src', 'generated'), { recursive: true });
  return root;
}

/** The sides to compare: `ref` (when given) and the working tree, each compiled (name -> file). */
export function buildSides(ref: string | undefined): Record<string, string> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const sides: Record<string, string> = {};
  if (ref) {
    const refName = execFileSync('git', ['rev-parse', '--short', ref], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    sides[refName] = build('ref', checkout(ref));
  }
  sides['working tree'] = build('working-tree', REPO_ROOT);
  return sides;
}

export interface App {
  fetch: (request: Request) => Response | Promise<Response>;
}

export interface Apps {
  /** An EDITOR token: authentication, scope-auth, query limits, budgets, rate limits. */
  auth: App;
  /** AppOptions.openAccess: the baseline without them. */
  open: App;
  stop: () => Promise<void>;
}

/** A side's two apps over the seeded database, built by that side's own code. */
export async function openApps(file: string, databaseUrl: string, ownerUserId: string): Promise<Apps> {
  const code = require(file) as AppModule;
  const config = code.loadConfig({
    ...process.env,
    ...UNREFUSING_LIMITS,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    DB_POOL_SIZE: '10',
    LOG_LEVEL: 'error',
    REDIS_URL: '',
    SEED_DEMO_DATA: 'false',
    // The background jobs (webhook outbox, leaked-token reports, expiry notices) poll the
    // database every few seconds whatever the load: four apps in one process, slowed down 50x
    // under callgrind, counted a dozen of those polls into each phase.
    WEBHOOK_POLL_SECONDS: '3600',
    LEAK_REPORTS_CHECK_SECONDS: '3600',
    TOKEN_EXPIRY_CHECK_SECONDS: '86400',
  });
  const database = await code.openDatabase({ databaseUrl, dataDir: '', poolSize: 10, migrate: false });
  const auth = code.createApp(config, database);
  const open = code.createApp(config, database, { openAccess: { userId: ownerUserId } });
  return {
    auth: auth.yoga,
    open: open.yoga,
    stop: async () => {
      await Promise.all([auth.stop(), open.stop()]);
      await database.close();
    },
  };
}

/** `count` requests, `concurrency` at a time; every answer must be the board with 20 items. */
export async function drive(app: App, token: string | null, boardIds: string[], count: number, concurrency: number): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const boardId = boardIds[next++ % boardIds.length];
      const payload = JSON.stringify({ query: BOARD_QUERY, variables: { id: boardId } });
      // With its Content-Length, as every HTTP client sends it: without one, the body limit
      // counts the body through a stream (src/server/bodyLimit.ts), which no HTTP request here takes.
      const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...(token && { authorization: `Bearer ${token}` }) };
      const response = await app.fetch(new Request('http://bench.local/graphql', { method: 'POST', headers, body: payload }));
      const body = (await response.json()) as { data?: { board?: { items: { edges: unknown[] } } }; errors?: unknown };
      if (response.status !== 200 || body.errors || body.data?.board?.items.edges.length !== 20) {
        throw new Error(`unexpected answer (HTTP ${response.status}): ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
}

/** The server the in-process benchmarks make their database on (knob: BENCH_POSTGRES_URL). */
const POSTGRES_URL = process.env.BENCH_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * A database of its own on BENCH_POSTGRES_URL's server, seeded (200 boards of 100 items, 1,000
 * tokens), for `use`; dropped afterwards.
 */
export async function withComparisonDatabase<T>(use: (databaseUrl: string, dataset: Dataset) => Promise<T>): Promise<T> {
  const databaseName = `portcullis_compare_${process.pid}`;
  const admin = new Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${databaseName}"`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${databaseName}`;
  const databaseUrl = url.toString();
  try {
    const seeding = await openDatabase({ databaseUrl, dataDir: '', poolSize: 2, migrate: true });
    const dataset = await seedDataset(seeding.prisma, { spaces: 5, boards: 200, itemsPerBoard: 100, members: 50, bigBoardItems: 0, tokenKind: 'PERSONAL' });
    await growTokens(seeding.prisma, dataset, 1_000, 5, 50);
    await settle(seeding.prisma);
    await seeding.close();
    return await use(databaseUrl, dataset);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await admin.end();
  }
}
