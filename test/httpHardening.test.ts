// The HTTP surface's hardening (security review, issue 9): one credential per request, the
// headers of every response (cache, sniffing, referrer, GraphiQL's CSP, CORS), the client
// address behind trusted proxies, and GraphiQL's page and /healthz under the per-address rate.
import { createHash, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createApp, type App } from '../src/app';
import type { AbuseLimits, Config } from '../src/env';
import { signUp, type TestUser } from './helpers/factories';
import { serve, type LiveServer } from './helpers/liveServer';
import { errorCodes, startTestApp, testConfig, type TestApp } from './helpers/testApp';

let t: TestApp;
let user: TestUser;
const apps: App[] = [];
const servers: LiveServer[] = [];

beforeAll(async () => {
  t = await startTestApp();
  user = await signUp(t, 'Hardening');
});

afterAll(async () => {
  for (const server of servers) await server.close();
  for (const app of apps) await app.stop();
  await t?.close();
});

/** An app of its own on the test database (its own counters), served on 127.0.0.1. */
async function liveApp(overrides: { limits?: Partial<AbuseLimits> } & Partial<Omit<Config, 'limits'>> = {}): Promise<string> {
  const { limits, ...rest } = overrides;
  const app = createApp(testConfig({ ...rest, limits: { ...testConfig().limits, ...limits } }), t.database);
  apps.push(app);
  const server = await serve(app);
  servers.push(server);
  return server.origin;
}

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** A request through node:http, which sends each value of an array header as its own header line. */
function send(origin: string, options: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: object }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const payload = options.body ? JSON.stringify(options.body) : undefined;
    const req = httpRequest(
      `${origin}${options.path ?? '/graphql'}`,
      {
        method: options.method ?? (payload ? 'POST' : 'GET'),
        headers: { ...(payload && { 'content-type': 'application/json' }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: any = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON (GraphiQL's page)
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const VIEWER = '{ viewer { __typename } }';
const codesOf = (res: RawResponse) => ((res.body?.errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code);

// ---- 7. one credential per request ------------------------------------------------------

describe('Authorization: one credential per request', () => {
  test('two Authorization headers: HTTP 400 BAD_USER_INPUT, not the first one silently', async () => {
    const origin = await liveApp();
    // One header with the valid session token: it works.
    const single = await send(origin, { body: { query: VIEWER }, headers: { authorization: `Bearer ${user.token}` } });
    expect(single.status).toBe(200);
    expect(single.body.data.viewer).toBeTruthy();

    const other = `Bearer pcl_${'A'.repeat(16)}${'b'.repeat(43)}AAAAAA`;
    for (const headers of [[`Bearer ${user.token}`, other], [other, `Bearer ${user.token}`], [`Bearer ${user.token}`, `Bearer ${user.token}`]]) {
      const res = await send(origin, { body: { query: VIEWER }, headers: { authorization: headers } });
      expect(res.status).toBe(400);
      expect(codesOf(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors[0].message).toMatch(/Several Authorization headers were sent\. Send one credential/);
      expect(res.body.data ?? null).toBeNull();
      expect(JSON.stringify(res.body)).not.toContain(user.token);
    }
  });

  test('one header with two credentials: HTTP 400 BAD_USER_INPUT', async () => {
    for (const authorization of [`Bearer ${user.token}, Bearer ${user.token}`, `Bearer ${user.token} ${user.token}`, `Bearer ${user.token}\t \t${user.token}`, `Bearer ${user.token},`, `Bearer ${user.token}, Basic abc`]) {
      const res = await t.gqlWithHeader(VIEWER, authorization);
      expect(res.status).toBe(400);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toMatch(/holds more than one credential\. Send one credential/);
      expect(JSON.stringify(res.body)).not.toContain(user.token);
    }
    // One credential with spaces around it is still one.
    expect((await t.gqlWithHeader(VIEWER, `  Bearer  ${user.token} `)).status).toBe(200);
  });

  test('refused before any credential is verified: refused credentials are not counted for the address', async () => {
    // One refused credential per minute and the address waits; these refusals never reach that count.
    const origin = await liveApp({ limits: { anonymousRequestsPerMinute: 1 } });
    const bad = `Bearer pcl_${'A'.repeat(16)}${'b'.repeat(43)}AAAAAA`;
    for (let i = 0; i < 3; i++) {
      expect((await send(origin, { body: { query: VIEWER }, headers: { authorization: [bad, bad] } })).status).toBe(400);
      expect((await send(origin, { body: { query: VIEWER }, headers: { authorization: `${bad}, ${bad}` } })).status).toBe(400);
    }
    // One bad credential is verified and refused (401): the address's one refusal.
    expect((await send(origin, { body: { query: VIEWER }, headers: { authorization: bad } })).status).toBe(401);
  });
});

// ---- 8. response headers and CORS -----------------------------------------------------

describe('response headers', () => {
  function expectEveryResponseHeaders(headers: Record<string, string | string[] | undefined>) {
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['referrer-policy']).toBe('no-referrer');
  }

  test('GraphQL responses (data, errors, refusals) are no-store, nosniff, no-referrer and not frameable', async () => {
    const ok = await t.http().post('/graphql').set('Authorization', `Bearer ${user.token}`).send({ query: VIEWER });
    expect(ok.status).toBe(200);
    const created = await t.http().post('/graphql').send({
      query: `mutation($input: LogInInput!) { logIn(input: $input) { token } }`,
      variables: { input: { email: user.email, password: user.password } },
    });
    expect(created.body.data.logIn.token).toMatch(/^pcs_/); // a response that carries a secret
    const refused = await t.http().post('/graphql').set('Authorization', 'Bearer nope').send({ query: VIEWER });
    expect(refused.status).toBe(401);
    const unparsable = await t.http().post('/graphql').send({ query: '{' });
    expect(unparsable.status).toBe(400);
    const viaGet = await t.http().get('/graphql').query({ query: '{ __typename }' }).set('Accept', 'application/json');
    expect(viaGet.status).toBe(200);
    for (const res of [ok, created, refused, unparsable, viaGet]) {
      expectEveryResponseHeaders(res.headers);
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });

  test('/healthz and unknown paths get them too', async () => {
    for (const path of ['/healthz', '/nothing-here']) expectEveryResponseHeaders((await t.http().get(path)).headers);
  });

  test("GraphiQL's page: a CSP that forbids framing and anything external, and allows its own inline script by hash", async () => {
    const res = await t.http().get('/graphql').set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expectEveryResponseHeaders(res.headers);
    const csp: string = res.headers['content-security-policy'];
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['base-uri']).toEqual(["'none'"]);
    // Scripts: only the page's own inline script, named by its hash.
    const scripts = [...res.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    expect(directives['script-src']).toEqual([`'sha256-${createHash('sha256').update(scripts[0], 'utf8').digest('base64')}'`]);
    // Nothing external anywhere: every source is the page's own origin, inline, data: or blob:.
    for (const values of Object.values(directives) as string[][]) {
      for (const value of values) expect(value).toMatch(/^('self'|'none'|'unsafe-inline'|'sha256-[A-Za-z0-9+/=]+'|data:|blob:)$/);
    }
  });
});

describe('CORS', () => {
  const preflight = (origin: string, server: string) =>
    send(server, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });

  test('CORS_ORIGINS unset: no cross-origin access for any origin, and never credentials', async () => {
    const server = await liveApp();
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1:1']) {
      const res = await send(server, { body: { query: VIEWER }, headers: { origin, authorization: `Bearer ${user.token}` } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      const pre = await preflight(origin, server);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  test('CORS_ORIGINS set: exactly those origins, without credentials; others get nothing', async () => {
    const server = await liveApp({ corsOrigins: ['https://app.example.com', 'http://localhost:3000'] });
    for (const origin of ['https://app.example.com', 'http://localhost:3000']) {
      const pre = await preflight(origin, server);
      expect(pre.status).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe(origin);
      expect(pre.headers['access-control-allow-methods']).toBe('GET, POST');
      expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
      const res = await send(server, { body: { query: VIEWER }, headers: { origin, authorization: `Bearer ${user.token}` } });
      expect(res.status).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(origin);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(String(res.headers['access-control-expose-headers'])).toMatch(/Retry-After/);
    }
    for (const origin of ['https://evil.example', 'https://app.example.com.evil.example', 'http://app.example.com', 'null']) {
      const pre = await preflight(origin, server);
      expect(pre.headers['access-control-allow-origin']).toBeUndefined();
      const res = await send(server, { body: { query: VIEWER }, headers: { origin } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });
});

// ---- 9. the client address behind trusted proxies -------------------------------------

describe('TRUST_PROXY: the address the trusted proxy saw', () => {
  const LOGIN = `mutation($input: LogInInput!) { logIn(input: $input) { token } }`;
  /** A failed logIn with an email of its own: only the address's count can refuse it. */
  const failedLogIn = (server: string, forwardedFor?: string) =>
    send(server, {
      body: { query: LOGIN, variables: { input: { email: `nobody-${randomUUID()}@example.com`, password: 'wrong password' } } },
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    });
  const randomAddress = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
  /** The statuses of four failed logIns (the limit is three per address). */
  async function statusesOf(server: string, forwardedFor: (n: number) => string | undefined) {
    const statuses: number[] = [];
    for (const n of [1, 2, 3, 4]) statuses.push((await failedLogIn(server, forwardedFor(n))).status);
    return statuses;
  }
  const LIMITED = [200, 200, 200, 429];
  const NOT_LIMITED = [200, 200, 200, 200];

  test('one proxy (TRUST_PROXY=1): the entry it appended counts; rotating what the client wrote to its left does not help', async () => {
    const server = await liveApp({ limits: { logInFailuresPerMinute: 3, trustProxy: { hops: 1 } } });
    expect(await statusesOf(server, (n) => `${randomAddress()}, 10.${n}.0.1, 203.0.113.50`)).toEqual(LIMITED);
    // Another client behind the same proxy has its own count.
    expect((await failedLogIn(server, '203.0.113.51')).status).toBe(200);
  });

  test('two proxies (TRUST_PROXY=2): the entry the outer proxy appended', async () => {
    const server = await liveApp({ limits: { logInFailuresPerMinute: 3, trustProxy: { hops: 2 } } });
    expect(await statusesOf(server, () => `${randomAddress()}, 203.0.113.60, 10.0.0.1`)).toEqual(LIMITED);
    expect(await statusesOf(server, (n) => `203.0.113.${70 + n}, 10.0.0.1`)).toEqual(NOT_LIMITED);
  });

  test('TRUST_PROXY unset: X-Forwarded-For is ignored, the TCP peer counts', async () => {
    const server = await liveApp({ limits: { logInFailuresPerMinute: 3 } });
    expect(await statusesOf(server, () => randomAddress())).toEqual(LIMITED);
  });

  test('addresses (TRUST_PROXY=127.0.0.1,10.0.0.0/8): a trusted peer forwards the client address, an untrusted one is the client', async () => {
    // The test's peer is 127.0.0.1: trusted, so each forwarded address has its own count.
    const trusted = await liveApp({ limits: { logInFailuresPerMinute: 3, trustProxy: { addresses: ['127.0.0.1', '10.0.0.0/8'] } } });
    expect(await statusesOf(trusted, (n) => `203.0.113.${80 + n}`)).toEqual(NOT_LIMITED);
    expect(await statusesOf(trusted, () => '203.0.113.90')).toEqual(LIMITED);
    // Through a trusted inner proxy (10.x) too; what the client wrote further left is ignored.
    expect(await statusesOf(trusted, () => `${randomAddress()}, 203.0.113.91, 10.9.9.9`)).toEqual(LIMITED);

    // Only 10.0.0.0/8 trusted: the peer 127.0.0.1 is the client, whatever it forwards.
    const untrusted = await liveApp({ limits: { logInFailuresPerMinute: 3, trustProxy: { addresses: ['10.0.0.0/8'] } } });
    expect(await statusesOf(untrusted, () => randomAddress())).toEqual(LIMITED);
  });
});

// ---- 11. GraphiQL and /healthz under the per-address rate -----------------------------

describe('GraphiQL and /healthz count against the per-address rate', () => {
  function expectRefused(res: RawResponse) {
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(codesOf(res)).toEqual(['RATE_LIMITED']);
    expect(res.body.errors[0].message).toMatch(/Too many requests: unauthenticated requests from your address may send 3 per minute/);
  }
  const graphiql = (server: string) => send(server, { headers: { accept: 'text/html' } });

  test("GraphiQL's page: the fourth load of a minute is refused", async () => {
    const server = await liveApp({ limits: { anonymousRequestsPerMinute: 3 } });
    for (let i = 0; i < 3; i++) {
      const page = await graphiql(server);
      expect(page.status).toBe(200);
      expect(page.body).toContain('Portcullis GraphiQL');
    }
    expectRefused(await graphiql(server));
    expectRefused(await send(server, { path: '/graphql/', headers: { accept: 'text/html' } }));
  });

  test('/healthz: the fourth probe of a minute is refused', async () => {
    const server = await liveApp({ limits: { anonymousRequestsPerMinute: 3 } });
    for (let i = 0; i < 3; i++) expect((await send(server, { path: '/healthz' })).status).toBe(200);
    expectRefused(await send(server, { path: '/healthz' }));
  });

  test('/healthz by any method and with a query string counts too (POSTs are let through unparsed only when not for it)', async () => {
    const server = await liveApp({ limits: { anonymousRequestsPerMinute: 3 } });
    expect((await send(server, { method: 'POST', path: '/healthz' })).status).toBe(200);
    expect((await send(server, { method: 'DELETE', path: '/healthz?probe=1' })).status).toBe(200);
    expect((await send(server, { path: '/healthz?probe=2' })).status).toBe(200);
    expectRefused(await send(server, { method: 'POST', path: '/healthz' }));
    expectRefused(await send(server, { method: 'PUT', path: '/healthz?probe=3' }));
  });

  test('one allowance for the address: pages, probes and unauthenticated operations together', async () => {
    const server = await liveApp({ limits: { anonymousRequestsPerMinute: 3 } });
    expect((await graphiql(server)).status).toBe(200);
    expect((await send(server, { path: '/healthz' })).status).toBe(200);
    expect((await send(server, { body: { query: '{ __typename }' } })).status).toBe(200);
    expectRefused(await send(server, { body: { query: '{ __typename }' } }));
    expectRefused(await graphiql(server));
    expectRefused(await send(server, { path: '/healthz' }));
  });
});
