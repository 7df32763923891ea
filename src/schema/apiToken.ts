// API tokens: the type, the caller's own list, and the lifecycle mutations (create, update,
// revoke, delete, regenerate). The minting rule lives in auth/minting.ts.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { z } from 'zod';
import { issueToken } from '../auth/issueToken';
import { assertMayReissue, managesToken, readsToken } from '../auth/tokenAccess';
import { MAX_ALLOWED_IPS, normalizeAllowedIps } from '../auth/ipRanges';
import { assertMayMint } from '../auth/minting';
import { type Principal, principalToken, principalUser, scopeOf, type TokenWithBoards } from '../auth/principal';
import type { TokenScope } from '../auth/reach';
import { API_TOKEN_PREFIX, maskToken } from '../auth/tokenFormat';
import { recordAudit, type AuditAction } from '../audit';
import { rememberSecret, retireSecrets } from '../auth/reuseDetection';
import { assertMeetsPolicies } from '../auth/tokenPolicy';
import type { Context } from '../context';
import { badInput, forbidden, notFound } from '../errors';
import type { ApiToken as ApiTokenRow, Prisma } from '../generated/prisma/client';
import { placeOfBoard, placeOfSpace } from '../loaders';
import { builder } from './builder';
import { connectionOf, newestFirst, pageQuery, withSortKey } from './pagination';
import { noRow } from './noRow';
import { assertNotBlocked } from './authorize';
import { RoleEnum, ScopeTypeEnum, TokenKindEnum, TokenStatusEnum } from './enums';
import { idSchema, isWellFormedId, nameSchema, optionalText, textSchema } from './validation';

const MAX_GRACE_SECONDS = 86_400;
const gracePeriodSchema = z
  .number()
  .int()
  .min(0, 'gracePeriodSeconds must not be negative.')
  .max(MAX_GRACE_SECONDS, `gracePeriodSeconds must be at most ${MAX_GRACE_SECONDS}.`)
  .nullish();
const CALLER_TOKENS = newestFirst('Query.apiTokens');
const MAX_LIFETIME_SECONDS = 10 * 365 * 86_400;

type TokenStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED';

export function tokenStatus(token: Pick<ApiTokenRow, 'revokedAt' | 'expiresAt'>, now = new Date()): TokenStatus {
  if (token.revokedAt) return 'REVOKED';
  if (token.expiresAt && token.expiresAt <= now) return 'EXPIRED';
  return 'ACTIVE';
}

