// One context per request: authenticate once, compute the caller's reach once.
import type { Config } from './env';
import type { PrismaClient } from './generated/prisma/client';
import type { Authenticator } from './auth/authenticate';
import type { LastUsedRecorder } from './auth/lastUsedRecorder';
import { type Principal, principalToken, principalUser, scopeOf } from './auth/principal';
import { createLoaders, type Loaders } from './loaders';
import { Reach, grantsFromScope, grantsFromMemberships, narrowGrants } from './auth/reach';

export interface Context {
  readonly principal: Principal;
  readonly reach: Reach;
  readonly prisma: PrismaClient;
  readonly config: Config;
  readonly lastUsed: LastUsedRecorder;
  readonly loaders: Loaders;
}

export interface ContextDeps {
  prisma: PrismaClient;
  config: Config;
  authenticator: Authenticator;
  lastUsed: LastUsedRecorder;
}

export async function createContext(deps: ContextDeps, request: Request): Promise<Context> {
  const principal = await deps.authenticator.authenticate(request.headers.get('authorization'));
  const reach = await reachOf(deps.prisma, principal);
  return {
    principal,
    reach,
    prisma: deps.prisma,
    config: deps.config,
    lastUsed: deps.lastUsed,
    loaders: createLoaders(deps.prisma),
  };
}

async function reachOf(prisma: PrismaClient, principal: Principal): Promise<Reach> {
  const token = principalToken(principal);
  if (principal.kind === 'service') {
    const scope = scopeOf(principal.token);
    return new Reach(scope && principal.token.role ? grantsFromScope(scope, principal.token.role) : []);
  }
  const user = principalUser(principal);
  if (!user) return new Reach([]);
  // The user's *current* memberships: changes take effect on the next request.
  const memberships = await prisma.membership.findMany({
    where: { userId: user.id },
    select: { organizationId: true, spaceId: true, role: true },
  });
  const grants = grantsFromMemberships(memberships);
  return new Reach(token ? narrowGrants(grants, scopeOf(token), token.role) : grants);
}
