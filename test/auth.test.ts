// Authentication, per roles-and-tokens.md "Who is calling" and "Accounts": the real app
// through supertest, on a real database (PGlite, or PostgreSQL with TEST_DATABASE_URL).
import request from 'supertest';
import { createApp } from '../src/app';
import { formatToken, newPublicId, newSecret, parseToken } from '../src/auth/tokenFormat';
import { createBoard, createItem, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type TestApp } from './helpers/testApp';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});

afterAll(async () => {
  await t?.close();
});

// ---- helpers ---------------------------------------------------------------------------

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  body: any;
}

/** POST /graphql with an exact Authorization header (or none), keeping the raw body text. */
async function rawPost(app: TestApp, query: string, authorization?: string, variables?: Record<string, unknown>): Promise<RawResponse> {
  let req = app.http().post('/graphql').set('Content-Type', 'application/json');
  if (authorization !== undefined) req = req.set('Authorization', authorization);
  const res = await req.send({ query, variables });
  return { status: res.status, headers: res.headers as Record<string, string>, text: res.text, body: JSON.parse(res.text) };
}

const VIEWER = '{ viewer { user { id email } apiToken { id } } }';

/** The exact refusal the spec requires for a credential that cannot be used. */
function expectInvalidToken(res: RawResponse) {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(res.body.errors).toHaveLength(1);
  expect(res.body.errors[0].extensions?.code).toBe('UNAUTHENTICATED');
  expect(res.body).not.toHaveProperty('data');
}

/** A token string with the same prefix and public id but another (well-formed, checksummed) secret. */
function withOtherSecret(token: string): string {
  const parsed = parseToken(token);
  if (!parsed) throw new Error(`not a well-formed token: ${token}`);
  return formatToken(parsed.prefix, parsed.publicId, newSecret());
}

/** Flips one character at `index` to another character of the token alphabet. */
function flipChar(token: string, index: number): string {
  const i = index < 0 ? token.length + index : index;
  const c = token[i];
  const replacement = c === 'A' ? 'B' : 'A';
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

/** Every row of every table of the database, as JSON text. */
async function dumpDatabase(app: TestApp): Promise<{ tables: string[]; text: string }> {
  const tables = (
    await app.prisma.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
    )
  ).map((r) => r.table_name);
  let text = '';
  for (const table of tables) {
    const rows = await app.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${table}" t`);
    text += rows.map((r) => r.row).join('\n') + '\n';
  }
  return { tables, text };
}

/** A user owning an organization with a space, a board and one item. */
async function ownerWithBoard(name = 'Owner') {
  const owner = await signUp(t, name);
  const organizationId = await createOrganization(t, owner.token, `${name} org`);
  const spaceId = await createSpace(t, owner.token, organizationId);
  const boardId = await createBoard(t, owner.token, spaceId);
  const itemId = await createItem(t, owner.token, boardId, `${name} item`);
  return { owner, organizationId, spaceId, boardId, itemId };
}

// ---- no header -------------------------------------------------------------------------

