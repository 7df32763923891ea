// Token expiry and not-before (tokens-v2.md, "Expiry" and "Token restrictions"): the
// Portcullis-Token-Expiration header, the expiringBefore / lastUsedBefore / createdAfter
// filters, and notBefore, through the real app on a real database.
import { dataOf, errorCodes, startTestApp, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { formatToken, parseToken } from '../src/auth/tokenFormat';
import { EXPIRY_CHECK_LOCK, EXPIRY_NOTICE_ACTOR, recordExpiryNotices, writeDueNotices } from '../src/auth/expiryNotices';
import { testDatabaseUrl } from './helpers/testDatabase';

const HEADER = 'portcullis-token-expiration';
const WHO_AM_I = `{ viewer { user { id } apiToken { id } } }`;
const MY_TOKENS = `query($filter: ApiTokenFilter) { apiTokens(first: 100, filter: $filter) { edges { node { id } } } }`;
const ORG_TOKENS = `query($id: ID!, $filter: ApiTokenFilter) {
  organization(id: $id) { apiTokens(first: 100, filter: $filter) { edges { node { id } } } }
}`;
const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id notBefore expiresAt } } }`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { id notBefore } }`;
const DAY = 86_400_000;

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  await t.app.credentialChanges.whenStarted();
});
afterAll(() => t.close());

const ids = (response: GraphQLResponse, path: 'apiTokens' | 'organization') => {
  const data = dataOf(response);
  const connection = path === 'apiTokens' ? data.apiTokens : data.organization.apiTokens;
  return (connection.edges as { node: { id: string } }[]).map((edge) => edge.node.id);
};

describe('Portcullis-Token-Expiration', () => {
  test('a token with an expiry: every response says when, in RFC 3339', async () => {
    const expiresAt = new Date(Date.now() + 3 * DAY);
    expiresAt.setUTCMilliseconds(0);
    const token = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId, expiresAt: expiresAt.toISOString() });
    const ok = await t.gql(WHO_AM_I, undefined, token.secret);
    expect(ok.status).toBe(200);
    expect(ok.headers[HEADER]).toBe(expiresAt.toISOString());
    // An error response to an authenticated request carries it too.
    const failed = await t.gql(`{ board(id: "${w.otherBoard}") { id } }`, undefined, token.secret);
    expect(failed.headers[HEADER]).toBe(expiresAt.toISOString());
  });

  test('absent for a token without expiry, a session, an anonymous request and a refused token', async () => {
    const forever = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    expect((await t.gql(WHO_AM_I, undefined, forever.secret)).headers[HEADER]).toBeUndefined();
    expect((await t.gql(WHO_AM_I, undefined, w.owner.token)).headers[HEADER]).toBeUndefined();
    expect((await t.gql(WHO_AM_I)).headers[HEADER]).toBeUndefined();
    const expired = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId, expiresInSeconds: 60 });
    await t.prisma.apiToken.update({ where: { id: expired.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier();
    const refused = await t.gql(WHO_AM_I, undefined, expired.secret);
    expect(refused.status).toBe(401);
    expect(refused.headers[HEADER]).toBeUndefined();
  });
});

