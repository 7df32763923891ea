// Organization token policies: Organization.tokenPolicy and updateOrganizationTokenPolicy, for
// the organization's OWNERs. The rules themselves live in auth/tokenPolicy.ts.
import { z } from 'zod';
import { recordAudit } from '../audit';
import { NO_POLICY, type TokenPolicy } from '../auth/tokenPolicy';
import { requiredRole } from '../auth/roles';
import { locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { Organization } from './organization';
import { idSchema } from './validation';

/** Ten years, as the longest expiry a token may be given. */
const MAX_LIFETIME_SECONDS = 10 * 365 * 86_400;
const MIN_LIFETIME_SECONDS = 60;

const OrganizationTokenPolicy = builder.objectRef<TokenPolicy>('OrganizationTokenPolicy').implement({
  description: "Rules for the organization's tokens, set by its OWNERs (GitHub's organization token policy).",
  fields: (t) => ({
    maxLifetimeSeconds: t.exposeInt('maxLifetimeSeconds', {
      nullable: true,
      description: 'The longest a token may still be valid for, from now; null: no maximum.',
    }),
    requireExpiry: t.exposeBoolean('requireExpiry', { description: 'Tokens without an expiry are refused.' }),
    allowPersonalTokens: t.exposeBoolean('allowPersonalTokens', { description: 'PERSONAL tokens scoped to (or reaching) this organization are allowed.' }),
  }),
});

const policyOf = (row: TokenPolicy | null): TokenPolicy =>
  row ? { maxLifetimeSeconds: row.maxLifetimeSeconds, requireExpiry: row.requireExpiry, allowPersonalTokens: row.allowPersonalTokens } : NO_POLICY;

builder.objectField(Organization, 'tokenPolicy', (t) =>
  t.field({
    type: OrganizationTokenPolicy,
    description: 'OWNER only.',
    authScopes: (org) => ({ role: { place: { organizationId: org.id }, role: requiredRole('manageTokenPolicy') } }),
    resolve: async (org, _args, ctx) => policyOf(await ctx.prisma.organizationTokenPolicy.findUnique({ where: { organizationId: org.id } })),
  }),
);

const UpdateOrganizationTokenPolicyInput = builder.inputType('UpdateOrganizationTokenPolicyInput', {
  description: 'Omitted fields stay as they are.',
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    maxLifetimeSeconds: t.int({
      description: `At least ${MIN_LIFETIME_SECONDS}, at most ${MAX_LIFETIME_SECONDS} (10 years); null: no maximum.`,
      validate: z
        .number()
        .int()
        .min(MIN_LIFETIME_SECONDS, `maxLifetimeSeconds must be at least ${MIN_LIFETIME_SECONDS}.`)
        .max(MAX_LIFETIME_SECONDS, `maxLifetimeSeconds must be at most ${MAX_LIFETIME_SECONDS} (10 years).`)
        .nullish(),
    }),
    requireExpiry: t.boolean(),
    allowPersonalTokens: t.boolean(),
  }),
});

builder.mutationField('updateOrganizationTokenPolicy', (t) =>
  t.field({
    type: OrganizationTokenPolicy,
    description:
      'New tokens and updates that break the policy are refused; existing tokens that break it are refused inside the ' +
      'organization (HTTP 403 naming the rule), not revoked, until they are changed or the policy is. OWNER only.',
    args: { input: t.arg({ type: UpdateOrganizationTokenPolicyInput, required: true }) },
    authScopes: requireRoleOn('manageTokenPolicy', 'Organization', ({ input }, ctx) => locate.organization(ctx, String(input.organizationId))),
    resolve: async (_root, { input }, ctx) => {
      const organizationId = String(input.organizationId);
      const changes = {
        ...(input.maxLifetimeSeconds !== undefined && { maxLifetimeSeconds: input.maxLifetimeSeconds }),
        ...(input.requireExpiry != null && { requireExpiry: input.requireExpiry }),
        ...(input.allowPersonalTokens != null && { allowPersonalTokens: input.allowPersonalTokens }),
      };
      const policy = await ctx.prisma.$transaction(async (tx) => {
        const saved = await tx.organizationTokenPolicy.upsert({
          where: { organizationId },
          create: { organizationId, ...changes },
          update: changes,
        });
        await recordAudit(tx, ctx.principal, { action: 'organization.token_policy_updated', organizationId, targetId: organizationId });
        return saved;
      });
      return policyOf(policy);
    },
  }),
);
