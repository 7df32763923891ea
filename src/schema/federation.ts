// Workload identity federation in the API: FederationPolicy, Organization.federationPolicies,
// createFederationPolicy, deleteFederationPolicy, exchangeFederatedToken and
// ApiToken.federationPolicy. The rules live in src/federation/.
import { z } from 'zod';
import { assertMayGrant, roleEverywhereIn } from '../auth/minting';
import { principalUser } from '../auth/principal';
import type { TokenScope } from '../auth/reach';
import { requiredRole, roleAtLeast } from '../auth/roles';
import { recordAudit } from '../audit';
import type { Context } from '../context';
import { badInput, forbidden, notFound } from '../errors';
import { exchangeFederatedToken } from '../federation/exchange';
import { MAX_ID_TOKEN_LENGTH } from '../federation/idToken';
import {
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  MAX_CLAIM_CONDITIONS,
  MAX_TOKEN_LIFETIME_SECONDS,
  assertPolicyRules,
  claimConditions,
} from '../federation/policies';
import type { FederationPolicy as FederationPolicyRow } from '../generated/prisma/client';
import { placeOfBoard } from '../loaders';
import { CreateApiTokenPayload, resolveScope } from './apiToken';
import { builder } from './builder';
import { RoleEnum, ScopeTypeEnum } from './enums';
import { Organization } from './organization';
import { connectionOf, newestFirst, relationPageQuery, withSortKey } from './pagination';
import { idSchema, nameSchema, textSchema } from './validation';

const POLICIES = newestFirst('Organization.federationPolicies');
const MIN_TOKEN_LIFETIME_SECONDS = 60;

const ClaimCondition = builder.objectRef<{ claim: string; equals: string }>('ClaimCondition').implement({
  fields: (t) => ({
    claim: t.exposeString('claim'),
    equals: t.exposeString('equals'),
  }),
});

export const FederationPolicy = builder.prismaObject('FederationPolicy', {
  description: "Who may exchange an OIDC ID token (e.g. a GitHub Actions job's) for a short-lived SERVICE token.",
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    issuer: t.exposeString('issuer', { description: 'The `iss` the ID token must carry (one of FEDERATION_ISSUERS).' }),
    audience: t.exposeString('audience', { description: 'The `aud` it must carry.' }),
    subject: t.exposeString('subject', { nullable: true, description: 'The exact `sub`, when set.' }),
    claims: t.field({ type: [ClaimCondition], description: 'Every one must hold.', resolve: (policy) => claimConditions(policy.claims) }),
    role: t.expose('role', { type: RoleEnum }),
    scopeType: t.expose('scopeType', { type: ScopeTypeEnum }),
    organization: t.relation('organization'),
    space: t.relation('space', { nullable: true }),
    boards: t.prismaField({
      type: ['Board'],
      description: 'BOARDS scope: its boards that still exist and that the caller can see.',
      resolve: async (query, policy, _args, ctx) => {
        const boards = await ctx.prisma.board.findMany({
          ...query,
          where: { id: { in: policy.boardIds }, spaceId: policy.spaceId ?? '' },
          orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        });
        return boards.filter((board) => ctx.reach.canSee(placeOfBoard(board)));
      },
    }),
    tokenLifetimeSeconds: t.exposeInt('tokenLifetimeSeconds', { description: `Of the issued tokens; at most ${MAX_TOKEN_LIFETIME_SECONDS}.` }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.relation('createdByUser', { nullable: true }),
  }),
});

const FederationPolicyConnection = builder.connectionObject({ type: FederationPolicy, name: 'FederationPolicyConnection' });

builder.prismaObjectField(Organization, 'federationPolicies', (t) =>
  t.connection(
    {
      type: FederationPolicy,
      description: 'Newest first (OWNER only).',
      authScopes: (org) => ({ role: { place: { organizationId: org.id }, role: requiredRole('readFederationPolicies') } }),
      select: (args, _ctx, nestedSelection) => ({
        federationPolicies: withSortKey(nestedSelection(relationPageQuery(POLICIES, args), ['edges', 'node'])),
      }),
      // Loaded by `select` above, which the parent's type here does not know of.
      resolve: (org, args) => connectionOf<FederationPolicyRow>(POLICIES, args, (org as unknown as { federationPolicies: FederationPolicyRow[] }).federationPolicies),
    },
    FederationPolicyConnection,
  ),
);

