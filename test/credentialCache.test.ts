// The credential cache (src/auth/credentialCache.ts) and how every instance learns of changes
// (src/auth/credentialChanges.ts): a token used again costs no statement; a wrong secret, an
// unknown id and a new token still read the database (equal timing); any change, through the API
// or behind its back, empties the cache; a mutation returns only once every instance listening on
// the database has dropped what it changed, even one on a slow link; an instance that does not
// answer is cut off; an instance that cannot listen answers nothing from its cache.
import { Client } from 'pg';
import { addMember, createBoard, createOrganization, createSpace, mintToken, signUp, type MintedToken, type TestUser } from './helpers/factories';
import { serveSecondInstance, timedPost } from './helpers/liveServer';
import { dataOf, errorCodes, startTestApp, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';
import { LISTENER_NAME_PREFIX } from '../src/auth/credentialChanges';
import { formatToken, newSecret } from '../src/auth/tokenFormat';

const TOKEN_PARTS = /^pcl_([0-9A-Za-z]{16})/;

const onPostgres = Boolean(testDatabaseUrl());
const BOARD = 'query($id: ID!) { board(id: $id) { id } }';
const REVOKE = 'mutation($id: ID!) { revokeApiToken(id: $id) { status } }';
const isCredentialRead = (sql: string) => sql.includes('WHERE t."publicId" = $1') || sql.includes('WHERE s."publicId" = $1');

let t: TestApp;
let statements: string[] = [];
let owner: TestUser;
let organizationId: string;
let boardId: string;

beforeAll(async () => {
  t = await startTestApp({}, { onQuery: (sql) => statements.push(sql) });
  owner = await signUp(t, 'Owner');
  organizationId = await createOrganization(t, owner.token, 'Cached');
  boardId = await createBoard(t, owner.token, await createSpace(t, owner.token, organizationId, 'Space'), 'Board');
  await t.app.credentialChanges.whenStarted(); // listening
});
afterAll(() => t?.close());

/** How many credential reads one request sends, and its response. */
async function credentialReads(secret: string) {
  statements = [];
  const res = await t.gql(BOARD, { id: boardId }, secret);
  return { reads: statements.filter(isCredentialRead).length, res };
}

const firstSpace = async () => (await t.prisma.space.findFirstOrThrow({ where: { organizationId } })).id;
const ok = (res: { status: number; body: any }) => res.status === 200 && res.body.data?.board?.id === boardId;

describe('one instance', () => {
  let token: MintedToken;
  beforeAll(async () => {
    token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
  });

  test('a token used again is answered from the cache: no credential statement', async () => {
    expect((await credentialReads(token.secret)).reads).toBe(1);
    for (let i = 0; i < 3; i++) {
      const { reads, res } = await credentialReads(token.secret);
      expect([reads, ok(res)]).toEqual([0, true]);
    }
    expect(t.app.credentials.state()).toMatchObject({ enabled: true });
    // Sessions too.
    await credentialReads(owner.token);
    expect((await credentialReads(owner.token)).reads).toBe(0);
  });

  test('a wrong secret for a cached token reads the database like an unknown id (same cost: no timing oracle)', async () => {
    await credentialReads(token.secret);
    // Well formed (its checksum holds), the right public id, another secret.
    const wrong = formatToken('pcl_', TOKEN_PARTS.exec(token.secret)![1], newSecret());
    const { reads, res } = await credentialReads(wrong);
    expect(res.status).toBe(401);
    expect(reads).toBe(1);
  });

  test('a change made behind the API’s back (SQL) empties the cache: the next request is refused', async () => {
    const doomed = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    await credentialReads(doomed.secret);
    expect((await credentialReads(doomed.secret)).reads).toBe(0);
    await t.prisma.$executeRaw`UPDATE "ApiToken" SET "revokedAt" = now() WHERE id = ${doomed.id}`;
    await t.app.credentialChanges.barrier();
    const { reads, res } = await credentialReads(doomed.secret);
    expect([res.status, errorCodes(res)]).toEqual([401, ['UNAUTHENTICATED']]);
    expect(reads).toBe(1);
  });

  test('a membership change empties it too: a PERSONAL token loses the organization on its next request', async () => {
    const member = await signUp(t, 'Member');
    await addMember(t, owner.token, { organizationId, email: member.email, role: 'VIEWER' }); // invited, and accepted
    const personal = await mintToken(t, member.token, { kind: 'PERSONAL' });
    await credentialReads(personal.secret);
    expect(ok((await credentialReads(personal.secret)).res)).toBe(true);
    dataOf(await t.gql(`mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`, { input: { organizationId, userId: member.id } }, owner.token));
    const { res } = await credentialReads(personal.secret);
    expect([res.status, res.body.data.board]).toEqual([200, null]);
  });

  test('changes that touch no credential leave the cache alone: a signUp, a new item', async () => {
    await credentialReads(token.secret);
    expect((await credentialReads(token.secret)).reads).toBe(0);
    await signUp(t, 'Newcomer');
    await t.gql('mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }', { input: { spaceId: await firstSpace(), name: 'Unrelated' } }, owner.token);
    expect((await credentialReads(token.secret)).reads).toBe(0);
  });

  test('CREDENTIAL_CACHE_SIZE=0: every request reads its credential', async () => {
    const uncached = await startTestApp({ credentialCacheSize: 0 }, { onQuery: (sql) => statements.push(sql) });
    try {
      const u = await signUp(uncached, 'Uncached');
      for (let i = 0; i < 3; i++) {
        statements = [];
        dataOf(await uncached.gql('{ viewer { user { id } } }', {}, u.token));
        expect(statements.filter(isCredentialRead)).toHaveLength(1);
      }
    } finally {
      await uncached.close();
    }
  });
});

(onPostgres ? describe : describe.skip)('several instances on one PostgreSQL database', () => {
  test('a revocation returns only once an instance on a slow link has dropped the token: its very next request is refused', async () => {
    // The second instance hears from PostgreSQL 300 ms late: without the barrier it would still
    // answer from its cache right after revokeApiToken returned.
    const second = await serveSecondInstance(t, { slowLinkMs: 300 });
    try {
      await second.app.credentialChanges.whenStarted(); // it listens
      const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
      for (let i = 0; i < 2; i++) expect(ok(await timedPost(second.origin, BOARD, { id: boardId }, token.secret))).toBe(true);
      expect(second.app.credentials.state()).toMatchObject({ enabled: true, hits: 1 }); // the second request came from its cache
      const before = performance.now();
      expect(dataOf(await t.gql(REVOKE, { id: token.id }, owner.token)).revokeApiToken.status).toBe('REVOKED');
      const waited = performance.now() - before;
      const next = await timedPost(second.origin, BOARD, { id: boardId }, token.secret);
      expect(next.status).toBe(401);
      // The mutation waited for the slow instance's answer (a round trip through the proxy).
      expect(waited).toBeGreaterThanOrEqual(300);
    } finally {
      await second.close();
    }
  });

  test('an instance that never answers is cut off after the timeout, and the mutation returns', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    // Looks like an instance (its name), hears barriers, never answers.
    const ghost = new Client({ connectionString: t.database.location, application_name: `${LISTENER_NAME_PREFIX}ghost` });
    const lost = new Promise<void>((resolve) => ghost.on('error', () => resolve()));
    await ghost.connect();
    await ghost.query('LISTEN portcullis_barrier');
    const before = performance.now();
    dataOf(await t.gql(REVOKE, { id: token.id }, owner.token));
    const waited = performance.now() - before;
    expect(waited).toBeGreaterThanOrEqual(2_000 - 50); // CREDENTIAL_BARRIER_TIMEOUT_MS
    await lost; // its connection was ended by the gateway
    await ghost.end().catch(() => undefined);
  });

  test('an instance whose listening connection is lost answers nothing from its cache until it listens again', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    await credentialReads(token.secret);
    expect((await credentialReads(token.secret)).reads).toBe(0);
    await t.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = ${LISTENER_NAME_PREFIX + t.app.credentialChanges.instanceId}`;
    for (let i = 0; i < 200 && t.app.credentials.state().enabled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.app.credentials.state().enabled).toBe(false);
    expect((await credentialReads(token.secret)).reads).toBe(1);
    expect((await credentialReads(token.secret)).reads).toBe(1);
    // It listens again within a few seconds, and caches again.
    for (let i = 0; i < 500 && !t.app.credentials.state().enabled; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(t.app.credentials.state().enabled).toBe(true);
    await credentialReads(token.secret);
    expect((await credentialReads(token.secret)).reads).toBe(0);
  });
});
