// Abuse limits (src/limits/), each with small limits so that a test reaches them: the
// complexity budget per token (cost, extensions.complexity, RateLimit-* headers, 429 with
// Retry-After, nothing executed), the per-token budget field and who may raise it, request
// rates per token and per address, refused credentials, and the stricter logIn/signUp limits.
// Counters are in memory here; test/sharedLimits.test.ts runs them on Redis across instances.
import { createBoard, createItem, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type GraphQLResponse, type TestApp } from './helpers/testApp';
import request from 'supertest';
import type { AbuseLimits } from '../src/env';
import { createApp, type App } from '../src/app';
import { formatToken, newPublicId, newSecret } from '../src/auth/tokenFormat';

const limits = (overrides: Partial<AbuseLimits>): AbuseLimits => ({ ...testConfig().limits, ...overrides });

/**
 * board (2 + id 1 + name 1) + items (2 + per node: edge 2 + node (2 + id 1 + name 1)):
 * 6 + 6 per item. Estimated before execution with `first` items; charged for those returned.
 */
const BOARD_ITEMS = `query($id: ID!, $n: Int) { board(id: $id) { id name items(first: $n) { edges { node { id name } } } } }`;
const boardItemsCost = (items: number) => 6 + 6 * items;
type Complexity = { cost: number; requestedCost: number; budget: number; remaining: number; resetInSeconds: number };
const complexityOf = (res: GraphQLResponse) => (res.body as { extensions?: { complexity?: Complexity } }).extensions?.complexity;

function expectRateLimited(res: GraphQLResponse) {
  expect(res.status).toBe(429);
  expect(errorCodes(res)).toEqual(['RATE_LIMITED']);
  // Refused before execution: no data at all; a refused logIn or signUp field: null.
  expect(res.body.data ?? null).toBeNull();
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

interface Org {
  owner: TestUser;
  organizationId: string;
  spaceId: string;
  boardId: string;
}

async function organization(t: TestApp): Promise<Org> {
  const owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token);
  const spaceId = await createSpace(t, owner.token, organizationId);
  const boardId = await createBoard(t, owner.token, spaceId);
  for (let i = 0; i < 3; i++) await createItem(t, owner.token, boardId, `Item ${i}`);
  return { owner, organizationId, spaceId, boardId };
}

