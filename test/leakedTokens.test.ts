// revokeLeakedTokens (tokens-v2.md, "Leaked tokens"): no credential, up to 1,000 strings, the
// same answer whatever they are, a durable queue in the database worked through in the
// background (also after a restart), token.leaked audited with actor "leak report", no secret
// kept or logged, and a per-address rate limit. Runs on PGlite, or PostgreSQL with TEST_DATABASE_URL.
import fc from 'fast-check';
import request from 'supertest';
import { createApp } from '../src/app';
import { MAX_LEAK_REPORT_TOKENS, tokensToCheck } from '../src/auth/leakedTokens';
import { formatToken, newPublicId, newSecret, parseToken, type TokenPrefix } from '../src/auth/tokenFormat';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type TestApp } from './helpers/testApp';

const REPORT = `mutation($tokens: [String!]!) { revokeLeakedTokens(tokens: $tokens) { received } }`;
const VIEWER = `{ viewer { apiToken { id } } }`;
const AUDIT = `query($id: ID!) { organization(id: $id) { auditEvents(first: 100) { edges { node { action actorName targetId } } } } }`;

const unknownToken = () => formatToken('pcl_', newPublicId(), newSecret());
/** A token string whose checksum is wrong. */
const malformed = (token: string) => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
/** The same public id with another secret: well-formed, but not the token's secret. */
const wrongSecret = (token: string) => formatToken('pcl_', parseToken(token)!.publicId, newSecret());

const lines: string[] = [];
let t: TestApp;
let w: World;

beforeAll(async () => {
  // The worker never runs on a timer here: the tests run it (app.leakReports.runOnce()).
  t = await startTestApp({ leakReportsCheckSeconds: 0, logLevel: 'debug' }, { logStream: { write: (line: string) => void lines.push(line) } });
  w = await buildWorld(t);
});
afterAll(() => t?.close());

const report = (tokens: string[], app = t.app) => request(app.yoga).post('/graphql').set('Content-Type', 'application/json').send({ query: REPORT, variables: { tokens } });
const works = async (token: string) => (await t.gql(VIEWER, {}, token)).status === 200;
const mint = () => mintToken(t, w.owner.token, { role: 'EDITOR', organizationId: w.organizationId });
const leakedEvents = async () =>
  dataOf(await t.gql(AUDIT, { id: w.organizationId }, w.owner.token)).organization.auditEvents.edges.map((e: any) => e.node).filter((e: any) => e.action === 'token.leaked');

