// `npm run bench`: seeds a realistic dataset, starts the gateway in a child process
// (bench/server.ts) and drives it with autocannon over loopback, on PGlite and on PostgreSQL.
// Not a test: it measures, prints a Markdown table and writes bench/results/results.{json,md}.
//
// Per database:
//   seed (migrations, then bulk SQL) with BENCH_TOKENS_SMALL stored tokens, start the gateway;
//   (a) auth   the nested board query with a real API token (auth + scopes + limits on),
//   (b) open   the same query on the same process and database with AppOptions.openAccess
//              (no auth, no scopes, no limits), alternating with (a) for BENCH_ROUNDS rounds,
//   (c) mint   createApiToken minting a short-lived space-scoped VIEWER token (argon2 hash bound),
//   stop the gateway, grow to BENCH_TOKENS_LARGE stored tokens, start a fresh gateway;
//   (d) auth   the query again (and open access again, as a control), alternating as above.
// Warm-ups (not measured) come first: (a)/(b) and (d)/(b') alternately twice, (c) once.
//
// Knobs (environment): BENCH_DATABASES=pglite,postgres  BENCH_DURATION_SECONDS=10
// BENCH_WARMUP_SECONDS=3  BENCH_CONNECTIONS=4  BENCH_ROUNDS=2  BENCH_BOARDS=2000
// BENCH_ITEMS_PER_BOARD=100  BENCH_SPACES=5  BENCH_MEMBERS=50  BENCH_TOKENS_SMALL=1000
// BENCH_TOKENS_LARGE=100000  BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres
// BENCH_DB_POOL_SIZE=10  BENCH_LOG_LEVEL=error  BENCH_RESULTS_DIR=bench/results
// BENCH_TOKEN_KIND=personal|service (the owner's PERSONAL token capped at EDITOR, or a SERVICE EDITOR token)
// BENCH_PROFILE_DIR=<dir> (a V8 CPU profile of the gateway per measured run; open in Chrome DevTools.
// Profiling slows the gateway: figures from such a run are not comparable)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { openDatabase } from '../src/db/database';
import { growTokens, seedDataset, countRows, settle, type Dataset } from './seed';
import type { ChildMessage, ChildOptions, Counters, ParentMessage } from './server';

// ---------------------------------------------------------------------------------------------
// Settings

function intEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw == null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min} (got ${JSON.stringify(raw)})`);
  return value;
}

type DatabaseKind = 'pglite' | 'postgres';

const settings = {
  databases: (process.env.BENCH_DATABASES || 'pglite,postgres').split(',').map((s) => s.trim()).filter(Boolean) as DatabaseKind[],
  durationSeconds: intEnv('BENCH_DURATION_SECONDS', 10),
  warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 3, 0),
  connections: intEnv('BENCH_CONNECTIONS', 4),
  rounds: intEnv('BENCH_ROUNDS', 2),
  spaces: intEnv('BENCH_SPACES', 5),
  boards: intEnv('BENCH_BOARDS', 2_000),
  itemsPerBoard: intEnv('BENCH_ITEMS_PER_BOARD', 100),
  members: intEnv('BENCH_MEMBERS', 50),
  tokenKind: (process.env.BENCH_TOKEN_KIND || 'personal').toUpperCase() as 'PERSONAL' | 'SERVICE',
  tokensSmall: intEnv('BENCH_TOKENS_SMALL', 1_000),
  tokensLarge: intEnv('BENCH_TOKENS_LARGE', 100_000),
  postgresUrl: process.env.BENCH_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres',
  dbPoolSize: intEnv('BENCH_DB_POOL_SIZE', 10),
  // error: only failed requests (5xx) log, with their stack; per-request lines (info) are off.
  logLevel: process.env.BENCH_LOG_LEVEL || 'error',
  resultsDir: path.resolve(process.env.BENCH_RESULTS_DIR || path.join(__dirname, 'results')),
  /** When set, a V8 CPU profile of the gateway for each measured run is written there (<database>-<scenario>.cpuprofile). */
  profileDir: process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : undefined,
};
if (settings.tokenKind !== 'PERSONAL' && settings.tokenKind !== 'SERVICE') throw new Error('BENCH_TOKEN_KIND must be personal or service');
for (const kind of settings.databases) {
  if (kind !== 'pglite' && kind !== 'postgres') throw new Error(`BENCH_DATABASES: unknown database ${JSON.stringify(kind)} (pglite, postgres)`);
}

const REPO_ROOT = path.resolve(__dirname, '..');

/** The settings as printed and written: no password from BENCH_POSTGRES_URL, no local paths. */
function publicSettings() {
  const url = new URL(settings.postgresUrl);
  if (url.password) url.password = '***';
  const { resultsDir: _resultsDir, profileDir: _profileDir, ...rest } = settings;
  return { ...rest, postgresUrl: url.toString() };
}

const BOARD_QUERY = `query Board($id: ID!) {
  board(id: $id) {
    id
    name
    items(first: 20) {
      edges { node { id name status updates(first: 3) { edges { node { id body } } } } }
    }
  }
}`;

const MINT_MUTATION = `mutation Mint($spaceId: ID!) {
  createApiToken(input: { name: "bench ci job", role: VIEWER, spaceId: $spaceId, expiresInSeconds: 600 }) {
    secret
    apiToken { id maskedToken expiresAt }
  }
}`;

// ---------------------------------------------------------------------------------------------
// Clean-up, even on errors and Ctrl-C

const cleanups: Array<() => Promise<void> | void> = [];
async function runCleanups() {
  while (cleanups.length > 0) {
    const cleanup = cleanups.pop()!;
    try {
      await cleanup();
    } catch (error) {
      console.error('clean-up failed:', error);
    }
  }
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  // `on`, not `once`: a second signal (tsx relays Ctrl-C to this process too) must not cut the clean-up short.
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: cleaning up…`);
    void runCleanups().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// The gateway child process

