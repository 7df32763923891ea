// No N+1: the number of SQL statements a request sends does not grow with the page size. The
// statements are counted at the driver (openDatabase's onQuery: every pg client's `query`, or
// PGlite's `query`/`exec`), over data where every page is full at both page sizes.
import { createBoard, createItem, createOrganization, createSpace, mintToken, signUp } from './helpers/factories';
import { dataOf, startTestApp, testConfig, type TestApp } from './helpers/testApp';

/** Children per parent at every level: pages of 2 and of 5 are both full (5^5 = 3125 updates). */
const FANOUT = 5;

const page = (first: number, inner: string) => `(first: ${first}) { edges { node { ${inner} } } pageInfo { hasNextPage } }`;
const nestedQuery = (first: number) =>
  `{ organizations${page(
    first,
    `id name viewerRole spaces${page(
      first,
      `id name viewerRole boards${page(first, `id name items${page(first, `id name status updates${page(first, 'id body authorName createdAt')}`)}`)}`,
    )}`,
  )} }`;

describe('no N+1: organizations → spaces → boards → items → updates', () => {
  let t: TestApp;
  let token: string;
  let statements: string[] = [];

  beforeAll(async () => {
    // The nested query at first: 5 costs more than the default QUERY_MAX_COST; no timer writes mid-count.
    const limits = { ...testConfig().queryLimits, maxCost: 1_000_000_000 };
    t = await startTestApp({ queryLimits: limits, lastUsedFlushSeconds: 60 }, { onQuery: (sql) => statements.push(sql) });
    const owner = await signUp(t, 'Owner');
    token = owner.token;
    // FANOUT^5 = 3,125 updates: written in one statement per table (the API would be slow).
    // Ids spell the path (o3s1b4i0u9), so pages come in a known order.
    await t.prisma.$executeRawUnsafe(
      `INSERT INTO "Organization" (id, name) SELECT 'o' || g, 'o' || g FROM generate_series(0, ${FANOUT - 1}) g`,
    );
    await t.prisma.$executeRaw`INSERT INTO "Membership" (id, "userId", "organizationId", "levelId", role, "acceptedAt")
      SELECT 'm' || id, ${owner.id}, id, id, 'OWNER', now() FROM "Organization" WHERE id LIKE 'o%'`;
    const children = (table: string, columns: string, parent: string, select: string) =>
      t.prisma.$executeRawUnsafe(
        `INSERT INTO "${table}" (id, ${columns}) SELECT p.id || '${table[0].toLowerCase()}' || g, ${select}
         FROM "${parent}" p, generate_series(0, ${FANOUT - 1}) g`,
      );
    await children('Space', '"organizationId", name', 'Organization', `p.id, p.id || 's' || g`);
    await children('Board', '"spaceId", "organizationId", name', 'Space', `p.id, p."organizationId", p.id || 'b' || g`);
    await children('Item', '"boardId", "spaceId", "organizationId", name, status, "updatedAt"', 'Board', `p.id, p."spaceId", p."organizationId", p.id || 'i' || g, 'todo', now()`);
    await children('ItemUpdate', '"itemId", body, "authorName"', 'Item', `p.id, p.id || 'u' || g, 'Owner'`);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  /** A statement in short, e.g. `SELECT Membership` (its verb and first table), so a failure shows which one multiplied. */
  const summary = (sql: string) => `${sql.trim().split(/\s/)[0]} ${/"public"\."(\w+)"/.exec(sql)?.[1] ?? sql.slice(0, 60)}`;

  /** Runs the nested query; returns the statements it sent and the number of updates it returned. */
  async function measure(first: number) {
    statements = [];
    const data = dataOf(await t.gql(nestedQuery(first), undefined, token));
    const sent = statements;
    statements = [];
    let updates = 0;
    for (const o of data.organizations.edges)
      for (const s of o.node.spaces.edges)
        for (const b of s.node.boards.edges) for (const i of b.node.items.edges) updates += i.node.updates.edges.length;
    return { statements: sent.map(summary), updates };
  }

  test('first: 2 and first: 5 at every level send the same, small number of statements', async () => {
    await measure(1); // warm-up: the token's first use, caches
    const small = await measure(2);
    const large = await measure(FANOUT);
    // Both page sizes are full at every level …
    expect(small.updates).toBe(2 ** 5);
    expect(large.updates).toBe(FANOUT ** 5);
    // … and the statements do not grow: the very same ones. Measured: 6, the one that
    // authenticates the caller and loads its reach (Session with its user and memberships), then
    // one per level (Organization, Space, Board, Item, ItemUpdate).
    expect(large.statements).toEqual(small.statements);
    expect(small.statements.length).toBeLessThanOrEqual(12);
    // (The counter does see them: one statement per level at least.)
    expect(small.statements).toEqual(
      expect.arrayContaining(['SELECT Organization', 'SELECT Space', 'SELECT Board', 'SELECT Item', 'SELECT ItemUpdate']),
    );
    expect(await measure(2)).toEqual(small); // and the count is stable
  }, 120_000);
});

describe('the statements of one board page (issue 10, target 3)', () => {
  let t: TestApp;
  let statements: string[] = [];

  beforeAll(async () => {
    t = await startTestApp({ lastUsedFlushSeconds: 60 }, { onQuery: (sql) => statements.push(sql) });
  });
  afterAll(() => t?.close());

  test('board(id) { items(first: 20) } with an EDITOR token: the credential, the board, the page of items; then the board and the page', async () => {
    const owner = await signUp(t, 'Owner');
    const organizationId = await createOrganization(t, owner.token, 'Statements');
    const spaceId = await createSpace(t, owner.token, organizationId, 'Space');
    const boardId = await createBoard(t, owner.token, spaceId, 'Board');
    for (let i = 0; i < 25; i++) await createItem(t, owner.token, boardId, `Item ${i}`, 'todo');
    const token = await mintToken(t, owner.token, { role: 'EDITOR', spaceId });
    const query = `query($id: ID!) { board(id: $id) { id name items(first: 20) { edges { node { id name status } } } } }`;
    // The credential statement (src/auth/credentialLookup.ts), the board and the page (src/db/hotReads.ts) are
    // written by hand.
    const tables = () => statements.map((sql) => (sql.includes('WHERE t."publicId" = $1') ? 'credential' : /FROM "public"\."(\w+)"/.exec(sql)?.[1]));
    await t.app.credentialChanges.whenStarted(); // the cache listens (it starts with the app)
    statements = [];
    // The token's first use: its credential is read (and its first use written).
    expect(dataOf(await t.gql(query, { id: boardId }, token.secret)).board.items.edges).toHaveLength(20);
    expect(tables().filter((table) => table !== undefined)).toEqual(['credential', 'Board', 'Item']);
    statements = [];
    // From then on it is proven and cached in this instance: the board and the page, nothing else.
    expect(dataOf(await t.gql(query, { id: boardId }, token.secret)).board.items.edges).toHaveLength(20);
    expect(tables()).toEqual(['Board', 'Item']);
  });
});

