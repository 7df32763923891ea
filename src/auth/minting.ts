// The minting rule: a caller may create (or update, or regenerate) a token only if the
// new token can do nothing the caller cannot do right now.
import { badInput, forbidden } from '../errors';
import { rangesOutside } from './ipRanges';
import type { Principal } from './principal';
import { principalToken } from './principal';
import type { Place, Reach, TokenScope } from './reach';
import { type Role, lowerRole, requiredRole, roleAtLeast } from './roles';

export interface TokenRequest {
  kind: 'PERSONAL' | 'SERVICE';
  role: Role | null;
  scope: TokenScope | null;
  expiresAt: Date | null;
  /** CIDR ranges in normal form (auth/ipRanges.ts); empty = any address. */
  allowedIps: string[];
  /** Complexity points per minute; null = the configured default. */
  complexityBudget: number | null;
}

export interface BudgetLimits {
  budgetDefaultPerMinute: number;
  budgetMaxPerMinute: number;
}

/** The places a scope is made of: the lowest role over them is the role "everywhere in it". */
export function placesOf(scope: TokenScope): Place[] {
  switch (scope.type) {
    case 'ORGANIZATION':
      return [{ organizationId: scope.organizationId }];
    case 'SPACE':
      return [{ organizationId: scope.organizationId, spaceId: scope.spaceId }];
    case 'BOARDS':
      return scope.boardIds.map((boardId) => ({ organizationId: scope.organizationId, spaceId: scope.spaceId, boardId }));
  }
}

/** The caller's role everywhere in a scope: the lowest over its places (null if any is out of reach). */
export function roleEverywhereIn(reach: Reach, scope: TokenScope): Role | null {
  let lowest: Role | null = null;
  for (const place of placesOf(scope)) {
    const role = reach.roleAt(place);
    if (role == null) return null;
    lowest = lowest == null ? role : lowerRole(lowest, role);
  }
  return lowest;
}

/** Throws FORBIDDEN (or BAD_USER_INPUT for an incomplete request) unless the caller may mint `request`. */
export function assertMayMint(principal: Principal, reach: Reach, request: TokenRequest, budgets: BudgetLimits): void {
  assertMayGrant(principal, reach, request);
  assertBudgetWithinCaller(principal, reach, request, budgets);
}

/** The minting rule without budgets: kind, role, scope, expiry and allowedIps. */
export function assertMayGrant(principal: Principal, reach: Reach, request: Omit<TokenRequest, 'complexityBudget'>): void {
  if (request.kind === 'SERVICE') assertMayMintService(reach, request);
  else assertMayMintPersonal(principal, reach, request);
  assertExpiryWithinCaller(principal, request.expiresAt);
  assertRangesWithinCaller(principal, request.allowedIps);
}

function assertMayMintService(reach: Reach, request: Omit<TokenRequest, 'complexityBudget'>) {
  if (!request.role) throw badInput('A SERVICE token needs a role.');
  if (!request.scope) throw badInput('A SERVICE token needs a scope: give organizationId, spaceId or boardIds.');
  const callerRole = roleEverywhereIn(reach, request.scope);
  const needed = requiredRole('mintServiceToken');
  if (!roleAtLeast(callerRole, needed)) {
    throw forbidden(`Minting SERVICE tokens needs ${needed} or OWNER in the whole scope; your role there is ${callerRole ?? 'none'}.`);
  }
  if (!roleAtLeast(callerRole, request.role)) {
    throw forbidden(`You cannot grant ${request.role}: your role in this scope is ${callerRole}.`);
  }
}

function assertMayMintPersonal(principal: Principal, reach: Reach, request: Omit<TokenRequest, 'complexityBudget'>) {
  if (principal.kind !== 'session' && principal.kind !== 'personal') {
    throw forbidden('PERSONAL tokens are minted by a user (a session or a PERSONAL token), for that user.');
  }
  const caller = principalToken(principal);
  if (caller?.scopeType && !request.scope) {
    throw forbidden('Your token is scoped: the new token needs a scope inside yours.');
  }
  if (caller?.role && !request.role) {
    throw forbidden(`Your token is capped at ${caller.role}: the new token needs a role of at most ${caller.role}.`);
  }
  if (caller?.role && request.role && !roleAtLeast(caller.role, request.role)) {
    throw forbidden(`You cannot grant ${request.role}: your token is capped at ${caller.role}.`);
  }
  // A PERSONAL token's rights are its user's current rights, capped: whatever its cap, it can
  // never do more than its user. So a user may set any cap; only a capped caller is bound by its own.
  if (request.scope && roleEverywhereIn(reach, request.scope) == null) {
    throw forbidden('The scope is not inside what you can reach.');
  }
}

/**
 * Budgets: at most the configured maximum; above the default only from an OWNER of the whole
 * scope (of all the caller reaches, for an unscoped token); and a token never gives a larger
 * budget than its own.
 */
function assertBudgetWithinCaller(principal: Principal, reach: Reach, request: TokenRequest, budgets: BudgetLimits) {
  const { budgetDefaultPerMinute: fallback, budgetMaxPerMinute: max } = budgets;
  const budget = request.complexityBudget;
  if (budget != null && (budget < 1 || budget > max)) {
    throw badInput(`complexityBudget must be between 1 and ${max} points per minute.`);
  }
  if (budget != null && budget > fallback) {
    const role = request.scope ? roleEverywhereIn(reach, request.scope) : reach.roleEverywhere();
    if (role !== 'OWNER') {
      throw forbidden(`Only an OWNER of the whole scope can set a budget above the default of ${fallback} points per minute.`);
    }
  }
  const caller = principalToken(principal);
  const callerBudget = caller ? (caller.complexityBudget ?? fallback) : null;
  if (callerBudget != null && (budget ?? fallback) > callerBudget) {
    throw forbidden(`Your token's budget is ${callerBudget} points per minute: give the new token a complexityBudget of at most that.`);
  }
}

/**
 * A token with an expiry may only mint tokens that expire no later than itself. notBefore is
 * not part of the rule: it only narrows when the new token works (never past its expiry), so
 * any caller that may mint a token may delay it.
 */
function assertExpiryWithinCaller(principal: Principal, expiresAt: Date | null) {
  const latest = principalToken(principal)?.expiresAt;
  if (!latest) return;
  if (!expiresAt || expiresAt > latest) {
    throw forbidden(`Your token expires at ${latest.toISOString()}: the new token must expire no later than that.`);
  }
}

/**
 * A token restricted to address ranges may only mint tokens restricted to ranges inside its
 * own: otherwise a leaked restricted token could mint an unrestricted one and walk out.
 * Each range must fit inside one of the caller's (a range spanning two of them is given as two).
 */
function assertRangesWithinCaller(principal: Principal, allowedIps: readonly string[]) {
  const own = principalToken(principal)?.allowedIps ?? [];
  if (own.length === 0) return;
  const ownList = listed(own);
  if (allowedIps.length === 0) {
    throw forbidden(`Your token can only be used from ${ownList}: give the new token allowedIps inside those ranges.`);
  }
  const outside = rangesOutside(allowedIps, own);
  if (outside.length > 0) {
    throw forbidden(`allowedIps ${listed(outside)} ${outside.length === 1 ? 'is' : 'are'} not inside your token's ranges (${ownList}): give ranges inside them.`);
  }
}

/** A list for a message: the first few, and how many more. */
function listed(ranges: readonly string[], shown = 5): string {
  const more = ranges.length - shown;
  return ranges.slice(0, shown).join(', ') + (more > 0 ? ` and ${more} more` : '');
}