describe('revokeLeakedTokens', () => {
  test('a leaked token is revoked after one call without a credential', async () => {
    const token = await mint();
    expect(await works(token.secret)).toBe(true); // and now in the credential cache
    const res = await report([token.secret]);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ revokeLeakedTokens: { received: 1 } });
    await t.app.leakReports.runOnce();
    const after = await t.gql(VIEWER, {}, token.secret);
    expect(after.status).toBe(401);
    expect(errorCodes(after)).toEqual(['UNAUTHENTICATED']);
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).not.toBeNull();
    expect(await t.prisma.leakReport.count()).toBe(0);
  });

  test('the answer for unknown, malformed and live tokens is byte for byte that for unknown ones only', async () => {
    const live = await mint();
    const mixed = await report([unknownToken(), malformed(unknownToken()), live.secret, 'not a token at all']);
    const unknownOnly = await report([unknownToken(), unknownToken(), unknownToken(), unknownToken()]);
    expect(mixed.status).toBe(200);
    expect(mixed.status).toBe(unknownOnly.status);
    // Byte for byte, but for the caller's budget figures that move with every request and every
    // second: what remains, and the seconds to its reset (two requests a few ms apart can straddle
    // a second: 60 against 59, seen once in CI).
    const sameBudget = (text: string) => text.replace(/"remaining":\d+/, '"remaining":0').replace(/"resetInSeconds":\d+/, '"resetInSeconds":0');
    expect(sameBudget(mixed.text)).toBe(sameBudget(unknownOnly.text));
    expect(mixed.body.data).toEqual({ revokeLeakedTokens: { received: 4 } });
    expect(mixed.headers['content-length']).toBe(unknownOnly.headers['content-length']);
    expect(Object.keys(mixed.headers).sort()).toEqual(Object.keys(unknownOnly.headers).sort());
    await t.app.leakReports.runOnce();
    expect(await works(live.secret)).toBe(false);
  });

  test('malformed and session strings are dropped at once, duplicates are queued once', async () => {
    const live = await mint();
    const session = w.stranger.token;
    expect(session.startsWith('pcs_')).toBe(true);
    await report([live.secret, live.secret, live.secret, malformed(live.secret), session, `${live.secret} `]);
    // Only the one well-formed pcl_ string is waiting: nothing else will be looked up.
    expect((await t.prisma.leakReport.findMany()).map((r) => r.token)).toEqual([live.secret]);
    await t.app.leakReports.runOnce();
    expect(await works(live.secret)).toBe(false);
    // Session strings are not API tokens (the spec revokes pcl_ tokens only): the session goes on.
    expect(await works(session)).toBe(true);
  });

  test('a well-formed string with a live id but another secret revokes nothing', async () => {
    const token = await mint();
    const before = (await leakedEvents()).length;
    await report([wrongSecret(token.secret), malformed(token.secret)]);
    await t.app.leakReports.runOnce();
    expect(await works(token.secret)).toBe(true);
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt).toBeNull();
    expect(await leakedEvents()).toHaveLength(before);
    expect(await t.prisma.leakReport.count()).toBe(0);
  });

  test("a regenerated token's previous secret, still in its grace period, revokes the token", async () => {
    const token = await mint();
    const regenerated = dataOf(
      await t.gql(`mutation($id: ID!) { regenerateApiToken(id: $id, gracePeriodSeconds: 3600) { secret } }`, { id: token.id }, w.owner.token),
    ).regenerateApiToken.secret as string;
    await report([token.secret]);
    await t.app.leakReports.runOnce();
    expect(await works(regenerated)).toBe(false);
  });

  test('more than 1,000 strings: BAD_USER_INPUT, nothing queued', async () => {
    const token = await mint();
    const tooMany = [token.secret, ...Array.from({ length: MAX_LEAK_REPORT_TOKENS }, unknownToken)];
    const res = await report(tooMany);
    expect(res.body.errors.map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors[0].message).toMatch(/at most 1000 strings/);
    expect(await t.prisma.leakReport.count()).toBe(0);
    const exactly = await report(tooMany.slice(1));
    expect(exactly.body.data).toEqual({ revokeLeakedTokens: { received: MAX_LEAK_REPORT_TOKENS } });
    await t.app.leakReports.runOnce();
    expect(await t.prisma.leakReport.count()).toBe(0);
    expect(await works(token.secret)).toBe(true);
  });

  test('token.leaked is in the organization log with actor "leak report", once; no secret in audit, logs or queue', async () => {
    const token = await mint();
    lines.length = 0;
    await report([token.secret]);
    await report([token.secret]); // reported again before the worker ran
    await t.app.leakReports.runOnce();
    await report([token.secret]); // and after: already revoked, no second event
    await t.app.leakReports.runOnce();
    const events = (await leakedEvents()).filter((e: any) => e.targetId === token.id);
    expect(events).toEqual([{ action: 'token.leaked', actorName: 'leak report', targetId: token.id }]);
    const secret = parseToken(token.secret)!.secret;
    const rows = JSON.stringify(await t.prisma.auditEvent.findMany({ where: { targetId: token.id } }));
    expect(rows).not.toContain(secret);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain(secret);
    expect(await t.prisma.leakReport.count()).toBe(0);
  });
});