describe('filters', () => {
  // Tokens with known times, set in SQL; compared against the caller's list and the organization's.
  const now = Date.now();
  const at = (offsetMs: number) => new Date(now + offsetMs);
  let rows: Record<'soon' | 'later' | 'forever' | 'stale' | 'fresh' | 'never' | 'old' | 'young', string>;

  beforeAll(async () => {
    const mint = async () => (await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId })).id;
    // Earlier tests' tokens must not get in the way: they are deleted.
    await t.prisma.apiToken.deleteMany({ where: { organizationId: w.organizationId } });
    rows = { soon: await mint(), later: await mint(), forever: await mint(), stale: await mint(), fresh: await mint(), never: await mint(), old: await mint(), young: await mint() };
    const set = (id: string, data: { expiresAt?: Date; lastUsedAt?: Date; createdAt?: Date }) => t.prisma.apiToken.update({ where: { id }, data });
    // Every token but "never" has been used; every token is 10 days old unless said otherwise.
    for (const id of Object.values(rows)) await set(id, { lastUsedAt: at(-60_000), createdAt: at(-10 * DAY) });
    await set(rows.soon, { expiresAt: at(2 * DAY) });
    await set(rows.later, { expiresAt: at(20 * DAY) });
    await set(rows.stale, { lastUsedAt: at(-30 * DAY) });
    await t.prisma.apiToken.update({ where: { id: rows.never }, data: { lastUsedAt: null } });
    await set(rows.old, { createdAt: at(-100 * DAY) });
    await set(rows.young, { createdAt: at(-DAY) });
  });

  async function both(filter: Record<string, unknown>): Promise<string[]> {
    const mine = ids(await t.gql(MY_TOKENS, { filter }, w.owner.token), 'apiTokens').sort();
    const org = ids(await t.gql(ORG_TOKENS, { id: w.organizationId, filter }, w.owner.token), 'organization').sort();
    expect(org).toEqual(mine);
    return mine;
  }

  test('expiringBefore: tokens with an expiry strictly before the time, never those without', async () => {
    expect(await both({ expiringBefore: at(7 * DAY).toISOString() })).toEqual([rows.soon]);
    expect(await both({ expiringBefore: at(30 * DAY).toISOString() })).toEqual([rows.soon, rows.later].sort());
    // Boundary: a token expiring exactly at the time is not "before" it.
    expect(await both({ expiringBefore: at(2 * DAY).toISOString() })).toEqual([]);
    expect(await both({ expiringBefore: at(2 * DAY + 1).toISOString() })).toEqual([rows.soon]);
  });

  test('lastUsedBefore: tokens last used before the time, and never-used ones', async () => {
    expect(await both({ lastUsedBefore: at(-7 * DAY).toISOString() })).toEqual([rows.stale, rows.never].sort());
    // Boundary: a use exactly at the time is not "before" it.
    expect(await both({ lastUsedBefore: at(-30 * DAY).toISOString() })).toEqual([rows.never]);
    expect(await both({ lastUsedBefore: at(-30 * DAY + 1).toISOString() })).toEqual([rows.stale, rows.never].sort());
  });

  test('createdAfter: tokens created strictly after the time', async () => {
    expect(await both({ createdAfter: at(-2 * DAY).toISOString() })).toEqual([rows.young]);
    expect(await both({ createdAfter: at(-DAY).toISOString() })).toEqual([]);
    expect(await both({ createdAfter: at(-50 * DAY).toISOString() })).toEqual(Object.values(rows).filter((id) => id !== rows.old).sort());
  });

  test('filters combine with each other', async () => {
    expect(await both({ createdAfter: at(-50 * DAY).toISOString(), lastUsedBefore: at(-7 * DAY).toISOString() })).toEqual([rows.stale, rows.never].sort());
    expect(await both({ expiringBefore: at(30 * DAY).toISOString(), status: 'ACTIVE', nameContains: 'token-' })).toEqual([rows.soon, rows.later].sort());
  });

  test('a malformed time is BAD_USER_INPUT', async () => {
    expect(errorCodes(await t.gql(MY_TOKENS, { filter: { expiringBefore: 'soon' } }, w.owner.token))).toContain('BAD_USER_INPUT');
  });
});

