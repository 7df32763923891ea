// Connections: `first` or `last` from 1 to 100 (default 50, anything else BAD_USER_INPUT), and
// `after`/`before` cursors that walk a list both ways without gaps or repeats, on every
// connection of the API. A cursor is the keyset (createdAt, id) of its row: a walk goes on when
// that row is deleted, and anything the server did not issue is BAD_USER_INPUT, never an internal
// error, and logged as no error.
import { randomBytes } from 'node:crypto';
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

const PAGE_INFO = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const INVALID_CURSOR = "Invalid cursor: use a cursor from this connection's pageInfo or edges.";

interface Page {
  edges: { cursor: string; node: any }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** A row added for a test, and how to take it away again. */
interface AddedRow {
  key: string;
  remove: () => Promise<void>;
}

interface Connection {
  /** A query with $first, $after, $last and $before (and whatever else `variables` gives). */
  query: string;
  variables: () => Record<string, unknown>;
  pick: (data: any) => Page;
  /** A node's identity. */
  key: (node: any) => string;
  /** How many nodes the full list has. */
  size: () => number;
  /** Who reads it (default: the owner's session). */
  token?: () => string;
  /** Adds a row to the list; its `remove` deletes it through the API where the API can. */
  addRow: () => Promise<AddedRow>;
}

let t: TestApp;
const logLines: string[] = [];
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
  t = await startTestApp({ logLevel: 'info' }, { logStream: { write: (line: string) => void logLines.push(line) } });
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

const page = (fields: string) =>
  `(first: $first, after: $after, last: $last, before: $before) { edges { cursor node { ${fields} } } ${PAGE_INFO} }`;
const ARGS = '$first: Int, $after: String, $last: Int, $before: String';

const gqlData = async (query: string, variables: Record<string, unknown>) => dataOf(await t.gql(query, variables, owner.token));
const removeBy = (mutation: string, variables: Record<string, unknown>) => async () => void (await gqlData(mutation, variables));

const connections: Record<string, Connection> = {
  'Query.organizations': {
    query: `query(${ARGS}) { c: organizations${page('id name')} }`,
    variables: () => ({}),
    pick: (d) => d.c,
    key: (n) => n.id,
    size: () => 1 + EXTRA_ORGANIZATIONS,
    addRow: async () => {
      const id = await createOrganization(t, owner.token, 'Added');
      // No deleteOrganization in the API: deleted in the database.
      return { key: id, remove: async () => void (await t.prisma.organization.delete({ where: { id } })) };
    },
  },
  'Organization.spaces': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: spaces${page('id name')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    size: () => SPACES,
    addRow: async () => {
      const id = await createSpace(t, owner.token, organizationId, 'Added');
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id }) };
    },
  },
  'Space.boards': {
    query: `query($id: ID!, ${ARGS}) { space(id: $id) { c: boards${page('id name')} } }`,
    variables: () => ({ id: spaceId }),
    pick: (d) => d.space.c,
    key: (n) => n.id,
    size: () => BOARDS,
    addRow: async () => {
      const id = await createBoard(t, owner.token, spaceId, 'Added');
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteBoard(id: $id) }`, { id }) };
    },
  },
  'Board.items': {
    query: `query($id: ID!, ${ARGS}) { board(id: $id) { c: items${page('id name status')} } }`,
    variables: () => ({ id: boardId }),
    pick: (d) => d.board.c,
    key: (n) => n.id,
    size: () => ITEMS,
    addRow: async () => {
      const id = await createItem(t, owner.token, boardId, 'Added', 'todo');
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteItem(id: $id) }`, { id }) };
    },
  },
  'Board.items(status)': {
    query: `query($id: ID!, $status: String, ${ARGS}) { board(id: $id) { c: items(first: $first, after: $after, last: $last, before: $before, status: $status) { edges { cursor node { id status } } ${PAGE_INFO} } } }`,
    variables: () => ({ id: boardId, status: 'done' }),
    pick: (d) => d.board.c,
    key: (n) => n.id,
    size: () => DONE_ITEMS,
    addRow: async () => {
      const id = await createItem(t, owner.token, boardId, 'Added', 'done');
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteItem(id: $id) }`, { id }) };
    },
  },
  'Item.updates': {
    query: `query($id: ID!, ${ARGS}) { item(id: $id) { c: updates${page('id body')} } }`,
    variables: () => ({ id: itemId }),
    pick: (d) => d.item.c,
    key: (n) => n.id,
    size: () => UPDATES,
    addRow: async () => {
      const { postItemUpdate } = await gqlData(`mutation($input: PostItemUpdateInput!) { postItemUpdate(input: $input) { id } }`, {
        input: { itemId, body: 'Added' },
      });
      // Updates are append-only in the API: deleted in the database.
      return { key: postItemUpdate.id, remove: async () => void (await t.prisma.itemUpdate.delete({ where: { id: postItemUpdate.id } })) };
    },
  },
  'Query.apiTokens': {
    query: `query(${ARGS}) { c: apiTokens${page('id name')} }`,
    variables: () => ({}),
    pick: (d) => d.c,
    key: (n) => n.id,
    size: () => TOKENS + 1,
    addRow: async () => {
      const { id } = await mintToken(t, owner.token, { name: 'Added', role: 'VIEWER', spaceId });
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteApiToken(id: $id) }`, { id }) };
    },
  },
  'Organization.apiTokens': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: apiTokens${page('id name')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    size: () => TOKENS + 1,
    token: () => ownerToken,
    addRow: async () => {
      const { id } = await mintToken(t, owner.token, { name: 'Added', role: 'VIEWER', organizationId });
      return { key: id, remove: removeBy(`mutation($id: ID!) { deleteApiToken(id: $id) }`, { id }) };
    },
  },
  'Organization.auditEvents': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: auditEvents${page('id action targetId')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => n.id,
    // The founder's member.added, each member's member.invited and member.added (on accepting), token.created events.
    size: () => 1 + 2 * MEMBERS + TOKENS + 1,
    addRow: async () => {
      // The audit log is append-only in the API: written and deleted in the database.
      const { id } = await t.prisma.auditEvent.create({ data: { organizationId, action: 'test.added', actorName: 'Test' } });
      return { key: id, remove: async () => void (await t.prisma.auditEvent.delete({ where: { id } })) };
    },
  },
  'Organization.members': {
    query: `query($id: ID!, ${ARGS}) { organization(id: $id) { c: members${page('role user { id } space { id }')} } }`,
    variables: () => ({ id: organizationId }),
    pick: (d) => d.organization.c,
    key: (n) => `${n.user.id}@${n.space?.id ?? 'org'}`,
    size: () => 1 + MEMBERS,
    addRow: async () => {
      const member = await signUp(t, 'Added member');
      await addMember(t, owner.token, { organizationId, email: member.email, role: 'VIEWER' });
      return {
        key: `${member.id}@org`,
        remove: removeBy(`mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`, { input: { organizationId, userId: member.id } }),
      };
    },
  },
};
const NAMES = Object.keys(connections);

