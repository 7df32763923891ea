// Structured logs (src/server/logging.ts): a whole token lifecycle runs through an app whose log
// lines are captured; no line, audit event or error response of that run may hold a secret,
// a password, a session token or a stored hash, and every request has one line with its id
// (also the X-Request-Id response header), status, caller and token public id.
import { randomUUID } from 'node:crypto';
import { createApp } from '../src/app';
import { createLogger, scrub } from '../src/server/logging';
import { formatToken, newPublicId, newSecret, parseToken } from '../src/auth/tokenFormat';
import { dataOf, startTestApp, testConfig, type TestApp } from './helpers/testApp';

interface Sent {
  label: string;
  status: number;
  requestId: string;
  text: string;
  body: any;
}

const lines: string[] = [];
const capture = { write: (line: string) => void lines.push(line) };
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ logLevel: 'debug' }, { logStream: capture });
});
afterAll(() => t?.close());

const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, any>);
const requestLines = () => parsed().filter((l) => l.msg === 'request completed' || l.msg === 'request failed');

describe('a full token lifecycle, logged', () => {
  const sent: Sent[] = [];
  /** Secrets, passwords, tokens and stored hashes (and their distinctive parts) used in the run. */
  const secrets = new Set<string>();
  const addSecret = (value: string | null | undefined) => {
    if (!value) return;
    secrets.add(value);
    const token = parseToken(value);
    if (token) secrets.add(token.secret);
    // An argon2 hash: also its salt and digest on their own.
    if (value.startsWith('$argon2')) for (const part of value.split('$').slice(-2)) if (part.length >= 16) secrets.add(part);
  };
  const readHashes = async () => {
    for (const u of await t.prisma.user.findMany()) addSecret(u.passwordHash);
    for (const s of await t.prisma.session.findMany()) addSecret(s.secretHash);
    for (const k of await t.prisma.apiToken.findMany()) {
      addSecret(k.secretHash);
      addSecret(k.previousSecretHash);
    }
  };

  async function send(label: string, query: string, variables: Record<string, unknown> = {}, authorization?: string, headers: Record<string, string> = {}) {
    let req = t.http().post('/graphql').set('Content-Type', 'application/json');
    if (authorization !== undefined) req = req.set('Authorization', authorization);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = await req.send({ query, variables });
    const entry: Sent = { label, status: res.status, requestId: res.headers['x-request-id'], text: res.text, body: res.body };
    sent.push(entry);
    return entry;
  }
  const bearer = (token: string) => `Bearer ${token}`;
  const ok = (entry: Sent) => dataOf({ status: entry.status, headers: {}, body: entry.body });

  const password = `pw-${randomUUID()}`;
  const wrongPassword = `wrong-${randomUUID()}`;
  let userId: string;
  let session1: string;
  let session2: string;
  const tokens: Record<string, string> = {};
  let masked: Sent;

  beforeAll(async () => {
    addSecret(password);
    addSecret(wrongPassword);
    const email = `ada-${randomUUID().slice(0, 8)}@example.com`;
    const signUp = ok(
      await send('signUp', `mutation($i: SignUpInput!) { signUp(input: $i) { token user { id } } }`, { i: { email, password, name: 'Ada' } }),
    ).signUp;
    session1 = signUp.token;
    userId = signUp.user.id;
    addSecret(session1);
    const LOG_IN = `mutation($i: LogInInput!) { logIn(input: $i) { token } }`;
    session2 = ok(await send('logIn', LOG_IN, { i: { email, password } })).logIn.token;
    addSecret(session2);
    const failed = await send('logIn, wrong password', LOG_IN, { i: { email, password: wrongPassword } });
    expect(failed.body.errors?.length).toBeGreaterThan(0);

    const organizationId = ok(await send('createOrganization', `mutation { createOrganization(input: { name: "Acme" }) { id } }`, {}, bearer(session2)))
      .createOrganization.id;
    const spaceId = ok(
      await send('createSpace', `mutation($i: CreateSpaceInput!) { createSpace(input: $i) { id } }`, { i: { organizationId, name: 'S' } }, bearer(session2)),
    ).createSpace.id;
    const boardId = ok(
      await send('createBoard', `mutation($i: CreateBoardInput!) { createBoard(input: $i) { id } }`, { i: { spaceId, name: 'B' } }, bearer(session2)),
    ).createBoard.id;

    const CREATE = `mutation($i: CreateApiTokenInput!) { createApiToken(input: $i) { secret apiToken { id } } }`;
    const service = ok(await send('mint SERVICE', CREATE, { i: { name: 'ci', kind: 'SERVICE', role: 'EDITOR', organizationId } }, bearer(session2)))
      .createApiToken;
    const personal = ok(await send('mint PERSONAL', CREATE, { i: { name: 'mine', kind: 'PERSONAL', role: 'VIEWER' } }, bearer(session1))).createApiToken;
    tokens.service = service.secret;
    tokens.personal = personal.secret;
    addSecret(service.secret);
    addSecret(personal.secret);

    const ITEM = `mutation($i: CreateItemInput!) { createItem(input: $i) { id } }`;
    ok(await send('use SERVICE', ITEM, { i: { boardId, name: 'from CI' } }, bearer(tokens.service)));
    ok(await send('use PERSONAL', `{ viewer { user { id } apiToken { maskedToken } } }`, {}, bearer(tokens.personal)));

    const regenerated = ok(
      await send(
        'regenerate SERVICE with grace',
        `mutation($id: ID!) { regenerateApiToken(id: $id, gracePeriodSeconds: 3600) { secret } }`,
        { id: service.apiToken.id },
        bearer(session2),
      ),
    ).regenerateApiToken;
    tokens.regenerated = regenerated.secret;
    addSecret(regenerated.secret);
    await readHashes(); // both hashes of the regenerated token, while it exists
    ok(await send('use old secret in grace', `{ board(id: "${boardId}") { name } }`, {}, bearer(tokens.service)));
    ok(await send('use new secret', `{ board(id: "${boardId}") { name } }`, {}, bearer(tokens.regenerated)));

    ok(await send('revoke PERSONAL', `mutation($id: ID!) { revokeApiToken(id: $id) { status } }`, { id: personal.apiToken.id }, bearer(session1)));
    expect((await send('use revoked', `{ viewer { user { id } } }`, {}, bearer(tokens.personal))).status).toBe(401);
    await readHashes();
    ok(await send('delete SERVICE', `mutation($id: ID!) { deleteApiToken(id: $id) }`, { id: service.apiToken.id }, bearer(session2)));
    expect((await send('use deleted', `{ viewer { user { id } } }`, {}, bearer(tokens.regenerated))).status).toBe(401);

    // Bad credentials: unknown, wrong secret for a real public id, malformed, not a bearer.
    tokens.unknown = formatToken('pcl_', newPublicId(), newSecret());
    tokens.wrongSecret = formatToken('pcl_', parseToken(tokens.personal)!.publicId, newSecret());
    tokens.badSession = formatToken('pcs_', newPublicId(), newSecret());
    tokens.malformed = `pcl_${newSecret()}${newSecret()}`;
    for (const name of ['unknown', 'wrongSecret', 'badSession', 'malformed']) {
      addSecret(tokens[name]);
      expect((await send(`bad token: ${name}`, `{ viewer { user { id } } }`, {}, bearer(tokens[name]))).status).toBe(401);
    }
    const basic = `Basic ${Buffer.from(`ada:${password}`).toString('base64')}`;
    addSecret(basic.slice(6));
    expect((await send('Basic credentials', `{ viewer { user { id } } }`, {}, basic)).status).toBe(401);

    // A masked error: the database fails in an unexpected way.
    await t.prisma.$executeRawUnsafe(`ALTER TABLE "Item" RENAME TO "Item_renamed_by_logging_test"`);
    try {
      masked = await send('masked error', `{ board(id: "${boardId}") { items { edges { node { name } } } } }`, {}, bearer(session1));
    } finally {
      await t.prisma.$executeRawUnsafe(`ALTER TABLE "Item_renamed_by_logging_test" RENAME TO "Item"`);
    }
    expect(masked.body.errors?.[0]?.message).toBe('Unexpected error.');

    await readHashes();
  });

  test('every request has one line: its id (the X-Request-Id header), method, path, status, duration and caller', () => {
    const byId = new Map(requestLines().map((l) => [l.requestId, l]));
    expect(requestLines()).toHaveLength(sent.length);
    for (const entry of sent) {
      expect(entry.requestId).toMatch(/^[0-9a-f-]{36}$/);
      const line = byId.get(entry.requestId);
      expect({ label: entry.label, line }).toMatchObject({
        label: entry.label,
        line: { method: 'POST', path: '/graphql', status: entry.status, durationMs: expect.any(Number), caller: expect.any(String) },
      });
    }
  });

  test('lines name the caller kind, the token public id and the user id where there is one', () => {
    const lineOf = (label: string) => {
      const entry = sent.find((e) => e.label === label)!;
      return requestLines().find((l) => l.requestId === entry.requestId)!;
    };
    const publicId = (token: string) => parseToken(token)!.publicId;
    expect(lineOf('signUp')).toMatchObject({ caller: 'anonymous' });
    expect(lineOf('createOrganization')).toMatchObject({ caller: 'session', userId, sessionPublicId: publicId(session2) });
    expect(lineOf('use SERVICE')).toMatchObject({ caller: 'service', tokenPublicId: publicId(tokens.service) });
    expect(lineOf('use SERVICE').userId).toBeUndefined();
    expect(lineOf('use PERSONAL')).toMatchObject({ caller: 'personal', tokenPublicId: publicId(tokens.personal), userId });
    expect(lineOf('use old secret in grace')).toMatchObject({ caller: 'service', tokenPublicId: publicId(tokens.service) });
    expect(lineOf('use revoked')).toMatchObject({ caller: 'invalid', status: 401, tokenPublicId: publicId(tokens.personal) });
    expect(lineOf('bad token: wrongSecret')).toMatchObject({ caller: 'invalid', status: 401, errorCodes: ['UNAUTHENTICATED'] });
    expect(lineOf('bad token: malformed')).toMatchObject({ caller: 'invalid', status: 401 });
    expect(lineOf('bad token: malformed').tokenPublicId).toBeUndefined();
    expect(lineOf('masked error')).toMatchObject({ caller: 'session', userId, errorCodes: ['INTERNAL_SERVER_ERROR'] });
  });

  test('a masked error is logged with its stack and the request id; the response has neither', () => {
    const errorLines = parsed().filter((l) => l.requestId === masked.requestId && l.err);
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0].level).toBe(50);
    expect(errorLines[0].err.stack).toMatch(/\n\s+at /);
    // The page of items is read through the driver (src/db/hotReads.ts): the driver's own error is the cause.
    expect(errorLines[0].err).toMatchObject({ type: 'GraphQLError', path: 'board.items', cause: { message: expect.stringMatching(/"public\.Item" does not exist/) } });
    expect(JSON.stringify(errorLines[0])).toMatch(/Item/);
    expect(masked.text).not.toMatch(/\bat |stack|Item_renamed/);
  });

  test('no log line, audit event or error response holds a secret, a password, a token or a stored hash', async () => {
    expect(secrets.size).toBeGreaterThan(20);
    expect(lines.length).toBeGreaterThan(sent.length);
    const audit = await t.prisma.auditEvent.findMany();
    expect(audit.length).toBeGreaterThan(0);
    const errorResponses = sent.filter((e) => e.status >= 400 || e.body.errors);
    expect(errorResponses.length).toBeGreaterThanOrEqual(9);
    const haystacks = [
      ...lines.map((line, i) => ({ where: `log line ${i}`, text: line })),
      ...audit.map((event) => ({ where: `audit event ${event.action}`, text: JSON.stringify(event) })),
      ...errorResponses.map((e) => ({ where: `response to ${e.label}`, text: e.text })),
    ];
    const leaks = haystacks.flatMap(({ where, text }) => [...secrets].filter((s) => text.includes(s)).map((s) => `${where}: ${s.slice(0, 12)}…`));
    expect(leaks).toEqual([]);
    for (const line of lines) {
      expect(line).not.toMatch(/authorization|bearer|basic |password|\$argon2|pc[ls]_[0-9A-Za-z]/i);
    }
  });
});