builder.prismaObjectField('ApiToken', 'federationPolicy', (t) =>
  t.relation('federationPolicy', { nullable: true, description: 'The policy that issued it (exchangeFederatedToken), else null.' }),
);

const ClaimConditionInput = builder.inputType('ClaimConditionInput', {
  fields: (t) => ({
    claim: t.string({
      required: true,
      validate: z
        .string()
        .min(1, 'A claim name must not be empty.')
        .max(100, 'A claim name must be at most 100 characters.')
        .regex(/^[A-Za-z0-9_.:-]+$/, 'A claim name is made of letters, digits, _ . : and - (e.g. repository_owner_id).'),
    }),
    equals: t.string({
      required: true,
      validate: textSchema('A claim value').min(1, 'A claim value must not be empty.').max(1000, 'A claim value must be at most 1000 characters.'),
    }),
  }),
});

const CreateFederationPolicyInput = builder.inputType('CreateFederationPolicyInput', {
  fields: (t) => ({
    name: t.string({ required: true, validate: nameSchema('The name') }),
    issuer: t.string({ required: true, description: 'One of the issuers the gateway trusts (FEDERATION_ISSUERS).', validate: textSchema('The issuer').min(1, 'The issuer must not be empty.').max(500, 'The issuer must be at most 500 characters.') }),
    audience: t.string({ required: true, validate: textSchema('The audience').min(1, 'The audience must not be empty.').max(500, 'The audience must be at most 500 characters.') }),
    subject: t.string({ validate: textSchema('The subject').min(1, 'The subject must not be empty (omit it instead).').max(1000, 'The subject must be at most 1000 characters.').nullish() }),
    claims: t.field({
      type: [ClaimConditionInput],
      required: true,
      description: 'Every one must hold. For GitHub Actions: repository_owner_id (required) and repository_id (recommended), then e.g. ref, environment, job_workflow_ref.',
      validate: z.array(z.any()).max(MAX_CLAIM_CONDITIONS, `At most ${MAX_CLAIM_CONDITIONS} claim conditions.`),
    }),
    role: t.field({ type: RoleEnum, required: true }),
    organizationId: t.id({ description: 'Scope ORGANIZATION (exactly one of organizationId / spaceId / boardIds).', validate: idSchema.nullish() }),
    spaceId: t.id({ description: 'Scope SPACE.', validate: idSchema.nullish() }),
    boardIds: t.idList({
      description: 'Scope BOARDS (all in one space).',
      validate: z.array(idSchema).min(1, 'boardIds must name at least one board.').max(100, 'At most 100 boards.').nullish(),
    }),
    tokenLifetimeSeconds: t.int({
      defaultValue: DEFAULT_TOKEN_LIFETIME_SECONDS,
      validate: z
        .number()
        .int()
        .min(MIN_TOKEN_LIFETIME_SECONDS, `tokenLifetimeSeconds must be at least ${MIN_TOKEN_LIFETIME_SECONDS}.`)
        .max(MAX_TOKEN_LIFETIME_SECONDS, `tokenLifetimeSeconds must be at most ${MAX_TOKEN_LIFETIME_SECONDS} (1 hour).`)
        .nullish(),
    }),
  }),
});

/** The stored scope of a policy (its boards as given, deleted ones included: rights over them still count). */
function scopeOfPolicy(policy: FederationPolicyRow): TokenScope {
  if (policy.scopeType === 'ORGANIZATION') return { type: 'ORGANIZATION', organizationId: policy.organizationId };
  if (policy.scopeType === 'SPACE') return { type: 'SPACE', organizationId: policy.organizationId, spaceId: policy.spaceId! };
  return { type: 'BOARDS', organizationId: policy.organizationId, spaceId: policy.spaceId!, boardIds: policy.boardIds };
}

/** OWNER over the whole scope, from the roles table (FORBIDDEN with the caller's role otherwise). */
function assertOwnerOf(ctx: Context, scope: TokenScope, doing: string) {
  const role = roleEverywhereIn(ctx.reach, scope);
  const needed = requiredRole('manageFederationPolicies');
  if (!roleAtLeast(role, needed)) throw forbidden(`${doing} needs ${needed} in the policy's whole scope; your role there is ${role ?? 'none'}.`);
}

