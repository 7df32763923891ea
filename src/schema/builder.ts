// The Pothos builder: plugins, the Context type, and the auth-scope *definitions*.
// No types live here: each domain file defines its own.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import { GraphQLError, Kind } from 'graphql';
import { z } from 'zod';
import type PrismaTypes from '../generated/pothos-types';
import { getDatamodel } from '../generated/pothos-types';
import type { Context } from '../context';
import type { Place } from '../auth/reach';
import { type Role, roleAtLeast } from '../auth/roles';
import { isUnrestrictedUser } from '../auth/principal';
import { readsToken, wasIssuedToRequest, type ManagedToken } from '../auth/tokenAccess';
import { badInput, forbidden, unauthenticated } from '../errors';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './pagination';

const pageSize = (arg: 'first' | 'last') =>
  z
    .number()
    .int()
    .min(1, `${arg} must be between 1 and ${MAX_PAGE_SIZE}`)
    .max(MAX_PAGE_SIZE, `${arg} must be between 1 and ${MAX_PAGE_SIZE}`);

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    /** A session or a PERSONAL token with neither scope nor cap below OWNER: the user's full rights. */
    unrestrictedUser: boolean;
    /** The caller has at least `role` over the whole of `place`. */
    role: { place: Place; role: Role };
    /** The caller may read this token (its creator, an OWNER of its organization, the token itself, or the request just given it). */
    readToken: ManagedToken;
  };
  Scalars: { DateTime: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin],
  defaultFieldNullability: false,
  prisma: {
    client: (ctx) => ctx.prisma,
    dmmf: getDatamodel(),
    // A resolver that ignores Pothos' query costs extra queries (N+1): fail loudly under jest
    // (which sets NODE_ENV=test), never in a running gateway.
    onUnusedQuery: process.env.NODE_ENV === 'test' ? 'error' : null,
  },
  relay: {
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
    // No schema default for `first`: `last` alone must page backwards. The resolvers apply the
    // default (see pagination.ts).
    firstArgOptions: {
      description: `At most ${MAX_PAGE_SIZE}; default ${DEFAULT_PAGE_SIZE} when neither first nor last is given.`,
      validate: pageSize('first'),
    },
    lastArgOptions: { description: `At most ${MAX_PAGE_SIZE}; with before, the page ending just before that cursor.`, validate: pageSize('last') },
  },
  validation: {
    validationError: (failure) => badInput(failure.issues.map((issue) => issue.message).join('; ')),
  },
  scopeAuth: {
    // A type's scopes (ApiToken: readToken) run once per object where graphql-js checks its
    // type, not again around each of its fields, and a refused object is one error at the field
    // that returned it (issue 10: -25 KB allocated per board-and-items request, auth/open CPU
    // 1.29 -> 1.21). Visibility (Organization, Space, Board, ItemConnection) is checked the
    // same way without scope-auth (src/schema/visibility.ts).
    runScopesOnType: true,
    // Synchronous: every check it answers is computed from the context, and a promise here made
    // the first object of each request wait a turn of microtasks for its scopes.
    authScopes: (ctx) => ({
      unrestrictedUser: isUnrestrictedUser(ctx.principal),
      role: ({ place, role }) => roleAtLeast(ctx.reach.roleAt(place), role),
      readToken: (token) => readsToken(ctx.principal, ctx.reach, token) || wasIssuedToRequest(ctx.request, token.id),
    }),
    // Per scope, by value: each check builds its parameter anew ({ place, role }).
    cacheKey: (value) => JSON.stringify(value),
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (ctx.principal.kind === 'anonymous') return unauthenticated();
      const failure = roleFailure(result.failure as ScopeFailure);
      if (failure) {
        const { place, role } = failure.parameter as { place: Place; role: Role };
        return forbidden(`This needs the ${role} role here; yours is ${ctx.reach.roleAt(place) ?? 'none'}.`);
      }
      return forbidden(result.message === 'Unauthorized' ? undefined : result.message);
    },
  },
});

type ScopeFailure = { kind?: string; scope?: string; parameter?: unknown; failures?: ScopeFailure[] };

/** The failed `role` scope, also when scope-auth wraps it (a scope map fails as AnyAuthScopes). */
function roleFailure(failure: ScopeFailure | undefined): ScopeFailure | undefined {
  if (!failure) return undefined;
  if (failure.kind === 'AuthScope' && failure.scope === 'role') return failure;
  for (const inner of failure.failures ?? []) {
    const found = roleFailure(inner);
    if (found) return found;
  }
  return undefined;
}

builder.scalarType('DateTime', {
  description: 'An ISO-8601 date and time, e.g. 2026-01-31T12:00:00.000Z',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput('A DateTime is an ISO-8601 string.');
    return parseDateTime(ast.value);
  },
});

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`Not an ISO-8601 date and time: ${JSON.stringify(value)}`, { extensions: { code: 'BAD_USER_INPUT' } });
  return date;
}

// Any valid credential: for Query fields, checked outside scope-auth (src/schema/visibility.ts);
// for mutations, a type scope (a boolean: it skips scope-auth's scope maps), which the public
// ones (signUp, logIn, exchangeFederatedToken, revokeLeakedTokens) skip.
builder.queryType({});
builder.mutationType({ authScopes: (_root, ctx) => ctx.principal.kind !== 'anonymous' });
