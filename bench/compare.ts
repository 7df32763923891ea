// `npm run bench:compare -- <git ref>`: what authentication, scopes and limits cost per request,
// in the working tree and at <ref>, measured side by side in one process. The HTTP benchmark
// (bench/run.ts) shares two cores with PostgreSQL and autocannon and swings by several points
// between runs on a busy VM; this one takes the main thread's own CPU time, which is what bounds
// the gateway's throughput, and compares two versions under the same conditions.
//
// Each side (the ref, checked out with `git archive` and given the working tree's generated
// Prisma client; the working tree) is compiled by esbuild into bench/.build/compare/<side>.js.
// One PostgreSQL database is seeded (bench/seed.ts); each side opens it with its own code and
// builds two apps from its own createApp: "auth" (an EDITOR token: authentication, scope-auth,
// query limits, budgets, rate limits) and "open" (AppOptions.openAccess). Requests go through
// each app's yoga.fetch, COMPARE_CONCURRENCY at a time, the issue-10 query round-robin over the
// boards. COMPARE_ROUNDS rounds alternate the sides and the apps; a run is COMPARE_REQUESTS
// requests, and its figure is main-thread CPU per request (/proc/self/task/<pid>/schedstat).
// Prints medians per side: auth, open, auth - open, and open/auth (target 2's ratio).
//
// Run with NODE_ENV=production (as npm run bench:compare does): graphql-js reads it when it is
// loaded, and outside production its instanceof checks cost tens of µs per request.
//
// Knobs: COMPARE_ROUNDS=20  COMPARE_REQUESTS=1000  COMPARE_CONCURRENCY=10
// BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
// Linux only (schedstat). Both sides must share prisma/schema.prisma (one generated client).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase } from '../src/db/database';
import { mainThreadCpuNs } from './child';
import { growTokens, seedDataset, settle } from './seed';
import { BOARD_QUERY, UNREFUSING_LIMITS } from './workload';

type AppModule = typeof import('./compare-entry');

const REPO_ROOT = path.resolve(__dirname, '..');
const BUILD_DIR = path.join(__dirname, '.build', 'compare');
const ENTRY = path.join(__dirname, 'compare-entry.ts');

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1 (got ${JSON.stringify(raw)})`);
  return value;
}

const settings = {
  rounds: intEnv('COMPARE_ROUNDS', 20),
  requests: intEnv('COMPARE_REQUESTS', 1_000),
  concurrency: intEnv('COMPARE_CONCURRENCY', 10),
  postgresUrl: process.env.BENCH_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
};

/** The side's sources compiled into one CommonJS file; packages stay in node_modules. */
function build(side: string, sourceRoot: string): string {
  const entry = path.join(sourceRoot, 'bench', 'compare-entry.ts');
  if (sourceRoot !== REPO_ROOT) {
    mkdirSync(path.dirname(entry), { recursive: true });
    cpSync(ENTRY, entry);
  }
  const outfile = path.join(BUILD_DIR, `${side}.js`);
  execFileSync(
    path.join(REPO_ROOT, 'node_modules', '.bin', 'esbuild'),
    [entry, '--bundle', '--platform=node', '--format=cjs', '--target=node20', '--packages=external', '--log-level=warning', `--outfile=${outfile}`],
    { cwd: sourceRoot, stdio: 'inherit' },
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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The first and third quartiles (nearest rank). */
const quartiles = (values: number[]): [number, number] => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return [at(0.25), at(0.75)];
};

interface Side {
  name: string;
  apps: Record<'auth' | 'open', { fetch: (request: Request) => Response | Promise<Response> }>;
  samples: Record<'auth' | 'open', number[]>;
  stop: () => Promise<void>;
}

async function openSide(name: string, file: string, databaseUrl: string, ownerUserId: string): Promise<Side> {
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
  });
  const database = await code.openDatabase({ databaseUrl, dataDir: '', poolSize: 10, migrate: false });
  const auth = code.createApp(config, database);
  const open = code.createApp(config, database, { openAccess: { userId: ownerUserId } });
  return {
    name,
    apps: { auth: auth.yoga, open: open.yoga },
    samples: { auth: [], open: [] },
    stop: async () => {
      await Promise.all([auth.stop(), open.stop()]);
      await database.close();
    },
  };
}

/** `count` requests, `concurrency` at a time; every answer must be the board with 20 items. */
async function drive(app: Side['apps']['auth'], token: string | null, boardIds: string[], count: number): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const boardId = boardIds[next++ % boardIds.length];
      const response = await app.fetch(
        new Request('http://bench.local/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
          body: JSON.stringify({ query: BOARD_QUERY, variables: { id: boardId } }),
        }),
      );
      const body = (await response.json()) as { data?: { board?: { items: { edges: unknown[] } } }; errors?: unknown };
      if (response.status !== 200 || body.errors || body.data?.board?.items.edges.length !== 20) {
        throw new Error(`unexpected answer (HTTP ${response.status}): ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, loop));
}

