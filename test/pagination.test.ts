// Connections: `first` from 1 to 100 (default 50, anything else BAD_USER_INPUT), and `after`
// cursors that walk a list without gaps or repeats, on every connection of the API.
import { dataOf, errorCodes, startTestApp, type TestApp } from './helpers/testApp';
import {
  addMember,
  createBoard,
  createItem,
  createOrganization,
  createSpace,
  mintToken,
  signUp,
  type TestUser,
} from './helpers/factories';

const PAGE_INFO = 'pageInfo { hasNextPage endCursor }';

interface Connection {
  /** A query with $first and $after (and whatever else `variables` gives). */
  query: string;
  variables: () => Record<string, unknown>;
  pick: (data: any) => { edges: { cursor: string; node: any }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  /** A node's identity. */
  key: (node: any) => string;
  /** How many nodes the full list has. */
  size: () => number;
  /** Who reads it (default: the owner's session). */
  token?: () => string;
}

let t: TestApp;
let owner: TestUser;
let organizationId: string;
let spaceId: string;
let boardId: string;
let itemId: string;
let ownerToken: string;
const ITEMS = 55; // more than the default page of 50
const DONE_ITEMS = Math.ceil(ITEMS / 3); // every third item is done
const SPACES = 7;
const BOARDS = 7;
const UPDATES = 7;
const TOKENS = 7;
const MEMBERS = 6; // besides the owner
const EXTRA_ORGANIZATIONS = 6;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Pager');
  organizationId = await createOrganization(t, owner.token, 'Paged');
  for (let i = 0; i < SPACES; i++) {
    const id = await createSpace(t, owner.token, organizationId, `Space ${i}`);
    if (i === 0) spaceId = id;
  }
  for (let i = 0; i < BOARDS; i++) {
    const id = await createBoard(t, owner.token, spaceId, `Board ${i}`);
    if (i === 0) boardId = id;
  }
  for (let i = 0; i < ITEMS; i++) {
    const id = await createItem(t, owner.token, boardId, `Item ${i}`, i % 3 === 0 ? 'done' : 'todo');
    if (i === 0) itemId = id;
  }
  for (let i = 0; i < UPDATES; i++) {
    dataOf(await t.gql(`mutation($input: PostItemUpdateInput!) { postItemUpdate(input: $input) { id } }`, { input: { itemId, body: `Update ${i}` } }, owner.token));
  }
  const members = await Promise.all(Array.from({ length: MEMBERS }, (_, i) => signUp(t, `Member ${i}`)));
  for (const [i, member] of members.entries()) {
    await addMember(t, owner.token, { organizationId, email: member.email, role: i % 2 ? 'VIEWER' : 'EDITOR', spaceId: i === 5 ? spaceId : undefined });
  }
  for (let i = 0; i < TOKENS; i++) await mintToken(t, owner.token, { name: `Token ${i}`, role: 'VIEWER', spaceId });
  for (let i = 0; i < EXTRA_ORGANIZATIONS; i++) await createOrganization(t, owner.token, `Extra ${i}`);
  // An OWNER token reads the organization-level lists as well as a session does.
  ownerToken = (await mintToken(t, owner.token, { name: 'Owner token', role: 'OWNER', organizationId })).secret;
});

afterAll(async () => {
  await t?.close();
});

const page = (fields: string) => `(first: $first, after: $after) { edges { cursor node { ${fields} } } ${PAGE_INFO} }`;
const ARGS = '$first: Int, $after: String';

const connections: Record<string, Connection> = {
  'Query.organizations': {
    query: `query(${ARGS}) { c: organizations${page('id name')} }`,
    variables: () => ({}),
    pick: (d) => d.c,
    key: (n) => n.id,
    size: () => 1 + EXTRA_ORGANIZATIONS,
  },
  'Organization.spaces': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: spaces${page('id name')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    size: () => SPACES,
  },
  'Space.boards': {
    query: `query($id: ID!, ${ARGS}) { space(id: $id) { c: boards${page('id name')} } }`,
    variables: () => ({ id: spaceId }),
    pick: (d) => d.space.c,
    key: (n) => n.id,
    size: () => BOARDS,
  },
  'Board.items': {
    query: `query($id: ID!, ${ARGS}) { board(id: $id) { c: items${page('id name status')} } }`,
    variables: () => ({ id: boardId }),
    pick: (d) => d.board.c,
    key: (n) => n.id,
    size: () => ITEMS,
  },
  'Board.items(status)': {
    query: `query($id: ID!, $status: String, ${ARGS}) { board(id: $id) { c: items(first: $first, after: $after, status: $status) { edges { cursor node { id status } } ${PAGE_INFO} } } }`,
    variables: () => ({ id: boardId, status: 'done' }),
    pick: (d) => d.board.c,
    key: (n) => n.id,
    size: () => DONE_ITEMS,
  },
  'Item.updates': {
    query: `query($id: ID!, ${ARGS}) { item(id: $id) { c: updates${page('id body')} } }`,
    variables: () => ({ id: itemId }),
    pick: (d) => d.item.c,
    key: (n) => n.id,
    size: () => UPDATES,
  },
  'Query.apiTokens': {
    query: `query(${ARGS}) { c: apiTokens${page('id name')} }`,
    variables: () => ({}),
    pick: (d) => d.c,
    key: (n) => n.id,
    size: () => TOKENS + 1,
  },
  'Organization.apiTokens': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: apiTokens${page('id name')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    size: () => TOKENS + 1,
    token: () => ownerToken,
  },
  'Organization.auditEvents': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: auditEvents${page('id action targetId')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    // The founder's member.added, each member's member.invited and member.added (on accepting), token.created events.
    size: () => 1 + 2 * MEMBERS + TOKENS + 1,
  },
  'Organization.members': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: members${page('role user { id } space { id }')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => `${n.user.id}@${n.space?.id ?? 'org'}`,
    size: () => 1 + MEMBERS,
  },
};
const NAMES = Object.keys(connections);

