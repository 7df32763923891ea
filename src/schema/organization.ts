// Organizations and their memberships: queries, createOrganization, addMember, removeMember.
import { queryFromInfo } from '@pothos/plugin-prisma';
import { principalUser } from '../auth/principal';
import { requiredRole, type Role } from '../auth/roles';
import { recordAudit } from '../audit';
import type { Context } from '../context';
import { badInput, notFound } from '../errors';
import type { Prisma } from '../generated/prisma/client';
import { ApiToken, ApiTokenConnection, ApiTokenFilter, apiTokenFilterWhere } from './apiToken';
import { AuditEvent, AuditEventConnection } from './audit';
import { findVisible, locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { RoleEnum } from './enums';
import { connectionOf, newestFirst, oldestFirst, pageQuery, relationPageQuery, withSortKey } from './pagination';
import { Space, SpaceConnection } from './space';
import { emailKey, idSchema, nameSchema, textSchema } from './validation';

const ORGANIZATIONS = oldestFirst('Query.organizations');
const SPACES = oldestFirst('Organization.spaces');
const MEMBERS = oldestFirst('Organization.members');
const TOKENS = newestFirst('Organization.apiTokens');
const AUDIT_EVENTS = newestFirst('Organization.auditEvents');

/** An OWNER-only field of an organization (FORBIDDEN below OWNER; the organization then reads null). */
const ownerOnly = (operation: 'readMembers' | 'readOrganizationApiTokens' | 'readAuditEvents') => (org: { id: string }) => ({
  role: { place: { organizationId: org.id }, role: requiredRole(operation) },
});

export const Organization = builder.prismaObject('Organization', {
  // Defence in depth: whatever resolver returns an organization, it must be visible.
  authScopes: (org) => ({ visible: { organizationId: org.id } }),
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    viewerRole: t.field({
      type: RoleEnum,
      nullable: true,
      description: "The caller's role over the whole organization (null if only parts are visible).",
      resolve: (org, _args, ctx) => ctx.reach.roleAt({ organizationId: org.id }),
    }),
    // Each connection loads with the organization, in its query (no N+1).
    spaces: t.connection(
      {
        type: Space,
        description: 'The spaces the caller can see, oldest first.',
        select: (args, ctx, nestedSelection) => {
          const visible = ctx.reach.spaceFilter();
          const where = { OR: [{ organizationId: { in: visible.organizationIds } }, { id: { in: visible.spaceIds } }] };
          return { spaces: withSortKey(nestedSelection(relationPageQuery(SPACES, args, where), ['edges', 'node'])) };
        },
        resolve: (org, args) => connectionOf<typeof Space.$inferType>(SPACES, args, org.spaces),
      },
      SpaceConnection,
    ),
    members: t.connection(
      {
        type: Membership,
        description: 'Oldest first (OWNER only).',
        authScopes: ownerOnly('readMembers'),
        select: (args, _ctx, nestedSelection) => ({ memberships: withSortKey(nestedSelection(relationPageQuery(MEMBERS, args), ['edges', 'node'])) }),
        resolve: (org, args) => connectionOf<typeof Membership.$inferType>(MEMBERS, args, org.memberships),
      },
      MembershipConnection,
    ),
    apiTokens: t.connection(
      {
        type: ApiToken,
        description: 'Every token of the organization (OWNER only), newest first.',
        authScopes: ownerOnly('readOrganizationApiTokens'),
        args: { filter: t.arg({ type: ApiTokenFilter }) },
        select: (args, _ctx, nestedSelection) => ({
          apiTokens: withSortKey(nestedSelection(relationPageQuery(TOKENS, args, apiTokenFilterWhere(args.filter)), ['edges', 'node'])),
        }),
        resolve: (org, args) => connectionOf<typeof ApiToken.$inferType>(TOKENS, args, org.apiTokens),
      },
      ApiTokenConnection,
    ),
    auditEvents: t.connection(
      {
        type: AuditEvent,
        description: 'Newest first (OWNER only).',
        authScopes: ownerOnly('readAuditEvents'),
        select: (args, _ctx, nestedSelection) => ({ auditEvents: withSortKey(nestedSelection(relationPageQuery(AUDIT_EVENTS, args), ['edges', 'node'])) }),
        resolve: (org, args) => connectionOf<typeof AuditEvent.$inferType>(AUDIT_EVENTS, args, org.auditEvents),
      },
      AuditEventConnection,
    ),
  }),
});

export const OrganizationConnection = builder.connectionObject({ type: Organization, name: 'OrganizationConnection' });

export const Membership = builder.prismaObject('Membership', {
  fields: (t) => ({
    user: t.relation('user'),
    role: t.expose('role', { type: RoleEnum }),
    space: t.relation('space', { nullable: true, description: 'null: organization-wide membership' }),
  }),
});

export const MembershipConnection = builder.connectionObject({ type: Membership, name: 'MembershipConnection' });

builder.queryFields((t) => ({
  organizations: t.connection(
    {
      type: Organization,
      description: 'The organizations the caller can see (wholly or in part), oldest first.',
      resolve: async (_root, args, ctx, info) => {
        const page = pageQuery(ORGANIZATIONS, args, { id: { in: ctx.reach.organizationIds() } });
        const rows = await ctx.prisma.organization.findMany({ ...withSortKey(queryFromInfo({ context: ctx, info, path: ['edges', 'node'] })), ...page });
        return connectionOf<typeof Organization.$inferType>(ORGANIZATIONS, args, rows);
      },
    },
    OrganizationConnection,
  ),
  organization: t.prismaField({
    type: 'Organization',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      findVisible(ctx, query, id, (orgId) => ctx.prisma.organization.findUnique({ ...query, where: { id: orgId } }), (org) => ({
        organizationId: org.id,
      })),
  }),
}));

