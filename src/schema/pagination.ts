// Keyset pagination for every connection of the API.
//
// Every list is ordered by (createdAt, id), oldest or newest first. A cursor carries the sort key
// of its row, so the next page is "the rows after (createdAt, id)" (a WHERE on the key: an index
// range scan on the existing [parent, createdAt] indexes, rows of equal createdAt sorted by id),
// not "the rows after this row" (Prisma's `cursor`, which needs the row): a walk goes on when the
// cursor's own row has been deleted meanwhile, and a deep page costs what the first one does.
//
// A cursor is base64url of the JSON array [version, connection, createdAt, id], e.g.
// [1,"Board.items","2026-01-31T12:00:00.000Z","cmb…"]. It is opaque to clients but not secret, and
// not signed: it is parsed strictly (exact shape, version, connection, a canonical ISO date, an id
// of our charset and length), and what it holds only ever becomes two typed query parameters that
// position the page inside a list the caller may read anyway. A forged cursor can therefore
// do no more than choose where a page starts, which `after`/`before` allow by design. Anything
// else is BAD_USER_INPUT with INVALID_CURSOR, logged as bad input, never as an internal error.
import { badInput } from '../errors';

/** When neither first nor last is given. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export const INVALID_CURSOR = "Invalid cursor: use a cursor from this connection's pageInfo or edges.";

const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 400;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ROW_ID = /^[A-Za-z0-9_-]{1,200}$/;

/** A connection's order: by createdAt, then id, in one direction. `name` tags its cursors. */
export interface ConnectionOrder {
  name: string;
  direction: 'asc' | 'desc';
}

export const oldestFirst = (name: string): ConnectionOrder => ({ name, direction: 'asc' });
export const newestFirst = (name: string): ConnectionOrder => ({ name, direction: 'desc' });

export interface ConnectionArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

/** A row's position in its list. */
export interface SortKey {
  createdAt: Date;
  id: string;
}

export function encodeCursor(order: ConnectionOrder, row: SortKey): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, order.name, row.createdAt.toISOString(), row.id])).toString('base64url');
}

// Cursors decoded lately (a page's query and its resolver both read the cursor, and clients walk
// the same pages again): decoding is checks and a Date, worth a few microseconds per read.
const decodedCursors = new Map<string, SortKey>();
const DECODED_CURSORS = 1_000;

/** The sort key in a cursor this connection issued; BAD_USER_INPUT for anything else. */
export function decodeCursor(order: ConnectionOrder, cursor: string): SortKey {
  const key = `${order.name} ${cursor}`;
  const known = decodedCursors.get(key);
  if (known) return known;
  const decoded = decodeCursorAnew(order, cursor);
  if (decodedCursors.size >= DECODED_CURSORS) decodedCursors.clear();
  decodedCursors.set(key, decoded);
  return decoded;
}

function decodeCursorAnew(order: ConnectionOrder, cursor: string): SortKey {
  if (cursor.length > MAX_CURSOR_LENGTH || !BASE64URL.test(cursor)) throw badInput(INVALID_CURSOR);
  const bytes = Buffer.from(cursor, 'base64url');
  // Only the canonical encoding: no padding tricks, no trailing bits.
  if (bytes.toString('base64url') !== cursor) throw badInput(INVALID_CURSOR);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw badInput(INVALID_CURSOR);
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw badInput(INVALID_CURSOR);
  const [version, name, createdAt, id] = parsed as unknown[];
  if (version !== CURSOR_VERSION || name !== order.name) throw badInput(INVALID_CURSOR);
  if (typeof createdAt !== 'string' || !ISO_DATE.test(createdAt)) throw badInput(INVALID_CURSOR);
  const date = new Date(createdAt);
  // Rejects impossible dates (2026-02-31) that Date would roll over.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== createdAt) throw badInput(INVALID_CURSOR);
  if (typeof id !== 'string' || !ROW_ID.test(id)) throw badInput(INVALID_CURSOR);
  return { createdAt: date, id };
}

/** What one page asks of the database: spread into findMany (or a relation's selection). */
export interface PageQuery {
  where: object;
  orderBy: { createdAt?: 'asc' | 'desc'; id?: 'asc' | 'desc' }[];
  /** One row more than the page, to tell whether there is a next (or previous) page. */
  take: number;
}

/** Rows strictly after (`gt`) or before (`lt`) a sort key, in (createdAt, id) order. */
export interface PageBound {
  key: SortKey;
  comparison: 'gt' | 'lt';
}

export interface PagePlan {
  query: PageQuery;
  /** The cursors' conditions, for a query that adds its own filters (pageQuery, relationPageQuery). */
  bounds: object[];
  /** The same conditions as sort keys, for a page read in SQL (src/db/hotReads.ts). */
  keyBounds: PageBound[];
  /** The order rows are read in: the list's own, or its reverse for `last`. */
  direction: 'asc' | 'desc';
  size: number;
  /** `last`: the page is read from the end of the range, then put back in list order. */
  backward: boolean;
}