async function fetchPage(c: Connection, args: { first?: unknown; after?: string | null }) {
  return t.gql(c.query, { ...c.variables(), ...args }, c.token?.() ?? owner.token);
}

async function pageOf(c: Connection, args: { first?: unknown; after?: string | null }) {
  return c.pick(dataOf(await fetchPage(c, args)));
}

/** Walks the whole list `size` at a time, checking every page's pageInfo; returns the keys. */
async function walk(c: Connection, size: number): Promise<string[]> {
  const keys: string[] = [];
  let after: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const p = await pageOf(c, { first: size, after });
    keys.push(...p.edges.map((e) => c.key(e.node)));
    expect(p.edges.length).toBeLessThanOrEqual(size);
    if (p.edges.length) expect(p.pageInfo.endCursor).toBe(p.edges[p.edges.length - 1].cursor);
    if (!p.pageInfo.hasNextPage) return keys;
    expect(p.edges).toHaveLength(size);
    after = p.pageInfo.endCursor;
  }
  throw new Error('The walk did not end');
}

describe.each(NAMES)('%s', (name) => {
  const c = connections[name];

  it('returns the whole list with first: 100, and hasNextPage false', async () => {
    const all = await pageOf(c, { first: 100 });
    expect(all.edges).toHaveLength(c.size());
    expect(all.pageInfo.hasNextPage).toBe(false);
    expect(all.pageInfo.endCursor).toBe(all.edges[all.edges.length - 1].cursor);
    expect(new Set(all.edges.map((e) => c.key(e.node))).size).toBe(c.size());
    expect(new Set(all.edges.map((e) => e.cursor)).size).toBe(c.size());
  });

  it.each([1, 3, 5])('walks the list %p at a time without gaps or repeats', async (size) => {
    const all = (await pageOf(c, { first: 100 })).edges.map((e) => c.key(e.node));
    expect(await walk(c, size)).toEqual(all);
  });

  it('defaults to 50', async () => {
    const p = await pageOf(c, {});
    expect(p.edges).toHaveLength(Math.min(50, c.size()));
    expect(p.pageInfo.hasNextPage).toBe(c.size() > 50);
  });

  it.each([0, 101, -1, 1000])('refuses first: %p with BAD_USER_INPUT', async (first) => {
    const res = await fetchPage(c, { first });
    expect(res.status).toBe(200);
    expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toMatch(/first must be between 1 and 100/);
  });

  it('after the last cursor: no edges, hasNextPage false', async () => {
    const all = await pageOf(c, { first: 100 });
    const rest = await pageOf(c, { first: 10, after: all.pageInfo.endCursor });
    expect(rest.edges).toEqual([]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });
});

describe('Board.items', () => {
  const c = connections['Board.items'];

  it('defaults to a page of 50 of the 55 items, with a cursor for the remaining 5', async () => {
    const first = await pageOf(c, {});
    expect(first.edges).toHaveLength(50);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = await pageOf(c, { after: first.pageInfo.endCursor });
    expect(rest.edges).toHaveLength(5);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('accepts first: 1 and first: 100', async () => {
    expect((await pageOf(c, { first: 1 })).edges).toHaveLength(1);
    expect((await pageOf(c, { first: 100 })).edges).toHaveLength(ITEMS);
  });

  it('the status filter returns exactly the items with that status', async () => {
    const done = (await pageOf(connections['Board.items(status)'], { first: 100 })).edges.map((e) => e.node);
    expect(done).toHaveLength(DONE_ITEMS);
    expect(done.every((n) => n.status === 'done')).toBe(true);
    const all = (await pageOf(c, { first: 100 })).edges.map((e) => e.node);
    expect(done.map((n) => n.id)).toEqual(all.filter((n) => n.status === 'done').map((n) => n.id));
    const none = await t.gql(c.query.replace('items(first: $first', 'items(status: "no such status", first: $first'), { id: boardId, first: 10 }, owner.token);
    expect(dataOf(none).board.c.edges).toEqual([]);
  });

  it('a walk sees items added during it once, and never repeats one', async () => {
    const before = (await pageOf(c, { first: 100 })).edges.map((e) => e.node.id);
    const firstPage = await pageOf(c, { first: 20 });
    const added = await createItem(t, owner.token, boardId, 'Added mid-walk', 'todo');
    const keys = firstPage.edges.map((e) => e.node.id);
    let after = firstPage.pageInfo.endCursor;
    for (;;) {
      const p = await pageOf(c, { first: 20, after });
      keys.push(...p.edges.map((e) => e.node.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(keys).toEqual([...before, added]);
    await t.gql(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: added }, owner.token);
  });

  // KNOWN BUG (reported, not fixed): Pothos' prisma connections hand the cursor to Prisma's
  // `cursor`, which finds nothing when the cursor's own row is gone: a walk whose last-seen item is
  // deleted ends early (edges [], hasNextPage false) and silently skips the rest of the list.
  // Fixing it needs cursors that carry the sort key (createdAt, id). Remove `.failing` then.
  it.failing('a walk goes on after the item its cursor points at is deleted', async () => {
    const doomed = await createItem(t, owner.token, boardId, 'Doomed', 'todo');
    const after = await createItem(t, owner.token, boardId, 'After the doomed one', 'todo');
    const all = (await pageOf(c, { first: 100 })).edges;
    const doomedEdge = all.find((e) => e.node.id === doomed)!;
    await t.gql(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: doomed }, owner.token);
    try {
      const rest = await pageOf(c, { first: 10, after: doomedEdge.cursor });
      expect(rest.edges.map((e) => e.node.id)).toEqual([after]);
    } finally {
      await t.gql(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: after }, owner.token);
    }
  });
});

describe('newest-first lists', () => {
  it('apiTokens: a token created during a walk is not seen again, nor does it shift the pages', async () => {
    const c = connections['Query.apiTokens'];
    const all = (await pageOf(c, { first: 100 })).edges.map((e) => e.node);
    // Newest first: the last minted is first.
    expect(all[0].name).toBe('Owner token');
    expect(all.slice(1).map((n: any) => n.name)).toEqual(Array.from({ length: TOKENS }, (_, i) => `Token ${TOKENS - 1 - i}`));
    const firstPage = await pageOf(c, { first: 3 });
    const fresh = await mintToken(t, owner.token, { name: 'Minted mid-walk', role: 'VIEWER', spaceId });
    const keys = firstPage.edges.map((e) => e.node.id);
    let after = firstPage.pageInfo.endCursor;
    for (;;) {
      const p = await pageOf(c, { first: 3, after });
      keys.push(...p.edges.map((e) => e.node.id));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(keys).toEqual(all.map((n: any) => n.id));
    expect(keys).not.toContain(fresh.id);
    await t.gql(`mutation($id: ID!) { deleteApiToken(id: $id) }`, { id: fresh.id }, owner.token);
  });

  it('auditEvents are newest first across pages', async () => {
    const c = connections['Organization.auditEvents'];
    const walked: any[] = [];
    let after: string | null = null;
    for (;;) {
      const p = await pageOf(c, { first: 4, after });
      walked.push(...p.edges.map((e) => e.node));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    const rows = await t.prisma.auditEvent.findMany({ where: { organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(walked.map((n) => n.id)).toEqual(rows.map((r) => r.id));
  });
});

describe('a cursor', () => {
  it('that is not one of ours is BAD_USER_INPUT, not an internal error', async () => {
    for (const name of ['Board.items', 'Query.apiTokens', 'Organization.members']) {
      const res = await fetchPage(connections[name], { first: 5, after: 'not a cursor' });
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    }
  });

  it('from one list does not leak another organization’s rows into a list', async () => {
    // A stranger pages through their own organizations with the owner's cursor: only theirs.
    const stranger = await signUp(t, 'Stranger');
    const theirs = await createOrganization(t, stranger.token, 'Theirs');
    const ownerCursor = (await pageOf(connections['Query.organizations'], { first: 1 })).pageInfo.endCursor;
    const res = await t.gql(connections['Query.organizations'].query, { first: 100, after: ownerCursor }, stranger.token);
    const ids = (res.body.data?.c?.edges ?? []).map((e: any) => e.node.id);
    for (const id of ids) expect(id).toBe(theirs);
  });
});