describe('without an Authorization header', () => {
  let owner: TestUser;
  let organizationId: string;
  let boardId: string;
  let itemId: string;

  beforeAll(async () => {
    ({ owner, organizationId, boardId, itemId } = await ownerWithBoard('Anon check'));
  });

  test('signUp works and returns a usable session token', async () => {
    const email = `anon-signup-${Date.now()}@example.com`;
    const res = await rawPost(t, `mutation { signUp(input: { email: "${email}", password: "correct horse battery", name: "Anon" }) { token expiresAt user { id email name } } }`);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.signUp.user).toMatchObject({ email, name: 'Anon' });
    const viewer = dataOf(await t.gql(VIEWER, undefined, res.body.data.signUp.token));
    expect(viewer.viewer.user.email).toBe(email);
  });

  test('logIn works', async () => {
    const res = await rawPost(t, `mutation($input: LogInInput!) { logIn(input: $input) { token user { id } } }`, undefined, {
      input: { email: owner.email, password: owner.password },
    });
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.logIn.user.id).toBe(owner.id);
  });

  test('introspection works', async () => {
    const res = await rawPost(t, '{ __schema { queryType { name } mutationType { name } } __type(name: "ApiToken") { fields { name } } }');
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.__schema).toEqual({ queryType: { name: 'Query' }, mutationType: { name: 'Mutation' } });
    expect(res.body.data.__type.fields.map((f: { name: string }) => f.name)).toContain('maskedToken');
  });

  test.each([
    ['viewer', '{ viewer { user { id } } }'],
    ['organizations', '{ organizations { edges { node { id } } } }'],
    ['apiTokens', '{ apiTokens { edges { node { id } } } }'],
  ])('query %s fails with UNAUTHENTICATED', async (_name, query) => {
    const res = await rawPost(t, query);
    expect(errorCodes(res)).toEqual(['UNAUTHENTICATED']);
    expect(res.body.data ?? null).toBeNull();
  });

  test('reads by id fail with UNAUTHENTICATED and reveal nothing', async () => {
    const res = await rawPost(
      t,
      `{ organization(id: "${organizationId}") { name } board(id: "${boardId}") { name } item(id: "${itemId}") { name } }`,
    );
    expect(res.body.errors.length).toBeGreaterThan(0);
    expect(new Set(errorCodes(res))).toEqual(new Set(['UNAUTHENTICATED']));
    // Nullable top-level fields may each read null (with an error), never a value.
    expect(Object.values(res.body.data ?? {}).every((v) => v === null)).toBe(true);
    expect(res.text).not.toContain('Anon check');
  });

  test('mutations other than signUp/logIn fail with UNAUTHENTICATED and change nothing', async () => {
    const before = await t.prisma.organization.count();
    const itemsBefore = await t.prisma.item.count();
    const tokensBefore = await t.prisma.apiToken.count();
    for (const mutation of [
      'mutation { createOrganization(input: { name: "Sneaky" }) { id } }',
      `mutation { createItem(input: { boardId: "${boardId}", name: "Sneaky" }) { id } }`,
      `mutation { createApiToken(input: { name: "Sneaky", role: OWNER, organizationId: "${organizationId}" }) { secret } }`,
      `mutation { deleteItem(id: "${itemId}") }`,
    ]) {
      const res = await rawPost(t, mutation);
      expect(errorCodes(res)).toEqual(['UNAUTHENTICATED']);
      expect(res.body.data ?? null).toBeNull();
    }
    expect(await t.prisma.organization.count()).toBe(before);
    expect(await t.prisma.item.count()).toBe(itemsBefore);
    expect(await t.prisma.apiToken.count()).toBe(tokensBefore);
    expect(await t.prisma.item.findUnique({ where: { id: itemId } })).not.toBeNull();
  });
});

// ---- bad credentials -------------------------------------------------------------------