describe('notBefore', () => {
  const future = () => new Date(Date.now() + DAY).toISOString();

  test('before it, the right secret gets 401 "not valid yet"; a wrong secret the generic 401; after it, the token works', async () => {
    const created = dataOf(await t.gql(CREATE, { input: { name: 'delayed', role: 'VIEWER', organizationId: w.organizationId, notBefore: future() } }, w.owner.token));
    const { secret, apiToken } = created.createApiToken;
    expect(apiToken.notBefore).not.toBeNull();
    const early = await t.gql(WHO_AM_I, undefined, secret);
    expect(early.status).toBe(401);
    expect(errorCodes(early)).toEqual(['UNAUTHENTICATED']);
    expect(early.body.errors![0]!.message).toBe('This token is not valid yet.');
    // Well-formed, the right public id, the wrong secret.
    const wrong = await t.gql(WHO_AM_I, undefined, formatToken('pcl_', parseToken(secret)!.publicId, 'A'.repeat(43)));
    expect(wrong.status).toBe(401);
    expect(wrong.body.errors![0]!.message).toBe('The bearer token is invalid.');
    await t.prisma.apiToken.update({ where: { id: apiToken.id }, data: { notBefore: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier();
    const later = await t.gql(WHO_AM_I, undefined, secret);
    expect(dataOf(later).viewer.apiToken.id).toBe(apiToken.id);
  });

  test('a cached token whose notBefore is moved into the future is refused on the next request', async () => {
    const token = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    dataOf(await t.gql(WHO_AM_I, undefined, token.secret));
    dataOf(await t.gql(WHO_AM_I, undefined, token.secret)); // from the cache
    expect(dataOf(await t.gql(UPDATE, { input: { id: token.id, notBefore: future() } }, w.owner.token)).updateApiToken.notBefore).not.toBeNull();
    const next = await t.gql(WHO_AM_I, undefined, token.secret);
    expect(next.status).toBe(401);
    expect(next.body.errors![0]!.message).toBe('This token is not valid yet.');
    // null clears it.
    expect(dataOf(await t.gql(UPDATE, { input: { id: token.id, notBefore: null } }, w.owner.token)).updateApiToken.notBefore).toBeNull();
    expect(dataOf(await t.gql(WHO_AM_I, undefined, token.secret)).viewer.apiToken.id).toBe(token.id);
  });

  test('bad notBefore: BAD_USER_INPUT and nothing changes', async () => {
    const expiresAt = new Date(Date.now() + 2 * DAY).toISOString();
    const before = await t.prisma.apiToken.count();
    const base = { name: 'bad', role: 'VIEWER', organizationId: w.organizationId };
    for (const input of [
      { ...base, expiresAt, notBefore: expiresAt }, // not earlier than the expiry
      { ...base, expiresInSeconds: 3600, notBefore: future() },
      { ...base, notBefore: new Date(Date.now() + 11 * 365 * DAY).toISOString() }, // beyond the 10-year limit
      { ...base, notBefore: 'tomorrow' },
    ]) {
      const response = await t.gql(CREATE, { input }, w.owner.token);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    }
    expect(await t.prisma.apiToken.count()).toBe(before);
    const expiring = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId, expiresAt });
    const update = await t.gql(UPDATE, { input: { id: expiring.id, notBefore: future().replace(/^\d+/, (y) => String(Number(y) + 1)) } }, w.owner.token);
    expect(errorCodes(update)).toEqual(['BAD_USER_INPUT']);
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: expiring.id } })).notBefore).toBeNull();
  });

  test('a token with an expiry may mint a delayed token that expires no later than itself', async () => {
    const expiresAt = new Date(Date.now() + 5 * DAY).toISOString();
    const parent = await mintToken(t, w.owner.token, { role: 'EDITOR', organizationId: w.organizationId, expiresAt });
    const child = dataOf(await t.gql(CREATE, { input: { name: 'child', role: 'VIEWER', organizationId: w.organizationId, expiresAt, notBefore: future() } }, parent.secret));
    expect(child.createApiToken.apiToken.notBefore).not.toBeNull();
  });
});

