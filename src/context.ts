// One context per request: authenticate once, compute the caller's reach once.
import { GraphQLError } from 'graphql';
import type { Config } from './env';
import type { PrismaClient } from './generated/prisma/client';
import type { Database } from './db/database';
import type { Authenticator } from './auth/authenticate';
import type { LastUsedRecorder } from './auth/lastUsedRecorder';
import { type Principal, scopeOf } from './auth/principal';
import { createLoaders, type Loaders } from './loaders';
import { Reach, grantsFromScope, grantsFromMemberships, narrowGrants, type Grant } from './auth/reach';
import type { AbuseLimiter, BudgetCharge } from './limits/abuseLimiter';
import { recover, then, type MaybePromise } from './maybePromise';

export interface Context {
  readonly principal: Principal;
  readonly reach: Reach;
  readonly prisma: PrismaClient;
  readonly config: Config;
  readonly lastUsed: LastUsedRecorder;
  readonly loaders: Loaders;
  readonly request: Request;
  /** Where the request comes from, for the per-address limits. */
  readonly clientAddress: string;
  /** The abuse limits (null when they are turned off, for the benchmark's baseline). */
  readonly limiter: AbuseLimiter | null;
  /** What the operation was charged, once it has run (for the RateLimit-* headers: src/limits/plugin.ts). */
  budgetCharge: BudgetCharge | undefined;
}

export interface ContextDeps {
  database: Database;
  config: Config;
  authenticator: Authenticator;
  lastUsed: LastUsedRecorder;
  limiter: AbuseLimiter;
}

/**
 * Synchronous for a credential already proven in this process (and in-memory limits): a
 * promise here would make yoga wait a turn of microtasks before it parses (src/maybePromise.ts).
 */
export function createContext(deps: ContextDeps, request: Request, authorization: string | null, clientAddress: string): MaybePromise<Context> {
  return then(authenticate(deps, authorization, clientAddress), (principal) => contextOf(deps, principal, reachOf(principal), request, clientAddress, deps.limiter));
}

function contextOf(
  deps: Omit<ContextDeps, 'authenticator' | 'limiter'>,
  principal: Principal,
  reach: Reach,
  request: Request,
  clientAddress: string,
  limiter: AbuseLimiter | null,
): Context {
  return { principal, reach, prisma: deps.database.prisma, config: deps.config, lastUsed: deps.lastUsed, loaders: createLoaders(deps.database), request, clientAddress, limiter, budgetCharge: undefined };
}

/** Each refused credential costs an argon2id verification: an address sending many waits. */
function authenticate(deps: ContextDeps, authorization: string | null, clientAddress: string): MaybePromise<Principal> {
  if (authorization == null) return { kind: 'anonymous' };
  const countRefusal = async (error: unknown): Promise<never> => {
    if (error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED') await deps.limiter.credentialRefused(clientAddress);
    throw error;
  };
  return recover(() => then(deps.limiter.admitCredential(clientAddress), () => deps.authenticator.authenticate(authorization, clientAddress)), countRefusal);
}

/**
 * The benchmark's baseline (AppOptions.openAccess): the user and reach are computed once, and
 * then at hand (synchronous, as a cached credential is in createContext).
 */
const openAccessCallers = new Map<string, MaybePromise<{ principal: Principal; reach: Reach }>>();

export function createOpenAccessContext(
  deps: Omit<ContextDeps, 'authenticator' | 'limiter'>,
  userId: string,
  request: Request,
  clientAddress: string,
): MaybePromise<Context> {
  let caller = openAccessCallers.get(userId);
  if (!caller) {
    caller = (async () => {
      const { prisma } = deps.database;
      const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
      const memberships = await prisma.membership.findMany({ where: { userId, acceptedAt: { not: null } }, select: { organizationId: true, spaceId: true, role: true } });
      const principal: Principal = { kind: 'session', user, memberships, sessionId: 'open-access', expiresAt: new Date(8.64e15) };
      const loaded = { principal, reach: reachOf(principal) };
      openAccessCallers.set(userId, loaded);
      return loaded;
    })();
    openAccessCallers.set(userId, caller);
  }
  return then(caller, ({ principal, reach }) => contextOf(deps, principal, reach, request, clientAddress, null));
}

function reachOf(principal: Principal): Reach {
  if (principal.kind === 'anonymous') return new Reach([]);
  const blocked = principal.kind === 'personal' ? principal.blockedOrganizations : undefined;
  return new Reach(grantsOf(principal), blocked);
}

/**
 * The grants a credential gives, kept by the token row (or the session's memberships) they
 * were computed from: a cached credential brings the same objects on every request until
 * something changes, and a change brings new ones (src/auth/credentialCache.ts). Reach never
 * changes a grants array it was given (`add` makes a new one).
 */
const grantsBy = new WeakMap<object, readonly Grant[]>();

function grantsOf(principal: Exclude<Principal, { kind: 'anonymous' }>): readonly Grant[] {
  const by = principal.kind === 'session' ? principal.memberships : principal.token;
  let grants = grantsBy.get(by);
  if (!grants) grantsBy.set(by, (grants = computeGrants(principal)));
  return grants;
}

function computeGrants(principal: Exclude<Principal, { kind: 'anonymous' }>): Grant[] {
  if (principal.kind === 'service') {
    const scope = scopeOf(principal.token);
    return scope && principal.token.role ? grantsFromScope(scope, principal.token.role) : [];
  }
  // The user's memberships as loaded with the credential, this request: changes take effect on the next one.
  const grants = grantsFromMemberships(principal.memberships);
  if (principal.kind === 'session') return grants;
  return narrowGrants(grants, scopeOf(principal.token), principal.token.role);
}