interface Gateway {
  authUrl: string;
  openUrl: string;
  counters(): Promise<Counters>;
  profile(file: string | undefined, run: () => Promise<RunResult>): Promise<RunResult>;
  stop(): Promise<void>;
}

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`the gateway sent no ${type} message within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === type) finish(null, message as Extract<ChildMessage, { type: T }>);
      else if (message.type === 'error') finish(new Error(`the gateway failed: ${message.message}`));
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`the gateway exited (code ${code}, signal ${signal})`));
    function finish(error: Error | null, message?: Extract<ChildMessage, { type: T }>) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(message!);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function startGateway(options: ChildOptions): Promise<Gateway> {
  const child = fork(path.join(__dirname, 'server.ts'), [], {
    cwd: REPO_ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_CHILD_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  child.once('exit', () => (exited = true));
  const kill = () => {
    if (!exited) child.kill('SIGKILL');
  };
  cleanups.push(kill);
  const ready = await nextMessage(child, 'ready', 120_000).catch((error: unknown) => {
    kill();
    throw error;
  });
  const ask = (message: ParentMessage) => child.send(message);
  return {
    authUrl: `http://127.0.0.1:${ready.authPort}/graphql`,
    openUrl: `http://127.0.0.1:${ready.openPort}/graphql`,
    async counters() {
      const answer = nextMessage(child, 'counters', 10_000);
      ask({ type: 'counters' });
      const { type: _type, ...counters } = await answer;
      return counters;
    },
    async profile(file, run) {
      if (!file) return run();
      ask({ type: 'profile-start' });
      const result = await run();
      const done = nextMessage(child, 'profiled', 60_000);
      ask({ type: 'profile-stop', file });
      await done;
      return result;
    },
    async stop() {
      if (exited) return;
      const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      ask({ type: 'stop' });
      const timer = setTimeout(kill, 30_000);
      await exit;
      clearTimeout(timer);
      const index = cleanups.indexOf(kill);
      if (index >= 0) cleanups.splice(index, 1);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One autocannon run

interface RunResult {
  scenario: string;
  storedTokens: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx responses (autocannon's count). */
  non2xx: number;
  /** Connection errors and timeouts. */
  socketErrors: number;
  /** 2xx responses whose body was not the expected data (GraphQL errors, a null board, …). */
  badBodies: number;
  /** A bad body, for the report. */
  badBodyExample?: string;
  rounds: number;
  /** In the gateway process during the measured run(s). */
  argon2: { verifications: number; hashes: number };
  statementsPerRequest: number;
  gatewayCpuMsPerRequest: number;
  /** CPU of this process (autocannon), per request. */
  loadGeneratorCpuMsPerRequest: number;
  /** CPU of the PostgreSQL backends serving the benchmark's database, per request (Linux; PostgreSQL only). */
  postgresCpuMsPerRequest?: number;
  /** Share of the machine's CPU time stolen by the hypervisor, and idle, during the run (Linux; from /proc/stat). */
  stealPercent?: number;
  idlePercent?: number;
  /** The single runs a combined result was made of (when there were several). */
  eachRound?: Array<Pick<RunResult, 'requestsPerSecond' | 'p50Ms' | 'p99Ms' | 'gatewayCpuMsPerRequest' | 'postgresCpuMsPerRequest' | 'stealPercent'>>;
}

interface Target {
  url: string;
  authorization?: string;
  /** Request bodies, sent round-robin. */
  bodies: string[];
  /** Is this 2xx body the expected answer? */
  isGood(body: string): boolean;
}

async function cannon(target: Target, seconds: number) {
  let next = 0;
  let badBodies = 0;
  let badBodyExample: string | undefined;
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    connections: settings.connections,
    duration: seconds,
    headers: {
      'content-type': 'application/json',
      ...(target.authorization ? { authorization: target.authorization } : {}),
    },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: target.bodies[next++ % target.bodies.length] }),
        onResponse: (status, body) => {
          if (status >= 200 && status < 300 && !target.isGood(body)) {
            badBodies++;
            badBodyExample ??= body.slice(0, 500);
          }
        },
      },
    ],
  });
  return { result, badBodies, badBodyExample };
}