async function main() {
  if (process.env.NODE_ENV !== 'production') throw new Error('run with NODE_ENV=production (npm run bench:compare)');
  const ref = process.argv[2];
  if (!ref) throw new Error('usage: npm run bench:compare -- <git ref> (compared with the working tree)');
  const refName = execFileSync('git', ['rev-parse', '--short', ref], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  mkdirSync(BUILD_DIR, { recursive: true });
  const files = { [refName]: build('ref', checkout(ref)), 'working tree': build('working-tree', REPO_ROOT) };

  const databaseName = `portcullis_compare_${process.pid}`;
  const admin = new Client({ connectionString: settings.postgresUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${databaseName}"`);
  const url = new URL(settings.postgresUrl);
  url.pathname = `/${databaseName}`;
  const databaseUrl = url.toString();
  const sides: Side[] = [];
  try {
    const seeding = await openDatabase({ databaseUrl, dataDir: '', poolSize: 2, migrate: true });
    const dataset = await seedDataset(seeding.prisma, { spaces: 5, boards: 200, itemsPerBoard: 100, members: 50, bigBoardItems: 0, tokenKind: 'PERSONAL' });
    await growTokens(seeding.prisma, dataset, 1_000, 5, 50);
    await settle(seeding.prisma);
    await seeding.close();

    for (const [name, file] of Object.entries(files)) sides.push(await openSide(name, file, databaseUrl, dataset.ownerUserId));
    // Warm-up: every app, twice, so that both are compiled by V8 before anything counts.
    for (let i = 0; i < 2; i++) {
      for (const side of sides) {
        await drive(side.apps.auth, dataset.token, dataset.boardIds, settings.requests);
        await drive(side.apps.open, null, dataset.boardIds, settings.requests);
      }
    }
    for (let round = 0; round < settings.rounds; round++) {
      // Alternate which side and which app go first, so that neither always follows the other.
      const order = round % 2 ? [...sides].reverse() : sides;
      for (const side of order) {
        for (const mode of round % 4 < 2 ? (['auth', 'open'] as const) : (['open', 'auth'] as const)) {
          const before = mainThreadCpuNs();
          await drive(side.apps[mode], mode === 'auth' ? dataset.token : null, dataset.boardIds, settings.requests);
          side.samples[mode].push((mainThreadCpuNs() - before) / settings.requests / 1_000);
        }
      }
      process.stdout.write(`round ${round + 1}/${settings.rounds}\r`);
    }
  } finally {
    for (const side of sides) await side.stop();
    await admin.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
    await admin.end();
  }

  console.log(`\nmain-thread CPU per request, µs (median of ${settings.rounds} rounds of ${settings.requests} requests, ${settings.concurrency} at a time)`);
  console.log('side           auth    open   auth-open (quartiles)   open/auth');
  for (const side of sides) {
    const auth = median(side.samples.auth);
    const open = median(side.samples.open);
    // Paired by round: each round's auth run and open run were measured back to back.
    const differences = side.samples.auth.map((value, i) => value - side.samples.open[i]);
    const [low, high] = quartiles(differences);
    console.log(
      `${side.name.padEnd(12)} ${auth.toFixed(0).padStart(6)} ${open.toFixed(0).padStart(7)} ${median(differences).toFixed(0).padStart(11)} (${low.toFixed(0)}-${high.toFixed(0)})`.padEnd(51) +
        `${((open / auth) * 100).toFixed(1)}%`,
    );
  }
  // The change itself: each round's two runs of the same app, one per side, were close in time.
  const [before, after] = sides;
  for (const mode of ['auth', 'open'] as const) {
    const changes = after.samples[mode].map((value, i) => value - before.samples[mode][i]);
    const [low, high] = quartiles(changes);
    console.log(`${mode}: working tree - ${before.name}: ${median(changes).toFixed(0)} µs per request (quartiles ${low.toFixed(0)} to ${high.toFixed(0)})`);
  }
  writeFileSync(path.join(BUILD_DIR, 'last.json'), JSON.stringify({ settings, sides: sides.map(({ name, samples }) => ({ name, samples })) }, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
