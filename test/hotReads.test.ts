// The hot reads (src/db/hotReads.ts: the board by id and pages of items, in SQL through the
// driver) return exactly what Prisma returns for the same rows and the same page — every column,
// dates to the millisecond — whatever the database session's time zone, for every shape of page
// (filter, cursors either way, both directions, one board or several at once).
import { adminQuery, openTestDatabase, type TestDatabase } from './helpers/testDatabase';
import { readBoard, readItemPages } from '../src/db/hotReads';
import { newestFirst, oldestFirst, encodeCursor, pageQuery, planPage, type ConnectionArgs, type ConnectionOrder } from '../src/schema/pagination';

let database: TestDatabase;
const boardIds = ['cboardhot0000000000000001', 'cboardhot0000000000000002', 'cboardhot0000000000000003'];

beforeAll(async () => {
  database = await openTestDatabase();
  // A time zone far from UTC (+13:45 in its summer): read and compared dates must not move.
  if (database.kind === 'postgresql') {
    await adminQuery(`ALTER DATABASE "${new URL(database.location).pathname.slice(1)}" SET timezone TO 'Pacific/Chatham'`);
  } else {
    await database.prisma.$executeRawUnsafe(`SET TIME ZONE 'Pacific/Chatham'`);
  }
  const { prisma } = database;
  await prisma.organization.create({ data: { id: 'corghot000000000000000001', name: 'Org' } });
  await prisma.space.create({ data: { id: 'cspacehot0000000000000001', organizationId: 'corghot000000000000000001', name: 'Space' } });
  for (const [n, id] of boardIds.entries()) {
    await prisma.board.create({ data: { id, spaceId: 'cspacehot0000000000000001', organizationId: 'corghot000000000000000001', name: `Board ${n}`, createdAt: new Date(Date.UTC(2026, 0, 31, 23, 59, 59, 999)) } });
  }
  // Board 0: 30 items over a few milliseconds, several sharing a createdAt (ordered by id then),
  // with statuses; board 1: 3 items; board 2: none.
  const base = Date.UTC(2026, 5, 30, 12, 0, 0, 7);
  await prisma.item.createMany({
    data: [
      ...Array.from({ length: 30 }, (_, i) => ({
        id: `citemhot00000000000000${String(29 - i).padStart(3, '0')}`,
        boardId: boardIds[0],
        spaceId: 'cspacehot0000000000000001',
        organizationId: 'corghot000000000000000001',
        name: `Item ${i}`,
        status: i % 3 === 0 ? 'done' : i % 3 === 1 ? 'todo' : null,
        createdAt: new Date(base + Math.floor(i / 4)),
        updatedAt: new Date(base + 86_400_000 + i),
      })),
      ...Array.from({ length: 3 }, (_, i) => ({
        id: `citemhotb1000000000000${i}`,
        boardId: boardIds[1],
        spaceId: 'cspacehot0000000000000001',
        organizationId: 'corghot000000000000000001',
        name: `Other ${i}`,
        status: 'todo',
        createdAt: new Date(base - i * 1000),
        updatedAt: new Date(base),
      })),
    ],
  });
});
afterAll(() => database?.drop());

test('readBoard: the row Prisma reads, and null for an unknown id', async () => {
  for (const id of boardIds) expect(await readBoard(database, id)).toEqual(await database.prisma.board.findUnique({ where: { id } }));
  expect(await readBoard(database, 'cboardhot0000000000000009')).toBeNull();
});

describe('readItemPages: the page Prisma reads for the same plan', () => {
  const items = oldestFirst('Board.items');
  const orders: ConnectionOrder[] = [items, newestFirst('Board.items')];

  async function prismaPage(order: ConnectionOrder, args: ConnectionArgs, boardId: string, status: string | null) {
    return database.prisma.item.findMany(pageQuery(order, args, { boardId, ...(status != null && { status }) }));
  }

  async function cursorOf(order: ConnectionOrder, index: number) {
    const all = await database.prisma.item.findMany({ where: { boardId: boardIds[0] }, orderBy: [{ createdAt: order.direction }, { id: order.direction }] });
    return encodeCursor(order, all[index]);
  }

  test.each(orders.flatMap((order) => [null, 'todo'].map((status) => [order.direction, status] as const)))('order %s, status %s', async (direction, status) => {
    const order = orders.find((o) => o.direction === direction)!;
    const variants: ConnectionArgs[] = [
      { first: 5 },
      { first: 100 },
      { last: 4 },
      { first: 6, after: await cursorOf(order, 9) },
      { last: 3, before: await cursorOf(order, 20) },
      { first: 50, after: await cursorOf(order, 2), before: await cursorOf(order, 17) },
      { first: 10, after: await cursorOf(order, 29) },
    ];
    for (const args of variants) {
      const { keyBounds, direction: readDirection, size } = planPage(order, args);
      const pages = await readItemPages(database, boardIds, { status, bounds: keyBounds, direction: readDirection, take: size + 1 });
      expect([...pages.keys()]).toEqual(boardIds);
      for (const boardId of boardIds) {
        const expected = await prismaPage(order, args, boardId, status);
        expect(pages.get(boardId)).toEqual(expected);
        // One board alone is read by a statement of its own.
        expect((await readItemPages(database, [boardId], { status, bounds: keyBounds, direction: readDirection, take: size + 1 })).get(boardId)).toEqual(expected);
      }
    }
    // The pages were not all empty: the comparison compared something.
    const { keyBounds, direction: readDirection, size } = planPage(order, { first: 5 });
    expect((await readItemPages(database, boardIds, { status, bounds: keyBounds, direction: readDirection, take: size + 1 })).get(boardIds[0])).toHaveLength(6);
  });
});