function beyond({ key, comparison }: PageBound) {
  const orEqual = comparison === 'gt' ? 'gte' : 'lte';
  // `createdAt >= d AND (createdAt > d OR id > i)` is `(createdAt, id) > (d, i)` in a form
  // Prisma can write, and its first half bounds the index range scan.
  return [{ createdAt: { [orEqual]: key.createdAt } }, { OR: [{ createdAt: { [comparison]: key.createdAt } }, { id: { [comparison]: key.id } }] }];
}

/** One flat AND of `where` and the cursor bounds (no empty or nested ANDs: Prisma reads less). */
function allOf(where: object, bounds: object[]): object {
  const conditions = Object.keys(where).length ? [where, ...bounds] : bounds;
  return conditions.length === 0 ? {} : conditions.length === 1 ? conditions[0] : { AND: conditions };
}

function pageSize(args: ConnectionArgs): number {
  if (args.first != null && args.last != null) throw badInput('Give first or last, not both.');
  const size = args.first ?? args.last ?? DEFAULT_PAGE_SIZE;
  const which = args.last != null ? 'last' : 'first';
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) throw badInput(`${which} must be between 1 and ${MAX_PAGE_SIZE}`);
  return size;
}

/** The page `args` ask for, in `order` (BAD_USER_INPUT for bad sizes and cursors). */
export function planPage(order: ConnectionOrder, args: ConnectionArgs): PagePlan {
  const size = pageSize(args);
  const backward = args.last != null;
  // In list order, `after` is the lower bound for oldest-first lists, the upper for newest-first.
  const later = order.direction === 'asc' ? 'gt' : 'lt';
  const earlier = later === 'gt' ? 'lt' : 'gt';
  const keyBounds: PageBound[] = [];
  if (args.after != null) keyBounds.push({ key: decodeCursor(order, args.after), comparison: later });
  if (args.before != null) keyBounds.push({ key: decodeCursor(order, args.before), comparison: earlier });
  const bounds = keyBounds.flatMap(beyond);
  const direction = backward ? (order.direction === 'asc' ? 'desc' : 'asc') : order.direction;
  return {
    query: { where: allOf({}, bounds), orderBy: [{ createdAt: direction }, { id: direction }], take: size + 1 },
    bounds,
    keyBounds,
    direction,
    size,
    backward,
  };
}

/**
 * The query for a connection loaded with its parent (a relation's selection). It must not throw
 * there (the parent would fail with it): bad arguments select nothing, and the field's resolver
 * (connectionOf) reports them.
 */
export function relationPageQuery(order: ConnectionOrder, args: ConnectionArgs, where: object = {}): PageQuery {
  try {
    const { query, bounds } = planPage(order, args);
    return { ...query, where: allOf(where, bounds) };
  } catch {
    return { where: { id: { in: [] } }, orderBy: [], take: 0 };
  }
}

/**
 * A selection of a connection's nodes (Pothos' nestedSelection or queryFromInfo) with the sort
 * key added: the cursors need it, also when the client selects no field of the nodes (Prisma
 * refuses an empty `select`). An `include` selection loads every column anyway.
 */
export function withSortKey<Selection extends object>(selection: Selection): Selection {
  const select = (selection as { select?: object }).select;
  return select ? { ...selection, select: { ...select, createdAt: true, id: true } } : selection;
}

/** The query for a connection loaded on its own, `where` being its filters. */
export function pageQuery(order: ConnectionOrder, args: ConnectionArgs, where: object = {}): PageQuery {
  const { query, bounds } = planPage(order, args);
  return { ...query, where: allOf(where, bounds) };
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/**
 * The connection for the rows a page query returned (up to one more than the page). `Node` is
 * the node type's shape: the rows hold what Pothos' selection loaded for it (its type-level
 * includes too), which the relation's static row type does not show.
 */
export function connectionOf<Node extends SortKey>(order: ConnectionOrder, args: ConnectionArgs, rows: readonly SortKey[]): Connection<Node> {
  const { size, backward } = planPage(order, args);
  const more = rows.length > size;
  const nodes = rows.slice(0, size);
  if (backward) nodes.reverse();
  // Cursors are encoded only when a client asks for them (most pages are read without).
  const edges = nodes.map((node) => ({
    get cursor() {
      return encodeCursor(order, node);
    },
    node: node as Node,
  }));
  return {
    edges,
    pageInfo: {
      hasNextPage: backward ? args.before != null : more,
      hasPreviousPage: backward ? more : args.after != null,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges[edges.length - 1]?.cursor ?? null;
      },
    },
  };
}
