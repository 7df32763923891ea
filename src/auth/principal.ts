// Who is calling, as one immutable value per request. Resolvers read this (and the Reach
// derived from it); they never parse headers.
import type { ApiToken, User } from '../generated/prisma/client';
import type { Minter } from './credentialLookup';
import type { MembershipGrantSource, TokenScope } from './reach';

export type TokenWithBoards = ApiToken & { boards: { boardId: string }[] };

export type Principal =
  | { kind: 'anonymous' }
  /** `memberships`: the user's, as they were when this request was authenticated. */
  | { kind: 'session'; user: User; memberships: MembershipGrantSource[]; sessionId: string; expiresAt: Date }
  /**
   * `minters`: the tokens up the chain that minted this one, nearest first (their budgets apply too).
   * `blockedOrganizations`: those whose token policy this token breaks (id → message; auth/tokenPolicy.ts).
   */
  | {
      kind: 'personal';
      user: User;
      memberships: MembershipGrantSource[];
      token: TokenWithBoards;
      minters: Minter[];
      blockedOrganizations?: ReadonlyMap<string, string>;
    }
  | { kind: 'service'; token: TokenWithBoards; minters: Minter[] };

/** The user a request acts as (null for anonymous and SERVICE tokens). */
export function principalUser(principal: Principal): User | null {
  return principal.kind === 'session' || principal.kind === 'personal' ? principal.user : null;
}

export function principalToken(principal: Principal): TokenWithBoards | null {
  return principal.kind === 'personal' || principal.kind === 'service' ? principal.token : null;
}

/** A token's scope from its row, or null for an unscoped PERSONAL token. */
export function scopeOf(token: TokenWithBoards): TokenScope | null {
  const organizationId = token.organizationId;
  if (!token.scopeType || !organizationId) return null;
  switch (token.scopeType) {
    case 'ORGANIZATION':
      return { type: 'ORGANIZATION', organizationId };
    case 'SPACE':
      return { type: 'SPACE', organizationId, spaceId: token.spaceId! };
    case 'BOARDS':
      return { type: 'BOARDS', organizationId, spaceId: token.spaceId!, boardIds: token.boards.map((b) => b.boardId) };
  }
}

/** The name audit events and item updates show for the caller. */
export function actorName(principal: Principal): string {
  if (principal.kind === 'service') return principal.token.name;
  if (principal.kind === 'anonymous') return 'anonymous';
  return principal.user.name;
}

/**
 * A user acting with their full rights: a session, or a PERSONAL token with no scope and no
 * cap below OWNER.
 */
export function isUnrestrictedUser(principal: Principal): boolean {
  if (principal.kind === 'session') return true;
  if (principal.kind !== 'personal') return false;
  return !principal.token.scopeType && (principal.token.role == null || principal.token.role === 'OWNER');
}
