// The HTTP surface: /healthz, error masking and SERVICE_UNAVAILABLE when the database is
// gone, GraphiQL, status codes for bad documents and variables, and page-size limits.
import { rmSync } from 'node:fs';
import request from 'supertest';
import { createApp, type App } from '../src/app';
import { openDatabase, type Database } from '../src/db/database';
import { buildWorld, signUp, type World } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { adminQuery, testDatabaseUrl } from './helpers/testDatabase';

let t: TestApp;
let world: World;

beforeAll(async () => {
  t = await startTestApp();
  world = await buildWorld(t);
});

afterAll(async () => {
  await t?.close();
});

/** Nothing a client should never see: stack frames, file paths, SQL, driver or ORM internals. */
function expectNoInternals(text: string) {
  expect(text).not.toMatch(/"stack"/i);
  expect(text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
  expect(text).not.toMatch(/\.(ts|js|mjs|cjs)\b/); // a source file
  expect(text).not.toMatch(/node_modules|prisma|pglite|\bpg\b/i);
  expect(text).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET|WHERE)\b/i);
  expect(text).not.toMatch(/relation "|table `|column "|does not exist|\bpublic\.|Item_renamed|ECONN|postgres/i);
}

async function post(app: TestApp, body: object, token?: string, accept?: string) {
  let req = app.http().post('/graphql').set('Content-Type', 'application/json');
  if (token) req = req.set('Authorization', `Bearer ${token}`);
  if (accept) req = req.set('Accept', accept);
  const res = await req.send(body);
  return { status: res.status, headers: res.headers as Record<string, string>, text: res.text, body: JSON.parse(res.text) };
}

// ---- health and a lost database --------------------------------------------------------

describe('GET /healthz', () => {
  test('200 while the database answers', async () => {
    const res = await t.http().get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: { reachable: true } });
  });
});

