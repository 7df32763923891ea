// Limits shared by several gateway instances through Redis (127.0.0.1:6379): two app
// instances in one test, on the same database (on PostgreSQL each with its own pool) and the
// same Redis, enforce one budget and one request rate, not two. When Redis cannot be reached
// the gateway keeps serving, says so in its logs and in /healthz, and counts in its own
// memory until Redis is back. Each run uses its own key prefix and deletes its keys.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createApp, type App } from '../src/app';
import { openDatabase, type Database } from '../src/db/database';
import type { AbuseLimits, Config } from '../src/env';
import { createBoard, createItem, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { TcpProxy } from './helpers/tcpProxy';
import { dataOf, startTestApp, testConfig, type GraphQLResponse, type TestApp } from './helpers/testApp';

const REDIS_URL = 'redis://127.0.0.1:6379';
const prefix = `portcullis-test-${randomUUID().slice(0, 8)}:`;

/** 6 + 6 per item returned: 12 for the one item of the board (see test/limits.test.ts). */
const BOARD_ITEMS = `query($id: ID!) { board(id: $id) { id name items(first: 20) { edges { node { id name } } } } }`;
const COST = 12;

interface Instance {
  app: App;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse>;
  health(): Promise<{ status: number; body: { limits?: unknown } }>;
  close(): Promise<void>;
}

let t: TestApp;
let owner: TestUser;
let spaceId: string;
let boardId: string;
const opened: Instance[] = [];

/** An app instance on `t`'s database (its own pool on PostgreSQL) with these limits. */
async function instance(limits: Partial<AbuseLimits>, options: { logLines?: string[] } = {}): Promise<Instance> {
  const config: Config = testConfig({ limits: { ...testConfig().limits, redisKeyPrefix: prefix, ...limits } });
  if (options.logLines) config.logLevel = 'info';
  const ownPool = t.database.kind === 'postgresql';
  const database: Database = ownPool
    ? await openDatabase({ databaseUrl: t.database.location, dataDir: '', poolSize: 3, migrate: false })
    : t.database;
  const lines = options.logLines;
  const app = createApp(config, database, lines ? { logStream: { write: (line: string) => void lines.push(line) } } : {});
  const created: Instance = {
    app,
    async gql(query, variables, token) {
      let req = request(app.yoga).post('/graphql').set('Content-Type', 'application/json');
      if (token) req = req.set('Authorization', `Bearer ${token}`);
      const res = await req.send({ query, variables });
      return { status: res.status, headers: res.headers as Record<string, string>, body: res.body };
    },
    async health() {
      const res = await request(app.yoga).get('/healthz');
      return { status: res.status, body: res.body };
    },
    async close() {
      await app.stop();
      if (ownPool) await database.close();
    },
  };
  opened.push(created);
  return created;
}

const remainingOf = (res: GraphQLResponse) => (res.body as { extensions?: { complexity?: { remaining: number } } }).extensions?.complexity?.remaining;

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token);
  spaceId = await createSpace(t, owner.token, organizationId);
  boardId = await createBoard(t, owner.token, spaceId);
  await createItem(t, owner.token, boardId, 'Item');
});

afterAll(async () => {
  for (const each of opened) await each.close();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  await t?.close();
});

test('two instances on one Redis: one complexity budget, not two', async () => {
  const a = await instance({ redisUrl: REDIS_URL });
  const b = await instance({ redisUrl: REDIS_URL });
  await waitFor(async () => a.app.limiter.health().redis === 'ready' && b.app.limiter.health().redis === 'ready', 'Redis');
  const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId, complexityBudget: 5 * COST });
  // Five queries spend the budget, alternately on each instance; each sees what the other spent.
  const remaining: (number | undefined)[] = [];
  for (let i = 0; i < 5; i++) remaining.push(remainingOf(await (i % 2 ? b : a).gql(BOARD_ITEMS, { id: boardId }, token.secret)));
  expect(remaining).toEqual([4, 3, 2, 1, 0].map((n) => n * COST));
  // Then neither instance runs anything.
  for (const refusedBy of [a, b]) {
    const refused = await refusedBy.gql(BOARD_ITEMS, { id: boardId }, token.secret);
    expect(refused.status).toBe(429);
    expect(refused.body.errors?.[0].extensions?.code).toBe('RATE_LIMITED');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
  }
  expect((await a.health()).body.limits).toEqual({ store: 'redis', redis: 'ready' });
});

