// Per-request lookups of the things a check is about, each fetched at most once per request
// (a field's authScopes and its resolver ask for the same row).
import DataLoader from 'dataloader';
import type { Item } from './generated/prisma/client';
import type { Database } from './db/database';
import { readBoard, readItemPages, type ItemPageShape } from './db/hotReads';
import type { Place } from './auth/reach';

function memoize<T>(load: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (id) => {
    let found = cache.get(id);
    if (!found) cache.set(id, (found = load(id)));
    return found;
  };
}

/** A page of one board's items (see itemPages below). */
export interface ItemPageKey {
  boardId: string;
  shape: ItemPageShape;
}

const shapeKey = ({ status, bounds, direction, take }: ItemPageShape) =>
  JSON.stringify([status, direction, take, bounds.map(({ key, comparison }) => [comparison, key.createdAt.getTime(), key.id])]);

/**
 * The item pages a response asks for, batched: the pages of every board resolved in the same
 * tick (a list of boards with their items) are read in one statement per page shape.
 */
function itemPages(database: Database) {
  return new DataLoader<ItemPageKey, Item[], string>(
    async (keys) => {
      const shapeKeys = keys.map(({ shape }) => shapeKey(shape));
      const byShape = new Map<string, { shape: ItemPageShape; boardIds: string[] }>();
      keys.forEach(({ boardId, shape }, i) => {
        const group = byShape.get(shapeKeys[i]) ?? byShape.set(shapeKeys[i], { shape, boardIds: [] }).get(shapeKeys[i])!;
        if (!group.boardIds.includes(boardId)) group.boardIds.push(boardId);
      });
      const pages = new Map<string, Map<string, Item[]>>();
      await Promise.all(
        [...byShape].map(async ([key, { shape, boardIds }]) => pages.set(key, await readItemPages(database, boardIds, shape))),
      );
      return keys.map(({ boardId }, i) => pages.get(shapeKeys[i])!.get(boardId)!);
    },
    { cacheKeyFn: ({ boardId, shape }) => `${boardId} ${shapeKey(shape)}` },
  );
}

export function createLoaders(database: Database) {
  const { prisma } = database;
  return {
    organization: memoize((id) => prisma.organization.findUnique({ where: { id } })),
    space: memoize((id) => prisma.space.findUnique({ where: { id } })),
    board: memoize((id) => readBoard(database, id)),
    item: memoize((id) => prisma.item.findUnique({ where: { id } })),
    apiToken: memoize((id) => prisma.apiToken.findUnique({ where: { id }, include: { boards: { select: { boardId: true } } } })),
    itemPages: itemPages(database),
  };
}
export type Loaders = ReturnType<typeof createLoaders>;

export const placeOfSpace = (space: { id: string; organizationId: string }): Place => ({
  organizationId: space.organizationId,
  spaceId: space.id,
});

export const placeOfBoard = (board: { id: string; spaceId: string; organizationId: string }): Place => ({
  organizationId: board.organizationId,
  spaceId: board.spaceId,
  boardId: board.id,
});

export const placeOfItem = (item: { boardId: string; spaceId: string; organizationId: string }): Place => ({
  organizationId: item.organizationId,
  spaceId: item.spaceId,
  boardId: item.boardId,
});