export const ApiToken = builder.prismaObject('ApiToken', {
  // The scope's boards come with every token: the read and manage checks need its whole scope.
  include: { boards: { select: { boardId: true } } },
  // Seen by its manager, or by the request that authenticated with it (viewer.apiToken).
  authScopes: (token) => ({ readToken: token }),
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    kind: t.expose('kind', { type: TokenKindEnum }),
    role: t.expose('role', { type: RoleEnum, nullable: true, description: 'SERVICE: always set; PERSONAL: the optional cap.' }),
    scopeType: t.expose('scopeType', { type: ScopeTypeEnum, nullable: true }),
    organization: t.prismaField({
      type: 'Organization',
      nullable: true,
      resolve: async (query, token, _args, ctx) => {
        if (!token.organizationId || !ctx.reach.canSee({ organizationId: token.organizationId })) return noRow(query);
        return ctx.prisma.organization.findUnique({ ...query, where: { id: token.organizationId } });
      },
    }),
    space: t.prismaField({
      type: 'Space',
      nullable: true,
      resolve: async (query, token, _args, ctx) => {
        if (!token.spaceId) return noRow(query);
        const space = await ctx.prisma.space.findUnique({ ...query, where: { id: token.spaceId } });
        return space && ctx.reach.canSee(placeOfSpace(space)) ? space : null;
      },
    }),
    boards: t.prismaField({
      type: ['Board'],
      description: 'The boards of a BOARDS-scoped token that the caller can see.',
      resolve: async (query, token, _args, ctx) => {
        const boards = await ctx.prisma.board.findMany({
          ...query,
          where: { tokenBoards: { some: { tokenId: token.id } } },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        });
        return boards.filter((board) => ctx.reach.canSee(placeOfBoard(board)));
      },
    }),
    maskedToken: t.string({ resolve: (token) => maskToken(token.publicId) }),
    status: t.field({ type: TokenStatusEnum, resolve: (token) => tokenStatus(token) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    notBefore: t.expose('notBefore', { type: 'DateTime', nullable: true, description: 'Refused before this time (null: valid from creation).' }),
    lastUsedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'null = never used; accurate to within 60 seconds.',
      resolve: (token, _args, ctx) => ctx.lastUsed.lastUsedAt(token.id, token.lastUsedAt),
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    allowedIps: t.exposeStringList('allowedIps', {
      description: 'CIDR ranges (IPv4 and IPv6) the token may be used from, in normal form; empty: any address.',
    }),
    lastUsedIps: t.stringList({
      description: 'The last 5 distinct client addresses, newest first; written in batches like lastUsedAt.',
      resolve: (token, _args, ctx) => ctx.lastUsed.lastUsedIps(token.id, token.lastUsedIps),
    }),
    complexityBudget: t.int({
      description: 'Complexity points this token may spend per minute (each response says what is left in extensions.complexity).',
      resolve: (token, _args, ctx) => token.complexityBudget ?? ctx.config.limits.budgetDefaultPerMinute,
    }),
    revokeOnReuse: t.exposeBoolean('revokeOnReuse', {
      description: 'Revoke the token when a secret replaced by a regeneration is presented after its grace period (reuse detection).',
    }),
    createdBy: t.relation('createdByUser', { nullable: true }),
  }),
});

export const ApiTokenConnection = builder.connectionObject({ type: ApiToken, name: 'ApiTokenConnection' });

export const ApiTokenFilter = builder.inputType('ApiTokenFilter', {
  fields: (t) => ({
    nameContains: t.string({ description: 'Case-insensitive.', validate: textSchema('nameContains').max(200).nullish() }),
    status: t.field({ type: TokenStatusEnum }),
    expiringBefore: t.field({ type: 'DateTime', description: 'Tokens with an expiry strictly before this time (expired ones included: add status ACTIVE to leave them out).' }),
    lastUsedBefore: t.field({
      type: 'DateTime',
      description: 'Tokens last used strictly before this time, or never used. lastUsedAt is written in batches: a use in the last minute may not count yet.',
    }),
    createdAfter: t.field({ type: 'DateTime', description: 'Tokens created strictly after this time.' }),
  }),
});

export interface ApiTokenFilterArgs {
  nameContains?: string | null;
  status?: TokenStatus | null;
  expiringBefore?: Date | null;
  lastUsedBefore?: Date | null;
  createdAfter?: Date | null;
}

export function apiTokenFilterWhere(filter: ApiTokenFilterArgs | null | undefined) {
  const now = new Date();
  const where: Prisma.ApiTokenWhereInput[] = [];
  // Prisma passes `contains` to (I)LIKE unescaped: match %, _ and \ literally (\ is PostgreSQL's LIKE escape).
  if (filter?.nameContains) where.push({ name: { contains: filter.nameContains.replace(/[\\%_]/g, '\\$&'), mode: 'insensitive' } });
  if (filter?.status === 'REVOKED') where.push({ revokedAt: { not: null } });
  if (filter?.status === 'EXPIRED') where.push({ revokedAt: null, expiresAt: { lte: now } });
  if (filter?.status === 'ACTIVE') where.push({ revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });
  if (filter?.expiringBefore) where.push({ expiresAt: { not: null, lt: filter.expiringBefore } });
  // Never used counts as used long ago (tokens-v2.md): the point is to find tokens nobody needs.
  // lastUsedAt is the stored time, written in batches (auth/lastUsedRecorder.ts): a use within
  // the last flush interval (plus the 30 s it skips for fresh times) may not be there yet.
  if (filter?.lastUsedBefore) where.push({ OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: filter.lastUsedBefore } }] });
  if (filter?.createdAfter) where.push({ createdAt: { gt: filter.createdAfter } });
  return { AND: where };
}