describe('a credential that cannot be used', () => {
  let owner: TestUser;
  let organizationId: string;
  let apiToken: string;
  let apiTokenId: string;

  beforeAll(async () => {
    ({ owner, organizationId } = await ownerWithBoard('Cred check'));
    const minted = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    apiToken = minted.secret;
    apiTokenId = minted.id;
    // Both valid tokens really work, so the refusals below are about the token string only.
    expect(dataOf(await t.gql(VIEWER, undefined, apiToken)).viewer.apiToken.id).toBe(apiTokenId);
    expect(dataOf(await t.gql(VIEWER, undefined, owner.token)).viewer.user.id).toBe(owner.id);
  });

  const malformedCases: [string, () => string][] = [
    ['garbage token', () => 'Bearer not-a-token'],
    ['a token without its prefix', () => `Bearer ${apiToken.slice(4)}`],
    ['a truncated token', () => `Bearer ${apiToken.slice(0, -1)}`],
    ['a token with a flipped checksum character', () => `Bearer ${flipChar(apiToken, -1)}`],
    ['a token with a flipped secret character (checksum no longer matches)', () => `Bearer ${flipChar(apiToken, 30)}`],
    ['a session token with a flipped checksum character', () => `Bearer ${flipChar(owner.token, -2)}`],
    ['the Basic scheme', () => `Basic ${Buffer.from(`${owner.email}:${owner.password}`).toString('base64')}`],
    ['the Token scheme with a valid token', () => `Token ${apiToken}`],
    ['a bare token without a scheme', () => apiToken],
    ['an empty Bearer', () => 'Bearer'],
    ['an empty Bearer with a space', () => 'Bearer '],
    ['a huge header', () => `Bearer pcl_${'A'.repeat(12_000)}`],
    ['a huge header of a valid token repeated', () => `Bearer ${apiToken.repeat(100)}`],
  ];

  test.each(malformedCases)('%s: 401, invalid_token, one UNAUTHENTICATED error, no data', async (_name, header) => {
    expectInvalidToken(await rawPost(t, VIEWER, header()));
  });

  test('two tokens in one header: 400 BAD_USER_INPUT (test/httpHardening.test.ts has the rest)', async () => {
    for (const header of [`Bearer ${apiToken} ${apiToken}`, `Bearer ${apiToken}, Bearer ${owner.token}`]) {
      const res = await rawPost(t, VIEWER, header);
      expect(res.status).toBe(400);
      expect(res.body.errors.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.data ?? null).toBeNull();
    }
  });

  test('an unknown public id (well-formed, valid checksum): 401', async () => {
    expectInvalidToken(await rawPost(t, VIEWER, `Bearer ${formatToken('pcl_', newPublicId(), newSecret())}`));
    expectInvalidToken(await rawPost(t, VIEWER, `Bearer ${formatToken('pcs_', newPublicId(), newSecret())}`));
  });

  test('a known public id with a wrong secret: 401, for API and session tokens', async () => {
    expectInvalidToken(await rawPost(t, VIEWER, `Bearer ${withOtherSecret(apiToken)}`));
    expectInvalidToken(await rawPost(t, VIEWER, `Bearer ${withOtherSecret(owner.token)}`));
  });

  test('malformed, unknown and wrong-secret responses are byte-identical (no oracle)', async () => {
    const headers = [
      ...malformedCases.map(([, header]) => header()),
      `Bearer ${formatToken('pcl_', newPublicId(), newSecret())}`,
      `Bearer ${formatToken('pcs_', newPublicId(), newSecret())}`,
      `Bearer ${withOtherSecret(apiToken)}`,
      `Bearer ${withOtherSecret(owner.token)}`,
    ];
    const responses = [];
    for (const header of headers) responses.push(await rawPost(t, VIEWER, header));
    const reference = responses[0];
    expectInvalidToken(reference);
    for (const [i, res] of responses.entries()) {
      expect({ header: headers[i].slice(0, 80), status: res.status, text: res.text, www: res.headers['www-authenticate'] }).toEqual({
        header: headers[i].slice(0, 80),
        status: reference.status,
        text: reference.text,
        www: reference.headers['www-authenticate'],
      });
    }
    // The refusal never echoes what was sent.
    expect(reference.text).not.toContain('not-a-token');
  });

  // That they also take the same time is test/timing.test.ts.

  test('a bad credential is refused even for signUp, logIn and introspection, and creates nothing', async () => {
    const users = await t.prisma.user.count();
    const sessions = await t.prisma.session.count();
    const bad = `Bearer ${withOtherSecret(apiToken)}`;
    expectInvalidToken(
      await rawPost(t, `mutation { signUp(input: { email: "bad-cred-${Date.now()}@example.com", password: "long enough pw", name: "X" }) { token } }`, bad),
    );
    expectInvalidToken(
      await rawPost(t, `mutation($input: LogInInput!) { logIn(input: $input) { token } }`, bad, {
        input: { email: owner.email, password: owner.password },
      }),
    );
    expectInvalidToken(await rawPost(t, '{ __schema { queryType { name } } }', bad));
    expect(await t.prisma.user.count()).toBe(users);
    expect(await t.prisma.session.count()).toBe(sessions);
  });
});

// ---- expired, revoked, deleted ---------------------------------------------------------