let profileCount = 0;
/** For profile file names. */
let currentDatabase: DatabaseKind | undefined;

async function measure(gateway: Gateway, scenario: string, storedTokens: number, target: Target): Promise<RunResult> {
  const name = `${String(++profileCount).padStart(2, '0')}-${currentDatabase}-${scenario.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}`;
  const file = settings.profileDir ? path.join(settings.profileDir, `${name}.cpuprofile`) : undefined;
  return gateway.profile(file, () => measureRun(gateway, scenario, storedTokens, target));
}

/** The PostgreSQL database the current runs use (its backends' CPU is measured), if any. */
let currentPostgresDatabase: string | undefined;

/** The machine's CPU time by kind (jiffies), from the first line of /proc/stat; undefined elsewhere. */
function machineCpu(): { idle: number; steal: number; total: number } | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
    const values = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    return { idle: values[3] + values[4], steal: values[7], total: values.reduce((sum, value) => sum + value, 0) };
  } catch {
    return undefined;
  }
}

/** CPU time (ms) of each PostgreSQL backend connected to `database`, from /proc; undefined elsewhere. */
function postgresCpuMs(database: string | undefined): Map<string, number> | undefined {
  if (!database || process.platform !== 'linux') return undefined;
  const msPerTick = 1000 / 100; // USER_HZ is 100 on Linux
  const backends = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.startsWith('postgres:') || !cmdline.includes(` ${database} `)) continue;
      // After the command name in parentheses: state is field 3, utime field 14, stime field 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      backends.set(pid, (Number(fields[11]) + Number(fields[12])) * msPerTick);
    } catch {
      // the process ended meanwhile
    }
  }
  return backends;
}