const base64 = (text: string) => Buffer.from(text).toString('base64');
/** A cursor in the server's own format: base64url of [version, connection, createdAt, id]. */
const ourFormat = (...parts: unknown[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
const SOME_DATE = '2026-01-31T12:00:00.000Z';
const SOME_ID = 'cmabcdefghijklmnopqrstuvw';

/** Cursors the server never issued for the connection `name`, by what is wrong with them. */
function tamperedCursors(name: string, otherConnectionCursor: string): Record<string, string> {
  return {
    'GPC:N:1': base64('GPC:N:1'),
    'GPC:J:{"a":1}': base64('GPC:J:{"a":1}'),
    'GPC:D:<date>': base64(`GPC:D:${SOME_DATE}`),
    'GPC:S:<id> (the old Pothos format)': base64(`GPC:S:${SOME_ID}`),
    'random base64': randomBytes(24).toString('base64'),
    'random base64url': randomBytes(24).toString('base64url'),
    'not base64': 'not a cursor',
    'an empty string': '',
    'a cursor from another connection': otherConnectionCursor,
    'an impossible date': ourFormat(1, name, '2026-02-31T12:00:00.000Z', SOME_ID),
    'a date that is no ISO date': ourFormat(1, name, 'yesterday', SOME_ID),
    'a date without milliseconds': ourFormat(1, name, '2026-01-31T12:00:00Z', SOME_ID),
    'a date as a number': ourFormat(1, name, Date.parse(SOME_DATE), SOME_ID),
    'an id with quotes': ourFormat(1, name, SOME_DATE, "x' OR '1'='1"),
    'an id of 201 characters': ourFormat(1, name, SOME_DATE, 'a'.repeat(201)),
    'an id as an object': ourFormat(1, name, SOME_DATE, { gt: '' }),
    'another version': ourFormat(2, name, SOME_DATE, SOME_ID),
    'an extra part': ourFormat(1, name, SOME_DATE, SOME_ID, 'x'),
    'a JSON object': Buffer.from(JSON.stringify({ createdAt: SOME_DATE, id: SOME_ID })).toString('base64url'),
    'a padded encoding': `${ourFormat(1, name, SOME_DATE, SOME_ID)}==`,
    'a very long cursor': 'A'.repeat(10_000),
  };
}

type PageArgs = { first?: unknown; after?: string | null; last?: unknown; before?: string | null };

async function fetchPage(c: Connection, args: PageArgs) {
  return t.gql(c.query, { ...c.variables(), ...args }, c.token?.() ?? owner.token);
}

async function pageOf(c: Connection, args: PageArgs): Promise<Page> {
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

  it('answers a selection of pageInfo alone, with the cursors of the page', async () => {
    const all = (await pageOf(c, { first: 100 })).edges;
    const query = c.query.replace(/edges \{ cursor node \{ .*? \} \} pageInfo/, 'pageInfo');
    expect(query).not.toContain('edges');
    const res = await t.gql(query, { ...c.variables(), first: 2, after: all[0].cursor }, c.token?.() ?? owner.token);
    expect(c.pick(dataOf(res)).pageInfo).toEqual({
      hasNextPage: c.size() > 3,
      hasPreviousPage: true,
      startCursor: all[1].cursor,
      endCursor: all[2].cursor,
    });
  });

  it('last: 3 alone (no first) is the end of the list', async () => {
    const all = (await pageOf(c, { first: 100 })).edges;
    const end = await pageOf(c, { last: 3 });
    expect(end.edges).toEqual(all.slice(-3));
    expect(end.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: c.size() > 3, startCursor: all[all.length - 3].cursor, endCursor: all[all.length - 1].cursor });
  });

  it.each([1, 2])('walks the list backwards %p at a time with last and before, without first', async (size) => {
    const all = (await pageOf(c, { first: 100 })).edges.map((e) => c.key(e.node));
    const keys: string[] = [];
    let before: string | null = null;
    for (let pages = 0; ; pages++) {
      expect(pages).toBeLessThan(100);
      const p = await pageOf(c, { last: size, before });
      keys.unshift(...p.edges.map((e) => c.key(e.node)));
      expect(p.pageInfo.hasNextPage).toBe(before != null);
      expect(p.pageInfo.startCursor).toBe(p.edges[0]?.cursor ?? null);
      if (!p.pageInfo.hasPreviousPage) break;
      expect(p.edges).toHaveLength(size);
      before = p.pageInfo.startCursor;
    }
    expect(keys).toEqual(all);
  });

  it('refuses first and last together, and last outside 1..100, with BAD_USER_INPUT', async () => {
    for (const [args, message] of [
      [{ first: 2, last: 2 }, /Give first or last, not both/],
      [{ last: 0 }, /last must be between 1 and 100/],
      [{ last: 101 }, /last must be between 1 and 100/],
    ] as const) {
      const res = await fetchPage(c, args);
      expect(res.status).toBe(200);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toMatch(message);
    }
  });

  it.each(Object.keys(tamperedCursors('', '')))('refuses %s as after and before with BAD_USER_INPUT, and logs no error', async (kind) => {
    const other = name === 'Space.boards' ? connections['Organization.spaces'] : connections['Space.boards'];
    const otherCursor = (await pageOf(other, { first: 1 })).edges[0].cursor;
    const cursor = tamperedCursors(name, otherCursor)[kind];
    for (const args of [{ first: 5, after: cursor }, { last: 5, before: cursor }]) {
      const logged = logLines.length;
      const res = await fetchPage(c, args);
      expect(res.status).toBe(200);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toBe(INVALID_CURSOR);
      const lines = logLines.slice(logged).map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.filter((line) => line.level >= 50)).toEqual([]);
      expect(lines.map((line) => line.msg)).toEqual(['request completed']);
    }
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

  it('after and before together: the rows between them, from either end', async () => {
    const all = (await pageOf(c, { first: 100 })).edges;
    const between = all.slice(11, 20).map((e) => e.node.id);
    const args = { after: all[10].cursor, before: all[20].cursor };
    expect((await pageOf(c, { ...args, first: 100 })).edges.map((e) => e.node.id)).toEqual(between);
    expect((await pageOf(c, { ...args, last: 100 })).edges.map((e) => e.node.id)).toEqual(between);
    expect((await pageOf(c, { ...args, first: 3 })).edges.map((e) => e.node.id)).toEqual(between.slice(0, 3));
    expect((await pageOf(c, { ...args, last: 3 })).edges.map((e) => e.node.id)).toEqual(between.slice(-3));
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

  // A cursor carries its row's sort key (createdAt, id), not a reference to the row: the walk
  // goes on from where the row was (Prisma's `cursor` found nothing and ended the walk).
  it('a walk goes on after the item its cursor points at is deleted', async () => {
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

// Last: these add and delete rows (and audit events), which the counts above must not see.
describe.each(NAMES)('%s: a walk whose cursor row is deleted', (name) => {
  const c = connections[name];
  const keys = (edges: Page['edges']) => edges.map((e) => c.key(e.node));

  it('goes on forwards and backwards from where that row was', async () => {
    const doomed = await c.addRow();
    const kept = await c.addRow();
    try {
      const all = (await pageOf(c, { first: 100 })).edges;
      const at = all.findIndex((e) => c.key(e.node) === doomed.key);
      expect(at).toBeGreaterThanOrEqual(0);
      await doomed.remove();
      const after = await pageOf(c, { first: 100, after: all[at].cursor });
      expect(keys(after.edges)).toEqual(keys(all.slice(at + 1)));
      expect(after.pageInfo.hasNextPage).toBe(false);
      const before = await pageOf(c, { last: 100, before: all[at].cursor });
      expect(keys(before.edges)).toEqual(keys(all.slice(0, at)));
      expect(before.pageInfo.hasPreviousPage).toBe(false);
    } finally {
      await kept.remove();
    }
  });
});

describe('a restricted caller (a SERVICE token) listing the tokens it minted', () => {
  it('gets the same pages with or without node fields', async () => {
    for (let i = 0; i < 3; i++) await mintToken(t, ownerToken, { name: `Minted by a token ${i}`, role: 'VIEWER', spaceId });
    const c = connections['Query.apiTokens'];
    const all = (await pageOf({ ...c, token: () => ownerToken }, { first: 100 })).edges;
    expect(all.map((e) => e.node.name)).toEqual(['Minted by a token 2', 'Minted by a token 1', 'Minted by a token 0']);
    const res = await t.gql(`query { apiTokens(first: 2) { ${PAGE_INFO} } }`, {}, ownerToken);
    expect(dataOf(res).apiTokens.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: all[0].cursor, endCursor: all[1].cursor });
  });
});
