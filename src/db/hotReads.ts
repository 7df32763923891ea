// The reads nearly every request makes — a board by id, pages of boards' items — written in SQL
// and sent straight through the driver (Database.read), not through Prisma's client.
//
// Why (issue 10): for `board(id) { items(first: 20) … }` Prisma's client runtime cost about
// 290 µs of CPU per request against 82 µs for the same two statements prepared with `pg`, more
// than everything else the gateway does for a request. Prisma stays the data layer for all
// else (writes, transactions, every other read, the schema and its migrations); these few
// statements are fixed text (never built from input: values are parameters), prepared once per
// connection on PostgreSQL, and return rows of Prisma's own types.
//
// Timestamps are `timestamp(3)` columns holding UTC (as Prisma writes them). They are read as
// epoch milliseconds (a float8: exact for milliseconds, and a number to the driver, where a
// timestamptz would be a string to parse; parsing them was 3-4% of a request's CPU) and become
// Dates here. Cursors' sort keys go in as ISO strings (`$n::timestamptz AT TIME ZONE 'UTC'`):
// neither way depends on the session's or the process's time zone.
import type { Board, Item } from '../generated/prisma/client';
import type { Database, Statement } from './database';
import type { PageBound } from '../schema/pagination';

const epochMs = (column: string, table = '') => `(extract(epoch from ${table}"${column}") * 1000)::float8 AS "${column}"`;

type Stored<Row, DateColumn extends keyof Row> = Omit<Row, DateColumn> & Record<DateColumn, number>;

const READ_BOARD: Statement = {
  name: 'portcullis_board_by_id',
  text: `SELECT "id", "spaceId", "organizationId", "name", ${epochMs('createdAt')} FROM "public"."Board" WHERE "id" = $1`,
};

/** The board with this id, or null. */
export async function readBoard(database: Database, id: string): Promise<Board | null> {
  const [board] = await database.read<Stored<Board, 'createdAt'>>(READ_BOARD, [id]);
  return board ? { ...board, createdAt: new Date(board.createdAt) } : null;
}

/** The shape of a page, the same for every board it is read for. */
export interface ItemPageShape {
  /** Only items with exactly this status (null: any). */
  status: string | null;
  /** The cursors' conditions: rows beyond these sort keys. */
  bounds: readonly PageBound[];
  /** The order rows are read in (the list's own, or its reverse for `last`). */
  direction: 'asc' | 'desc';
  /** Rows per board (the page and one more). */
  take: number;
}

// One statement per shape of page (filter, bounds, direction, one board or several): 32 fixed
// texts at most.
const itemPageStatements = new Map<string, Statement>();

function itemPageStatement(shape: ItemPageShape, boards: 'one' | 'many'): Statement {
  const name = `portcullis_item_page_${boards}_${shape.direction}_${shape.status == null ? 'all' : 'status'}_${shape.bounds.map((bound) => bound.comparison).join('_') || 'whole'}`;
  let statement = itemPageStatements.get(name);
  if (statement) return statement;
  // $1 the board's id (or the boards' ids), $2 rows per board, then the status, then each
  // bound's createdAt and id.
  const conditions = [boards === 'one' ? 'i."boardId" = $1' : 'i."boardId" = board.id'];
  let next = 3;
  if (shape.status != null) conditions.push(`i."status" = $${next++}`);
  for (const { comparison } of shape.bounds) {
    // A row comparison: with the [boardId, createdAt, id] index, the page starts exactly at the
    // cursor and the scan stops after `take` rows, whatever the plan's parameters.
    conditions.push(`(i."createdAt", i."id") ${comparison === 'gt' ? '>' : '<'} ($${next++}::timestamptz AT TIME ZONE 'UTC', $${next++})`);
  }
  const order = shape.direction === 'asc' ? 'ASC' : 'DESC';
  const page =
    `SELECT i."id", i."boardId", i."spaceId", i."organizationId", i."name", i."status", ${epochMs('createdAt', 'i.')}, ${epochMs('updatedAt', 'i.')} ` +
    `FROM "public"."Item" i WHERE ${conditions.join(' AND ')} ORDER BY i."createdAt" ${order}, i."id" ${order} LIMIT $2`;
  // Several boards (a list of boards with their items): a lateral page per board, all in one statement.
  const text =
    boards === 'one'
      ? page
      : `SELECT page.* FROM unnest($1::text[]) WITH ORDINALITY AS board(id, n) CROSS JOIN LATERAL (${page}) page ` +
        `ORDER BY board.n, page."createdAt" ${order}, page."id" ${order}`;
  statement = { name, text };
  itemPageStatements.set(name, statement);
  return statement;
}

/** Up to `shape.take` items of each board, in `shape.direction` order, grouped by board. */
export async function readItemPages(database: Database, boardIds: readonly string[], shape: ItemPageShape): Promise<Map<string, Item[]>> {
  const one = boardIds.length === 1;
  const values: unknown[] = [one ? boardIds[0] : boardIds, shape.take];
  if (shape.status != null) values.push(shape.status);
  for (const { key } of shape.bounds) values.push(key.createdAt.toISOString(), key.id);
  const rows = await database.read<Stored<Item, 'createdAt' | 'updatedAt'>>(itemPageStatement(shape, one ? 'one' : 'many'), values);
  const pages = new Map<string, Item[]>(boardIds.map((id) => [id, []]));
  for (const row of rows) pages.get(row.boardId)!.push({ ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) });
  return pages;
}
