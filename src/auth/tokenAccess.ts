// Who may see a token in lists and manage it (update, revoke, delete, regenerate): its
// creator and OWNERs of its organization. The creator is the user (directly or through one
// of their PERSONAL tokens) or the SERVICE token that minted it; a restricted caller (a
// scoped or capped PERSONAL token, a SERVICE token) counts as the creator only for tokens it
// could mint right now, so that a read-only token cannot rename, revoke or delete its
// user's broader tokens. Budgets play no part here.
import type { ApiToken } from '../generated/prisma/client';
import { assertMayGrant } from './minting';
import { type Principal, isUnrestrictedUser, principalToken, principalUser, scopeOf, type TokenWithBoards } from './principal';
import type { Reach } from './reach';
import { requiredRole, roleAtLeast } from './roles';

export type ManagedToken = TokenWithBoards;

function createdByCaller(principal: Principal, token: ApiToken): boolean {
  if (principal.kind === 'service') return token.createdByTokenId === principal.token.id;
  const user = principalUser(principal);
  return user != null && token.createdByUserId === user.id;
}

function couldMint(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  try {
    assertMayGrant(principal, reach, { kind: token.kind, role: token.role, scope: scopeOf(token), expiresAt: token.expiresAt });
    return true;
  } catch {
    return false;
  }
}

export function managesToken(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  if (createdByCaller(principal, token) && (isUnrestrictedUser(principal) || couldMint(principal, reach, token))) return true;
  return (
    token.organizationId != null &&
    roleAtLeast(reach.roleAt({ organizationId: token.organizationId }), requiredRole('manageOthersTokens'))
  );
}

/** Readable: by its managers, and by the request that authenticated with it (viewer.apiToken). */
export function readsToken(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  return principalToken(principal)?.id === token.id || managesToken(principal, reach, token);
}