/** CPU the backends used between two snapshots (a backend that ended meanwhile is left out: its last moments are not counted). */
function postgresCpuDelta(before: Map<string, number>, after: Map<string, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

async function measureRun(gateway: Gateway, scenario: string, storedTokens: number, target: Target): Promise<RunResult> {
  const before = await gateway.counters();
  const postgresBefore = postgresCpuMs(currentPostgresDatabase);
  const machineBefore = machineCpu();
  const cpuBefore = process.cpuUsage();
  const { result, badBodies, badBodyExample } = await cannon(target, settings.durationSeconds);
  const cpu = process.cpuUsage(cpuBefore);
  const postgresAfter = postgresCpuMs(currentPostgresDatabase);
  const machineAfter = machineCpu();
  const machineTotal = machineBefore && machineAfter ? Math.max(1, machineAfter.total - machineBefore.total) : 1;
  const after = await gateway.counters();
  const requests = result.requests.total;
  return {
    scenario,
    storedTokens,
    requests,
    seconds: result.duration,
    requestsPerSecond: requests / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    socketErrors: result.errors + result.timeouts,
    badBodies,
    ...(badBodyExample !== undefined && { badBodyExample }),
    rounds: 1,
    argon2: { verifications: after.verifications - before.verifications, hashes: after.hashes - before.hashes },
    statementsPerRequest: (after.statements - before.statements) / Math.max(1, requests),
    gatewayCpuMsPerRequest: (after.cpuMs - before.cpuMs) / Math.max(1, requests),
    loadGeneratorCpuMsPerRequest: (cpu.user + cpu.system) / 1000 / Math.max(1, requests),
    ...(postgresBefore && postgresAfter && { postgresCpuMsPerRequest: postgresCpuDelta(postgresBefore, postgresAfter) / Math.max(1, requests) }),
    ...(machineBefore &&
      machineAfter && {
        stealPercent: ((machineAfter.steal - machineBefore.steal) / machineTotal) * 100,
        idlePercent: ((machineAfter.idle - machineBefore.idle) / machineTotal) * 100,
      }),
  };
}

/** Several runs of one scenario as one: totals over totals, the median of the percentiles. */
function combine(runs: RunResult[]): RunResult {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const weighted = (value: (run: RunResult) => number) => runs.reduce((sum, run) => sum + value(run) * run.requests, 0) / Math.max(1, requests);
  return {
    ...runs[0],
    requests,
    seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: median(runs.map((run) => run.p50Ms)),
    p99Ms: median(runs.map((run) => run.p99Ms)),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    socketErrors: runs.reduce((sum, run) => sum + run.socketErrors, 0),
    badBodies: runs.reduce((sum, run) => sum + run.badBodies, 0),
    badBodyExample: runs.find((run) => run.badBodyExample)?.badBodyExample,
    rounds: runs.length,
    argon2: {
      verifications: runs.reduce((sum, run) => sum + run.argon2.verifications, 0),
      hashes: runs.reduce((sum, run) => sum + run.argon2.hashes, 0),
    },
    statementsPerRequest: weighted((run) => run.statementsPerRequest),
    gatewayCpuMsPerRequest: weighted((run) => run.gatewayCpuMsPerRequest),
    loadGeneratorCpuMsPerRequest: weighted((run) => run.loadGeneratorCpuMsPerRequest),
    ...(runs[0].postgresCpuMsPerRequest !== undefined && { postgresCpuMsPerRequest: weighted((run) => run.postgresCpuMsPerRequest ?? 0) }),
    ...(runs[0].stealPercent !== undefined && {
      stealPercent: runs.reduce((sum, run) => sum + (run.stealPercent ?? 0) * run.seconds, 0) / seconds,
      idlePercent: runs.reduce((sum, run) => sum + (run.idlePercent ?? 0) * run.seconds, 0) / seconds,
    }),
    ...(runs.length > 1 && {
      eachRound: runs.map(({ requestsPerSecond, p50Ms, p99Ms, gatewayCpuMsPerRequest, postgresCpuMsPerRequest, stealPercent }) => ({
        requestsPerSecond,
        p50Ms,
        p99Ms,
        gatewayCpuMsPerRequest,
        postgresCpuMsPerRequest,
        stealPercent,
      })),
    }),
  };
}

async function warmUp(target: Target) {
  if (settings.warmupSeconds > 0) await cannon(target, settings.warmupSeconds);
}

// ---------------------------------------------------------------------------------------------
// Targets and checks

function boardBodies(dataset: Dataset) {
  return dataset.boardIds.map((id) => JSON.stringify({ query: BOARD_QUERY, variables: { id } }));
}

const isBoardAnswer = (body: string) => body.startsWith('{"data":{"board":{"id":"') && !body.includes('"errors"');
const isMintAnswer = (body: string) => body.startsWith('{"data":{"createApiToken":{"secret":"pcl_') && !body.includes('"errors"');

function targets(gateway: Gateway, dataset: Dataset) {
  const bodies = boardBodies(dataset);
  return {
    auth: { url: gateway.authUrl, authorization: `Bearer ${dataset.token}`, bodies, isGood: isBoardAnswer },
    open: { url: gateway.openUrl, bodies, isGood: isBoardAnswer },
    mint: {
      url: gateway.authUrl,
      authorization: `Bearer ${dataset.token}`,
      bodies: dataset.spaceIds.map((spaceId) => JSON.stringify({ query: MINT_MUTATION, variables: { spaceId } })),
      isGood: isMintAnswer,
    },
  } satisfies Record<string, Target>;
}

async function post(target: Target, body: string) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(target.authorization ? { authorization: target.authorization } : {}) },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Before measuring: the authenticated and the open-access app answer the same query with the
 * very same data (on a few boards), with 20 items per board, and a mint succeeds.
 */
