// What authenticating one request reads, in one SQL statement: the credential's row (API
// token or session), and with it the token's boards, its user and the user's current
// memberships. One statement rather than four because each costs a round trip and the ORM's
// per-query work on every request (see bench/), and because an unknown id and a known id
// must cost the same before the argon2id verification (test/timing.test.ts): either way this
// is the only statement sent.
import type { ApiToken, PrismaClient, Role, Session, User } from '../generated/prisma/client';
import type { MembershipGrantSource } from './reach';
import type { OrganizationPolicy } from './tokenPolicy';

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
  /** The token policies of the organizations the token reaches (its scope's, or its user's), where set. */
  policies: OrganizationPolicy[];
  /**
   * The secret presented was one of this token's, replaced by a regeneration in the last 30 days
   * (auth/reuseDetection.ts). Read in this statement so that noticing it costs no statement and
   * no argon2id verification (no timing difference for anyone without such a secret).
   */
  replacedSecretPresented: boolean;
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

// The token policies that apply (auth/tokenPolicy.ts): its organization's, or for an unscoped
// PERSONAL token those of every organization its user belongs to.
const POLICIES = `
  (SELECT json_agg(json_build_object('organizationId', p."organizationId", 'maxLifetimeSeconds', p."maxLifetimeSeconds",
                                     'requireExpiry', p."requireExpiry", 'allowPersonalTokens', p."allowPersonalTokens"))
   FROM "OrganizationTokenPolicy" p
   WHERE p."organizationId" = t."organizationId"
      OR (t."organizationId" IS NULL AND p."organizationId" IN
            (SELECT m."organizationId" FROM "Membership" m WHERE m."userId" = t."userId" AND m."acceptedAt" IS NOT NULL))) AS "policiesJson"`;

// Reuse detection: the presented secret's digest among the token's replaced ones (kept 30 days).
export const REPLACED_SECRET_DAYS = 30;
const REPLACED_SECRET = `
  EXISTS (SELECT 1 FROM "ApiTokenSecretDigest" d
          WHERE d."digest" = $2 AND d."tokenId" = t."id" AND d."retiredAt" IS NOT NULL
            AND d."retiredAt" > now() - interval '${REPLACED_SECRET_DAYS} days') AS "replacedSecretPresented"`;

/** `secretDigest`: the presented secret's digest (auth/issueToken.ts), for reuse detection. */
export async function findApiToken(prisma: PrismaClient, publicId: string, secretDigest: string): Promise<ApiTokenRecord | null> {
  const rows = await prisma.$queryRawUnsafe<
    (ApiToken & {
      boardIds: string[] | null;
      mintersJson: Minter[] | null;
      userJson: UserJson | null;
      membershipsJson: MembershipJson[];
      policiesJson: OrganizationPolicy[] | null;
      replacedSecretPresented: boolean;
    })[]
  >(
    `SELECT t.*,
       (SELECT array_agg(b."boardId" ORDER BY b."boardId") FROM "ApiTokenBoard" b WHERE b."tokenId" = t."id") AS "boardIds",
       ${MINTERS},
       ${POLICIES},
       ${REPLACED_SECRET},
       ${USER_AND_MEMBERSHIPS}
     FROM "ApiToken" t LEFT JOIN "User" u ON u."id" = t."userId"
     WHERE t."publicId" = $1`,
    publicId,
    secretDigest,
  );
  const row = rows[0];
  if (!row) return null;
  const { boardIds, mintersJson, userJson, membershipsJson, policiesJson, replacedSecretPresented, ...token } = row;
  return {
    token: { ...token, boards: (boardIds ?? []).map((boardId) => ({ boardId })) },
    minters: mintersJson ?? [],
    user: user(userJson),
    memberships: userJson ? membershipsJson : [],
    policies: policiesJson ?? [],
    replacedSecretPresented: replacedSecretPresented === true,
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
