// Query limits (src/server/queryLimits.ts, GraphQL Armor): depth, aliases, directives, tokens
// and static cost, checked before execution. At a limit a document runs; one over it gets HTTP
// 400, one BAD_USER_INPUT error naming the limit and the value, no data, and nothing executes.
// Every check runs with the limits from the configuration (the defaults) and with a small
// custom configuration read from environment variables.
import { getIntrospectionQuery } from 'graphql';
import { ConfigError, loadConfig, type QueryLimits } from '../src/env';
import { createBoard, createItem, createOrganization, createSpace, signUp } from './helpers/factories';
import { startTestApp, testConfig, type GraphQLResponse, type TestApp } from './helpers/testApp';

/** Object fields that nest forever below a Board: board.space.boards.edges.node is a Board again. */
const BOARD_CYCLE = ['space', 'boards', 'edges', 'node'];

/** `count` nested object fields below a Board, ending in a leaf (`__typename`). */
function boardChain(count: number): string {
  const fields = Array.from({ length: count }, (_, i) => BOARD_CYCLE[i % BOARD_CYCLE.length]);
  return `${fields.map((f) => `${f} { `).join('')}__typename${' }'.repeat(count)}`;
}

/** A query of exactly `depth` (every field counts, the leaf too): board, the chain, __typename. */
const depthQuery = (depth: number) => `query($id: ID!) { board(id: $id) { ${boardChain(depth - 2)} } }`;

const aliasesQuery = (aliases: number) =>
  `query($id: ID!) { ${Array.from({ length: aliases }, (_, i) => `b${i}: board(id: $id) { id }`).join(' ')} }`;

const directivesQuery = (directives: number) =>
  `query($id: ID!) { board(id: $id) { id ${'... @include(if: true) { __typename } '.repeat(directives)}} }`;

/**
 * A document of exactly `tokens`: `{ viewer { user { } } }` (8 tokens) holding `__typename`s,
 * spread over its three selection sets (graphql-js stops comparing a thousand identical
 * fields in one selection set: "Validation aborted.").
 */
function tokensQuery(tokens: number): string {
  const fill = tokens - 8;
  const third = Math.floor(fill / 3);
  const typenames = (n: number) => '__typename '.repeat(n);
  return `{ ${typenames(third)}viewer { ${typenames(third)}user { ${typenames(fill - 2 * third)}} } }`;
}

/**
 * A query of exactly `cost`: a connection costs (2 + 2 + 2 + 1) × first for
 * `x(first: n) { edges { node { __typename } } }`, a top-level __typename 1.
 */
function costQuery(cost: number): string {
  const block = (field: string, first: number) => `${field}(first: ${first}) { edges { node { __typename } } }`;
  const parts: string[] = [];
  let rest = cost;
  // Identical selections may repeat (they merge); a different `first` needs another field.
  for (; rest >= 700; rest -= 700) parts.push(block('organizations', 100));
  if (rest >= 7) {
    parts.push(block('apiTokens', Math.floor(rest / 7)));
    rest %= 7;
  }
  parts.push(...Array<string>(rest).fill('__typename'));
  return `{ ${parts.join(' ')} }`;
}

interface Fixture {
  t: TestApp;
  token: string;
  boardId: string;
}

async function fixture(limits?: QueryLimits): Promise<Fixture> {
  const t = await startTestApp(limits ? { queryLimits: limits } : {});
  const owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token, 'Limits');
  const spaceId = await createSpace(t, owner.token, organizationId, 'Space');
  const boardId = await createBoard(t, owner.token, spaceId, 'Board');
  await createItem(t, owner.token, boardId, 'Item');
  return { t, token: owner.token, boardId };
}

function expectRuns(response: GraphQLResponse) {
  expect({ status: response.status, errors: response.body.errors ?? [] }).toEqual({ status: 200, errors: [] });
  expect(response.body.data).toBeTruthy();
}

/** HTTP 400, exactly one error, BAD_USER_INPUT with `message`, and no data at all. */
function expectRefused(response: GraphQLResponse, message: string) {
  expect({ status: response.status, errors: response.body.errors }).toEqual({
    status: 400,
    errors: [expect.objectContaining({ message, extensions: { code: 'BAD_USER_INPUT' } })],
  });
  expect(response.body.data).toBeUndefined();
}