describe('request ids', () => {
  test('a well-formed incoming X-Request-Id is kept; anything else is replaced', async () => {
    for (const [incoming, kept] of [
      ['req-1.2:abc', true],
      ['has space', false],
      [`pcl_${'a'.repeat(20)}`, false],
      ['x'.repeat(65), false],
    ] as const) {
      const res = await t.http().get('/healthz').set('X-Request-Id', incoming);
      expect(res.status).toBe(200);
      if (kept) expect(res.headers['x-request-id']).toBe(incoming);
      else expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(requestLines().filter((l) => l.requestId === res.headers['x-request-id'])).toMatchObject([{ method: 'GET', path: '/healthz', status: 200 }]);
    }
  });

  test('the query string of a GET is never logged', async () => {
    const res = await t.http().get('/graphql').query({ query: '{ __typename }', variables: JSON.stringify({ secret: 'sekrit-in-query' }) });
    expect(res.status).toBe(200);
    const line = requestLines().find((l) => l.requestId === res.headers['x-request-id']);
    expect(line).toMatchObject({ method: 'GET', path: '/graphql' });
    expect(lines.join('\n')).not.toContain('sekrit-in-query');
  });
});

describe('LOG_LEVEL', () => {
  test("'silent' writes nothing at all, not even a masked error", async () => {
    const silentLines: string[] = [];
    const app = createApp(testConfig({ logLevel: 'silent' }), t.database, { logStream: { write: (l: string) => void silentLines.push(l) } });
    try {
      const res = await import('supertest').then(({ default: request }) => request(app.yoga).post('/graphql').send({ query: '{ viewer { user { id } } }' }));
      expect(res.status).toBe(200);
      expect(res.headers['x-request-id']).toBeDefined();
      app.logger.error('not shown');
      expect(silentLines).toEqual([]);
    } finally {
      await app.stop();
    }
  });

  test("'warn' leaves out request lines but keeps errors", () => {
    const out: string[] = [];
    const logger = createLogger({ logLevel: 'warn' }, { write: (l: string) => void out.push(l) });
    logger.info('request completed');
    logger.error({ requestId: 'r1' }, 'boom');
    expect(out.map((l) => JSON.parse(l).msg)).toEqual(['boom']);
  });

  test('every line is scrubbed of token-like strings, bearer credentials and argon2 hashes', () => {
    const out: string[] = [];
    const logger = createLogger({ logLevel: 'info' }, { write: (l: string) => void out.push(l) });
    const token = formatToken('pcl_', newPublicId(), newSecret());
    logger.error(`failed for ${token} with Bearer abc.def and $argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g`);
    expect(out).toHaveLength(1);
    expect(JSON.parse(out[0]).msg).toBe('failed for pcl_[REDACTED] with Bearer [REDACTED] and [REDACTED]');
    expect(scrub(`pcs_${newSecret()}`)).toBe('pcs_[REDACTED]');
  });
});