describe('token.expiring notices', () => {
  const HOUR = 3_600_000;
  let tokens: Record<'in6days' | 'in12hours' | 'young' | 'in30days' | 'revoked' | 'expired' | 'forever', string>;

  beforeAll(async () => {
    const now = Date.now();
    const mint = async (expiresInMs: number | null, createdAgoMs = 10 * DAY) => {
      const { id } = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId, ...(expiresInMs ? { expiresInSeconds: 3600 } : {}) });
      await t.prisma.apiToken.update({
        where: { id },
        data: { createdAt: new Date(now - createdAgoMs), ...(expiresInMs ? { expiresAt: new Date(now + expiresInMs) } : {}) },
      });
      return id;
    };
    tokens = {
      in6days: await mint(6 * DAY),
      in12hours: await mint(12 * HOUR),
      young: await mint(12 * HOUR, 2 * HOUR), // both notices' times came before it was created
      in30days: await mint(30 * DAY),
      revoked: await mint(3 * DAY),
      expired: await mint(-HOUR),
      forever: await mint(null),
    };
    await t.prisma.apiToken.update({ where: { id: tokens.revoked }, data: { revokedAt: new Date() } });
  });

  const notices = async () => {
    const events = await t.prisma.auditEvent.findMany({ where: { action: 'token.expiring', targetId: { in: Object.values(tokens) } } });
    const count: Record<string, number> = {};
    for (const event of events) {
      expect(event).toMatchObject({ organizationId: w.organizationId, actorName: EXPIRY_NOTICE_ACTOR, actorUserId: null, actorTokenId: null });
      const name = Object.entries(tokens).find(([, id]) => id === event.targetId)![0];
      count[name] = (count[name] ?? 0) + 1;
    }
    return count;
  };

  test('two runs at once, on two connections: each notice written once; a later run adds nothing', async () => {
    const runs = await Promise.all([recordExpiryNotices(t.prisma), recordExpiryNotices(t.prisma)]);
    // One run held the lock (on PostgreSQL the other found it taken and returned null; on PGlite, one connection, they took turns).
    expect(runs.filter((n) => n != null && n > 0)).toHaveLength(1);
    const expected = { in6days: 1, in12hours: 2 };
    expect(await notices()).toEqual(expected);
    expect(await recordExpiryNotices(t.prisma)).toBe(0);
    await t.app.expiryNotices.runOnce();
    expect(await notices()).toEqual(expected);
    const row = await t.prisma.apiToken.findUniqueOrThrow({ where: { id: tokens.in12hours } });
    expect(row.expiringNotice7dAt).not.toBeNull();
    expect(row.expiringNotice1dAt).not.toBeNull();
  });

  // PGlite has one connection: a second transaction cannot run while one holds the lock.
  (testDatabaseUrl() ? test : test.skip)('while another instance holds the lock, a run does nothing', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = t.prisma.$transaction(async (tx) => {
      const [{ taken }] = await tx.$queryRawUnsafe<{ taken: boolean }[]>(`SELECT pg_try_advisory_xact_lock(${EXPIRY_CHECK_LOCK}) AS "taken"`);
      expect(taken).toBe(true);
      locked();
      await held;
    });
    await Promise.race([isLocked, holder]);
    try {
      expect(await recordExpiryNotices(t.prisma)).toBeNull();
    } finally {
      release();
      await holder;
    }
    expect(await recordExpiryNotices(t.prisma)).toBe(0);
  });

  test('without the lock, two writers at once still write each notice once (the database guarantees it)', async () => {
    await t.prisma.auditEvent.deleteMany({ where: { action: 'token.expiring' } });
    await t.prisma.apiToken.updateMany({ data: { expiringNotice7dAt: null, expiringNotice1dAt: null } });
    const write = () => t.prisma.$transaction((tx) => writeDueNotices(tx, new Date()));
    await Promise.all([write(), write(), write()]);
    expect(await notices()).toEqual({ in6days: 1, in12hours: 2 });
  });

  test('the notices are in the organization\'s audit log', async () => {
    const data = dataOf(
      await t.gql(`query($id: ID!) { organization(id: $id) { auditEvents(first: 100) { edges { node { action actorName targetId } } } } }`, { id: w.organizationId }, w.owner.token),
    );
    const events = (data.organization.auditEvents.edges as { node: { action: string; actorName: string; targetId: string } }[]).map((e) => e.node);
    const ours = events.filter((event) => event.action === 'token.expiring' && Object.values(tokens).includes(event.targetId));
    expect(ours.map((event) => event.targetId).sort()).toEqual([tokens.in6days, tokens.in12hours, tokens.in12hours].sort());
    expect(ours.every((event) => event.actorName === EXPIRY_NOTICE_ACTOR)).toBe(true);
  });
});
