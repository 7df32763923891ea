// Who may see a token in lists and manage it (update, revoke, delete, regenerate): its
// creator and OWNERs of its organization. The creator is the user (directly or through one
// of their PERSONAL tokens) or the SERVICE token that minted it, and counts as such only while
// it could mint that token right now (the minting rule): a creator removed from the
// organization, demoted below what the token holds, or acting through a narrower token than
// the one it minted with, leaves the token to the organization's OWNERs. Budgets play no part here.
//
// A PERSONAL token acts as its user: only that user may obtain a secret for it or change what
// it may do (regenerate, update); OWNERs may see, revoke and delete it. The user, acting with
// their full rights, always manages their own PERSONAL tokens: such a token never does more
// than its user can, so there is nothing to withhold, and the user can still revoke one left
// behind in an organization they were removed from.
import type { ApiToken } from '../generated/prisma/client';
import { forbidden } from '../errors';
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

/** The caller acts as the user this PERSONAL token acts as. */
function isCallersPersonalToken(principal: Principal, token: ApiToken): boolean {
  return token.kind === 'PERSONAL' && token.userId != null && principalUser(principal)?.id === token.userId;
}

function couldMint(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  try {
    assertMayGrant(principal, reach, { kind: token.kind, role: token.role, scope: scopeOf(token), expiresAt: token.expiresAt, allowedIps: token.allowedIps });
    return true;
  } catch {
    return false;
  }
}

export function managesToken(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  if (isUnrestrictedUser(principal) && isCallersPersonalToken(principal, token)) return true;
  if (createdByCaller(principal, token) && couldMint(principal, reach, token)) return true;
  return (
    token.organizationId != null &&
    roleAtLeast(reach.roleAt({ organizationId: token.organizationId }), requiredRole('manageOthersTokens'))
  );
}

/**
 * Regenerating or updating a token the caller manages: refused for another user's PERSONAL
 * token (its secret would let the caller act as that user).
 */
export function assertMayReissue(principal: Principal, token: ApiToken, action: 'regenerate' | 'update'): void {
  if (token.kind === 'PERSONAL' && !isCallersPersonalToken(principal, token)) {
    throw forbidden(`Only its own user can ${action} a PERSONAL token: it acts as them. You may revoke or delete it.`);
  }
}

/** Readable: by its managers, and by the request that authenticated with it (viewer.apiToken). */
export function readsToken(principal: Principal, reach: Reach, token: TokenWithBoards): boolean {
  return principalToken(principal)?.id === token.id || managesToken(principal, reach, token);
}

/** Tokens whose secret a request was given with no credential of its own (exchangeFederatedToken). */
const issuedToRequest = new WeakMap<Request, Set<string>>();

export function markIssuedToRequest(request: Request, tokenId: string): void {
  const ids = issuedToRequest.get(request) ?? new Set<string>();
  ids.add(tokenId);
  issuedToRequest.set(request, ids);
}

/** The request that was just given this token's secret may read the token in its answer. */
export const wasIssuedToRequest = (request: Request, tokenId: string): boolean => issuedToRequest.get(request)?.has(tokenId) ?? false;