describe('a database that fails', () => {
  // A second app on its own database copy, which these tests break and then close.
  let broken: TestApp;
  let ownerToken: string;
  /** A session never used before the database closes: its credential is in no cache. */
  let unusedToken: string;
  let boardId: string;
  let closed = false;

  beforeAll(async () => {
    broken = await startTestApp();
    const w = await buildWorld(broken);
    ownerToken = w.owner.token;
    unusedToken = (await signUp(broken, 'Never used')).token;
    boardId = w.boardA1;
  });

  afterAll(async () => {
    if (!broken) return;
    if (!closed) return broken.close();
    await broken.app.stop();
    // The database is already closed: remove the copy without closing it again.
    if (testDatabaseUrl()) {
      const name = new URL(broken.database.location).pathname.slice(1);
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    } else {
      rmSync(broken.database.location, { recursive: true, force: true });
    }
  });

  test('an unexpected database error is masked: no stack, SQL or table name', async () => {
    const query = `query($id: ID!) { board(id: $id) { name items { edges { node { name } } } } }`;
    expect(dataOf(await broken.gql(query, { id: boardId }, ownerToken)).board.items.edges).toHaveLength(1);
    await broken.prisma.$executeRawUnsafe(`ALTER TABLE "Item" RENAME TO "Item_renamed_by_test"`);
    try {
      const res = await post(broken, { query, variables: { id: boardId } }, ownerToken);
      expect(res.status).toBe(200);
      expect(res.body.errors).toHaveLength(1);
      expect(res.body.errors[0].message).toBe('Unexpected error.');
      expect(res.body.errors[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expectNoInternals(res.text);
    } finally {
      await broken.prisma.$executeRawUnsafe(`ALTER TABLE "Item_renamed_by_test" RENAME TO "Item"`);
    }
    expect(dataOf(await broken.gql(query, { id: boardId }, ownerToken)).board.items.edges).toHaveLength(1);
  });

  describe('after the database is closed', () => {
    beforeAll(async () => {
      expect((await broken.http().get('/healthz')).status).toBe(200);
      await broken.database.close();
      closed = true;
    });

    test('GET /healthz is 503', async () => {
      const res = await broken.http().get('/healthz');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', database: { reachable: false } });
    });

    test.each([
      ['an authenticated query (the token lookup fails)', () => ({ query: '{ viewer { user { id } } }' }), () => unusedToken],
      [
        'an anonymous signUp (the resolver fails)',
        () => ({ query: `mutation { signUp(input: { email: "late-${Date.now()}@example.com", password: "long enough pw", name: "Late" }) { token } }` }),
        () => undefined,
      ],
      [
        'an anonymous logIn',
        () => ({ query: `mutation { logIn(input: { email: "nobody@example.com", password: "long enough pw" }) { token } }` }),
        () => undefined,
      ],
    ])('%s: 503 SERVICE_UNAVAILABLE, masked', async (_name, body, token) => {
      const res = await post(broken, body(), token());
      expect(res.status).toBe(503);
      expect(errorCodes(res as GraphQLResponse)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(res.body.data ?? null).toBeNull();
      expectNoInternals(res.text);
    });
  });
});

describe('a PostgreSQL server that refuses connections', () => {
  let app: App;
  let database: Database;

  beforeAll(async () => {
    // Nothing listens on port 1: every connection attempt is refused (ECONNREFUSED).
    database = await openDatabase({ databaseUrl: 'postgresql://postgres@127.0.0.1:1/portcullis', dataDir: '', poolSize: 1, migrate: false });
    app = createApp(testConfig(), database);
  });

  afterAll(async () => {
    await app?.stop();
    await database?.close();
  });

  test('GET /healthz is 503', async () => {
    const res = await request(app.yoga).get('/healthz');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'unavailable', database: { kind: 'postgresql', reachable: false } });
  });

  test('a request that needs the database: 503 SERVICE_UNAVAILABLE, masked', async () => {
    const res = await request(app.yoga)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send({ query: `mutation { logIn(input: { email: "someone@example.com", password: "long enough pw" }) { token } }` });
    expect(res.status).toBe(503);
    expect(res.body.errors.map((e: { extensions?: { code?: string } }) => e.extensions?.code)).toEqual(['SERVICE_UNAVAILABLE']);
    expectNoInternals(res.text);
    expect(res.text).not.toContain('127.0.0.1');
  });
});

// ---- GraphiQL --------------------------------------------------------------------------

describe('GraphiQL', () => {
  test('GET /graphql with Accept: text/html serves a self-contained GraphiQL', async () => {
    const res = await t.http().get('/graphql').set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>Portcullis GraphiQL</title>');
    // The markup with the bodies of inline scripts left out (bundled code mentions URLs in comments).
    const markup = res.text.replace(/(<script\b[^>]*>)[\s\S]*?<\/script>/gi, '$1</script>');
    expect(markup.length).toBeLessThan(res.text.length); // the GraphiQL bundle is inline
    const tags = [...markup.matchAll(/<(script|link|img|iframe|source|object|embed|base)\b[^>]*>/gi)].map((m) => m[0]);
    expect(tags.some((tag) => /^<script/i.test(tag))).toBe(true);
    // No script, stylesheet, image, frame or base URL loads from another origin.
    for (const tag of tags) expect(tag).not.toMatch(/\s(src|href|data)\s*=\s*["']?\s*(https?:)?\/\//i);
    // Nor does the inline code import modules or stylesheets from a CDN.
    expect(res.text).not.toMatch(/\bimport\s*\(?\s*["'`](https?:)?\/\//i);
    expect(res.text).not.toMatch(/@import\s+(url\()?\s*["']?(https?:)?\/\//i);
    expect(res.text).not.toMatch(/unpkg\.com|cdn\.jsdelivr|cdnjs\.cloudflare|esm\.sh\/|fonts\.googleapis/i);
  });

  test('a GET without Accept: text/html is not GraphiQL', async () => {
    const res = await t.http().get('/graphql').query({ query: '{ __typename }' }).set('Accept', 'application/json');
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.text).not.toContain('<html');
  });
});

// ---- status codes for bad requests -----------------------------------------------------

describe('documents that do not parse or validate: HTTP 400', () => {
  test.each([
    ['a syntax error', '{ viewer { user { id } '],
    ['an empty document', ''],
    ['an unknown field', '{ viewer { user { id shoeSize } } }'],
    ['an unknown argument', '{ organizations(last: 1, color: "red") { edges { node { id } } } }'],
    ['a missing required argument', '{ board { id } }'],
    ['an undefined variable', '{ board(id: $nope) { id } }'],
  ])('%s', async (_name, query) => {
    for (const accept of [undefined, 'application/graphql-response+json']) {
      const res = await post(t, { query }, world.owner.token, accept);
      expect(res.status).toBe(400);
      expect(res.body.errors.length).toBeGreaterThan(0);
      expect(new Set(errorCodes(res as GraphQLResponse))).toEqual(new Set(['BAD_USER_INPUT']));
      expect(res.body.data).toBeUndefined();
    }
  });

  test('also over GET', async () => {
    const res = await t.http().get('/graphql').query({ query: '{ viewer {' }).set('Accept', 'application/json').set('Authorization', `Bearer ${world.owner.token}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  test('a request without a query: 400', async () => {
    const res = await post(t, { variables: {} }, world.owner.token);
    expect(res.status).toBe(400);
    expect(errorCodes(res as GraphQLResponse)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('variables of the wrong type', () => {
  test.each([
    ['a string for an Int', `query($first: Int) { organizations(first: $first) { edges { node { id } } } }`, { first: 'ten' }],
    ['an object for an ID', `query($id: ID!) { board(id: $id) { id } }`, { id: { $ne: null } }],
    ['a missing required variable', `query($id: ID!) { board(id: $id) { id } }`, {}],
    [
      'an unknown enum value',
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret } }`,
      { input: { name: 'x', role: 'SUPREME', organizationId: 'o' } },
    ],
    [
      'an unknown input field',
      `mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`,
      { input: { spaceId: 's', name: 'x', colour: 'red' } },
    ],
  ])('%s: 400 with BAD_USER_INPUT, nothing executed', async (_name, query, variables) => {
    const boards = await t.prisma.board.count();
    const tokens = await t.prisma.apiToken.count();
    const res = await post(t, { query, variables }, world.owner.token);
    expect(res.status).toBe(400);
    expect(res.body.data).toBeUndefined();
    expect(errorCodes(res as GraphQLResponse)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors[0].message).toMatch(/\$\w+/); // names the variable
    expect(await t.prisma.board.count()).toBe(boards);
    expect(await t.prisma.apiToken.count()).toBe(tokens);
  });
});

// ---- page sizes ------------------------------------------------------------------------

describe('connections take first from 1 to 100', () => {
  const connections: [string, (first: number) => { query: string; variables: Record<string, unknown> }][] = [
    ['organizations', (first) => ({ query: `query($first: Int) { organizations(first: $first) { edges { node { id } } pageInfo { hasNextPage } } }`, variables: { first } })],
    [
      'organization.spaces',
      (first) => ({
        query: `query($id: ID!, $first: Int) { organization(id: $id) { spaces(first: $first) { edges { node { id } } pageInfo { hasNextPage } } } }`,
        variables: { id: world.organizationId, first },
      }),
    ],
    [
      'space.boards',
      (first) => ({
        query: `query($id: ID!, $first: Int) { space(id: $id) { boards(first: $first) { edges { node { id } } pageInfo { hasNextPage } } } }`,
        variables: { id: world.spaceA, first },
      }),
    ],
    [
      'board.items',
      (first) => ({
        query: `query($id: ID!, $first: Int) { board(id: $id) { items(first: $first) { edges { node { id } } pageInfo { hasNextPage } } } }`,
        variables: { id: world.boardA1, first },
      }),
    ],
    ['apiTokens', (first) => ({ query: `query($first: Int) { apiTokens(first: $first) { edges { node { id } } pageInfo { hasNextPage } } }`, variables: { first } })],
    [
      'organization.members',
      (first) => ({
        query: `query($id: ID!, $first: Int) { organization(id: $id) { members(first: $first) { edges { node { role } } pageInfo { hasNextPage } } } }`,
        variables: { id: world.organizationId, first },
      }),
    ],
  ];

  describe.each(connections)('%s', (_name, request) => {
    test.each([0, 101, -1, 1000])('first: %i is BAD_USER_INPUT', async (first) => {
      const res = await post(t, request(first), world.owner.token);
      expect(errorCodes(res as GraphQLResponse)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors[0].message).toMatch(/first/);
      expect(res.body.errors[0].message).toMatch(/100/);
      expect(res.text).not.toMatch(/"edges":\[\{/); // no page was served
    });

    test.each([1, 100])('first: %i is accepted', async (first) => {
      const res = await post(t, request(first), world.owner.token);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
    });
  });

  test('first as a literal in the document is checked too', async () => {
    for (const first of [0, 101]) {
      const res = await post(t, { query: `{ organizations(first: ${first}) { edges { node { id } } } }` }, world.owner.token);
      expect(errorCodes(res as GraphQLResponse)).toEqual(['BAD_USER_INPUT']);
    }
  });

  test('first: 1 returns one edge and says there are more', async () => {
    const res = await post(
      t,
      { query: `query($id: ID!) { space(id: $id) { boards(first: 1) { edges { node { name } } pageInfo { hasNextPage } } } }`, variables: { id: world.spaceA } },
      world.owner.token,
    );
    expect(res.body.data.space.boards).toEqual({ edges: [{ node: { name: 'Board A1' } }], pageInfo: { hasNextPage: true } });
  });
});
