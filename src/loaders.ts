// Per-request lookups of the things a check is about, each fetched at most once per request
// (a field's authScopes and its resolver ask for the same row).
import type { PrismaClient } from './generated/prisma/client';
import type { Place } from './auth/reach';

function memoize<T>(load: (id: string) => Promise<T>): (id: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (id) => {
    let found = cache.get(id);
    if (!found) cache.set(id, (found = load(id)));
    return found;
  };
}

export function createLoaders(prisma: PrismaClient) {
  return {
    organization: memoize((id) => prisma.organization.findUnique({ where: { id } })),
    space: memoize((id) => prisma.space.findUnique({ where: { id } })),
    board: memoize((id) => prisma.board.findUnique({ where: { id } })),
    item: memoize((id) => prisma.item.findUnique({ where: { id } })),
    apiToken: memoize((id) => prisma.apiToken.findUnique({ where: { id }, include: { boards: { select: { boardId: true } } } })),
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
