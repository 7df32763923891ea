// What a response is charged (src/limits/cost.ts), read from hand-made responses against the
// real schema: values whose cost does not depend on what they hold (scalars, objects of
// scalars and non-null objects) are counted without being walked, and must cost exactly what
// walking them would: 1 per scalar or null, 2 per object plus its fields.
import { parse, type DocumentNode } from 'graphql';
import { schema } from '../src/schema';
import { operationCosts, responseCost } from '../src/limits/cost';

// One document per query text, as yoga's parse cache gives every request that sends it: the
// plans (and the fixed costs in them) are then remembered from one response to the next.
const documents = new Map<string, DocumentNode>();

function charged(query: string, data: Record<string, unknown>, variables: Record<string, unknown> = {}): number {
  let document = documents.get(query);
  if (!document) documents.set(query, (document = parse(query)));
  const costs = operationCosts(schema, document, undefined, variables);
  return responseCost(costs.response, data);
}

const node = (id: string, status: string | null) => ({ node: { id, status, board: { id: 'b1', name: 'B' } } });

describe('response cost', () => {
  const PAGE = `query($n: Int) { board(id: "b1") { id name items(first: $n) {
    edges { node { id status board { id name } } }
    pageInfo { hasNextPage endCursor }
  } } }`;

  test('a page of items: each edge the same, null scalars at 1, the page info walked', () => {
    const data = (edges: unknown[], endCursor: string | null) => ({
      board: { id: 'b1', name: 'B', items: { edges, pageInfo: { hasNextPage: false, endCursor } } },
    });
    // board 2 + id + name; items 2; per edge 2 + node (2 + id + status + board (2 + id + name)) = 10;
    // pageInfo 2 + 2 scalars.
    expect(charged(PAGE, data([], null), { n: 5 })).toBe(4 + 2 + 4);
    expect(charged(PAGE, data([node('i1', 'open'), node('i2', null)], 'c2'), { n: 5 })).toBe(4 + 2 + 2 * 10 + 4);
    // The same document again (the plan and its fixed costs are remembered): a third edge costs 10 more.
    expect(charged(PAGE, data([node('i1', 'open'), node('i2', null), node('i3', null)], 'c3'), { n: 5 })).toBe(4 + 2 + 3 * 10 + 4);
    expect(charged(PAGE, { board: null }, { n: 5 })).toBe(1);
  });

  test('nullable objects and lists inside an object are walked value by value', () => {
    const query = `{ viewer { apiToken { id organization { id } space { id name } boards { id } } } }`;
    const token = (organization: unknown, space: unknown, boards: unknown[]) => ({ viewer: { apiToken: { id: 't', organization, space, boards } } });
    // viewer 2; apiToken 2 + id; organization null 1 or 2 + id; space null 1 or 2 + 2; boards: 2 + id each.
    expect(charged(query, token(null, null, []))).toBe(2 + 3 + 1 + 1);
    expect(charged(query, token({ id: 'o' }, null, []))).toBe(2 + 3 + 3 + 1);
    expect(charged(query, token({ id: 'o' }, { id: 's', name: 'S' }, [{ id: 'b1' }, { id: 'b2' }]))).toBe(2 + 3 + 3 + 4 + 6);
    // No list: a token whose organization is null costs less than one whose organization is set.
    const noList = `{ viewer { apiToken { id organization { id } } } }`;
    expect(charged(noList, { viewer: { apiToken: { id: 't', organization: { id: 'o' } } } })).toBe(2 + 3 + 3);
    expect(charged(noList, { viewer: { apiToken: { id: 't', organization: null } } })).toBe(2 + 3 + 1);
  });

  test('a skipped field costs nothing and is not counted in a fixed value', () => {
    const query = `query($n: Int, $no: Boolean!) { board(id: "b1") { id items(first: $n) { edges { node { id status @skip(if: $no) } } } } }`;
    const data = { board: { id: 'b1', items: { edges: [{ node: { id: 'i1' } }, { node: { id: 'i2' } }] } } };
    // board 2 + id; items 2; per edge 2 + node (2 + id).
    expect(charged(query, data, { n: 2, no: true })).toBe(3 + 2 + 2 * 5);
    const shown = { board: { id: 'b1', items: { edges: [{ node: { id: 'i1', status: null } }, { node: { id: 'i2', status: 'x' } }] } } };
    expect(charged(query, shown, { n: 2, no: false })).toBe(3 + 2 + 2 * 6);
  });
});
