// Items carry no type-level scope (a check per item of every page cost too much: issue 10).
// Instead every way to an Item is checked where it hands items out:
//   - Board.items returns an ItemConnection, whose visibility check (src/schema/visibility.ts)
//     checks the page's places;
//   - item(id) (findVisible), createItem and updateItem (requireRoleOn) check in their resolvers.
// This file pins both halves: the schema has no other field reaching an Item, and the
// ItemConnection check does refuse a page holding an item outside the caller's reach.
import { getNamedType, isObjectType } from 'graphql';
import { schema } from '../src/schema';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { errorCodes, startTestApp, type TestApp } from './helpers/testApp';

/** Every `Type.field` whose type, once unwrapped, is `typeName`. */
function fieldsReturning(typeName: string): string[] {
  const found: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      if (getNamedType(field.type).name === typeName) found.push(`${type.name}.${field.name}`);
    }
  }
  return found.sort();
}

test('items are reached only through fields that check them: a new one must check visibility and be added here', () => {
  expect(fieldsReturning('Item')).toEqual(['ItemEdge.node', 'Mutation.createItem', 'Mutation.updateItem', 'Query.item']);
  expect(fieldsReturning('ItemEdge')).toEqual(['ItemConnection.edges']);
  expect(fieldsReturning('ItemConnection')).toEqual(['Board.items']);
});

describe('the ItemConnection check', () => {
  let t: TestApp;
  let w: World;
  let spaceViewer: string;
  const PAGE = 'query($id: ID!) { board(id: $id) { id items { edges { node { id name } } } } }';

  beforeAll(async () => {
    t = await startTestApp();
    w = await buildWorld(t);
    spaceViewer = (await mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'VIEWER', spaceId: w.spaceA })).secret;
  });
  afterAll(() => t?.close());

  test('a page of items in reach is served', async () => {
    const response = await t.gql(PAGE, { id: w.boardA1 }, spaceViewer);
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data).toEqual({ board: { id: w.boardA1, items: { edges: [{ node: { id: w.itemA1, name: 'Item A1' } }] } } });
  });

  test('a page holding an item whose place is outside the caller’s reach is refused whole', async () => {
    // Rows that disagree with their board (an item recorded in space B on a board of space A)
    // cannot be made through the API; written here, they show that the page is checked by
    // each item's own place, not only by its board's.
    await t.prisma.item.update({ where: { id: w.itemA1 }, data: { spaceId: w.spaceB } });
    try {
      const response = await t.gql(PAGE, { id: w.boardA1 }, spaceViewer);
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.body.errors?.[0].path).toEqual(['board', 'items']);
      expect(JSON.stringify(response.body.data)).not.toContain(w.itemA1);
      // The owner sees space B too: the same page is served.
      const owners = await t.gql(PAGE, { id: w.boardA1 }, w.owner.token);
      expect(owners.body.errors).toBeUndefined();
      expect(owners.body.data.board.items.edges).toEqual([{ node: { id: w.itemA1, name: 'Item A1' } }]);
    } finally {
      await t.prisma.item.update({ where: { id: w.itemA1 }, data: { spaceId: w.spaceA } });
    }
  });
});
