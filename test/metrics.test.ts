// Prometheus metrics (src/metrics/): off by default (404); with METRICS_ENABLED on the
// gateway's port; with METRICS_PORT only on a listener of their own. The counts are read back
// from the text format and compared exactly: request latency by operation name and status,
// refusals by reason, argon2id verifications and the secret-proof cache, the PostgreSQL pool.
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp, type App } from '../src/app';
import type { AbuseLimits, Config } from '../src/env';
import { MAX_OPERATION_NAMES } from '../src/metrics/registry';
import { startMetricsServer } from '../src/metrics/server';
import { formatToken, newPublicId, newSecret } from '../src/auth/tokenFormat';
import { createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';
import { killLeftoverServers, migratedDatabase, postGraphQL, startServer, stopServer } from './helpers/serverProcess';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format, one sample per line (comments skipped). */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, name, value]) => [name, value]));
      return { name: match[1], labels, value: Number(match[3]) };
    });
}

class Scrape {
  readonly samples: Sample[];
  constructor(readonly text: string) {
    this.samples = parseMetrics(text);
  }

  /** The sample with exactly these labels (0 when there is none). */
  value(name: string, labels: Record<string, string> = {}): number {
    const wanted = Object.entries(labels);
    const found = this.samples.find(
      (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
    );
    return found?.value ?? 0;
  }

  requests(operation: string, status: number): number {
    return this.value('portcullis_http_request_duration_seconds_count', { operation, status: String(status) });
  }

  refusals(reason: string): number {
    return this.value('portcullis_refusals_total', { reason });
  }

  /** Every refusal reason's count. */
  allRefusals(): Record<string, number> {
    return Object.fromEntries(this.samples.filter((s) => s.name === 'portcullis_refusals_total').map((s) => [s.labels.reason, s.value]));
  }

  argon2Verifications(): number {
    return this.value('portcullis_argon2_verification_seconds_count');
  }

  cache(result: 'hits' | 'misses', cache = 'secret_proof'): number {
    return this.value(`portcullis_cache_${result}_total`, { cache });
  }
}

async function scrape(app: App): Promise<Scrape> {
  const res = await request(app.yoga).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(res.text);
}

const metricsOn = (overrides: Partial<Config> = {}): Partial<Config> => ({ metrics: { enabled: true, port: undefined }, ...overrides });

/** POST /graphql to `app` with an optional Authorization header and client address. */
async function post(app: App, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await request(app.yoga).post('/graphql').set('Content-Type', 'application/json').set(headers).send(body);
  return { status: res.status, headers: res.headers as Record<string, string>, body: res.body };
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const badBearer = () => bearer(formatToken('pcl_', newPublicId(), newSecret()));

describe('off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t?.close());

  test('GET /metrics answers 404 and nothing is collected', async () => {
    expect(t.app.metrics).toBeNull();
    expect((await t.http().get('/metrics')).status).toBe(404);
    dataOf(await t.gql('query Ping { __typename }'));
    expect((await t.http().get('/metrics')).status).toBe(404);
  });
});

describe('METRICS_ENABLED: on the gateway port', () => {
  let t: TestApp;
  let owner: TestUser;
  let organizationId: string;
  let spaceId: string;
  const extraApps: App[] = [];

  /** Another app on the same database, with metrics and these limits (its counts start at 0). */
  const appWith = (limits: Partial<AbuseLimits> = {}) => {
    const app = createApp(testConfig(metricsOn({ limits: { ...testConfig().limits, trustProxy: { hops: 1 }, ...limits } })), t.database);
    extraApps.push(app);
    return app;
  };

  beforeAll(async () => {
    t = await startTestApp(metricsOn());
    owner = await signUp(t, 'Owner');
    organizationId = await createOrganization(t, owner.token);
    spaceId = await createSpace(t, owner.token, organizationId);
  });
  afterAll(async () => {
    for (const app of extraApps) await app.stop();
    await t?.close();
  });

  test('requests: count and latency by the operation name and HTTP status', async () => {
    const before = await scrape(t.app);
    dataOf(await t.gql('query ViewerName { viewer { user { name } } }', undefined, owner.token));
    dataOf(await t.gql('query ViewerName { viewer { user { name } } }', undefined, owner.token));
    dataOf(await t.gql('{ viewer { user { name } } }', undefined, owner.token));
    // Two operations: operationName picks the one that runs.
    const twoOperations = 'query First { __typename } query Second { __typename }';
    expect((await post(t.app, { query: twoOperations, operationName: 'Second' })).status).toBe(200);
    // A document that does not validate names no label.
    expect((await t.gql('query Broken { noSuchField }')).status).toBe(400);
    const after = await scrape(t.app);

    expect(after.requests('ViewerName', 200) - before.requests('ViewerName', 200)).toBe(2);
    expect(after.requests('Second', 200) - before.requests('Second', 200)).toBe(1);
    expect(after.requests('First', 200)).toBe(0);
    expect(after.requests('Broken', 400)).toBe(0);
    expect(after.requests('anonymous', 200) - before.requests('anonymous', 200)).toBe(1);
    expect(after.requests('anonymous', 400) - before.requests('anonymous', 400)).toBe(1);
    // The histogram: every request falls in the +Inf bucket, and took some time.
    const labels = { operation: 'ViewerName', status: '200' };
    expect(after.value('portcullis_http_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(after.requests('ViewerName', 200));
    expect(after.value('portcullis_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
    // /metrics and /healthz are not GraphQL requests.
    await t.http().get('/healthz');
    const again = await scrape(t.app);
    const total = (s: Scrape) => s.samples.filter((x) => x.name === 'portcullis_http_request_duration_seconds_count').reduce((sum, x) => sum + x.value, 0);
    expect(total(again)).toBe(total(after));
  });

  test('refusals: an invalid token (401), UNAUTHENTICATED without a credential, FORBIDDEN', async () => {
    const before = await scrape(t.app);
    const invalid = await t.gqlWithHeader('query Who { viewer { user { id } } }', badBearer().Authorization);
    expect(invalid.status).toBe(401);
    const anonymous = await t.gql('mutation NewOrg { createOrganization(input: { name: "x" }) { id } }');
    expect(errorCodes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const viewer = await mintToken(t, owner.token, { role: 'VIEWER', spaceId });
    const forbidden = await t.gql(`mutation NewBoard { createBoard(input: { spaceId: "${spaceId}", name: "no" }) { id } }`, undefined, viewer.secret);
    expect(errorCodes(forbidden)).toEqual(['FORBIDDEN']);
    const after = await scrape(t.app);

    expect(after.refusals('unauthenticated') - before.refusals('unauthenticated')).toBe(2);
    expect(after.refusals('forbidden') - before.refusals('forbidden')).toBe(1);
    expect(after.requests('Who', 401) - before.requests('Who', 401)).toBe(1);
    expect(after.requests('NewOrg', anonymous.status) - before.requests('NewOrg', anonymous.status)).toBe(1);
    expect(after.requests('NewBoard', forbidden.status) - before.requests('NewBoard', forbidden.status)).toBe(1);
    // No limit refused anything here.
    for (const reason of ['token_rate', 'address_rate', 'budget', 'login_failures', 'signup_rate', 'leak_report_rate', 'refused_credentials']) {
      expect(after.refusals(reason)).toBe(before.refusals(reason));
    }
  });

  test('argon2id: a token used the first time is verified once (a cache miss); used again, it is not (a hit)', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId });
    const before = await scrape(t.app);
    dataOf(await t.gql('{ viewer { apiToken { id } } }', undefined, token.secret));
    const first = await scrape(t.app);
    dataOf(await t.gql('{ viewer { apiToken { id } } }', undefined, token.secret));
    dataOf(await t.gql('{ viewer { apiToken { id } } }', undefined, token.secret));
    const cached = await scrape(t.app);

    expect(first.argon2Verifications() - before.argon2Verifications()).toBe(1);
    expect(first.cache('misses') - before.cache('misses')).toBe(1);
    expect(first.cache('hits') - before.cache('hits')).toBe(0);
    expect(cached.argon2Verifications() - first.argon2Verifications()).toBe(0);
    expect(cached.cache('hits') - first.cache('hits')).toBe(2);
    expect(cached.cache('misses') - first.cache('misses')).toBe(0);
    expect(cached.value('portcullis_argon2_verification_seconds_sum')).toBeGreaterThan(0);
    // A session's first use too (signUp hashed its secret; nothing verified it yet).
    const user = await signUp(t, 'Fresh');
    const beforeSession = await scrape(t.app);
    dataOf(await t.gql('{ viewer { user { id } } }', undefined, user.token));
    const afterSession = await scrape(t.app);
    expect(afterSession.argon2Verifications() - beforeSession.argon2Verifications()).toBe(1);
    expect(afterSession.value('portcullis_argon2_hashes_total')).toBeGreaterThan(0);
  });

  test.each([
    ['token_rate', { tokenRequestsPerMinute: 1 }],
    ['address_rate', { anonymousRequestsPerMinute: 1 }],
    ['refused_credentials', { anonymousRequestsPerMinute: 1 }],
    ['budget', { budgetDefaultPerMinute: 1 }],
    ['login_failures', { logInFailuresPerMinute: 1 }],
    ['signup_rate', { signUpsPerMinute: 1 }],
    ['leak_report_rate', { leakReportsPerMinute: 1 }],
  ] as const)('HTTP 429 counted by the limit reached: %s', async (reason, limits) => {
    const app = appWith(limits);
    const from = { 'X-Forwarded-For': `198.51.100.${Math.floor(Math.random() * 250)}` };
    const viewer = { query: 'query Me { viewer { user { id name email } } }' };
    const hello = { query: 'query Hello { __typename }' };
    const logIn = { query: 'mutation LogIn($input: LogInInput!) { logIn(input: $input) { token } }', variables: { input: { email: owner.email, password: 'wrong-password' } } };
    const newUser = () => ({
      query: 'mutation SignUp($input: SignUpInput!) { signUp(input: $input) { token } }',
      variables: { input: { email: `metrics-${Math.random().toString(36).slice(2)}@example.com`, password: 'a-good-password', name: 'M' } },
    });
    const leak = { query: 'mutation Leak($tokens: [String!]!) { revokeLeakedTokens(tokens: $tokens) { received } }', variables: { tokens: ['pcl_not-a-token'] } };
    // The first request is let through, the second refused.
    const [first, second, operation, headers] = {
      token_rate: [viewer, viewer, 'Me', { ...from, ...bearer(owner.token) }],
      address_rate: [hello, hello, 'Hello', from],
      refused_credentials: [viewer, viewer, 'Me', { ...from, ...badBearer() }],
      budget: [viewer, viewer, 'Me', { ...from, ...bearer(owner.token) }],
      login_failures: [logIn, logIn, 'LogIn', from],
      signup_rate: [newUser(), newUser(), 'SignUp', from],
      leak_report_rate: [leak, leak, 'Leak', from],
    }[reason] as [Record<string, unknown>, Record<string, unknown>, string, Record<string, string>];
    expect((await post(app, first, headers)).status).not.toBe(429);
    const refused = await post(app, second, headers);
    expect(refused.status).toBe(429);
    const after = await scrape(app);

    const expected: Record<string, number> = {
      unauthenticated: 0,
      forbidden: 0,
      token_rate: 0,
      address_rate: 0,
      budget: 0,
      login_failures: 0,
      signup_rate: 0,
      leak_report_rate: 0,
      refused_credentials: 0,
      [reason]: 1,
    };
    // The first bad token and the first wrong password are refused as UNAUTHENTICATED.
    if (reason === 'refused_credentials' || reason === 'login_failures') expected.unauthenticated = 1;
    expect(after.allRefusals()).toEqual(expected);
    expect(after.requests(operation, 429)).toBe(1);
  });

  test(`operation names: longer than 100 characters or beyond ${MAX_OPERATION_NAMES} distinct ones, "other"`, async () => {
    const app = appWith();
    for (let i = 0; i <= MAX_OPERATION_NAMES; i++) expect((await post(app, { query: `query Op${i} { __typename }` })).status).toBe(200);
    await post(app, { query: `query ${'L'.repeat(101)} { __typename }` });
    await post(app, { query: 'query Op0 { __typename }' });
    const after = await scrape(app);
    const operations = new Set(after.samples.filter((s) => s.name === 'portcullis_http_request_duration_seconds_count').map((s) => s.labels.operation));
    expect(operations.size).toBe(MAX_OPERATION_NAMES + 1);
    expect(after.requests('Op0', 200)).toBe(2);
    expect(after.requests(`Op${MAX_OPERATION_NAMES - 1}`, 200)).toBe(1);
    expect(after.requests(`Op${MAX_OPERATION_NAMES}`, 200)).toBe(0);
    expect(after.requests('other', 200)).toBe(2);
  });

  test('no secret, token id, user id or address in the metrics', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', spaceId });
    dataOf(await t.gql('query Mine { viewer { apiToken { id } } }', undefined, token.secret));
    await t.gqlWithHeader('{ __typename }', 'Bearer pcl_not-a-real-token');
    const { text } = await scrape(t.app);
    for (const secret of [token.secret, token.id, owner.token, owner.id, owner.email, organizationId, 'not-a-real-token', '127.0.0.1']) {
      expect(text).not.toContain(secret);
    }
  });

  test(testDatabaseUrl() ? 'PostgreSQL: the pool in use, idle, waiting and its size' : 'PGlite: no pool gauges (one embedded connection)', async () => {
    dataOf(await t.gql('{ viewer { user { id } } }', undefined, owner.token));
    const now = await scrape(t.app);
    const pool = now.samples.filter((s) => s.name.startsWith('portcullis_db_pool_'));
    if (!testDatabaseUrl()) {
      expect(pool).toEqual([]);
      return;
    }
    // Between requests nothing is lent out; the test database's pool has 5 connections at most.
    expect(now.value('portcullis_db_pool_connections', { state: 'in_use' })).toBe(0);
    expect(now.value('portcullis_db_pool_connections', { state: 'idle' })).toBeGreaterThanOrEqual(1);
    expect(now.value('portcullis_db_pool_waiting')).toBe(0);
    expect(now.value('portcullis_db_pool_max')).toBe(5);
    // Seven slow statements at once: five run (every connection in use), two wait. (A Prisma
    // query starts when it is awaited: `then` starts it.)
    const slow = Array.from({ length: 7 }, () => t.prisma.$queryRaw`SELECT 1 AS one FROM pg_sleep(1.5)`.then(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 800));
    const during = await scrape(t.app);
    await Promise.all(slow);
    expect(during.value('portcullis_db_pool_connections', { state: 'in_use' })).toBe(5);
    expect(during.value('portcullis_db_pool_connections', { state: 'idle' })).toBe(0);
    // Two of the seven, and now and then one more: the app's background jobs (webhook outbox,
    // expiry notices) poll through the same pool.
    expect(during.value('portcullis_db_pool_waiting')).toBeGreaterThanOrEqual(2);
    expect(during.value('portcullis_db_pool_waiting')).toBeLessThanOrEqual(4);
  });
});

describe('METRICS_PORT: only on a listener of their own', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ metrics: { enabled: true, port: 0 } });
  });
  afterAll(() => t?.close());

  test('served on the metrics port, 404 on the gateway port', async () => {
    const server = await startMetricsServer(t.app.metrics!, 0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await t.http().get('/metrics')).status).toBe(404);
      dataOf(await t.gql('query Ping { __typename }'));
      const res = await fetch(`${base}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(new Scrape(await res.text()).requests('Ping', 200)).toBe(1);
      // Nothing else is served there.
      expect((await fetch(`${base}/graphql`, { method: 'POST', body: '{}' })).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      server.close();
    }
  });
});

describe('npm start', () => {
  afterEach(killLeftoverServers);
  jest.setTimeout(180_000);

  test('without METRICS_ENABLED or METRICS_PORT: no metrics line, no listener, /metrics answers 404', async () => {
    const database = await migratedDatabase();
    try {
      const server = await startServer({ ...database.env, SEED_DEMO_DATA: 'false', METRICS_ENABLED: '', METRICS_PORT: '' });
      expect(server.output()).not.toContain('Metrics on');
      expect((await fetch(server.url.replace('/graphql', '/metrics'))).status).toBe(404);
      expect(await stopServer(server)).toBe(0);
    } finally {
      await database.drop();
    }
  });

  test('METRICS_PORT: prints where the metrics are, serves them there (process metrics included) and not on PORT; stops cleanly', async () => {
    const database = await migratedDatabase();
    try {
      const server = await startServer({ ...database.env, SEED_DEMO_DATA: 'false', METRICS_PORT: '0' });
      const [, metricsUrl] = await server.waitForOutput(/Metrics on (http:\/\/\S+\/metrics)/);
      expect(metricsUrl).not.toBe(server.url.replace('/graphql', '/metrics'));
      expect((await postGraphQL(server.url, 'query Ping { __typename }')).status).toBe(200);
      const scraped = new Scrape(await (await fetch(metricsUrl.replace('localhost', '127.0.0.1'))).text());
      expect(scraped.requests('Ping', 200)).toBe(1);
      expect(scraped.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect((await fetch(server.url.replace('/graphql', '/metrics'))).status).toBe(404);
      expect(await stopServer(server)).toBe(0);
    } finally {
      await database.drop();
    }
  });
});