describe('the queue survives a restart', () => {
  test('reports queued by an app that stopped before processing them are worked through by the next start', async () => {
    const s = await startTestApp({ leakReportsCheckSeconds: 0 });
    const world = await buildWorld(s);
    const token = await mintToken(s, world.owner.token, { role: 'VIEWER', organizationId: world.organizationId });
    await report([token.secret, unknownToken()], s.app);
    expect(await s.prisma.leakReport.count()).toBe(2);
    await s.app.stop(); // the process goes away with its queue unprocessed
    // A new app on the same database, with its worker on a timer as in production.
    const next = createApp(testConfig({ leakReportsCheckSeconds: 1 }), s.database);
    try {
      const deadline = Date.now() + 15_000;
      while ((await s.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).revokedAt === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const res = await request(next.yoga).post('/graphql').set('Authorization', `Bearer ${token.secret}`).send({ query: VIEWER });
      expect(res.status).toBe(401);
      await next.leakReports.runOnce(); // wait for the run in progress
      expect(await s.prisma.leakReport.count()).toBe(0);
    } finally {
      await next.stop();
      await s.database.drop();
    }
  });
});

describe('two instances', () => {
  test('working through the same queue at once, each report is processed once (SKIP LOCKED)', async () => {
    const tokens = await Promise.all(Array.from({ length: 6 }, () => mint()));
    await report([...tokens.map((token) => token.secret), ...Array.from({ length: 6 }, unknownToken)]);
    const other = createApp(testConfig({ leakReportsCheckSeconds: 0 }), t.database);
    try {
      await Promise.all([t.app.leakReports.runOnce(), other.leakReports.runOnce()]);
    } finally {
      await other.stop();
    }
    const ids = new Set(tokens.map((token) => token.id));
    const events = (await leakedEvents()).filter((e: any) => ids.has(e.targetId));
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e: any) => e.targetId)).size).toBe(6);
    expect(await t.prisma.leakReport.count()).toBe(0);
  });
});

describe('rate limit per address', () => {
  test('past RATE_LIMIT_LEAK_REPORTS_PER_MINUTE: 429 RATE_LIMITED with Retry-After', async () => {
    const limited = await startTestApp({ leakReportsCheckSeconds: 0, limits: { ...testConfig().limits, leakReportsPerMinute: 2 } });
    try {
      for (let i = 0; i < 2; i++) expect((await report([unknownToken()], limited.app)).status).toBe(200);
      const refused = await report([unknownToken()], limited.app);
      expect(refused.status).toBe(429);
      expect(refused.body.errors.map((e: any) => e.extensions?.code)).toEqual(['RATE_LIMITED']);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(await limited.prisma.leakReport.count()).toBe(2);
    } finally {
      await limited.close();
    }
  });
});

describe('hostile token lists (fast-check)', () => {
  const SEED = Number(process.env.FC_SEED ?? 20_250_605);
  const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const base62 = (length: number) => fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: length, maxLength: length });
  const wellFormed = fc
    .record({ prefix: fc.constantFrom<TokenPrefix>('pcl_', 'pcs_'), publicId: base62(16), secret: base62(43) })
    .map(({ prefix, publicId, secret }) => formatToken(prefix, publicId, secret));
  const anyString = fc.oneof(wellFormed, wellFormed.map(malformed), fc.string({ unit: 'binary', maxLength: 80 }), fc.constant(''));
  const lists = fc.array(anyString, { maxLength: 30 });

  test('only well-formed pcl_ strings are kept, each once', () => {
    fc.assert(
      fc.property(lists, (strings) => {
        const kept = tokensToCheck(strings);
        expect(new Set(kept).size).toBe(kept.length);
        for (const token of kept) expect(parseToken(token)?.prefix).toBe('pcl_');
        for (const s of strings) if (parseToken(s)?.prefix === 'pcl_') expect(kept).toContain(s);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test('any list of up to 1,000 strings gets 200 and its count, and the worker leaves live tokens alone', async () => {
    const live = await mint();
    await fc.assert(
      fc.asyncProperty(lists, async (strings) => {
        const res = await report(strings);
        expect(res.status).toBe(200);
        expect(res.body.data).toEqual({ revokeLeakedTokens: { received: strings.length } });
      }),
      { seed: SEED, numRuns: 25 },
    );
    await t.app.leakReports.runOnce();
    expect(await t.prisma.leakReport.count()).toBe(0);
    expect(await works(live.secret)).toBe(true);
  });
});
