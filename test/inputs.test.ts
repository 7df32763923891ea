// Text that PostgreSQL cannot store (a NUL character) is bad input with a clear message,
// never a database error, and changes nothing.
import { buildWorld, type World } from './helpers/factories';
import { errorCodes, startTestApp, type TestApp } from './helpers/testApp';

let t: TestApp;
let w: World;
beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
});
afterAll(() => t.close());

const NUL = 'bad\u0000text';

test.each([
  ['createSpace name', `mutation($v: String!, $o: ID!) { createSpace(input: { organizationId: $o, name: $v }) { id } }`, 'o'],
  ['createItem status', `mutation($v: String!, $b: ID!) { createItem(input: { boardId: $b, name: "x", status: $v }) { id } }`, 'b'],
  ['postItemUpdate body', `mutation($v: String!, $i: ID!) { postItemUpdate(input: { itemId: $i, body: $v }) { id } }`, 'i'],
  ['addMember email', `mutation($v: String!, $o: ID!) { addMember(input: { organizationId: $o, email: $v, role: VIEWER }) { role } }`, 'o'],
  ['createApiToken description', `mutation($v: String!, $o: ID!) { createApiToken(input: { name: "x", description: $v, role: VIEWER, organizationId: $o }) { secret } }`, 'o'],
  ['apiTokens nameContains', `query($v: String!) { apiTokens(filter: { nameContains: $v }) { edges { cursor } } }`, null],
])('%s with a NUL character is BAD_USER_INPUT and changes nothing', async (_name, query, idVariable) => {
  const ids: Record<string, string> = { o: w.organizationId, b: w.boardA1, i: w.itemA1 };
  const counts = async () => [await t.prisma.space.count(), await t.prisma.item.count(), await t.prisma.itemUpdate.count(), await t.prisma.membership.count(), await t.prisma.apiToken.count()];
  const before = await counts();
  const response = await t.gql(query, { v: NUL, ...(idVariable && { [idVariable]: ids[idVariable] }) }, w.owner.token);
  expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
  expect(response.body.errors![0].message).toMatch(/NUL/);
  expect(await counts()).toEqual(before);
});

test('logIn with a NUL character in the email is BAD_USER_INPUT', async () => {
  const response = await t.gql(`mutation($e: String!) { logIn(input: { email: $e, password: "whatever1" }) { token } }`, { e: NUL });
  expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
});

describe('request errors in development mode', () => {
  let dev: TestApp;
  beforeAll(async () => {
    // Yoga attaches internals (originalError) to errors when NODE_ENV is development, the default of npm start.
    const before = process.env.NODE_ENV;
    process.env.NODE_ENV = 'development';
    try {
      dev = await startTestApp();
    } finally {
      process.env.NODE_ENV = before;
    }
  });
  afterAll(() => dev.close());

  test('a body that is not JSON is a 400 BAD_USER_INPUT with no internals', async () => {
    const response = await dev.http().post('/graphql').set('Content-Type', 'application/json').send('{"query": "{ viewer');
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    expect(response.text).not.toMatch(/originalError|SyntaxError|stack/);
  });
});