builder.mutationFields((t) => ({
  createFederationPolicy: t.prismaField({
    type: 'FederationPolicy',
    description: 'By an OWNER of its whole scope (a user), with a role no higher than theirs there. It must pin the workload: subject or claims.',
    args: { input: t.arg({ type: CreateFederationPolicyInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const user = principalUser(ctx.principal);
      // A SERVICE token (a federated one above all) must not make itself a way to outlive its expiry.
      if (!user) throw forbidden('Federation policies are created by a user (a session or a PERSONAL token), not by a SERVICE token.');
      const claims = input.claims.map((c) => ({ claim: c.claim, equals: c.equals }));
      const subject = input.subject ?? null;
      assertPolicyRules({ issuer: input.issuer, subject, claims }, ctx.config.federation);
      const scope = await resolveScope(ctx, input);
      if (!scope) throw badInput('A policy needs a scope: give organizationId, spaceId or boardIds.');
      const lifetime = input.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
      // The minting rule, as for the tokens it will issue: nothing its creator could not mint now.
      assertMayGrant(ctx.principal, ctx.reach, { kind: 'SERVICE', role: input.role, scope, expiresAt: new Date(Date.now() + lifetime * 1000), allowedIps: [] });
      assertOwnerOf(ctx, scope, 'Creating a federation policy');
      return ctx.prisma.$transaction(async (tx) => {
        const policy = await tx.federationPolicy.create({
          ...query,
          data: {
            name: input.name,
            issuer: input.issuer,
            audience: input.audience,
            subject,
            claims,
            role: input.role,
            scopeType: scope.type,
            organizationId: scope.organizationId,
            spaceId: scope.type === 'ORGANIZATION' ? null : scope.spaceId,
            boardIds: scope.type === 'BOARDS' ? [...scope.boardIds] : [],
            tokenLifetimeSeconds: lifetime,
            createdByUserId: user.id,
          },
        });
        await recordAudit(tx, ctx.principal, { action: 'federation.policy_created', organizationId: scope.organizationId, targetId: policy.id });
        return policy;
      });
    },
  }),
  deleteFederationPolicy: t.id({
    description: 'By an OWNER of its whole scope. The live tokens it issued are revoked at once.',
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    resolve: async (_root, args, ctx) => {
      const id = String(args.id);
      const policy = await ctx.prisma.federationPolicy.findUnique({ where: { id } });
      const place = policy && { organizationId: policy.organizationId, ...(policy.spaceId && { spaceId: policy.spaceId }) };
      if (!policy || !place || !ctx.reach.canSee(place)) throw notFound('Federation policy');
      assertOwnerOf(ctx, scopeOfPolicy(policy), 'Deleting a federation policy');
      await ctx.prisma.$transaction(async (tx) => {
        // An exchange issuing a token from this policy right now holds a key-share lock on its row
        // until it commits: wait for it, so that its token is revoked below too.
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM "FederationPolicy" WHERE id = ${id} FOR UPDATE`;
        if (locked.length === 0) return;
        const live = await tx.apiToken.findMany({ where: { federationPolicyId: id, revokedAt: null }, select: { id: true, organizationId: true } });
        await tx.apiToken.updateMany({
          where: { id: { in: live.map((token) => token.id) }, revokedAt: null },
          data: { revokedAt: new Date(), previousSecretHash: null, previousSecretExpiresAt: null },
        });
        for (const token of live) await recordAudit(tx, ctx.principal, { action: 'token.revoked', organizationId: token.organizationId, targetId: token.id });
        await tx.federationPolicy.delete({ where: { id } });
        await recordAudit(tx, ctx.principal, { action: 'federation.policy_deleted', organizationId: policy.organizationId, targetId: id });
      });
      return id;
    },
  }),
  exchangeFederatedToken: t.field({
    type: CreateApiTokenPayload,
    description:
      "No credential: a CI job's OIDC ID token (a JWT) for a short-lived SERVICE token. policyId picks one when several policies match the token.",
    skipTypeScopes: true,
    args: {
      idToken: t.arg.string({ required: true, validate: z.string().max(MAX_ID_TOKEN_LENGTH, `idToken must be at most ${MAX_ID_TOKEN_LENGTH} characters.`) }),
      policyId: t.arg.id({ validate: idSchema.nullish() }),
    },
    resolve: (_root, { idToken, policyId }, ctx) => exchangeFederatedToken(ctx, idToken, policyId == null ? null : String(policyId)),
  }),
}));