async function sanityCheck(gateway: Gateway, dataset: Dataset, withMint: boolean) {
  const t = targets(gateway, dataset);
  for (const index of [0, 1, Math.floor(dataset.boardIds.length / 2), dataset.boardIds.length - 1]) {
    const body = t.auth.bodies[index];
    const [auth, open] = await Promise.all([post(t.auth, body), post(t.open, body)]);
    if (auth.status !== 200 || !isBoardAnswer(auth.text)) throw new Error(`authenticated query failed: HTTP ${auth.status} ${auth.text.slice(0, 500)}`);
    if (open.status !== 200 || !isBoardAnswer(open.text)) {
      throw new Error(
        `open-access query failed: HTTP ${open.status} ${open.text.slice(0, 500)}\n` +
          '(does src/app.ts support AppOptions.openAccess?)',
      );
    }
    // The same data (the authenticated answer may carry extensions, e.g. about its budget).
    const authData = JSON.stringify((JSON.parse(auth.text) as { data: unknown }).data);
    const openData = JSON.stringify((JSON.parse(open.text) as { data: unknown }).data);
    if (authData !== openData) {
      let at = 0;
      while (authData[at] === openData[at]) at++;
      throw new Error(`open access answers differently, from character ${at}:\n auth: …${authData.slice(at - 50, at + 200)}\n open: …${openData.slice(at - 50, at + 200)}`);
    }
    const items = (JSON.parse(auth.text) as { data: { board: { items: { edges: unknown[] } } } }).data.board.items.edges.length;
    if (items !== Math.min(20, settings.itemsPerBoard)) throw new Error(`expected ${Math.min(20, settings.itemsPerBoard)} items, got ${items}`);
  }
  // Open access must not be open to the authenticated app: no token there means no board.
  const anonymous = await post({ ...t.auth, authorization: undefined }, t.auth.bodies[0]);
  if (isBoardAnswer(anonymous.text)) throw new Error('the authenticated app served a board to an anonymous request');
  if (withMint) {
    const mint = await post(t.mint, t.mint.bodies[0]);
    if (mint.status !== 200 || !isMintAnswer(mint.text)) throw new Error(`mint failed: HTTP ${mint.status} ${mint.text.slice(0, 500)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// One database

interface DatabaseReport {
  database: DatabaseKind;
  /** 1-minute load average before seeding and after the last run (other work on the machine skews the figures). */
  loadAverage: { before: number; after: number };
  seedSeconds: number;
  growSeconds: number;
  rowsAtStart: Record<string, number>;
  rowsAtEnd: Record<string, number>;
  runs: RunResult[];
  argon2: {
    /** Verifications in the gateway processes while the authenticated query was measured. */
    steadyStateVerifications: number;
    /** All verifications in each gateway process, over the token secrets it was sent. */
    verificationsPerSecretPerProcess: number[];
    /** Hashes during the measured mint run, per minted token. */
    hashesPerMint: number;
  };
  ratios: {
    /** (a) / (b): authenticated throughput as a share of open access, 1k tokens. */
    authVsOpen: number;
    /** (d) / (b'), 100k tokens. */
    authVsOpenLarge: number;
    /** (c) / (b). */
    mintVsOpen: number;
    /** (d) / (a). */
    largeVsSmallTokens: number;
    /** (d / b') / (a / b): the same, corrected for drift between the two gateway processes. */
    largeVsSmallTokensNormalised: number;
  };
  targets: Array<{ target: string; value: string; met: boolean }>;
  error?: string;
}

interface Location {
  databaseUrl?: string;
  dataDir: string;
  describe: string;
}

async function createLocation(kind: DatabaseKind): Promise<Location> {
  if (kind === 'pglite') {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-bench-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    return { dataDir, describe: `PGlite in ${dataDir}` };
  }
  const name = `portcullis_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: settings.postgresUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin(`CREATE DATABASE "${name}"`);
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  const url = new URL(settings.postgresUrl);
  url.pathname = `/${name}`;
  currentPostgresDatabase = name;
  return { databaseUrl: url.toString(), dataDir: '', describe: `PostgreSQL database ${name}` };
}

async function withDatabase<T>(location: Location, migrate: boolean, work: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const database = await openDatabase({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, poolSize: 2, migrate });
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const fmt = (value: number, digits = 1) => value.toFixed(digits);

async function benchDatabase(kind: DatabaseKind): Promise<DatabaseReport> {
  const cleanupMark = cleanups.length;
  currentDatabase = kind;
  currentPostgresDatabase = undefined;
  const loadBefore = os.loadavg()[0];
  try {
    const location = await createLocation(kind);
    console.log(`\n## ${kind}: ${location.describe}`);

    let started = performance.now();
    const { dataset, rowsAtStart } = await withDatabase(location, true, async (database) => {
      const dataset = await seedDataset(database.prisma, settings);
      await growTokens(database.prisma, dataset, settings.tokensSmall, settings.spaces, settings.members);
      await settle(database.prisma);
      return { dataset, rowsAtStart: await countRows(database.prisma) };
    });
    const seedSeconds = seconds(started);
    console.log(`seeded in ${fmt(seedSeconds)} s: ${JSON.stringify(rowsAtStart)}`);

    const childOptions: ChildOptions = {
      databaseUrl: location.databaseUrl,
      dataDir: location.dataDir,
      openAccessUserId: dataset.ownerUserId,
      logLevel: settings.logLevel,
      poolSize: settings.dbPoolSize,
    };
    const runs: RunResult[] = [];
    const log = (run: RunResult) => {
      console.log(
        `  ${run.scenario.padEnd(34)} ${fmt(run.requestsPerSecond).padStart(8)} req/s  p50 ${fmt(run.p50Ms, 2).padStart(7)} ms  p99 ${fmt(run.p99Ms, 2).padStart(7)} ms` +
          `  ${fmt(run.statementsPerRequest)} SQL/req  CPU ms/req: gateway ${fmt(run.gatewayCpuMsPerRequest, 2)}` +
          (run.postgresCpuMsPerRequest !== undefined ? ` postgres ${fmt(run.postgresCpuMsPerRequest, 2)}` : '') +
          ` autocannon ${fmt(run.loadGeneratorCpuMsPerRequest, 2)}` +
          (run.stealPercent !== undefined ? `  steal ${fmt(run.stealPercent)}% idle ${fmt(run.idlePercent ?? 0)}%` : '') +
          `  non-2xx ${run.non2xx}  bad bodies ${run.badBodies}  socket errors ${run.socketErrors}`,
      );
      if (run.eachRound) {
        console.log(`    rounds: ${run.eachRound.map((r) => `${fmt(r.requestsPerSecond)} req/s (gateway ${fmt(r.gatewayCpuMsPerRequest, 2)} ms/req)`).join(', ')}`);
      }
      if (run.badBodyExample) console.log(`    e.g. ${run.badBodyExample}`);
    };

    /** Authenticated and open access, alternating, `rounds` times each. */
    async function authAndOpen(gateway: Gateway, storedTokens: number, authScenario: string, openScenario: string) {
      const t = targets(gateway, dataset);
      // Both apps share most code (yoga, graphql, Prisma): alternate the warm-ups too, so that
      // the JIT has seen both before anything is measured (one pass was not always enough).
      for (let pass = 0; pass < 2; pass++) {
        await warmUp(t.auth);
        await warmUp(t.open);
      }
      const auth: RunResult[] = [];
      const open: RunResult[] = [];
      for (let round = 0; round < settings.rounds; round++) {
        auth.push(await measure(gateway, authScenario, storedTokens, t.auth));
        open.push(await measure(gateway, openScenario, storedTokens, t.open));
      }
      return { authRun: combine(auth), openRun: combine(open) };
    }

    // (a), (b), (c): 1k tokens.
    let gateway = await startGateway(childOptions);
    await sanityCheck(gateway, dataset, true);
    const small = await authAndOpen(gateway, rowsAtStart.apiTokens, '(a) authenticated query', '(b) open access (no auth/scopes/limits)');
    runs.push(small.authRun, small.openRun);
    log(small.authRun);
    log(small.openRun);

    const t = targets(gateway, dataset);
    await warmUp(t.mint);
    const mint = await measure(gateway, '(c) createApiToken (mint VIEWER)', rowsAtStart.apiTokens, t.mint);
    runs.push(mint);
    log(mint);
    const firstProcessVerifications = (await gateway.counters()).verifications;
    await gateway.stop();

    // Grow the token table, then (d) on a fresh gateway process.
    started = performance.now();
    const rowsAtEnd = await withDatabase(location, false, async (database) => {
      await growTokens(database.prisma, dataset, settings.tokensLarge, settings.spaces, settings.members);
      await settle(database.prisma);
      return countRows(database.prisma);
    });
    const growSeconds = seconds(started);
    console.log(`grew to ${rowsAtEnd.apiTokens} tokens in ${fmt(growSeconds)} s`);

    gateway = await startGateway(childOptions);
    await sanityCheck(gateway, dataset, false);
    const large = await authAndOpen(gateway, rowsAtEnd.apiTokens, '(d) authenticated query', "(b') open access (control for d)");
    runs.push(large.authRun, large.openRun);
    log(large.authRun);
    log(large.openRun);
    const secondProcessVerifications = (await gateway.counters()).verifications;
    await gateway.stop();

    const authVsOpen = small.authRun.requestsPerSecond / small.openRun.requestsPerSecond;
    const authVsOpenLarge = large.authRun.requestsPerSecond / large.openRun.requestsPerSecond;
    const largeVsSmallTokens = large.authRun.requestsPerSecond / small.authRun.requestsPerSecond;
    const ratios = {
      authVsOpen,
      authVsOpenLarge,
      mintVsOpen: mint.requestsPerSecond / small.openRun.requestsPerSecond,
      largeVsSmallTokens,
      largeVsSmallTokensNormalised: authVsOpenLarge / authVsOpen,
    };
    const steadyStateVerifications = small.authRun.argon2.verifications + large.authRun.argon2.verifications;
    // Each gateway process was sent one token secret (the benchmark's token).
    const verificationsPerSecretPerProcess = [firstProcessVerifications, secondProcessVerifications];
    const failures = runs.reduce((sum, run) => sum + run.non2xx + run.badBodies + run.socketErrors, 0);
    const pct = (ratio: number) => `${fmt((ratio - 1) * 100)}%`;
    const report: DatabaseReport = {
      database: kind,
      loadAverage: { before: loadBefore, after: os.loadavg()[0] },
      seedSeconds,
      growSeconds,
      rowsAtStart,
      rowsAtEnd,
      runs,
      argon2: {
        steadyStateVerifications,
        verificationsPerSecretPerProcess,
        hashesPerMint: mint.argon2.hashes / Math.max(1, mint.requests),
      },
      ratios,
      targets: [
        { target: 'every response 200 with the expected data', value: `${failures} failures`, met: failures === 0 },
        {
          target: 'auth + scopes + limits cost at most 10% of throughput',
          value:
            `${pct(authVsOpen)} at ${rowsAtStart.apiTokens} tokens, ${pct(authVsOpenLarge)} at ${rowsAtEnd.apiTokens} ` +
            `(gateway CPU per request ×${fmt(small.authRun.gatewayCpuMsPerRequest / small.openRun.gatewayCpuMsPerRequest, 2)} and ` +
            `×${fmt(large.authRun.gatewayCpuMsPerRequest / large.openRun.gatewayCpuMsPerRequest, 2)}; ` +
            `SQL statements per request ${fmt(small.authRun.statementsPerRequest)} vs ${fmt(small.openRun.statementsPerRequest)})`,
          met: authVsOpen >= 0.9 && authVsOpenLarge >= 0.9,
        },
        {
          target: 'argon2 at most once per token secret per process',
          value: `${steadyStateVerifications} in steady state; ${verificationsPerSecretPerProcess.join(' and ')} per process in all`,
          met: steadyStateVerifications === 0 && verificationsPerSecretPerProcess.every((count) => count <= 1),
        },
        {
          target: `throughput falls at most 10% from ${rowsAtStart.apiTokens} to ${rowsAtEnd.apiTokens} tokens`,
          value:
            `${pct(largeVsSmallTokens)} (${pct(ratios.largeVsSmallTokensNormalised)} against open access; ` +
            `gateway CPU per request ${pct(large.authRun.gatewayCpuMsPerRequest / small.authRun.gatewayCpuMsPerRequest)})`,
          met: largeVsSmallTokens >= 0.9,
        },
      ],
    };
    return report;
  } finally {
    // This database's clean-ups (its gateway, its temp dir or database), even on error.
    const mine = cleanups.splice(cleanupMark);
    for (const cleanup of mine.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        console.error('clean-up failed:', error);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Report

async function postgresVersion(): Promise<string | undefined> {
  if (!settings.databases.includes('postgres')) return undefined;
  const client = new Client({ connectionString: settings.postgresUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('SHOW server_version');
    return rows[0].version;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function markdown(reports: DatabaseReport[], machine: Record<string, unknown>): string {
  const lines: string[] = [];
  lines.push('# Portcullis benchmark');
  lines.push('');
  lines.push(
    `${machine.date} · ${machine.cpuCount} × ${machine.cpuModel} · ${machine.totalMemoryGiB} GiB · Node ${machine.node}` +
      (machine.postgres ? ` · PostgreSQL ${machine.postgres}` : ''),
  );
  lines.push('');
  lines.push(
    `autocannon over loopback, ${settings.connections} connections, ${settings.durationSeconds} s per run after warm-ups of ${settings.warmupSeconds} s ` +
      `(each app twice, alternately, before (a)/(b) and (d)/(b'); once before (c)); ` +
      `(a)/(b) and (d)/(b') alternate, ${settings.rounds} runs each. Query: \`board(id) { id name items(first: 20) { … updates(first: 3) { … } } }\`, ` +
      `round-robin over all ${settings.boards} boards. Dataset: ${settings.boards} boards in ${settings.spaces} spaces, ` +
      `${settings.boards * settings.itemsPerBoard} items (${settings.itemsPerBoard} per board) with 0-3 updates each, ${settings.members + 1} users; ` +
      `(a)-(c) with ${settings.tokensSmall} stored API tokens, (d) with ${settings.tokensLarge}. ` +
      `The token: ${settings.tokenKind === 'PERSONAL' ? "the owner's PERSONAL token capped at EDITOR" : 'a SERVICE token with role EDITOR'}, organization scope; ` +
      'open access acts as the owner (OWNER of the organization).',
  );
  lines.push('');
  lines.push(
    '| database | scenario | tokens stored | req/s | p50 ms | p99 ms | non-2xx | bad bodies | vs open access | SQL statements / req | ' +
      'gateway CPU ms / req | PostgreSQL CPU ms / req | autocannon CPU ms / req | CPU steal / idle |',
  );
  lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const report of reports) {
    if (report.error) {
      lines.push(`| ${report.database} | failed: ${report.error.split('\n')[0].replace(/\|/g, '\\|')} | | | | | | | | | | | | |`);
      continue;
    }
    const [a, b, c, d, b2] = report.runs;
    const vs = (run: RunResult, base: RunResult) => `${fmt((run.requestsPerSecond / base.requestsPerSecond) * 100)}%`;
    const row = (run: RunResult, ratio: string) =>
      `| ${report.database} | ${run.scenario} | ${run.storedTokens} | ${fmt(run.requestsPerSecond)} | ${fmt(run.p50Ms, 2)} | ${fmt(run.p99Ms, 2)} | ${run.non2xx} | ${run.badBodies} | ${ratio} | ` +
      `${fmt(run.statementsPerRequest)} | ${fmt(run.gatewayCpuMsPerRequest, 2)} | ` +
      `${run.postgresCpuMsPerRequest !== undefined ? fmt(run.postgresCpuMsPerRequest, 2) : '–'} | ${fmt(run.loadGeneratorCpuMsPerRequest, 2)} | ` +
      `${run.stealPercent !== undefined ? `${fmt(run.stealPercent)}% / ${fmt(run.idlePercent ?? 0)}%` : '–'} |`;
    lines.push(row(a, vs(a, b)), row(b, '100%'), row(c, vs(c, b)), row(d, vs(d, b2)), row(b2, '100%'));
  }
  lines.push('');
  lines.push(
    `| database | seeding | load average before → after | ${settings.tokensSmall} → ${settings.tokensLarge} tokens: (d) / (a) | ` +
      'argon2 verifications in steady state | argon2 verifications per gateway process (one token secret) | argon2 hashes per mint |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|--:|');
  for (const report of reports) {
    if (report.error) continue;
    lines.push(
      `| ${report.database} | ${fmt(report.seedSeconds)} s (+${fmt(report.growSeconds)} s to grow tokens) | ` +
        `${fmt(report.loadAverage.before, 2)} → ${fmt(report.loadAverage.after, 2)} | ${fmt(report.ratios.largeVsSmallTokens * 100)}% ` +
        `(${fmt(report.ratios.largeVsSmallTokensNormalised * 100)}% against open access) | ${report.argon2.steadyStateVerifications} | ` +
        `${report.argon2.verificationsPerSecretPerProcess.join(', ')} | ${fmt(report.argon2.hashesPerMint, 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    'Notes. (b) is the same gateway process, database and query with `AppOptions.openAccess`: no credential, no scope checks, no query limits, ' +
      'budgets or rate limits. In (a), (c), (d) every limit runs with ceilings too high to refuse anything. "SQL statements / req" and ' +
      '"gateway CPU ms / req" are counted in the gateway process (user + system time, all threads, so argon2 is included; on PGlite the ' +
      'database runs inside that process, so its work counts there too); "PostgreSQL CPU" is that of the backends serving the gateway ' +
      '(from /proc), "autocannon CPU" that of the load generator; all three share the same cores. "CPU steal" is the share of the ' +
      "machine's CPU time the hypervisor gave to other guests during the run (from /proc/stat): when it is more than a few percent, " +
      'throughput swings from run to run and only the ratios of runs measured side by side mean much. Requests still in ' +
      'flight when a run ends add a little to both, and to "argon2 hashes per mint". (b\') repeats (b) on the second gateway process, so that ' +
      '(d) / (a) can also be read against drift between the two processes. The load average shows other work on the machine: ' +
      'on 2 cores the load generator, the gateway and PostgreSQL already compete, so compare ratios rather than absolute figures.',
  );
  lines.push('');
  lines.push('| database | target | measured | met |');
  lines.push('|---|---|---|---|');
  for (const report of reports) {
    if (report.error) continue;
    // The issue sets its targets on PostgreSQL; on PGlite the same figures are for information.
    const note = report.database === 'postgres' ? '' : ' (informational: the targets are set for PostgreSQL)';
    for (const target of report.targets) lines.push(`| ${report.database} | ${target.target} | ${target.value} | ${target.met ? 'yes' : '**no**'}${note} |`);
  }
  lines.push('');
  return lines.join('\n');
}

async function main() {
  const started = performance.now();
  console.log(`Portcullis benchmark: ${JSON.stringify(publicSettings())}`);
  if (settings.profileDir) {
    mkdirSync(settings.profileDir, { recursive: true });
    console.log(`Profiling the gateway into ${settings.profileDir}: the figures of this run are skewed by the profiler.`);
  }
  const reports: DatabaseReport[] = [];
  if (settings.tokenKind !== 'PERSONAL' && settings.tokenKind !== 'SERVICE') throw new Error('BENCH_TOKEN_KIND must be personal or service');
for (const kind of settings.databases) {
    try {
      reports.push(await benchDatabase(kind));
    } catch (error) {
      console.error(`\n${kind} failed:`, error);
      reports.push({
        database: kind,
        error: error instanceof Error ? error.message : String(error),
      } as DatabaseReport);
    }
  }
  const cpus = os.cpus();
  const machine = {
    date: new Date().toISOString(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    postgres: await postgresVersion(),
  };
  const totalSeconds = seconds(started);
  const md = markdown(reports, machine) + `\nWhole benchmark: ${fmt(totalSeconds, 0)} s. Reproduce with \`npm run bench\` (see bench/run.ts for the knobs).\n`;
  mkdirSync(settings.resultsDir, { recursive: true });
  writeFileSync(
    path.join(settings.resultsDir, 'results.json'),
    JSON.stringify({ machine, settings: publicSettings(), totalSeconds, reports }, null, 2) + '\n',
  );
  writeFileSync(path.join(settings.resultsDir, 'results.md'), md);
  console.log(`\n${md}`);
  console.log(`Written to ${path.relative(process.cwd(), settings.resultsDir) || '.'}/results.{json,md}`);
  if (reports.some((report) => report.error)) process.exitCode = 1;
}

main()
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