/** One test per limit: at the limit the document runs, one over it is refused. */
function limitTests(describeName: string, limits: QueryLimits, fixtureOf: () => Fixture) {
  describe(describeName, () => {
    const run = (query: string) => {
      const { t, token, boardId } = fixtureOf();
      return t.gql(query, query.includes('$id') ? { id: boardId } : undefined, token);
    };

    test(`depth: ${limits.maxDepth} runs, ${limits.maxDepth + 1} is refused`, async () => {
      expectRuns(await run(depthQuery(limits.maxDepth)));
      expectRefused(
        await run(depthQuery(limits.maxDepth + 1)),
        `Query depth limit of ${limits.maxDepth} exceeded, found ${limits.maxDepth + 1}.`,
      );
    });

    test(`aliases: ${limits.maxAliases} run, ${limits.maxAliases + 1} are refused`, async () => {
      const at = await run(aliasesQuery(limits.maxAliases));
      expectRuns(at);
      expect(Object.keys(at.body.data)).toHaveLength(limits.maxAliases);
      expectRefused(
        await run(aliasesQuery(limits.maxAliases + 1)),
        `Aliases limit of ${limits.maxAliases} exceeded, found ${limits.maxAliases + 1}.`,
      );
    });

    test(`directives: ${limits.maxDirectives} run, ${limits.maxDirectives + 1} are refused`, async () => {
      expectRuns(await run(directivesQuery(limits.maxDirectives)));
      expectRefused(
        await run(directivesQuery(limits.maxDirectives + 1)),
        `Directives limit of ${limits.maxDirectives} exceeded, found ${limits.maxDirectives + 1}.`,
      );
    });

    test(`tokens: a document of ${limits.maxTokens} runs, one of ${limits.maxTokens + 1} is refused`, async () => {
      expectRuns(await run(tokensQuery(limits.maxTokens)));
      expectRefused(await run(tokensQuery(limits.maxTokens + 1)), `Token limit of ${limits.maxTokens} exceeded.`);
    });

    test(`cost: ${limits.maxCost} runs, ${limits.maxCost + 1} is refused`, async () => {
      expectRuns(await run(costQuery(limits.maxCost)));
      expectRefused(
        await run(costQuery(limits.maxCost + 1)),
        `Query cost limit of ${limits.maxCost} exceeded, found ${limits.maxCost + 1}.`,
      );
    });

    test('GraphiQL introspection still works (it counts for neither depth nor cost)', async () => {
      const { t } = fixtureOf();
      const query = getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
        oneOf: true,
      });
      const response = await t.gql(query);
      expectRuns(response);
      expect(response.body.data.__schema.queryType).toMatchObject({ name: 'Query' });
    });
  });
}

