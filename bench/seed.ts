// The benchmark's dataset, written with bulk SQL (INSERT … SELECT FROM generate_series) through
// the app's own Prisma client, on a database migrated by the app's own migrations.
//
// One organization with its owner and a few dozen members, a few spaces, thousands of boards,
// about a hundred items per board with 0-3 updates each, one big board (10,000 items), and API
// tokens: one real token the benchmark authenticates with, plus filler tokens (never used, so
// they share one argon2 hash; unique random-looking public ids) up to the wanted count.
import { randomBytes } from 'node:crypto';
import type { PrismaClient } from '../src/generated/prisma/client';
import { hashSecret } from '../src/auth/password';
import { issueToken } from '../src/auth/issueToken';
import { API_TOKEN_PREFIX } from '../src/auth/tokenFormat';

export interface DatasetOptions {
  spaces: number;
  boards: number;
  itemsPerBoard: number;
  members: number;
  /** Items of the one big board (issue 10, target 4: a board of 10,000 items against one of 100); 0 for none. */
  bigBoardItems: number;
  /** The benchmark's token: the owner's PERSONAL token or a SERVICE token, EDITOR over the organization either way. */
  tokenKind: 'PERSONAL' | 'SERVICE';
}

export interface Dataset {
  organizationId: string;
  ownerUserId: string;
  spaceIds: string[];
  /** Every board id but the big board's, in a stable order. */
  boardIds: string[];
  /** The board with `bigBoardItems` items (in the first space, as boardIds[0]), if any. */
  bigBoardId?: string;
  /** The real API token the authenticated runs send (EDITOR over the organization). */
  token: string;
  tokenId: string;
  counts: Record<string, number>;
}

/** Rows per INSERT statement. */
const SLICE = 20_000;

/**
 * A cuid-looking id (25 characters starting with c), deterministic per (kind, n) and increasing
 * with n, as cuids increase with time (so indexes grow at their end, as they do in production).
 */
const sqlId = (kind: string, n: string) => `'c' || rpad('${kind}', 8, 'x') || lpad((${n})::text, 16, '0')`;