test('two instances on one Redis: one request rate per token, and one count of failed logIns per email', async () => {
  const a = await instance({ redisUrl: REDIS_URL, tokenRequestsPerMinute: 5, logInFailuresPerMinute: 3 });
  const b = await instance({ redisUrl: REDIS_URL, tokenRequestsPerMinute: 5, logInFailuresPerMinute: 3 });
  await waitFor(async () => a.app.limiter.health().redis === 'ready' && b.app.limiter.health().redis === 'ready', 'Redis');
  const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId });
  const statuses: number[] = [];
  for (const each of [a, a, a, b, b, a, b]) statuses.push((await each.gql('{ viewer { apiToken { id } } }', undefined, token.secret)).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);

  const victim = await signUp(t, 'Victim');
  const logIn = (each: Instance) =>
    each.gql(`mutation($input: LogInInput!) { logIn(input: $input) { token } }`, { input: { email: victim.email, password: 'not the password' } });
  const codes: unknown[] = [];
  for (const each of [a, b, a, b]) codes.push((await logIn(each)).body.errors?.[0].extensions?.code);
  expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED']);
});

test('Redis unreachable: the gateway keeps serving, logs it, /healthz says so, limits hold per instance; back when Redis is', async () => {
  const proxy = new TcpProxy({ host: '127.0.0.1', port: 6379 });
  await proxy.listen();
  const lines: string[] = [];
  const a = await instance({ redisUrl: `redis://127.0.0.1:${proxy.port}` }, { logLines: lines });
  try {
    await waitFor(async () => a.app.limiter.health().redis === 'ready', 'Redis through the proxy');
    const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId, complexityBudget: 5 * COST });
    expect(remainingOf(await a.gql(BOARD_ITEMS, { id: boardId }, token.secret))).toBe(4 * COST);

    await proxy.cut();
    await waitFor(async () => a.app.limiter.health().redis === 'unreachable', 'the lost connection to be noticed');
    const health = await a.health();
    expect(health.status).toBe(200);
    expect(health.body.limits).toEqual({ store: 'redis', redis: 'unreachable' });
    expect(lines.some((line) => /Redis is unreachable/.test(line) && /"level":40/.test(line))).toBe(true);
    // Still serving, counting in memory from zero: five run, the sixth is refused.
    const started = performance.now();
    for (let i = 0; i < 5; i++) expect(remainingOf(await a.gql(BOARD_ITEMS, { id: boardId }, token.secret))).toBe((4 - i) * COST);
    expect((await a.gql(BOARD_ITEMS, { id: boardId }, token.secret)).status).toBe(429);
    // No request waited for Redis.
    expect(performance.now() - started).toBeLessThan(5_000);

    await proxy.restore();
    await waitFor(async () => a.app.limiter.health().redis === 'ready', 'the reconnection', 15_000);
    expect((await a.health()).body.limits).toEqual({ store: 'redis', redis: 'ready' });
    expect(lines.some((line) => /Redis is reachable/.test(line))).toBe(true);
    // Back on Redis, where one query had been charged before the cut.
    expect(remainingOf(await a.gql(BOARD_ITEMS, { id: boardId }, token.secret))).toBe(3 * COST);
  } finally {
    await proxy.cut();
  }
});

test('without REDIS_URL the counters are in memory, and /healthz says so', async () => {
  const a = await instance({ redisUrl: undefined });
  const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId });
  dataOf(await a.gql(BOARD_ITEMS, { id: boardId }, token.secret));
  expect((await a.health()).body.limits).toEqual({ store: 'memory' });
});