/** The tokens the caller created: as a user (directly or through a PERSONAL token), or as a minting SERVICE token. */
function createdByCaller(principal: Principal): Prisma.ApiTokenWhereInput {
  if (principal.kind === 'service') return { createdByTokenId: principal.token.id };
  const user = principalUser(principal);
  return user ? { createdByUserId: user.id } : { id: { in: [] } };
}

builder.queryField('apiToken', (t) =>
  t.prismaField({
    type: ApiToken,
    nullable: true,
    description: 'One token by id, when the caller may read it (its manager, or the request that authenticated with it); else null, as for an unknown id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (query, _root, { id }, ctx) => {
      if (!isWellFormedId(String(id))) return noRow(query); // never a database error
      // The read rule needs the token's boards, which the type's own include puts on it.
      const token = await ctx.prisma.apiToken.findUnique({ ...('select' in query ? { include: withBoards } : query), where: { id: String(id) } });
      return token && readsToken(ctx.principal, ctx.reach, token as TokenWithBoards) ? token : null;
    },
  }),
);

builder.queryField('apiTokens', (t) =>
  t.connection(
    {
      type: ApiToken,
      description: 'Tokens the caller created (as a user, or as a token minting tokens), newest first.',
      args: { filter: t.arg({ type: ApiTokenFilter }) },
      resolve: async (_root, args, ctx, info) => {
        const page = pageQuery(CALLER_TOKENS, args, { AND: [createdByCaller(ctx.principal), apiTokenFilterWhere(args.filter)] });
        const query = withSortKey(queryFromInfo({ context: ctx, info, path: ['edges', 'node'] }));
        // A creator lists only the tokens it could mint now (see auth/tokenAccess.ts), a rule SQL
        // cannot express: read on past the page and cut it after filtering.
        // The rule reads whole rows with their boards: the ApiToken type's own include puts them on
        // every node; a `select` means no node field was asked for (pageInfo alone).
        const rows = await ctx.prisma.apiToken.findMany({ ...('select' in query ? { include: withBoards } : query), ...page, take: undefined });
        const kept = rows.filter((row) => managesToken(ctx.principal, ctx.reach, row as TokenWithBoards));
        return connectionOf<TokenWithBoards>(CALLER_TOKENS, args, kept.slice(0, page.take));
      },
    },
    ApiTokenConnection,
  ),
);

const ALLOWED_IPS_DESCRIPTION = `CIDR ranges (IPv4, IPv6; at most ${MAX_ALLOWED_IPS}) the token may be used from; a caller restricted to ranges gives ranges inside its own.`;

const REVOKE_ON_REUSE_DESCRIPTION = 'Revoke the token when a secret replaced by a regeneration is presented after its grace period (default false).';
const expiresInSecondsSchema = z
  .number()
  .int()
  .min(1, 'expiresInSeconds must be positive.')
  .max(MAX_LIFETIME_SECONDS, `expiresInSeconds must be at most ${MAX_LIFETIME_SECONDS} (10 years).`)
  .nullish();

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema('The name') }),
    description: t.string({ validate: optionalText('The description', 1000) }),
    kind: t.field({ type: TokenKindEnum, defaultValue: 'SERVICE' }),
    role: t.field({ type: RoleEnum, description: 'Required for SERVICE; optional cap for PERSONAL.' }),
    organizationId: t.id({ description: 'Scope ORGANIZATION.', validate: idSchema.nullish() }),
    spaceId: t.id({ description: 'Scope SPACE.', validate: idSchema.nullish() }),
    boardIds: t.idList({
      description: 'Scope BOARDS (all in one space).',
      validate: z.array(idSchema).min(1, 'boardIds must name at least one board.').max(100, 'At most 100 boards.').nullish(),
    }),
    expiresAt: t.field({ type: 'DateTime', description: 'At most one of expiresAt / expiresInSeconds.' }),
    notBefore: t.field({ type: 'DateTime', description: 'Refused before this time (Cloudflare\'s not-before); earlier than the expiry.' }),
    allowedIps: t.stringList({ description: ALLOWED_IPS_DESCRIPTION }),
    expiresInSeconds: t.int({ validate: expiresInSecondsSchema }),
    complexityBudget: t.int({
      description: 'Complexity points per minute (default: the gateway\'s BUDGET_DEFAULT_PER_MINUTE; above it, OWNER only).',
      validate: z.number().int('complexityBudget must be a whole number.').min(1, 'complexityBudget must be at least 1.').nullish(),
    }),
    revokeOnReuse: t.boolean({ description: REVOKE_ON_REUSE_DESCRIPTION }),
  }),
});