export async function seedDataset(prisma: PrismaClient, options: DatasetOptions): Promise<Dataset> {
  const { spaces, boards, itemsPerBoard, members, bigBoardItems, tokenKind } = options;
  const items = boards * itemsPerBoard;
  const passwordHash = await hashSecret(randomBytes(16).toString('base64url'));

  const organizationId = 'cbenchorganization0000001';
  const ownerUserId = 'cbenchowner00000000000001';
  await prisma.organization.create({ data: { id: organizationId, name: 'Bench Organization' } });
  await prisma.user.create({
    data: { id: ownerUserId, email: 'owner@bench.portcullis.local', emailKey: 'owner@bench.portcullis.local', name: 'Bench Owner', passwordHash },
  });
  await prisma.membership.create({
    data: { userId: ownerUserId, organizationId, levelId: organizationId, role: 'OWNER', acceptedAt: new Date() },
  });

  // Spaces, boards (spread round-robin over the spaces), items, updates.
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Space" ("id", "organizationId", "name", "createdAt")
     SELECT ${sqlId('space', 'n')}, $1, 'Space ' || n, now() - (n || ' hours')::interval
     FROM generate_series(1, ${spaces}) AS n`,
    organizationId,
  );
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Board" ("id", "spaceId", "organizationId", "name", "createdAt")
     SELECT ${sqlId('board', 'n')}, ${sqlId('space', `((n - 1) % ${spaces} + 1)`)}, $1, 'Board ' || n,
            now() - (n || ' minutes')::interval
     FROM generate_series(1, ${boards}) AS n`,
    organizationId,
  );
  // In slices: the app's PostgreSQL pool gives up on any statement after 10 s (QUERY_TIMEOUT_MS).
  for (let from = 1; from <= items; from += SLICE) {
    const to = Math.min(items, from + SLICE - 1);
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Item" ("id", "boardId", "spaceId", "organizationId", "name", "status", "createdAt", "updatedAt")
       SELECT ${sqlId('item', 'n')}, ${sqlId('board', `((n - 1) / ${itemsPerBoard} + 1)`)},
              ${sqlId('space', `(((n - 1) / ${itemsPerBoard}) % ${spaces} + 1)`)}, $1,
              'Item ' || n || ' of board ' || ((n - 1) / ${itemsPerBoard} + 1),
              (ARRAY['todo', 'in progress', 'done', NULL])[n % 4 + 1],
              now() - ((${items} - n) || ' seconds')::interval,
              now() - ((${items} - n) || ' seconds')::interval + interval '1 hour'
       FROM generate_series(${from}, ${to}) AS n`,
      organizationId,
    );
    // Item n gets n % 4 updates (0 to 3, 1.5 on average).
    await prisma.$executeRawUnsafe(
      `INSERT INTO "ItemUpdate" ("id", "itemId", "body", "authorName", "createdAt")
       SELECT ${sqlId('update', 'n * 3 + k')}, ${sqlId('item', 'n')},
              'Update ' || k || ' of item ' || n || ': build #' || (n * 3 + k) || ' passed, ' || (n % 97) || ' tests, deployed to staging.',
              'Bench Owner', now() - ((${items} - n) || ' seconds')::interval + (k || ' minutes')::interval
       FROM generate_series(${from}, ${to}) AS n, generate_series(1, 3) AS k
       WHERE k <= n % 4`,
    );
  }

  // The big board: in the first space, its items oldest first by n, 0-3 updates each like the others.
  const bigBoardId = 'cbigboard0000000000000001';
  if (bigBoardItems > 0) {
    await prisma.$executeRawUnsafe(
      `INSERT INTO "Board" ("id", "spaceId", "organizationId", "name", "createdAt")
       VALUES ('${bigBoardId}', ${sqlId('space', '1')}, $1, 'Big board', now() - interval '1 hour')`,
      organizationId,
    );
    for (let from = 1; from <= bigBoardItems; from += SLICE) {
      const to = Math.min(bigBoardItems, from + SLICE - 1);
      await prisma.$executeRawUnsafe(
        `INSERT INTO "Item" ("id", "boardId", "spaceId", "organizationId", "name", "status", "createdAt", "updatedAt")
         SELECT ${sqlId('bigitem', 'n')}, '${bigBoardId}', ${sqlId('space', '1')}, $1, 'Item ' || n || ' of the big board',
                (ARRAY['todo', 'in progress', 'done', NULL])[n % 4 + 1],
                now() - ((${bigBoardItems} - n) || ' seconds')::interval,
                now() - ((${bigBoardItems} - n) || ' seconds')::interval + interval '1 hour'
         FROM generate_series(${from}, ${to}) AS n`,
        organizationId,
      );
      await prisma.$executeRawUnsafe(
        `INSERT INTO "ItemUpdate" ("id", "itemId", "body", "authorName", "createdAt")
         SELECT ${sqlId('bigupdat', 'n * 3 + k')}, ${sqlId('bigitem', 'n')}, 'Update ' || k || ' of big item ' || n || '.',
                'Bench Owner', now() - ((${bigBoardItems} - n) || ' seconds')::interval + (k || ' minutes')::interval
         FROM generate_series(${from}, ${to}) AS n, generate_series(1, 3) AS k
         WHERE k <= n % 4`,
      );
    }
  }

  // Other people: organization-wide VIEWERs and space EDITORs.
  await prisma.$executeRawUnsafe(
    `INSERT INTO "User" ("id", "email", "emailKey", "name", "passwordHash")
     SELECT ${sqlId('user', 'n')}, 'member' || n || '@bench.portcullis.local', 'member' || n || '@bench.portcullis.local', 'Member ' || n, $1
     FROM generate_series(1, ${members}) AS n`,
    passwordHash,
  );
  await prisma.$executeRawUnsafe(
    `INSERT INTO "Membership" ("id", "userId", "organizationId", "spaceId", "role", "levelId", "acceptedAt")
     SELECT ${sqlId('membership', 'n')}, ${sqlId('user', 'n')}, $1,
            CASE WHEN n % 2 = 0 THEN ${sqlId('space', `(n % ${spaces} + 1)`)} END,
            (CASE WHEN n % 2 = 0 THEN 'EDITOR' ELSE 'VIEWER' END)::"Role",
            CASE WHEN n % 2 = 0 THEN ${sqlId('space', `(n % ${spaces} + 1)`)} ELSE $1 END,
            now()
     FROM generate_series(1, ${members}) AS n`,
    organizationId,
  );

  // The real token: the owner's PERSONAL token capped at EDITOR (acts as the owner: its user and
  // memberships are loaded on every request), or a SERVICE token with role EDITOR; either way
  // scoped to the organization.
  const issued = await issueToken(API_TOKEN_PREFIX);
  const token = await prisma.apiToken.create({
    data: {
      publicId: issued.publicId,
      secretHash: issued.secretHash,
      name: 'bench editor token',
      kind: tokenKind,
      role: 'EDITOR',
      scopeType: 'ORGANIZATION',
      organizationId,
      userId: tokenKind === 'PERSONAL' ? ownerUserId : null,
      createdByUserId: ownerUserId,
    },
  });

  const spaceRows = await prisma.space.findMany({ where: { organizationId }, orderBy: { id: 'asc' }, select: { id: true } });
  const boardRows = await prisma.board.findMany({ where: { organizationId, id: { not: bigBoardId } }, orderBy: { id: 'asc' }, select: { id: true } });
  return {
    organizationId,
    ownerUserId,
    spaceIds: spaceRows.map((r) => r.id),
    boardIds: boardRows.map((r) => r.id),
    ...(bigBoardItems > 0 && { bigBoardId }),
    token: issued.token,
    tokenId: token.id,
    counts: await countRows(prisma),
  };
}

/**
 * Adds filler tokens until the organization holds `total` API tokens. They are never used, so
 * they share one argon2 hash; public ids are unique and look random. A mix of kinds, scopes,
 * expired and revoked ones, created by the owner or by members.
 */
export async function growTokens(prisma: PrismaClient, dataset: Dataset, total: number, spaces: number, members: number): Promise<number> {
  const existing = await prisma.apiToken.count();
  if (existing >= total) return existing;
  const fillerHash = await hashSecret(randomBytes(32).toString('base64url'));
  for (let from = existing + 1; from <= total; from += SLICE) {
    const to = Math.min(total, from + SLICE - 1);
    await prisma.$executeRawUnsafe(
      `INSERT INTO "ApiToken" ("id", "publicId", "secretHash", "name", "kind", "role", "scopeType", "organizationId", "spaceId",
                               "userId", "createdByUserId", "createdAt", "updatedAt", "expiresAt", "lastUsedAt", "revokedAt")
       SELECT ${sqlId('token', 'n')},
              substr(md5('public:' || n), 1, 8) || substr(md5('id:' || n), 1, 8),
              $1, 'filler token ' || n,
              (CASE WHEN n % 3 = 0 THEN 'SERVICE' ELSE 'PERSONAL' END)::"TokenKind",
              (ARRAY['VIEWER', 'AGENT', 'EDITOR', 'OWNER'])[n % 4 + 1]::"Role",
              (CASE WHEN n % 2 = 0 THEN 'SPACE' ELSE 'ORGANIZATION' END)::"ScopeType",
              $2,
              CASE WHEN n % 2 = 0 THEN ${sqlId('space', `(n % ${spaces} + 1)`)} END,
              CASE WHEN n % 3 = 0 THEN NULL WHEN n % 5 = 0 THEN $3 ELSE ${sqlId('user', `(n % ${members} + 1)`)} END,
              CASE WHEN n % 5 = 0 THEN $3 ELSE ${sqlId('user', `(n % ${members} + 1)`)} END,
              now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
              CASE WHEN n % 7 = 0 THEN now() - interval '1 day' WHEN n % 7 = 1 THEN now() + interval '30 days' END,
              CASE WHEN n % 4 = 0 THEN now() - (n || ' seconds')::interval END,
              CASE WHEN n % 11 = 0 THEN now() - interval '2 days' END
       FROM generate_series(${from}, ${to}) AS n`,
      fillerHash,
      dataset.organizationId,
      dataset.ownerUserId,
    );
  }
  return prisma.apiToken.count();
}

/**
 * After bulk inserts: fresh planner statistics and visibility maps, and the WAL checkpointed,
 * so that neither autovacuum nor a checkpoint competes with the gateway while it is measured
 * (as they would on PostgreSQL right after hundreds of thousands of inserted rows).
 */
export async function settle(prisma: PrismaClient): Promise<void> {
  await prisma.$executeRawUnsafe('VACUUM ANALYZE');
  // Needs superuser (or pg_checkpoint) on PostgreSQL: skipped without it.
  await prisma.$executeRawUnsafe('CHECKPOINT').catch(() => undefined);
}

export async function countRows(prisma: PrismaClient): Promise<Record<string, number>> {
  const [boards, items, updates, tokens, users] = await Promise.all([
    prisma.board.count(),
    prisma.item.count(),
    prisma.itemUpdate.count(),
    prisma.apiToken.count(),
    prisma.user.count(),
  ]);
  return { boards, items, itemUpdates: updates, apiTokens: tokens, users };
}