describe('complexity budget', () => {
  let t: TestApp;
  let org: Org;
  const BUDGET = 1_000;

  beforeAll(async () => {
    t = await startTestApp({ limits: limits({ budgetDefaultPerMinute: BUDGET, budgetMaxPerMinute: 5_000 }) });
    org = await organization(t);
  });
  afterAll(() => t?.close());

  test('every response carries what it cost, the estimate, the budget left and when it resets, in extensions and headers', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    let remaining = BUDGET;
    for (const n of [1, 20, 5]) {
      const res = await t.gql(BOARD_ITEMS, { id: org.boardId, n }, token.secret);
      const returned = Math.min(n, 3); // the board holds three items
      expect(dataOf(res).board.items.edges).toHaveLength(returned);
      remaining -= boardItemsCost(returned);
      const complexity = complexityOf(res)!;
      expect(complexity).toEqual({ cost: boardItemsCost(returned), requestedCost: boardItemsCost(n), budget: BUDGET, remaining, resetInSeconds: expect.any(Number) });
      expect(complexity.resetInSeconds).toBeGreaterThanOrEqual(1);
      expect(complexity.resetInSeconds).toBeLessThanOrEqual(60);
      expect(res.headers['ratelimit-limit']).toBe(String(BUDGET));
      expect(res.headers['ratelimit-remaining']).toBe(String(remaining));
      expect(res.headers['ratelimit-reset']).toBe(String(complexity.resetInSeconds));
      expect(res.headers['ratelimit-policy']).toBe(`${BUDGET};w=60`);
      // The headers travel to yoga in extensions.http, which never reaches the body.
      expect(Object.keys((res.body as { extensions: object }).extensions)).toEqual(['complexity']);
    }
  });

  test('the estimate weighs lists by their page size: a literal, a variable, or the default of 50', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    const estimate = async (query: string, variables: Record<string, unknown>) => complexityOf(await t.gql(query, variables, token.secret))!;
    expect(await estimate(BOARD_ITEMS, { id: org.boardId, n: 7 })).toMatchObject({ requestedCost: boardItemsCost(7), cost: boardItemsCost(3) });
    expect(await estimate(BOARD_ITEMS, { id: org.boardId })).toMatchObject({ requestedCost: boardItemsCost(50), cost: boardItemsCost(3) });
    const literal = BOARD_ITEMS.replace('first: $n', 'first: 2').replace(', $n: Int', '');
    expect(await estimate(literal, { id: org.boardId })).toMatchObject({ requestedCost: boardItemsCost(2), cost: boardItemsCost(2) });
    // Introspection is free.
    expect(await estimate('{ __schema { queryType { name } } }', {})).toMatchObject({ requestedCost: 0, cost: 0 });
  });

  test('estimates are remembered per operation and per number and boolean variables only; one that cannot be made is not', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    const send = (variables: Record<string, unknown>) => t.gql(BOARD_ITEMS, variables, token.secret);
    // An id that is no ID: refused by execution, with no estimate; the same `n` then estimates right.
    const wrong = await send({ id: { not: 'an id' }, n: 9 });
    expect(errorCodes(wrong).length).toBeGreaterThan(0);
    expect(wrong.body.data ?? null).toBeNull();
    expect(complexityOf(await send({ id: org.boardId, n: 9 }))).toMatchObject({ requestedCost: boardItemsCost(9), cost: boardItemsCost(3) });
    // Another board, the same `n`: the same estimate (ids never weigh); another `n`: its own.
    expect(complexityOf(await send({ id: 'cnosuchboard0000000000000', n: 9 }))).toMatchObject({ requestedCost: boardItemsCost(9), cost: 1 });
    expect(complexityOf(await send({ id: org.boardId, n: 2 }))).toMatchObject({ requestedCost: boardItemsCost(2), cost: boardItemsCost(2) });
  });

  test('an operationName that names no operation leaves the estimate of the unnamed operation alone', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    const body = (operationName?: string) => ({ query: BOARD_ITEMS, variables: { id: org.boardId, n: 8 }, ...(operationName !== undefined && { operationName }) });
    const post = (payload: object) => t.http().post('/graphql').set('Authorization', `Bearer ${token.secret}`).send(payload);
    // "" names no operation (yoga refuses it before execution); it must not stand for "no name".
    const named = await post(body(''));
    expect(named.body.data ?? null).toBeNull();
    expect(named.body.errors?.length).toBe(1);
    const unnamed = await post(body());
    expect(unnamed.body.errors).toBeUndefined();
    expect(unnamed.body.extensions.complexity).toMatchObject({ requestedCost: boardItemsCost(8), cost: boardItemsCost(3) });
  });

  test('a boolean variable left to its default is read at its default by the charge', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    const query = `query($id: ID!, $more: Boolean = false) { board(id: $id) { id name @include(if: $more) } }`;
    const omitted = await t.gql(query, { id: org.boardId }, token.secret);
    expect(omitted.status).toBe(200);
    expect(omitted.body.errors).toBeUndefined();
    expect(omitted.body.data).toEqual({ board: { id: org.boardId } });
    expect(complexityOf(omitted)).toMatchObject({ cost: 3 });
    expect(complexityOf(await t.gql(query, { id: org.boardId, more: true }, token.secret))).toMatchObject({ cost: 4 });
  });

  test('aliases are the client’s choice: `__`-prefixed ones cost what their field costs (only real introspection is free)', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'EDITOR', spaceId: org.spaceId });
    const cost = async (query: string, variables: Record<string, unknown> = {}) => complexityOf(await t.gql(query, variables, token.secret))!;
    const plain = await cost(BOARD_ITEMS, { id: org.boardId, n: 20 });
    const aliased = BOARD_ITEMS.replace('board(id: $id) { id name items', '__b: board(id: $id) { __i: id __n: name __x: items')
      .replace('edges { node { id name } }', '__e: edges { __o: node { __d: id name } }');
    expect(await cost(aliased, { id: org.boardId, n: 20 })).toMatchObject({ cost: plain.cost, requestedCost: plain.requestedCost });
    // Through fragments too; __typename (under any alias) is free.
    const viaFragment = `query($id: ID!) { ...F } fragment F on Query { __f: board(id: $id) { __typename __t: __typename id name items(first: 20) { edges { node { id name } } } } }`;
    expect(await cost(viaFragment, { id: org.boardId })).toMatchObject({ cost: plain.cost });
    // A mutation under a `__` alias is charged (2 + id 1 + name 1).
    const create = `mutation($input: CreateItemInput!) { __m: createItem(input: $input) { id name } }`;
    const created = await t.gql(create, { input: { boardId: org.boardId, name: 'aliased' } }, token.secret);
    expect(complexityOf(created)).toMatchObject({ cost: 4, requestedCost: 4 });
    await t.prisma.item.delete({ where: { id: created.body.data.__m.id } });
    // Skipped fields cost nothing; introspection under an alias is still free.
    expect(await cost(`query($id: ID!, $no: Boolean!) { board(id: $id) { id name @skip(if: $no) } }`, { id: org.boardId, no: true })).toMatchObject({ cost: 3 });
    // The same document with the other @skip value is read by its own selections (the way a
    // response is read is kept per document and per non-string variables).
    expect(await cost(`query($id: ID!, $no: Boolean!) { board(id: $id) { id name @skip(if: $no) } }`, { id: org.boardId, no: false })).toMatchObject({ cost: 4 });
    expect(await cost(`query($id: ID!, $no: Boolean!) { board(id: $id) { id name @skip(if: $no) } }`, { id: 'cnosuchboard0000000000000', no: false })).toMatchObject({ cost: 1 });
    expect(await cost('{ s: __schema { queryType { name } } }')).toMatchObject({ cost: 0, requestedCost: 0 });
  });

  test('an exhausted budget: 429 RATE_LIMITED with Retry-After, the budget headers, and nothing executed', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'EDITOR', spaceId: org.spaceId, complexityBudget: 100 });
    // 6 + 6·3 = 24 per query: four take 96 of 100; the fifth runs on the 4 left and is charged
    // in full (0 left); the sixth finds the budget exhausted.
    const remaining: number[] = [];
    for (let i = 0; i < 5; i++) remaining.push(complexityOf(await t.gql(BOARD_ITEMS, { id: org.boardId, n: 20 }, token.secret))!.remaining);
    expect(remaining).toEqual([76, 52, 28, 4, 0]);
    const refused = await t.gql(BOARD_ITEMS, { id: org.boardId, n: 1 }, token.secret);
    expectRateLimited(refused);
    expect(refused.body.errors![0].message).toMatch(/budget exhausted: all 100 points of this minute are spent \(this query may cost up to 12\)/i);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-limit']).toBe('100');
    // A refused mutation changes nothing.
    const items = await t.prisma.item.count({ where: { boardId: org.boardId } });
    const create = `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`;
    expectRateLimited(await t.gql(create, { input: { boardId: org.boardId, name: 'never' } }, token.secret));
    expect(await t.prisma.item.count({ where: { boardId: org.boardId } })).toBe(items);
    // Another token's budget is its own.
    const other = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    dataOf(await t.gql(BOARD_ITEMS, { id: org.boardId, n: 20 }, other.secret));
  });

  test('minting never multiplies a budget: a minted token’s requests count against every token up its minting chain', async () => {
    const parent = await mintToken(t, org.owner.token, { role: 'EDITOR', spaceId: org.spaceId, complexityBudget: 100 });
    const [a, b, c] = [
      await mintToken(t, parent.secret, { role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 100 }),
      await mintToken(t, parent.secret, { role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 100 }),
      await mintToken(t, parent.secret, { role: 'EDITOR', spaceId: org.spaceId, complexityBudget: 100 }),
    ];
    const grandchild = await mintToken(t, c.secret, { role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 100 });
    const query = (secret: string) => t.gql(BOARD_ITEMS, { id: org.boardId, n: 20 }, secret); // costs 24
    // Minting spent 24 of the parent's 100 (four createApiToken at 6 each, the grandchild's through c).
    // Three queries from three children take 72 more; each response shows the least left on its chain.
    const left: number[] = [];
    for (const child of [a, b, c]) left.push(complexityOf(await query(child.secret))!.remaining);
    expect(left).toEqual([52, 28, 4]);
    // The next runs on the parent's last 4 points and is charged in full; then the whole family waits.
    expect(complexityOf(await query(a.secret))).toMatchObject({ cost: 24, budget: 100, remaining: 0 });
    for (const member of [b, c, grandchild]) {
      const refused = await query(member.secret);
      expectRateLimited(refused);
      expect(refused.body.errors![0].message).toMatch(/the token that minted this one \(directly or further up\) has spent all 100 points/);
    }
    expectRateLimited(await query(parent.secret));
    // Tokens outside the family keep their own budgets.
    const unrelated = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 100 });
    expect(complexityOf(await query(unrelated.secret))).toMatchObject({ remaining: 76 });
  });

  test('a query larger than the whole budget runs while anything is left, and exhausts it', async () => {
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 10 });
    const big = await t.gql(BOARD_ITEMS, { id: org.boardId, n: 20 }, token.secret);
    expect(dataOf(big).board.items.edges).toHaveLength(3);
    expect(complexityOf(big)).toMatchObject({ cost: 24, requestedCost: 126, budget: 10, remaining: 0 });
    expectRateLimited(await t.gql(BOARD_ITEMS, { id: org.boardId, n: 1 }, token.secret));
  });

  test('a budget is set per token on create and update; null goes back to the default', async () => {
    const create = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id complexityBudget } } }`;
    const created = dataOf(await t.gql(create, { input: { name: 'small', role: 'VIEWER', spaceId: org.spaceId, complexityBudget: 200 } }, org.owner.token));
    expect(created.createApiToken.apiToken.complexityBudget).toBe(200);
    const secret = created.createApiToken.secret;
    const id = created.createApiToken.apiToken.id;
    const first = await t.gql(BOARD_ITEMS, { id: org.boardId, n: 1 }, secret);
    expect(first.headers['ratelimit-limit']).toBe('200');

    const update = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { complexityBudget } }`;
    expect(dataOf(await t.gql(update, { input: { id, complexityBudget: 4_000 } }, org.owner.token)).updateApiToken.complexityBudget).toBe(4_000);
    expect((await t.gql(BOARD_ITEMS, { id: org.boardId, n: 1 }, secret)).headers['ratelimit-limit']).toBe('4000');
    expect(dataOf(await t.gql(update, { input: { id, complexityBudget: null } }, org.owner.token)).updateApiToken.complexityBudget).toBe(BUDGET);
    expect(await t.prisma.apiToken.findUniqueOrThrow({ where: { id } })).toMatchObject({ complexityBudget: null });
  });

  test('only an OWNER raises a budget above the default, never above the maximum; a token gives at most its own', async () => {
    const create = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id complexityBudget } } }`;
    const input = (extra: Record<string, unknown>) => ({ input: { name: 'b', role: 'VIEWER', spaceId: org.spaceId, ...extra } });
    const editor = await mintToken(t, org.owner.token, { role: 'EDITOR', spaceId: org.spaceId, complexityBudget: 800 });
    const tokens = await t.prisma.apiToken.count();

    const aboveMax = await t.gql(create, input({ complexityBudget: 5_001 }), org.owner.token);
    expect(errorCodes(aboveMax)).toEqual(['BAD_USER_INPUT']);
    expect(aboveMax.body.errors![0].message).toMatch(/between 1 and 5000/);
    expect(errorCodes(await t.gql(create, input({ complexityBudget: 0 }), org.owner.token))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await t.gql(create, input({ complexityBudget: -5 }), org.owner.token))).toEqual(['BAD_USER_INPUT']);

    // The EDITOR token: not above the default (not an OWNER), and not above its own 800.
    const aboveDefault = await t.gql(create, input({ complexityBudget: 1_001 }), editor.secret);
    expect(errorCodes(aboveDefault)).toEqual(['FORBIDDEN']);
    expect(aboveDefault.body.errors![0].message).toMatch(/OWNER/);
    const aboveOwn = await t.gql(create, input({ complexityBudget: 900 }), editor.secret);
    expect(errorCodes(aboveOwn)).toEqual(['FORBIDDEN']);
    expect(aboveOwn.body.errors![0].message).toMatch(/800/);
    // Without a budget the new token would get the default (1,000 > 800): also refused.
    expect(errorCodes(await t.gql(create, input({}), editor.secret))).toEqual(['FORBIDDEN']);
    expect(await t.prisma.apiToken.count()).toBe(tokens);
    expect(dataOf(await t.gql(create, input({ complexityBudget: 800 }), editor.secret)).createApiToken.apiToken.complexityBudget).toBe(800);

    // The OWNER raises to the maximum.
    expect(dataOf(await t.gql(create, input({ complexityBudget: 5_000 }), org.owner.token)).createApiToken.apiToken.complexityBudget).toBe(5_000);
  });
});

describe('request rates', () => {
  let t: TestApp;
  let org: Org;
  // Set-up goes through `t` (default limits); each test sends its requests through an app of
  // its own on the same database, with small limits and counters of its own.
  const apps: App[] = [];
  function strictApp(overrides: Partial<AbuseLimits>) {
    const app = createApp(testConfig({ limits: limits(overrides) }), t.database);
    apps.push(app);
    return async (query: string, variables?: Record<string, unknown>, authorization?: string, forwardedFor?: string): Promise<GraphQLResponse> => {
      let req = request(app.yoga).post('/graphql').set('Content-Type', 'application/json');
      if (authorization) req = req.set('Authorization', authorization);
      if (forwardedFor) req = req.set('X-Forwarded-For', forwardedFor);
      const res = await req.send({ query, variables });
      return { status: res.status, headers: res.headers as Record<string, string>, body: res.body };
    };
  }

  beforeAll(async () => {
    t = await startTestApp();
    org = await organization(t);
  });
  afterAll(async () => {
    for (const app of apps) await app.stop();
    await t?.close();
  });

  test('per token: the sixth request of a minute is refused, other tokens are not', async () => {
    const gql = strictApp({ tokenRequestsPerMinute: 5 });
    const token = await mintToken(t, org.owner.token, { role: 'EDITOR', spaceId: org.spaceId });
    for (let i = 0; i < 5; i++) dataOf(await gql('{ viewer { apiToken { id } } }', undefined, `Bearer ${token.secret}`));
    const create = `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`;
    const refused = await gql(create, { input: { boardId: org.boardId, name: 'no' } }, `Bearer ${token.secret}`);
    expectRateLimited(refused);
    expect(refused.body.errors![0].message).toMatch(/Too many requests.*5 per minute/);
    expect(await t.prisma.item.count({ where: { name: 'no' } })).toBe(0);
    const other = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    dataOf(await gql('{ viewer { apiToken { id } } }', undefined, `Bearer ${other.secret}`));
  });

  test('per address without a credential', async () => {
    const gql = strictApp({ anonymousRequestsPerMinute: 4 });
    for (let i = 0; i < 4; i++) expect((await gql('{ __typename }')).status).toBe(200);
    expectRateLimited(await gql('{ __typename }'));
  });

  test('refused credentials count for their address: then it waits, without an argon2id verification', async () => {
    const gql = strictApp({ anonymousRequestsPerMinute: 4 });
    const bad = `Bearer ${formatToken('pcl_', newPublicId(), newSecret())}`;
    for (let i = 0; i < 4; i++) expect((await gql('{ __typename }', undefined, bad)).status).toBe(401);
    const started = performance.now();
    expectRateLimited(await gql('{ __typename }', undefined, bad));
    // Even a valid token from that address waits until the window ends.
    const token = await mintToken(t, org.owner.token, { role: 'VIEWER', spaceId: org.spaceId });
    expectRateLimited(await gql('{ __typename }', undefined, `Bearer ${token.secret}`));
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test('logIn: failed attempts per email and per address; known and unknown emails are refused alike', async () => {
    const gql = strictApp({ logInFailuresPerMinute: 3 });
    const user = await signUp(t, 'Victim');
    const logIn = (email: string, password: string) => gql(`mutation($input: LogInInput!) { logIn(input: $input) { token } }`, { input: { email, password } });
    // Successful logins do not count.
    for (let i = 0; i < 4; i++) dataOf(await logIn(user.email, user.password));
    for (let i = 0; i < 3; i++) expect(errorCodes(await logIn(user.email, 'wrong password'))).toEqual(['UNAUTHENTICATED']);
    const known = await logIn(user.email, user.password); // even the right password waits now
    expectRateLimited(known);
    expect(await t.prisma.session.count({ where: { userId: user.id } })).toBe(1 + 4); // signUp's and the four logIns'
    // The address has used its three failures too: an unknown email gets the same answer.
    const unknown = await logIn('nobody-here@example.com', 'wrong password');
    expectRateLimited(unknown);
    expect(unknown.body.errors![0].message).toBe(known.body.errors![0].message);
  });

  test('logIn: one email guessed from many addresses is still limited (behind a proxy, TRUST_PROXY)', async () => {
    const gql = strictApp({ logInFailuresPerMinute: 3, trustProxy: { hops: 1 } });
    const user = await signUp(t, 'Target');
    const statuses: number[] = [];
    for (const n of [1, 2, 3, 4]) {
      // The one trusted proxy appended each client's address.
      const res = await gql(`mutation($input: LogInInput!) { logIn(input: $input) { token } }`, { input: { email: user.email, password: `guess ${n}` } }, undefined, `203.0.113.${n}`);
      statuses.push(res.status);
    }
    // Three failures from three addresses, then the email itself is limited.
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  test('signUp: per address', async () => {
    const gql = strictApp({ signUpsPerMinute: 2 });
    const signUpWith = (n: number) =>
      gql(`mutation($input: SignUpInput!) { signUp(input: $input) { token } }`, {
        input: { email: `limit-${n}-${Date.now()}@example.com`, password: 'long enough pw', name: `N${n}` },
      });
    dataOf(await signUpWith(1));
    dataOf(await signUpWith(2));
    const users = await t.prisma.user.count();
    expectRateLimited(await signUpWith(3));
    expect(await t.prisma.user.count()).toBe(users);
  });
});