const UpdateApiTokenInput = builder.inputType('UpdateApiTokenInput', {
  fields: (t) => ({
    id: t.id({ required: true, validate: idSchema }),
    name: t.string({ validate: nameSchema('The name').nullish() }),
    description: t.string({ validate: optionalText('The description', 1000) }),
    role: t.field({ type: RoleEnum, description: 'Change permissions; never above what the caller may grant.' }),
    notBefore: t.field({ type: 'DateTime', description: 'Refused before this time; null: valid now. Earlier than the expiry.' }),
    allowedIps: t.stringList({ description: `${ALLOWED_IPS_DESCRIPTION} Null or empty: any address.` }),
    expiresAt: t.field({ type: 'DateTime', description: 'A new expiry (at most one of expiresAt / expiresInSeconds); omitted: unchanged.' }),
    expiresInSeconds: t.int({ validate: expiresInSecondsSchema }),
    revokeOnReuse: t.boolean({ description: REVOKE_ON_REUSE_DESCRIPTION }),
    complexityBudget: t.int({
      description: 'Complexity points per minute (default: the gateway\'s BUDGET_DEFAULT_PER_MINUTE; null: back to it; above it, OWNER only).',
      validate: z.number().int('complexityBudget must be a whole number.').min(1, 'complexityBudget must be at least 1.').nullish(),
    }),
  }),
});

export const CreateApiTokenPayload = builder.objectRef<{ apiToken: TokenWithBoards; secret: string }>('CreateApiTokenPayload').implement({
  fields: (t) => ({
    apiToken: t.field({ type: ApiToken, resolve: (p) => p.apiToken }),
    secret: t.exposeString('secret', { description: 'The full token: returned here once, never again.' }),
  }),
});

type ScopeInput = { organizationId?: string | number | null; spaceId?: string | number | null; boardIds?: (string | number)[] | null };

/** The scope an input names, checked to exist and be visible (NOT_FOUND otherwise). */
export async function resolveScope(ctx: Context, input: ScopeInput): Promise<TokenScope | null> {
  const given = [input.organizationId != null, input.spaceId != null, input.boardIds != null].filter(Boolean).length;
  if (given > 1) throw badInput('Give at most one of organizationId, spaceId and boardIds: they are alternative scopes.');
  if (input.organizationId != null) {
    const organizationId = String(input.organizationId);
    const org = await ctx.loaders.organization(organizationId);
    if (org) assertNotBlocked(ctx, { organizationId });
    if (!org || !ctx.reach.canSee({ organizationId })) throw notFound('Organization');
    return { type: 'ORGANIZATION', organizationId };
  }
  if (input.spaceId != null) {
    const space = await ctx.loaders.space(String(input.spaceId));
    if (space) assertNotBlocked(ctx, placeOfSpace(space));
    if (!space || !ctx.reach.canSee(placeOfSpace(space))) throw notFound('Space');
    return { type: 'SPACE', organizationId: space.organizationId, spaceId: space.id };
  }
  if (input.boardIds != null) {
    const ids = [...new Set(input.boardIds.map(String))];
    const boards = await Promise.all(ids.map((id) => ctx.loaders.board(id)));
    for (const [i, board] of boards.entries()) {
      if (board) assertNotBlocked(ctx, placeOfBoard(board));
      if (!board || !ctx.reach.canSee(placeOfBoard(board))) throw notFound(`Board ${ids[i]}`);
    }
    const spaces = new Set(boards.map((b) => b!.spaceId));
    if (spaces.size > 1) throw badInput('All boards of a BOARDS-scoped token must be in one space.');
    const first = boards[0]!;
    return { type: 'BOARDS', organizationId: first.organizationId, spaceId: first.spaceId, boardIds: ids };
  }
  return null;
}

