// What authenticating one request reads, in one SQL statement: the credential's row (API
// token or session), and with it the token's boards, its user and the user's current
// memberships. One statement rather than four because each costs a round trip and the ORM's
// per-query work on every request (see bench/), and because an unknown id and a known id
// must cost the same before the argon2id verification (test/timing.test.ts): either way this
// is the only statement sent.
import type { ApiToken, PrismaClient, Role, Session, User } from '../generated/prisma/client';
import type { MembershipGrantSource } from './reach';

/** A token up the chain of tokens that minted this one, with its own budget (null: the default). */
export interface Minter {
  id: string;
  complexityBudget: number | null;
}

export interface ApiTokenRecord {
  token: ApiToken & { boards: { boardId: string }[] };
  /** The token that minted this one, the token that minted that one, and so on (nearest first). */
  minters: Minter[];
  /** The PERSONAL token's user (null for SERVICE tokens). */
  user: User | null;
  /** That user's memberships, as they are now. */
  memberships: MembershipGrantSource[];
}

export interface SessionRecord {
  session: Session;
  user: User;
  memberships: MembershipGrantSource[];
}

/** How far up a minting chain budgets are charged (a chain deeper than this is not expected). */
export const MAX_MINTING_DEPTH = 16;

type UserJson = Omit<User, 'createdAt'> & { createdAt: string };
type MembershipJson = { organizationId: string; spaceId: string | null; role: Role };

const user = (json: UserJson | null): User | null => (json ? { ...json, createdAt: new Date(json.createdAt) } : null);

// The user as JSON (to_jsonb keeps column names), and the accepted memberships as a JSON array
// (a pending one, an invitation, grants nothing).
const USER_AND_MEMBERSHIPS = `
  to_jsonb(u) AS "userJson",
  COALESCE((SELECT json_agg(json_build_object('organizationId', m."organizationId", 'spaceId', m."spaceId", 'role', m."role"))
            FROM "Membership" m WHERE m."userId" = u."id" AND m."acceptedAt" IS NOT NULL), '[]'::json) AS "membershipsJson"`;

// Budgets cannot be multiplied by minting: a token's requests count against every token up its
// minting chain (src/limits). The chain is followed to a bounded depth.
const MINTERS = `
  (WITH RECURSIVE chain("id", "complexityBudget", "parentId", "depth") AS (
     SELECT p."id", p."complexityBudget", p."createdByTokenId", 1 FROM "ApiToken" p WHERE p."id" = t."createdByTokenId"
     UNION ALL
     SELECT p."id", p."complexityBudget", p."createdByTokenId", c."depth" + 1
     FROM "ApiToken" p JOIN chain c ON p."id" = c."parentId" WHERE c."depth" < ${MAX_MINTING_DEPTH}
   ) SELECT json_agg(json_build_object('id', chain."id", 'complexityBudget', chain."complexityBudget") ORDER BY chain."depth") FROM chain) AS "mintersJson"`;

export async function findApiToken(prisma: PrismaClient, publicId: string): Promise<ApiTokenRecord | null> {
  const rows = await prisma.$queryRawUnsafe<
    (ApiToken & { boardIds: string[] | null; mintersJson: Minter[] | null; userJson: UserJson | null; membershipsJson: MembershipJson[] })[]
  >(
    `SELECT t.*,
       (SELECT array_agg(b."boardId" ORDER BY b."boardId") FROM "ApiTokenBoard" b WHERE b."tokenId" = t."id") AS "boardIds",
       ${MINTERS},
       ${USER_AND_MEMBERSHIPS}
     FROM "ApiToken" t LEFT JOIN "User" u ON u."id" = t."userId"
     WHERE t."publicId" = $1`,
    publicId,
  );
  const row = rows[0];
  if (!row) return null;
  const { boardIds, mintersJson, userJson, membershipsJson, ...token } = row;
  return {
    token: { ...token, boards: (boardIds ?? []).map((boardId) => ({ boardId })) },
    minters: mintersJson ?? [],
    user: user(userJson),
    memberships: userJson ? membershipsJson : [],
  };
}

export async function findSession(prisma: PrismaClient, publicId: string): Promise<SessionRecord | null> {
  const rows = await prisma.$queryRawUnsafe<(Session & { userJson: UserJson; membershipsJson: MembershipJson[] })[]>(
    `SELECT s.*, ${USER_AND_MEMBERSHIPS}
     FROM "Session" s JOIN "User" u ON u."id" = s."userId"
     WHERE s."publicId" = $1`,
    publicId,
  );
  const row = rows[0];
  if (!row) return null;
  const { userJson, membershipsJson, ...session } = row;
  return { session, user: user(userJson)!, memberships: membershipsJson };
}