describe('expired, revoked and deleted tokens', () => {
  let owner: TestUser;
  let organizationId: string;
  let unknownBody: string;

  beforeAll(async () => {
    ({ owner, organizationId } = await ownerWithBoard('Lifecycle'));
    unknownBody = (await rawPost(t, VIEWER, `Bearer ${formatToken('pcl_', newPublicId(), newSecret())}`)).text;
  });

  test('an expired token with the right secret: 401, and the message may say it expired', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId, expiresInSeconds: 3600 });
    expect(dataOf(await t.gql(VIEWER, undefined, token.secret)).viewer.apiToken.id).toBe(token.id);
    await t.prisma.apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier(); // a change behind the API's back: wait until the credential cache has heard of it
    const res = await rawPost(t, VIEWER, `Bearer ${token.secret}`);
    expectInvalidToken(res);
    expect(res.body.errors[0].message).toMatch(/expired/i);
    expect(res.text).not.toContain(parseToken(token.secret)!.secret);
    // With a wrong secret, an expired token looks like any unknown token.
    const wrong = await rawPost(t, VIEWER, `Bearer ${withOtherSecret(token.secret)}`);
    expectInvalidToken(wrong);
    expect(wrong.text).toBe(unknownBody);
  });

  test('a token minted with a short expiry stops working once it passes', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId, expiresInSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expectInvalidToken(await rawPost(t, VIEWER, `Bearer ${token.secret}`));
  });

  test('a revoked token with the right secret: 401 from the next request on, on every instance', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    // A second gateway instance on the same database, which has already verified (and
    // cached a proof of) the secret.
    const other = createApp(testConfig(), t.database);
    try {
      const viaOther = async () => {
        const res = await request(other.yoga)
          .post('/graphql')
          .set('Content-Type', 'application/json')
          .set('Authorization', `Bearer ${token.secret}`)
          .send({ query: VIEWER });
        return { status: res.status, headers: res.headers as Record<string, string>, text: res.text, body: JSON.parse(res.text) };
      };
      expect((await viaOther()).body.data.viewer.apiToken.id).toBe(token.id);
      expect(dataOf(await t.gql(VIEWER, undefined, token.secret)).viewer.apiToken.id).toBe(token.id);

      const revoked = dataOf(await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { status } }`, { id: token.id }, owner.token));
      expect(revoked.revokeApiToken.status).toBe('REVOKED');

      for (const res of [await rawPost(t, VIEWER, `Bearer ${token.secret}`), await viaOther()]) {
        expectInvalidToken(res);
        expect(res.body.errors[0].message).toMatch(/revoked/i);
      }
      const wrong = await rawPost(t, VIEWER, `Bearer ${withOtherSecret(token.secret)}`);
      expect(wrong.text).toBe(unknownBody);
    } finally {
      await other.stop();
    }
  });

  test('a deleted token is refused at once, exactly like an unknown one', async () => {
    const token = await mintToken(t, owner.token, { role: 'VIEWER', organizationId });
    expect(dataOf(await t.gql(VIEWER, undefined, token.secret)).viewer.apiToken.id).toBe(token.id);
    dataOf(await t.gql(`mutation($id: ID!) { deleteApiToken(id: $id) }`, { id: token.id }, owner.token));
    const res = await rawPost(t, VIEWER, `Bearer ${token.secret}`);
    expectInvalidToken(res);
    expect(res.text).toBe(unknownBody);
  });

  test('a session token whose expiry has passed: 401 and the message may say so', async () => {
    const user = await signUp(t, 'Expiring');
    expect(dataOf(await t.gql(VIEWER, undefined, user.token)).viewer.user.id).toBe(user.id);
    const { publicId } = parseToken(user.token)!;
    await t.prisma.session.update({ where: { publicId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier(); // a change behind the API's back: wait until the credential cache has heard of it
    const res = await rawPost(t, VIEWER, `Bearer ${user.token}`);
    expectInvalidToken(res);
    expect(res.body.errors[0].message).toMatch(/expired/i);
  });
});

// ---- sessions --------------------------------------------------------------------------

describe('session tokens', () => {
  test('signUp and logIn each return a working session token; both work side by side', async () => {
    const user = await signUp(t, 'Sessions');
    const login = dataOf(
      await t.gql(`mutation($input: LogInInput!) { logIn(input: $input) { token expiresAt user { id email } } }`, {
        input: { email: user.email, password: user.password },
      }),
    ).logIn;
    expect(login.user).toEqual({ id: user.id, email: user.email });
    expect(login.token).not.toBe(user.token);
    expect(login.token.startsWith('pcs_')).toBe(true);
    for (const token of [user.token, login.token]) {
      const viewer = dataOf(await t.gql(VIEWER, undefined, token)).viewer;
      expect(viewer).toEqual({ user: { id: user.id, email: user.email }, apiToken: null });
    }
    expect(await t.prisma.session.count({ where: { userId: user.id } })).toBe(2);
  });

  test('logIn matches the email case-insensitively', async () => {
    const user = await signUp(t, 'Casey');
    const res = await t.gql(`mutation($input: LogInInput!) { logIn(input: $input) { user { id } } }`, {
      input: { email: user.email.toUpperCase(), password: user.password },
    });
    expect(dataOf(res).logIn.user.id).toBe(user.id);
  });

  test('the default session lifetime is short (at most 24 hours)', async () => {
    const before = Date.now();
    const payload = dataOf(
      await t.gql(`mutation { signUp(input: { email: "ttl-default-${before}@example.com", password: "long enough pw", name: "TTL" }) { expiresAt } }`),
    ).signUp;
    const lifetime = new Date(payload.expiresAt).getTime() - before;
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(86_400_000 + 5_000);
  });

  describe('with SESSION_TTL_SECONDS=60', () => {
    let short: TestApp;

    beforeAll(async () => {
      short = await startTestApp({ sessionTtlSeconds: 60 });
    });

    afterAll(async () => {
      await short?.close();
    });

    test('sessions expire after the configured TTL', async () => {
      const before = Date.now();
      const user = await signUp(short, 'Short');
      const login = dataOf(
        await short.gql(`mutation($input: LogInInput!) { logIn(input: $input) { token expiresAt } }`, {
          input: { email: user.email, password: user.password },
        }),
      ).logIn;
      const after = Date.now();
      const expiresAt = new Date(login.expiresAt).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(before + 60_000 - 1_000);
      expect(expiresAt).toBeLessThanOrEqual(after + 60_000 + 1_000);
      const stored = await short.prisma.session.findUnique({ where: { publicId: parseToken(login.token)!.publicId } });
      expect(stored?.expiresAt.getTime()).toBe(expiresAt);

      expect(dataOf(await short.gql(VIEWER, undefined, login.token)).viewer.user.id).toBe(user.id);
      // Simulate the 60 seconds passing.
      await short.prisma.session.updateMany({ where: { userId: user.id }, data: { expiresAt: new Date(Date.now() - 1) } });
      await short.app.credentialChanges.barrier(); // a change behind the API's back: wait until the credential cache has heard of it
      for (const token of [login.token, user.token]) {
        const res = await rawPost(short, VIEWER, `Bearer ${token}`);
        expectInvalidToken(res);
      }
    });
  });
});

// ---- accounts --------------------------------------------------------------------------

describe('signUp input', () => {
  const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } } }`;

  async function expectRefused(input: { email: string; password: string; name: string }, messagePattern: RegExp) {
    const users = await t.prisma.user.count();
    const sessions = await t.prisma.session.count();
    const res = await t.gql(SIGN_UP, { input });
    expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors![0].message).toMatch(messagePattern);
    expect(await t.prisma.user.count()).toBe(users);
    expect(await t.prisma.session.count()).toBe(sessions);
    expect(await t.prisma.user.findFirst({ where: { email: { equals: input.email.trim(), mode: 'insensitive' } } })).toBeNull();
  }

  const fresh = () => `new-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;

  test('an empty name', async () => {
    await expectRefused({ email: fresh(), password: 'long enough pw', name: '' }, /name/i);
  });

  test('a blank name', async () => {
    await expectRefused({ email: fresh(), password: 'long enough pw', name: '   ' }, /name/i);
  });

  test('a password shorter than 8 characters', async () => {
    await expectRefused({ email: fresh(), password: '1234567', name: 'Shorty' }, /password.*8/i);
  });

  test.each(['not-an-email', 'a@', '@example.com', '', 'two@@example.com'])('an invalid email: %j', async (email) => {
    const users = await t.prisma.user.count();
    const res = await t.gql(SIGN_UP, { input: { email, password: 'long enough pw', name: 'Bad email' } });
    expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toMatch(/email/i);
    expect(await t.prisma.user.count()).toBe(users);
  });

  test('an 8-character password is enough', async () => {
    const res = await t.gql(SIGN_UP, { input: { email: fresh(), password: '12345678', name: 'Exactly eight' } });
    expect(dataOf(res).signUp.user.id).toBeTruthy();
  });

  test('an email already taken in another letter case', async () => {
    const stamp = `${Date.now()}${Math.floor(Math.random() * 1e6)}`;
    const first = await t.gql(SIGN_UP, { input: { email: `Dup.${stamp}@Example.com`, password: 'long enough pw', name: 'First' } });
    const firstId = dataOf(first).signUp.user.id;
    const users = await t.prisma.user.count();
    for (const email of [`dup.${stamp}@example.com`, `DUP.${stamp}@EXAMPLE.COM`, `  dup.${stamp}@example.com `]) {
      const res = await t.gql(SIGN_UP, { input: { email, password: 'another long pw', name: 'Second' } });
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toMatch(/email/i);
    }
    expect(await t.prisma.user.count()).toBe(users);
    const stored = await t.prisma.user.findMany({ where: { email: { equals: `dup.${stamp}@example.com`, mode: 'insensitive' } } });
    expect(stored.map((u) => [u.id, u.name])).toEqual([[firstId, 'First']]);
  });
});

describe('logIn failures', () => {
  test('unknown email and wrong password fail identically', async () => {
    const user = await signUp(t, 'Login fail');
    const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { token } }`;
    const sessions = await t.prisma.session.count();
    const wrongPassword = await rawPost(t, LOG_IN, undefined, { input: { email: user.email, password: `${user.password}x` } });
    const unknownEmail = await rawPost(t, LOG_IN, undefined, { input: { email: `nobody-${Date.now()}@example.com`, password: user.password } });
    const emptyPassword = await rawPost(t, LOG_IN, undefined, { input: { email: user.email, password: '' } });
    expect(wrongPassword.body.errors).toHaveLength(1);
    expect(wrongPassword.body.data?.logIn ?? null).toBeNull();
    expect(wrongPassword.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    // Byte for byte, but for the budget left (each attempt spends some: extensions.complexity).
    const answer = (res: typeof wrongPassword) => ({ status: res.status, text: res.text.replace(/"remaining":\d+,"resetInSeconds":\d+/, '') });
    for (const res of [unknownEmail, emptyPassword]) expect(answer(res)).toEqual(answer(wrongPassword));
    expect(await t.prisma.session.count()).toBe(sessions);
  });
});