describe('query limits', () => {
  const defaults = testConfig().queryLimits;
  // Small, all different from the defaults, and read from the environment like the real ones.
  const custom = loadConfig({
    QUERY_MAX_DEPTH: '5',
    QUERY_MAX_ALIASES: '2',
    QUERY_MAX_DIRECTIVES: '3',
    QUERY_MAX_TOKENS: '200',
    QUERY_MAX_COST: '500',
  }).queryLimits;
  let withDefaults: Fixture;
  let withCustom: Fixture;

  beforeAll(async () => {
    [withDefaults, withCustom] = await Promise.all([fixture(), fixture(custom)]);
  });
  afterAll(async () => {
    await Promise.all([withDefaults?.t.close(), withCustom?.t.close()]);
  });

  test('the defaults come from the configuration', () => {
    expect(defaults).toEqual({ maxDepth: 20, maxAliases: 15, maxDirectives: 50, maxTokens: 1000, maxCost: 10_000 });
    expect(custom).toEqual({ maxDepth: 5, maxAliases: 2, maxDirectives: 3, maxTokens: 200, maxCost: 500 });
  });

  test.each([
    ['QUERY_MAX_DEPTH', '0'],
    ['QUERY_MAX_ALIASES', '-1'],
    ['QUERY_MAX_DIRECTIVES', 'many'],
    ['QUERY_MAX_TOKENS', '199'], // GraphiQL's introspection would no longer fit
    ['QUERY_MAX_COST', '1.5'],
  ])('%s=%s stops start-up with a message naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^\\s+${name}:`, 'm'));
  });

  test('the deepest legitimate query (depth 16) runs under the defaults', async () => {
    const page = (inner: string) => `{ edges { cursor node { ${inner} } } pageInfo { hasNextPage endCursor } }`;
    const query = `{ organizations ${page(
      `id name spaces ${page(`id name boards ${page(`id name items ${page(`id name status updates ${page('id body createdAt authorName')}`)}`)}`)}`,
    )} }`;
    const response = await withDefaults.t.gql(query, undefined, withDefaults.token);
    expectRuns(response);
    expect(response.body.data.organizations.edges[0].node.spaces.edges[0].node.boards.edges[0].node.items.edges).toHaveLength(1);
    // … and is refused under the custom limit.
    const { t, token } = withCustom;
    expectRefused(await t.gql(query, undefined, token), 'Query depth limit of 5 exceeded, found 16.');
  });

  limitTests('with the default limits', defaults, () => withDefaults);
  limitTests('with a small custom configuration (QUERY_MAX_* variables)', custom, () => withCustom);

  describe('a refused document executes nothing', () => {
    const items = (input: string) => `createItem(input: ${input}) { id }`;
    // Mutations over each default limit; each would create items if it ran.
    const over: [string, (boardId: string) => string][] = [
      ['depth', () => `mutation($input: CreateItemInput!) { createItem(input: $input) { board { ${boardChain(defaults.maxDepth)} } } }`],
      [
        'aliases',
        () =>
          `mutation($input: CreateItemInput!) { ${Array.from({ length: defaults.maxAliases + 1 }, (_, i) => `i${i}: ${items('$input')}`).join(' ')} }`,
      ],
      [
        'directives',
        () =>
          `mutation($input: CreateItemInput!) { createItem(input: $input) { id ${'... @include(if: true) { __typename } '.repeat(defaults.maxDirectives + 1)}} }`,
      ],
      ['tokens', () => `mutation($input: CreateItemInput!) { createItem(input: $input) { ${'__typename '.repeat(defaults.maxTokens)}} }`],
      [
        'cost',
        () =>
          `mutation($input: CreateItemInput!) { createItem(input: $input) { board { items(first: 100) { edges { node { board { items(first: 100) { edges { node { id } } } } } } } } } }`,
      ],
    ];

    test.each(over)('over the %s limit: HTTP 400 and no item created', async (limit, mutation) => {
      const { t, token, boardId } = withDefaults;
      const before = await t.prisma.item.count();
      const response = await t.gql(mutation(boardId), { input: { boardId, name: `over ${limit}` } }, token);
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/limit of \d+ exceeded/), extensions: { code: 'BAD_USER_INPUT' } }),
      ]);
      expect(response.body.data).toBeUndefined();
      expect(await t.prisma.item.count()).toBe(before);
      expect(await t.prisma.item.count({ where: { name: `over ${limit}` } })).toBe(0);
    });

    test('the same mutation within the limits does create the item (the check above is not vacuous)', async () => {
      const { t, token, boardId } = withDefaults;
      const response = await t.gql(`mutation($input: CreateItemInput!) { ${items('$input')} }`, { input: { boardId, name: 'within' } }, token);
      expectRuns(response);
      expect(await t.prisma.item.count({ where: { name: 'within' } })).toBe(1);
    });
  });

  test('HTTP 400 whatever the client accepts (application/json too)', async () => {
    const { t, token, boardId } = withDefaults;
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const res = await t
        .http()
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .set('Accept', accept)
        .set('Authorization', `Bearer ${token}`)
        .send({ query: aliasesQuery(defaults.maxAliases + 1), variables: { id: boardId } });
      expect({ accept, status: res.status, code: res.body.errors?.[0]?.extensions?.code }).toEqual({
        accept,
        status: 400,
        code: 'BAD_USER_INPUT',
      });
    }
  });
});
