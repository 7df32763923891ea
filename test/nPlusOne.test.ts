// No N+1: the number of SQL statements a request sends does not grow with the page size. The
// statements are counted at the driver (openDatabase's onQuery: every pg client's `query`, or
// PGlite's `query`/`exec`), over data where every page is full at both page sizes.
import { signUp } from './helpers/factories';
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
    await children('Item', '"boardId", name, status, "updatedAt"', 'Board', `p.id, p.id || 'i' || g, 'todo', now()`);
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
    // … and the statements do not grow: the very same ones. Measured: 9, the three that
    // authenticate the caller and load its reach (Session, User, Membership), then one per level
    // (Organization, Space, Board, Item, ItemUpdate) and one for the items' board places.
    expect(large.statements).toEqual(small.statements);
    expect(small.statements.length).toBeLessThanOrEqual(12);
    // (The counter does see them: one statement per level at least.)
    expect(small.statements).toEqual(
      expect.arrayContaining(['SELECT Organization', 'SELECT Space', 'SELECT Board', 'SELECT Item', 'SELECT ItemUpdate']),
    );
    expect(await measure(2)).toEqual(small); // and the count is stable
  }, 120_000);
});