function resolveExpiry(input: { expiresAt?: Date | null; expiresInSeconds?: number | null }, now: Date): Date | null {
  if (input.expiresAt != null && input.expiresInSeconds != null) {
    throw badInput('Give at most one of expiresAt and expiresInSeconds.');
  }
  if (input.expiresInSeconds != null) return new Date(now.getTime() + input.expiresInSeconds * 1000);
  if (input.expiresAt != null) {
    if (input.expiresAt <= now) throw badInput(`expiresAt (${input.expiresAt.toISOString()}) is in the past.`);
    if (input.expiresAt.getTime() - now.getTime() > MAX_LIFETIME_SECONDS * 1000) throw badInput('expiresAt must be within 10 years.');
    return input.expiresAt;
  }
  return null;
}

/** notBefore checked against the token's expiry and the lifetime limit (BAD_USER_INPUT). */
function checkNotBefore(notBefore: Date | null, expiresAt: Date | null, now: Date): Date | null {
  if (notBefore == null) return null;
  if (expiresAt && notBefore >= expiresAt) {
    throw badInput(`notBefore (${notBefore.toISOString()}) must be earlier than the token's expiry (${expiresAt.toISOString()}).`);
  }
  if (notBefore.getTime() - now.getTime() > MAX_LIFETIME_SECONDS * 1000) throw badInput('notBefore must be within 10 years.');
  return notBefore;
}

/** A token the caller manages, with its boards (NOT_FOUND for anything else: it does not exist for them). */
async function managedToken(ctx: Context, id: string | number): Promise<TokenWithBoards> {
  const token = await ctx.loaders.apiToken(String(id));
  if (!token || !managesToken(ctx.principal, ctx.reach, token)) throw notFound('API token');
  return token;
}

const withBoards = { boards: { select: { boardId: true } } } as const;

function audit(ctx: Context, db: Prisma.TransactionClient, action: AuditAction, token: { id: string; organizationId: string | null }) {
  return recordAudit(db, ctx.principal, { action, organizationId: token.organizationId, targetId: token.id });
}