// ---- what is stored, and where the secret may appear -----------------------------------

describe('secrets at rest and in responses', () => {
  test('passwords and token secrets are stored as argon2id hashes; no plaintext in any row', async () => {
    const { owner, organizationId } = await ownerWithBoard('Storage');
    const minted = dataOf(
      await t.gql(
        `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id } } }`,
        { input: { name: 'storage token', role: 'EDITOR', organizationId } },
        owner.token,
      ),
    ).createApiToken;
    const personal = await mintToken(t, owner.token, { kind: 'PERSONAL' });
    // Use the token once (lastUsedAt is written, an audit trail exists).
    dataOf(await t.gql(VIEWER, undefined, minted.secret));

    const user = await t.prisma.user.findUniqueOrThrow({ where: { id: owner.id } });
    expect(user.passwordHash?.startsWith('$argon2id$')).toBe(true);
    const session = await t.prisma.session.findUniqueOrThrow({ where: { publicId: parseToken(owner.token)!.publicId } });
    expect(session.secretHash.startsWith('$argon2id$')).toBe(true);
    for (const id of [minted.apiToken.id, personal.id]) {
      const row = await t.prisma.apiToken.findUniqueOrThrow({ where: { id } });
      expect(row.secretHash.startsWith('$argon2id$')).toBe(true);
    }

    const { tables, text } = await dumpDatabase(t);
    expect(tables).toEqual(expect.arrayContaining(['User', 'Session', 'ApiToken', 'AuditEvent']));
    expect(text).toContain(owner.email); // the dump does hold the rows
    expect(text).toContain(parseToken(minted.secret)!.publicId);
    for (const plaintext of [
      owner.password,
      owner.token,
      parseToken(owner.token)!.secret,
      minted.secret,
      parseToken(minted.secret)!.secret,
      personal.secret,
      parseToken(personal.secret)!.secret,
    ]) {
      expect(text).not.toContain(plaintext);
    }
  });

  test('the secret is returned once, by createApiToken, and in no other response', async () => {
    const { owner, organizationId } = await ownerWithBoard('Once');
    const created = await t.gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id maskedToken } } }`,
      { input: { name: 'once token', role: 'EDITOR', organizationId } },
      owner.token,
    );
    const { secret, apiToken } = dataOf(created).createApiToken;
    const parsed = parseToken(secret)!;
    expect(parsed).not.toBeNull();
    expect(secret.startsWith('pcl_')).toBe(true);
    expect(apiToken.maskedToken).toContain(`pcl_${parsed.publicId}`);
    expect(apiToken.maskedToken).not.toContain(parsed.secret);

    const TOKEN_FIELDS = `id name description kind role scopeType maskedToken status createdAt expiresAt lastUsedAt revokedAt createdBy { id email }`;
    const responses = [
      await t.gql(`{ apiTokens { edges { node { ${TOKEN_FIELDS} } } } }`, undefined, owner.token),
      await t.gql(
        `query($id: ID!) { organization(id: $id) { apiTokens { edges { node { ${TOKEN_FIELDS} } } } auditEvents { edges { node { action actorName targetId } } } } }`,
        { id: organizationId },
        owner.token,
      ),
      await t.gql(`{ viewer { user { id } apiToken { ${TOKEN_FIELDS} } } }`, undefined, secret),
      await t.gql(`mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { ${TOKEN_FIELDS} } }`, { input: { id: apiToken.id, name: 'renamed' } }, owner.token),
      // An error response made with the token.
      await t.gql(`{ board(id: 1) { nope } }`, undefined, secret),
      await t.gql(`mutation($id: ID!) { revokeApiToken(id: $id) { ${TOKEN_FIELDS} } }`, { id: apiToken.id }, owner.token),
      // Refused because revoked: the error must not echo it either.
      await t.gql(VIEWER, undefined, secret),
    ];
    expect(dataOf(responses[0]).apiTokens.edges.map((e: any) => e.node.id)).toContain(apiToken.id);
    expect(dataOf(responses[2]).viewer.apiToken.id).toBe(apiToken.id);
    expect(responses[6].status).toBe(401);
    for (const res of responses) {
      const json = JSON.stringify({ body: res.body, headers: res.headers });
      expect(json).not.toContain(parsed.secret);
      expect(json).not.toContain(secret);
    }
  });
});

describe('email case', () => {
  it('keeps the email as given, logs in and refuses duplicates in any case', async () => {
    const email = `Ada.Lovelace.${Date.now()}@Example.COM`;
    const signedUp = dataOf(
      await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { user { email } } }`, {
        i: { email, password: 'analytical-engine', name: 'Ada' },
      }),
    );
    expect(signedUp.signUp.user.email).toBe(email);
    const loggedIn = dataOf(
      await t.gql(`mutation($i: LogInInput!) { logIn(input: $i) { user { email } } }`, {
        i: { email: email.toLowerCase(), password: 'analytical-engine' },
      }),
    );
    expect(loggedIn.logIn.user.email).toBe(email);
    const duplicate = await t.gql(`mutation($i: SignUpInput!) { signUp(input: $i) { token } }`, {
      i: { email: email.toUpperCase(), password: 'analytical-engine', name: 'Ada again' },
    });
    expect(errorCodes(duplicate)).toEqual(['BAD_USER_INPUT']);
  });
});
