// The visibility checks outside scope-auth (src/schema/visibility.ts): every Query field needs a
// credential, and an Organization, Space, Board or page of items is refused wherever a resolver
// hands out one the caller cannot see (defence in depth: the resolvers filter first).
import { GraphQLError, isObjectType, type GraphQLResolveInfo } from 'graphql';
import { Reach } from '../src/auth/reach';
import type { Context } from '../src/context';
import { schema, schemaWithoutScopeAuth } from '../src/schema';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { errorCodes, startTestApp, type TestApp } from './helpers/testApp';

const PLACED_TYPES = ['Board', 'ItemConnection', 'Organization', 'Space'];

/** The object types graphql-js asks before completing an object of theirs. */
const checkedTypes = (of: typeof schema) =>
  Object.values(of.getTypeMap())
    .filter((type) => isObjectType(type) && !type.name.startsWith('__') && type.isTypeOf)
    .map((type) => type.name)
    .sort();

describe('the checks in the schema', () => {
  test('the types whose objects belong to a place are checked, and only the open-access baseline lacks them', () => {
    // ApiToken's is scope-auth's (its readToken type scope).
    expect(checkedTypes(schema)).toEqual(['ApiToken', ...PLACED_TYPES]);
    expect(checkedTypes(schemaWithoutScopeAuth())).toEqual([]);
  });

  // A caller who reaches space A of organization o1 only.
  const ctx = (kind: 'service' | 'anonymous') =>
    ({ principal: { kind }, reach: new Reach(kind === 'anonymous' ? [] : [{ organizationId: 'o1', spaceId: 'sA', role: 'VIEWER' }]) }) as unknown as Context;
  const info = {} as GraphQLResolveInfo;
  const check = (typeName: string, value: unknown, caller: Context) => {
    const type = schema.getType(typeName);
    if (!isObjectType(type) || !type.isTypeOf) throw new Error(`${typeName} has no check`);
    try {
      return type.isTypeOf(value, caller, info);
    } catch (error) {
      return (error as GraphQLError).extensions.code;
    }
  };

  test.each([
    ['Organization', { id: 'o1' }, { id: 'o2' }],
    ['Space', { id: 'sA', organizationId: 'o1' }, { id: 'sB', organizationId: 'o1' }],
    ['Board', { id: 'b1', spaceId: 'sA', organizationId: 'o1' }, { id: 'b2', spaceId: 'sB', organizationId: 'o1' }],
  ])('%s: seen inside the caller’s reach, FORBIDDEN outside it, UNAUTHENTICATED without a credential', (typeName, inside, outside) => {
    expect(check(typeName, inside, ctx('service'))).toBe(true);
    expect(check(typeName, outside, ctx('service'))).toBe('FORBIDDEN');
    expect(check(typeName, inside, ctx('anonymous'))).toBe('UNAUTHENTICATED');
  });

  test('ItemConnection: a page is seen only when every item on it is inside the reach', () => {
    const item = (spaceId: string) => ({ node: { id: `i-${spaceId}`, boardId: 'b', spaceId, organizationId: 'o1' } });
    expect(check('ItemConnection', { edges: [item('sA'), item('sA')] }, ctx('service'))).toBe(true);
    expect(check('ItemConnection', { edges: [item('sA'), item('sB')] }, ctx('service'))).toBe('FORBIDDEN');
    expect(check('ItemConnection', { edges: 'not settled edges' }, ctx('service'))).toBe('FORBIDDEN');
  });
});

describe('through the API', () => {
  let t: TestApp;
  let w: World;
  let spaceViewer: string;

  beforeAll(async () => {
    t = await startTestApp();
    w = await buildWorld(t);
    spaceViewer = (await mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'VIEWER', spaceId: w.spaceA })).secret;
  });
  afterAll(() => t?.close());

  test('every Query field refuses a request without a credential, each with UNAUTHENTICATED', async () => {
    const response = await t.gql(`{ board(id: "${w.boardA1}") { id } item(id: "${w.itemA1}") { id } }`);
    expect(errorCodes(response)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(response.body.data).toEqual({ board: null, item: null });
  });

  test('a board out of reach, handed out by a resolver that does not filter (Item.board), is refused at that field', async () => {
    // An item recorded in space A on a board of space B cannot be made through the API; written
    // here, it makes Item.board return a board the space-A viewer cannot see.
    await t.prisma.item.update({ where: { id: w.itemA1 }, data: { boardId: w.boardB1 } });
    try {
      const response = await t.gql('query($id: ID!) { item(id: $id) { id board { id name } } }', { id: w.itemA1 }, spaceViewer);
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.body.errors?.[0].path).toEqual(['item', 'board']);
      expect(JSON.stringify(response.body.data)).not.toContain('Board B1');
      // The owner sees space B: the same board is served.
      const owners = await t.gql('query($id: ID!) { item(id: $id) { board { name } } }', { id: w.itemA1 }, w.owner.token);
      expect(owners.body.errors).toBeUndefined();
      expect(owners.body.data.item.board.name).toBe('Board B1');
    } finally {
      await t.prisma.item.update({ where: { id: w.itemA1 }, data: { boardId: w.boardA1 } });
    }
  });
});