const CreateOrganizationInput = builder.inputType('CreateOrganizationInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema('The name') }) }),
});

const AddMemberInput = builder.inputType('AddMemberInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    email: t.string({ required: true, validate: textSchema('The email address').max(254).transform(emailKey) }),
    role: t.field({ type: RoleEnum, required: true }),
    spaceId: t.id({ description: 'Set for a membership of one space; omit for organization-wide.', validate: idSchema.nullish() }),
  }),
});

const RemoveMemberInput = builder.inputType('RemoveMemberInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    userId: t.id({ required: true, validate: idSchema }),
    spaceId: t.id({ validate: idSchema.nullish() }),
  }),
});

/** The membership level an input names: the organization, or one space of it. */
async function membershipPlace(ctx: Context, input: { organizationId: string | number; spaceId?: string | number | null }) {
  const organizationId = String(input.organizationId);
  if (!(await locate.organization(ctx, organizationId))) return null;
  if (input.spaceId == null) return { organizationId };
  const space = await locate.space(ctx, String(input.spaceId));
  return space && space.organizationId === organizationId ? space : null;
}

/**
 * Serialises membership changes within one organization (a row lock on it until the transaction
 * ends): two OWNERs removing or demoting each other at once must not both pass the check below.
 */
async function lockMemberships(tx: Prisma.TransactionClient, organizationId: string) {
  await tx.$queryRaw`SELECT id FROM "Organization" WHERE id = ${organizationId} FOR UPDATE`;
}

/** An organization keeps at least one organization-wide OWNER. */
async function assertNotLastOwner(
  tx: Prisma.TransactionClient,
  membership: { organizationId: string; spaceId: string | null; role: Role; id: string },
) {
  if (membership.spaceId != null || membership.role !== 'OWNER') return;
  const otherOwners = await tx.membership.count({
    where: { organizationId: membership.organizationId, spaceId: null, role: 'OWNER', id: { not: membership.id } },
  });
  if (otherOwners === 0) throw badInput('An organization needs at least one organization-wide OWNER: add another first.');
}

builder.mutationFields((t) => ({
  createOrganization: t.prismaField({
    type: 'Organization',
    description: 'The caller (a user) becomes its OWNER. Not for SERVICE tokens or scoped/capped PERSONAL tokens.',
    authScopes: { unrestrictedUser: true },
    args: { input: t.arg({ type: CreateOrganizationInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const user = principalUser(ctx.principal)!;
      const organization = await ctx.prisma.$transaction(async (tx) => {
        const created = await tx.organization.create({ ...query, data: { name: input.name } });
        await tx.membership.create({
          data: { userId: user.id, organizationId: created.id, levelId: created.id, role: 'OWNER' },
        });
        await recordAudit(tx, ctx.principal, { action: 'member.added', organizationId: created.id, targetId: user.id });
        return created;
      });
      ctx.reach.add({ organizationId: organization.id, role: 'OWNER' });
      return organization;
    },
  }),
  addMember: t.prismaField({
    type: 'Membership',
    description: 'Adds a membership, or changes the role of an existing one at that level.',
    args: { input: t.arg({ type: AddMemberInput, required: true }) },
    authScopes: requireRoleOn('addMember', 'Organization or space', ({ input }, ctx) => membershipPlace(ctx, input)),
    resolve: async (query, _root, { input }, ctx) => {
      const place = (await membershipPlace(ctx, input))!;
      const user = await ctx.prisma.user.findUnique({ where: { emailKey: input.email } });
      if (!user) throw notFound('A user with that email address');
      const spaceId = place.spaceId ?? null;
      const levelId = spaceId ?? place.organizationId;
      return ctx.prisma.$transaction(async (tx) => {
        await lockMemberships(tx, place.organizationId);
        const existing = await tx.membership.findUnique({ where: { userId_levelId: { userId: user.id, levelId } } });
        if (existing && input.role !== 'OWNER') await assertNotLastOwner(tx, existing);
        const membership = existing
          ? await tx.membership.update({ ...query, where: { id: existing.id }, data: { role: input.role } })
          : await tx.membership.create({
              ...query,
              data: { userId: user.id, organizationId: place.organizationId, spaceId, levelId, role: input.role },
            });
        await recordAudit(tx, ctx.principal, {
          action: existing ? 'member.updated' : 'member.added',
          organizationId: place.organizationId,
          targetId: user.id,
        });
        return membership;
      });
    },
  }),
  removeMember: t.id({
    description: "Removes the user's membership at that level; returns the user's id.",
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    authScopes: requireRoleOn('removeMember', 'Organization or space', ({ input }, ctx) => membershipPlace(ctx, input)),
    resolve: async (_root, { input }, ctx) => {
      const place = (await membershipPlace(ctx, input))!;
      const userId = String(input.userId);
      await ctx.prisma.$transaction(async (tx) => {
        await lockMemberships(tx, place.organizationId);
        const levelId = place.spaceId ?? place.organizationId;
        const existing = await tx.membership.findUnique({ where: { userId_levelId: { userId, levelId } } });
        if (!existing) throw notFound('Membership');
        await assertNotLastOwner(tx, existing);
        await tx.membership.delete({ where: { id: existing.id } });
        await recordAudit(tx, ctx.principal, { action: 'member.removed', organizationId: place.organizationId, targetId: userId });
      });
      return userId;
    },
  }),
}));
