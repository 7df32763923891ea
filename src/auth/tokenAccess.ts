// Who may see a token in lists and manage it (update, revoke, delete, regenerate): its
// creator (the user, directly or through one of their PERSONAL tokens, or the SERVICE token
// that minted it) and OWNERs of its organization.
import type { ApiToken } from '../generated/prisma/client';
import { type Principal, principalToken, principalUser } from './principal';
import type { Reach } from './reach';
import { requiredRole, roleAtLeast } from './roles';

export type TokenOwnership = Pick<ApiToken, 'createdByUserId' | 'createdByTokenId' | 'organizationId'>;

export function managesToken(principal: Principal, reach: Reach, token: TokenOwnership): boolean {
  const user = principalUser(principal);
  if (user && token.createdByUserId === user.id) return true;
  if (principal.kind === 'service' && token.createdByTokenId === principal.token.id) return true;
  return (
    token.organizationId != null &&
    roleAtLeast(reach.roleAt({ organizationId: token.organizationId }), requiredRole('manageOthersTokens'))
  );
}

/** Readable: by its managers, and by the request that authenticated with it (viewer.apiToken). */
export function readsToken(principal: Principal, reach: Reach, token: TokenOwnership & { id: string }): boolean {
  return principalToken(principal)?.id === token.id || managesToken(principal, reach, token);
}
