// Field-level authorization for operations on one target: the target is looked up (once per
// request, through the loaders); out of reach it does not exist (NOT_FOUND); in reach, the
// operation's role from the roles table is required there (scope-auth answers FORBIDDEN).
import type { Context } from '../context';
import type { Place } from '../auth/reach';
import { OPERATIONS, type Operation, requiredRole } from '../auth/roles';
import { notFound } from '../errors';
import { blockedByPolicy } from '../auth/tokenPolicy';
import { placeOfBoard, placeOfItem, placeOfSpace } from '../loaders';
import { noRow } from './noRow';
import { isWellFormedId } from './validation';

type Locate<Args> = (args: Args, ctx: Context) => Promise<Place | null>;

export function requireRoleOn<Args>(operation: Operation, what: string, locate: Locate<Args>) {
  return async (_parent: unknown, args: Args, ctx: Context) => {
    const place = await locate(args, ctx);
    if (place) assertNotBlocked(ctx, place);
    if (!place || !ctx.reach.canSee(place)) throw notFound(what);
    const where = OPERATIONS[operation].level === 'organization' ? { organizationId: place.organizationId } : place;
    return { role: { place: where, role: requiredRole(operation) } };
  };
}

/** Where things are, by id (null when unknown). */
export const locate = {
  organization: async (ctx: Context, id: string): Promise<Place | null> =>
    (await ctx.loaders.organization(id)) ? { organizationId: id } : null,
  space: async (ctx: Context, id: string) => {
    const space = await ctx.loaders.space(id);
    return space ? placeOfSpace(space) : null;
  },
  board: async (ctx: Context, id: string) => {
    const board = await ctx.loaders.board(id);
    return board ? placeOfBoard(board) : null;
  },
  item: async (ctx: Context, id: string) => {
    const item = await ctx.loaders.item(id);
    return item ? placeOfItem(item) : null;
  },
};

/**
 * A top-level read by id: the row when it exists and the caller can see it, else null (a
 * malformed, unknown or out-of-reach id reads alike).
 */
export async function findVisible<T>(
  ctx: Context,
  id: string | number,
  find: (id: string) => Promise<T | null>,
  place: (row: T) => Place,
  /** Pothos' query, for a prismaField (see noRow). */
  query: object = {},
): Promise<T | null> {
  if (!isWellFormedId(String(id))) return noRow(query); // never a database error
  const row = await find(String(id));
  if (row) assertNotBlocked(ctx, place(row));
  return row && ctx.reach.canSee(place(row)) ? row : null;
}

/**
 * Inside an organization whose token policy the caller's token breaks: HTTP 403 naming the rule
 * (auth/tokenPolicy.ts), rather than reading as if the organization did not exist.
 */
export function assertNotBlocked(ctx: Context, place: Place): void {
  const blocked = ctx.reach.blockedIn(place.organizationId);
  if (blocked) throw blockedByPolicy(blocked);
}