builder.mutationFields((t) => ({
  createApiToken: t.field({
    type: CreateApiTokenPayload,
    args: { input: t.arg({ type: CreateApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const now = new Date();
      const kind = input.kind ?? 'SERVICE';
      const expiresAt = resolveExpiry(input, now);
      const notBefore = checkNotBefore(input.notBefore ?? null, expiresAt, now);
      const scope = await resolveScope(ctx, input);
      const role = input.role ?? null;
      const complexityBudget = input.complexityBudget ?? null;
      const allowedIps = normalizeAllowedIps(input.allowedIps ?? []);
      assertMayMint(ctx.principal, ctx.reach, { kind, role, scope, expiresAt, allowedIps, complexityBudget }, ctx.config.limits);
      await assertMeetsPolicies(ctx.prisma, policyOrganizations(ctx.principal, scope), { kind, expiresAt }, now);
      const issued = await issueToken(API_TOKEN_PREFIX);
      const user = principalUser(ctx.principal);
      const apiToken = await ctx.prisma.$transaction(async (tx) => {
        const created = await tx.apiToken.create({
          data: {
            publicId: issued.publicId,
            secretHash: issued.secretHash,
            name: input.name,
            description: input.description ?? null,
            kind,
            role,
            scopeType: scope?.type ?? null,
            organizationId: scope?.organizationId ?? null,
            spaceId: scope && scope.type !== 'ORGANIZATION' ? scope.spaceId : null,
            boards: scope?.type === 'BOARDS' ? { create: scope.boardIds.map((boardId) => ({ boardId })) } : undefined,
            userId: kind === 'PERSONAL' ? user!.id : null,
            createdByUserId: user?.id ?? null,
            createdByTokenId: principalToken(ctx.principal)?.id ?? null,
            expiresAt,
            notBefore,
            allowedIps,
            complexityBudget,
            revokeOnReuse: input.revokeOnReuse ?? false,
          },
          include: withBoards,
        });
        await rememberSecret(tx, created.id, issued.secretDigest);
        await audit(ctx, tx, 'token.created', created);
        return created;
      });
      return { apiToken, secret: issued.token };
    },
  }),
  updateApiToken: t.field({
    type: ApiToken,
    args: { input: t.arg({ type: UpdateApiTokenInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const token = await managedToken(ctx, input.id);
      assertMayReissue(ctx.principal, token, 'update');
      // Updating is minting the updated token anew: it must do nothing the caller cannot do now.
      const role = input.role ?? token.role;
      const complexityBudget = input.complexityBudget !== undefined ? input.complexityBudget : token.complexityBudget;
      const now = new Date();
      const newExpiry = input.expiresAt != null || input.expiresInSeconds != null ? resolveExpiry(input, now) : null;
      const expiresAt = newExpiry ?? token.expiresAt;
      if (input.notBefore !== undefined) checkNotBefore(input.notBefore, expiresAt, now);
      else if (newExpiry) checkNotBefore(token.notBefore, newExpiry, now);
      const allowedIps = input.allowedIps !== undefined ? normalizeAllowedIps(input.allowedIps ?? []) : token.allowedIps;
      const scope = scopeOf(token);
      assertMayMint(ctx.principal, ctx.reach, { kind: token.kind, role, scope, expiresAt, allowedIps, complexityBudget }, ctx.config.limits);
      // The updated token must meet the token policies (one that did not can be brought into line).
      await assertMeetsPolicies(ctx.prisma, policyOrganizations(ctx.principal, scope), { kind: token.kind, expiresAt }, now);
      return ctx.prisma.$transaction(async (tx) => {
        const updated = await tx.apiToken.update({
          where: { id: token.id },
          data: {
            ...(input.name != null && { name: input.name }),
            ...(input.description !== undefined && { description: input.description }),
            ...(input.role != null && { role: input.role }),
            ...(input.complexityBudget !== undefined && { complexityBudget: input.complexityBudget }),
            ...(input.notBefore !== undefined && { notBefore: input.notBefore }),
            ...(input.allowedIps !== undefined && { allowedIps }),
            ...(newExpiry && { expiresAt: newExpiry }),
            ...(input.revokeOnReuse != null && { revokeOnReuse: input.revokeOnReuse }),
          },
          include: withBoards,
        });
        await audit(ctx, tx, 'token.updated', updated);
        return updated;
      });
    },
  }),
  revokeApiToken: t.field({
    type: ApiToken,
    description: 'Stops working at once; stays listed with status REVOKED.',
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    resolve: async (_root, { id }, ctx) => {
      const token = await managedToken(ctx, id);
      if (token.revokedAt) return token;
      return ctx.prisma.$transaction(async (tx) => {
        // Only the first of concurrent revocations revokes (and is audited); the others see it done.
        const { count } = await tx.apiToken.updateMany({
          where: { id: token.id, revokedAt: null },
          data: { revokedAt: new Date(), previousSecretHash: null, previousSecretExpiresAt: null },
        });
        const revoked = await tx.apiToken.findUniqueOrThrow({ where: { id: token.id }, include: withBoards });
        if (count > 0) await audit(ctx, tx, 'token.revoked', revoked);
        return revoked;
      });
    },
  }),
  deleteApiToken: t.id({
    description: 'Stops working at once; gone from lists.',
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    resolve: async (_root, { id }, ctx) => {
      const token = await managedToken(ctx, id);
      await ctx.prisma.$transaction(async (tx) => {
        await tx.apiToken.delete({ where: { id: token.id } });
        await audit(ctx, tx, 'token.deleted', token);
      });
      return token.id;
    },
  }),
  regenerateApiToken: t.field({
    type: CreateApiTokenPayload,
    description: 'A new secret for the same token; the old one stops working at once, or after gracePeriodSeconds (at most 86400).',
    args: {
      id: t.arg.id({ required: true, validate: idSchema }),
      gracePeriodSeconds: t.arg.int({ defaultValue: 0, validate: gracePeriodSchema }),
    },
    resolve: async (_root, { id, gracePeriodSeconds }, ctx) => {
      const token = await managedToken(ctx, id);
      assertMayReissue(ctx.principal, token, 'regenerate');
      if (token.revokedAt) throw badInput('This token is revoked: create a new one instead.');
      // The caller receives the new secret, so it must be allowed to hold this token.
      assertMayMint(
        ctx.principal,
        ctx.reach,
        { kind: token.kind, role: token.role, scope: scopeOf(token), expiresAt: token.expiresAt, allowedIps: token.allowedIps, complexityBudget: token.complexityBudget },
        ctx.config.limits,
      );
      return replaceSecret(ctx, token, gracePeriodSeconds ?? 0);
    },
  }),
  rotateCurrentToken: t.field({
    type: CreateApiTokenPayload,
    description:
      'The calling API token replaces its own secret, as regenerateApiToken would (automation that rotates itself); ' +
      'the old secret stops working at once, or after gracePeriodSeconds (at most 86400). Not for sessions.',
    args: { gracePeriodSeconds: t.arg.int({ defaultValue: 0, validate: gracePeriodSchema }) },
    resolve: async (_root, { gracePeriodSeconds }, ctx) => {
      const token = principalToken(ctx.principal);
      if (!token) throw forbidden('Only an API token can rotate itself (a session cannot): call this with the token to rotate.');
      return replaceSecret(ctx, token, gracePeriodSeconds ?? 0);
    },
  }),
}));

/**
 * A new secret for the token (regenerateApiToken, rotateCurrentToken): the replaced one keeps
 * working for `grace` seconds, then is retired (remembered 30 days for reuse detection).
 */
async function replaceSecret(ctx: Context, token: { id: string; publicId: string }, grace: number) {
  const issued = await issueToken(API_TOKEN_PREFIX, token.publicId);
  const apiToken = await ctx.prisma.$transaction(async (tx) => {
    // Concurrent regenerations and revocations of this token take turns: the grace goes to the
    // secret this one replaces, not to one read before another regeneration committed.
    await tx.$queryRaw`SELECT id FROM "ApiToken" WHERE id = ${token.id} FOR UPDATE`;
    const current = await tx.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    if (current.revokedAt) throw badInput('This token is revoked: create a new one instead.');
    const now = new Date();
    const graceEnds = grace > 0 ? new Date(now.getTime() + grace * 1000) : null;
    const regenerated = await tx.apiToken.update({
      where: { id: token.id },
      data: { secretHash: issued.secretHash, previousSecretHash: graceEnds ? current.secretHash : null, previousSecretExpiresAt: graceEnds },
      include: withBoards,
    });
    await retireSecrets(tx, token.id, graceEnds ?? now, now);
    await rememberSecret(tx, token.id, issued.secretDigest);
    await audit(ctx, tx, 'token.regenerated', regenerated);
    return regenerated;
  });
  return { apiToken, secret: issued.token };
}

/**
 * The organizations whose token policy a token must meet: its scope's, or, for an unscoped
 * PERSONAL token (which reaches all of its user's), each of the caller's (the token's user).
 */
function policyOrganizations(principal: Principal, scope: TokenScope | null): string[] {
  if (scope) return [scope.organizationId];
  const memberships = principal.kind === 'session' || principal.kind === 'personal' ? principal.memberships : [];
  return [...new Set(memberships.map((m) => m.organizationId))];
}
