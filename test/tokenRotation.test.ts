// Rotation (tokens-v2.md, "Rotation"): reuse detection of secrets replaced by a regeneration
// (token.reuse_detected at most once per token per hour, revocation with revokeOnReuse, refused
// at once on every instance), and rotateCurrentToken (an API token replacing its own secret).
import { buildWorld, mintToken, type MintedToken, type World } from './helpers/factories';
import { serveSecondInstance, timedPost } from './helpers/liveServer';
import { dataOf, errorCodes, startTestApp, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';
import { formatToken } from '../src/auth/tokenFormat';

const onPostgres = Boolean(testDatabaseUrl());

const REGENERATE = `mutation($id: ID!, $grace: Int) { regenerateApiToken(id: $id, gracePeriodSeconds: $grace) { secret } }`;
const ROTATE = `mutation($grace: Int) { rotateCurrentToken(gracePeriodSeconds: $grace) { secret apiToken { id status } } }`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { id revokeOnReuse } }`;
const TOKEN = `query($id: ID!) { organization(id: $id) { apiTokens(first: 100) { edges { node { id status revokeOnReuse } } } } }`;
const AUDIT = `query($id: ID!) { organization(id: $id) { auditEvents(first: 100) { edges { node { action actorName targetId } } } } }`;
const ME = `{ viewer { apiToken { id } } }`;

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
});
afterAll(() => t?.close());

/** The audit events about one token, oldest first. */
async function eventsOf(tokenId: string) {
  const edges = dataOf(await t.gql(AUDIT, { id: w.organizationId }, w.owner.token)).organization.auditEvents.edges;
  return edges
    .map((e: any) => e.node)
    .filter((e: any) => e.targetId === tokenId)
    .reverse();
}
const reuseEvents = async (tokenId: string) => (await eventsOf(tokenId)).filter((e: any) => e.action === 'token.reuse_detected');

async function statusOf(tokenId: string): Promise<string> {
  const edges = dataOf(await t.gql(TOKEN, { id: w.organizationId }, w.owner.token)).organization.apiTokens.edges;
  return edges.find((e: any) => e.node.id === tokenId).node.status;
}

async function expectWorks(secret: string) {
  const res = await t.gql(ME, {}, secret);
  expect([res.status, res.body.errors]).toEqual([200, undefined]);
}

async function expectRefused(secret: string) {
  const res = await t.gql(ME, {}, secret);
  expect(res.status).toBe(401);
  expect(res.body.errors?.[0]).toMatchObject({ message: 'The bearer token is invalid.', extensions: { code: 'UNAUTHENTICATED' } });
}

/** The right secret of a revoked token. */
async function expectRevoked(secret: string) {
  const res = await t.gql(ME, {}, secret);
  expect(res.status).toBe(401);
  expect(res.body.errors?.[0]).toMatchObject({ message: 'This token has been revoked.', extensions: { code: 'UNAUTHENTICATED' } });
}

const mint = (extra: Record<string, unknown> = {}) => mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId, ...extra });
const regenerate = async (id: string, grace = 0): Promise<string> => dataOf(await t.gql(REGENERATE, { id, grace }, w.owner.token)).regenerateApiToken.secret;
/** The grace period of the token's previous secret is over (written behind the API's back: wait until the cache has heard). */
async function endGrace(id: string) {
  await t.prisma.apiToken.update({ where: { id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
  await t.app.credentialChanges.barrier();
}

describe('reuse detection', () => {
  test('an old secret presented after the grace period: the usual 401 and token.reuse_detected; without revokeOnReuse the token is left alone', async () => {
    const token = await mint();
    const fresh = await regenerate(token.id, 600);
    await expectWorks(token.secret); // in its grace period: no reuse
    expect(await reuseEvents(token.id)).toEqual([]);
    await endGrace(token.id);
    await expectRefused(token.secret);
    expect(await reuseEvents(token.id)).toEqual([{ action: 'token.reuse_detected', actorName: 'reuse detection', targetId: token.id }]);
    expect(await statusOf(token.id)).toBe('ACTIVE');
    await expectWorks(fresh);
  });

  test('with revokeOnReuse the token is revoked (token.revoked by "reuse detection"), and its current secret refused', async () => {
    const token = await mint({ revokeOnReuse: true });
    const fresh = await regenerate(token.id);
    await expectWorks(fresh);
    await expectRefused(token.secret);
    expect(await statusOf(token.id)).toBe('REVOKED');
    await expectRevoked(fresh);
    const events = await eventsOf(token.id);
    expect(events.slice(-2)).toEqual([
      { action: 'token.reuse_detected', actorName: 'reuse detection', targetId: token.id },
      { action: 'token.revoked', actorName: 'reuse detection', targetId: token.id },
    ]);
  });

  test('revokeOnReuse can be turned on by an update', async () => {
    const token = await mint();
    expect(dataOf(await t.gql(UPDATE, { input: { id: token.id, revokeOnReuse: true } }, w.owner.token)).updateApiToken.revokeOnReuse).toBe(true);
    const fresh = await regenerate(token.id);
    await expectRefused(token.secret);
    await expectRevoked(fresh);
    expect(await statusOf(token.id)).toBe('REVOKED');
  });

  test('at most one token.reuse_detected per token per hour, also for requests at the same time', async () => {
    const token = await mint();
    const third = await regenerate(token.id);
    await regenerate(token.id); // both earlier secrets are now replaced
    const replies = await Promise.all([token.secret, third, token.secret, third, token.secret].map((secret) => t.gql(ME, {}, secret)));
    expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(await reuseEvents(token.id)).toHaveLength(1);
    // An hour later, the next one is recorded.
    await t.prisma.apiToken.update({ where: { id: token.id }, data: { reuseDetectedAt: new Date(Date.now() - 3_600_001) } });
    await expectRefused(third);
    expect(await reuseEvents(token.id)).toHaveLength(2);
  });

  test('a wrong secret that was never the token\'s is not reuse', async () => {
    const token = await mint({ revokeOnReuse: true });
    await regenerate(token.id);
    const never = await mint(); // a real secret, of another token, under this token's id
    const forged = formatToken('pcl_', token.secret.slice(4, 20), never.secret.slice(20, 63));
    await expectRefused(forged);
    expect(await reuseEvents(token.id)).toEqual([]);
    expect(await statusOf(token.id)).toBe('ACTIVE');
  });

  test('replaced secrets are remembered for 30 days, then deleted', async () => {
    const token = await mint({ revokeOnReuse: true });
    await regenerate(token.id);
    const old = await t.prisma.apiTokenSecretDigest.findMany({ where: { tokenId: token.id, retiredAt: { not: null } } });
    expect(old).toHaveLength(1);
    // 31 days on: no longer recognised (a plain 401, no event), and the next regeneration deletes it.
    await t.prisma.apiTokenSecretDigest.update({ where: { digest: old[0].digest }, data: { retiredAt: new Date(Date.now() - 31 * 86_400_000) } });
    await expectRefused(token.secret);
    expect(await reuseEvents(token.id)).toEqual([]);
    expect(await statusOf(token.id)).toBe('ACTIVE');
    await regenerate((await mint()).id);
    expect(await t.prisma.apiTokenSecretDigest.count({ where: { digest: old[0].digest } })).toBe(0);
  });
});

describe('rotateCurrentToken', () => {
  test('an API token replaces its own secret: the old one works during the grace period, then is refused; the new one works', async () => {
    const token = await mint();
    const rotated = dataOf(await t.gql(ROTATE, { grace: 600 }, token.secret)).rotateCurrentToken;
    expect(rotated.apiToken).toEqual({ id: token.id, status: 'ACTIVE' });
    expect(rotated.secret).not.toBe(token.secret);
    expect(rotated.secret.slice(0, 20)).toBe(token.secret.slice(0, 20)); // the same public id
    await expectWorks(token.secret);
    await expectWorks(rotated.secret);
    await endGrace(token.id);
    await expectRefused(token.secret);
    await expectWorks(rotated.secret);
    const regenerated = (await eventsOf(token.id)).filter((e: any) => e.action === 'token.regenerated');
    expect(regenerated).toEqual([{ action: 'token.regenerated', actorName: expect.any(String), targetId: token.id }]);
    const row = await t.prisma.auditEvent.findFirstOrThrow({ where: { targetId: token.id, action: 'token.regenerated' } });
    expect(row.actorTokenId).toBe(token.id); // the token is the actor
  });

  test('without a grace period the old secret stops at once; a PERSONAL token rotates too', async () => {
    const token = await mintToken(t, w.owner.token, { kind: 'PERSONAL' });
    const fresh = dataOf(await t.gql(ROTATE, {}, token.secret)).rotateCurrentToken.secret;
    await expectRefused(token.secret);
    await expectWorks(fresh);
  });

  test('sessions cannot call it, nor anonymous callers; nothing changes', async () => {
    const session = await t.gql(ROTATE, {}, w.owner.token);
    expect(errorCodes(session)).toEqual(['FORBIDDEN']);
    expect(session.body.errors![0].message).toMatch(/Only an API token can rotate itself/);
    expect(errorCodes(await t.gql(ROTATE, {}))).toEqual(['UNAUTHENTICATED']);
  });

  test.each([-1, 86_401])('refuses gracePeriodSeconds %p (BAD_USER_INPUT) and changes nothing', async (grace) => {
    const token = await mint();
    expect(errorCodes(await t.gql(ROTATE, { grace }, token.secret))).toEqual(['BAD_USER_INPUT']);
    await expectWorks(token.secret);
  });

  test('a rotated-away secret presented later is reuse: with revokeOnReuse the token is revoked', async () => {
    const token = await mint({ revokeOnReuse: true });
    const fresh = dataOf(await t.gql(ROTATE, {}, token.secret)).rotateCurrentToken.secret;
    await expectRefused(token.secret);
    await expectRevoked(fresh);
    expect(await statusOf(token.id)).toBe('REVOKED');
  });
});

(onPostgres ? describe : describe.skip)('two instances on one PostgreSQL database', () => {
  test('a revocation by reuse detection on one instance refuses the very next request on the other, even on a slow link', async () => {
    // The second instance hears from PostgreSQL 300 ms late: the 401 that revoked must wait for it.
    const second = await serveSecondInstance(t, { slowLinkMs: 300 });
    try {
      await Promise.all([t.app.credentialChanges.whenStarted(), second.app.credentialChanges.whenStarted()]);
      const token: MintedToken = await mint({ revokeOnReuse: true });
      const fresh = await regenerate(token.id);
      // The second instance has the current secret in its cache.
      for (let i = 0; i < 2; i++) expect((await timedPost(second.origin, ME, {}, fresh)).status).toBe(200);
      expect(second.app.credentials.state().hits).toBeGreaterThanOrEqual(1);
      await expectRefused(token.secret); // on the first instance: revoked
      expect((await timedPost(second.origin, ME, {}, fresh)).status).toBe(401);
    } finally {
      await second.close();
    }
  });

  test('the same replaced secret on both instances at once: one token.reuse_detected', async () => {
    const second = await serveSecondInstance(t);
    try {
      const token = await mint();
      await regenerate(token.id);
      const replies = await Promise.all([
        t.gql(ME, {}, token.secret),
        timedPost(second.origin, ME, {}, token.secret),
        t.gql(ME, {}, token.secret),
        timedPost(second.origin, ME, {}, token.secret),
      ]);
      expect(replies.map((r) => r.status)).toEqual([401, 401, 401, 401]);
      expect(await reuseEvents(token.id)).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
