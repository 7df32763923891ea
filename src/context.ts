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
import type { AbuseLimiter } from './limits/abuseLimiter';

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
}

export interface ContextDeps {
  database: Database;
  config: Config;
  authenticator: Authenticator;
  lastUsed: LastUsedRecorder;
  limiter: AbuseLimiter;
}

export async function createContext(deps: ContextDeps, request: Request, authorization: string | null, clientAddress: string): Promise<Context> {
  const principal = await authenticate(deps, authorization, clientAddress);
  const reach = reachOf(principal);
  return {
    principal,
    reach,
    prisma: deps.database.prisma,
    config: deps.config,
    lastUsed: deps.lastUsed,
    loaders: createLoaders(deps.database),
    request,
    clientAddress,
    limiter: deps.limiter,
  };
}

/** Each refused credential costs an argon2id verification: an address sending many waits. */
async function authenticate(deps: ContextDeps, authorization: string | null, clientAddress: string): Promise<Principal> {
  if (authorization == null) return { kind: 'anonymous' };
  await deps.limiter.admitCredential(clientAddress);
  try {
    return await deps.authenticator.authenticate(authorization, clientAddress);
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'UNAUTHENTICATED') await deps.limiter.credentialRefused(clientAddress);
    throw error;
  }
}

/** The benchmark's baseline (AppOptions.openAccess): the user and reach are computed once. */
const openAccessCallers = new Map<string, Promise<{ principal: Principal; reach: Reach }>>();

export async function createOpenAccessContext(
  deps: Omit<ContextDeps, 'authenticator' | 'limiter'>,
  userId: string,
  request: Request,
  clientAddress: string,
): Promise<Context> {
  let caller = openAccessCallers.get(userId);
  if (!caller) {
    caller = (async () => {
      const { prisma } = deps.database;
      const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
      const memberships = await prisma.membership.findMany({ where: { userId, acceptedAt: { not: null } }, select: { organizationId: true, spaceId: true, role: true } });
      const principal: Principal = { kind: 'session', user, memberships, sessionId: 'open-access', expiresAt: new Date(8.64e15) };
      return { principal, reach: reachOf(principal) };
    })();
    openAccessCallers.set(userId, caller);
  }
  const { principal, reach } = await caller;
  return { principal, reach, prisma: deps.database.prisma, config: deps.config, lastUsed: deps.lastUsed, loaders: createLoaders(deps.database), request, clientAddress, limiter: null };
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
