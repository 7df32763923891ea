// Organizations and their memberships: queries, createOrganization, addMember, removeMember.
import { randomUUID } from 'node:crypto';
import { queryFromInfo } from '@pothos/plugin-prisma';
import { actorName, principalUser } from '../auth/principal';
import { grantsFromMemberships } from '../auth/reach';
import { requiredRole, type Role } from '../auth/roles';
import { recordAudit } from '../audit';
import type { Context } from '../context';
import { badInput, notFound } from '../errors';
import type { Membership as MembershipRow, Prisma, User as UserRow } from '../generated/prisma/client';
import { ApiToken, ApiTokenConnection, ApiTokenFilter, apiTokenFilterWhere } from './apiToken';
import { AuditEvent, AuditEventConnection } from './audit';
import { findVisible, locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { visibleOnly } from './visibility';
import { RoleEnum } from './enums';
import { connectionOf, newestFirst, oldestFirst, pageQuery, relationPageQuery, withSortKey } from './pagination';
import { Space, SpaceConnection } from './space';
import { User, Viewer } from './user';
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
  isTypeOf: visibleOnly('Organization', (org: { id: string }, ctx) => ctx.reach.canSee({ organizationId: org.id })),
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
    user: t.field({
      type: User,
      select: { user: true, acceptedAt: true, inviteeRef: true, invitedEmail: true },
      description:
        'While pending, the user reads as the invitation: an id of the invitation (for removeMember), the email ' +
        'as given, and that email as the name, whether an account with that email existed or not.',
      resolve: (m) => (m.acceptedAt ? m.user : pendingInvitee(m)),
    }),
    role: t.expose('role', { type: RoleEnum }),
    space: t.relation('space', { nullable: true, description: 'null: organization-wide membership' }),
    pending: t.boolean({
      select: { acceptedAt: true },
      description: 'An invitation not accepted yet: it grants nothing.',
      resolve: (m) => m.acceptedAt === null,
    }),
  }),
});

/** What an organization sees of a pending invitee: nothing that tells whether the account existed before. */
function pendingInvitee(m: { user: UserRow; inviteeRef: string | null; invitedEmail: string | null }): UserRow {
  const email = m.invitedEmail ?? '';
  return { ...m.user, id: m.inviteeRef ?? '', email, name: email };
}

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
      findVisible(ctx, id, (orgId) => ctx.prisma.organization.findUnique({ ...query, where: { id: orgId } }), (org) => ({ organizationId: org.id }), query),
  }),
}));

const CreateOrganizationInput = builder.inputType('CreateOrganizationInput', {
  fields: (t) => ({ name: t.string({ required: true, validate: nameSchema('The name') }) }),
});

const AddMemberInput = builder.inputType('AddMemberInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    email: t.string({
      required: true,
      // A well-formed email: an invitation to anything else would make a placeholder no one can claim.
      validate: textSchema('The email address').trim().max(254, 'The email address is too long.').email('Not a valid email address.').transform(emailKey),
    }),
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

/**
 * The caller's pending memberships of the organization, answered (accepted or declined) by
 * `answer` under the organization's membership lock; NOT_FOUND when there are none.
 */
async function answerInvitation(
  ctx: Context,
  organizationId: string,
  answer: (tx: Prisma.TransactionClient, pending: MembershipRow[], userId: string) => Promise<void>,
): Promise<MembershipRow[]> {
  const userId = principalUser(ctx.principal)!.id;
  return ctx.prisma.$transaction(async (tx) => {
    await lockMemberships(tx, organizationId);
    const pending = await tx.membership.findMany({ where: { userId, organizationId, acceptedAt: null } });
    if (pending.length === 0) throw notFound('Invitation');
    await answer(tx, pending, userId);
    return pending;
  });
}

/** An organization keeps at least one organization-wide OWNER (an invited one does not count until accepted). */
async function assertNotLastOwner(
  tx: Prisma.TransactionClient,
  membership: { organizationId: string; spaceId: string | null; role: Role; id: string; acceptedAt: Date | null },
) {
  if (membership.spaceId != null || membership.role !== 'OWNER' || !membership.acceptedAt) return;
  const otherOwners = await tx.membership.count({
    where: { organizationId: membership.organizationId, spaceId: null, role: 'OWNER', acceptedAt: { not: null }, id: { not: membership.id } },
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
          data: { userId: user.id, organizationId: created.id, levelId: created.id, role: 'OWNER', acceptedAt: new Date() },
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
    description:
      'Invites a person new to the organization (a pending membership, whether or not an account with that ' +
      'email exists: the answer is the same either way); for a member of the organization, adds a membership ' +
      'or changes the role of an existing one at that level at once.',
    args: { input: t.arg({ type: AddMemberInput, required: true }) },
    authScopes: requireRoleOn('addMember', 'Organization or space', ({ input }, ctx) => membershipPlace(ctx, input)),
    resolve: async (query, _root, { input }, ctx) => {
      const place = (await membershipPlace(ctx, input))!;
      const organizationId = place.organizationId;
      const spaceId = place.spaceId ?? null;
      const levelId = spaceId ?? organizationId;
      return ctx.prisma.$transaction(async (tx) => {
        await lockMemberships(tx, organizationId);
        // Known email or not, the same statements run (one upsert: a row is read, then one is
        // written, the same-value update standing for the insert), so neither the answer nor its
        // time tells whether an account exists. An unknown email gets a placeholder account.
        const invitee = await tx.user.upsert({
          where: { emailKey: input.email },
          create: { email: input.email, emailKey: input.email, name: input.email, passwordHash: null },
          update: { emailKey: input.email },
          select: { id: true },
        });
        const inOrganization = await tx.membership.findMany({ where: { userId: invitee.id, organizationId } });
        const existing = inOrganization.find((m) => m.levelId === levelId);

        if (!inOrganization.some((m) => m.acceptedAt)) {
          // New to the organization: an invitation, granting nothing until accepted.
          const inviteeRef = inOrganization[0]?.inviteeRef ?? randomUUID();
          const invitation = { role: input.role, invitedEmail: input.email, invitedByName: actorName(ctx.principal) };
          const membership = existing
            ? await tx.membership.update({ ...query, where: { id: existing.id }, data: invitation })
            : await tx.membership.create({
                ...query,
                data: { ...invitation, userId: invitee.id, organizationId, spaceId, levelId, inviteeRef },
              });
          await recordAudit(tx, ctx.principal, { action: 'member.invited', organizationId, targetId: inviteeRef });
          return membership;
        }

        // Already in the organization: applies at once.
        if (existing && input.role !== 'OWNER') await assertNotLastOwner(tx, existing);
        const membership = existing
          ? await tx.membership.update({
              ...query,
              where: { id: existing.id },
              data: { role: input.role, acceptedAt: existing.acceptedAt ?? new Date() },
            })
          : await tx.membership.create({
              ...query,
              data: { userId: invitee.id, organizationId, spaceId, levelId, role: input.role, acceptedAt: new Date() },
            });
        await recordAudit(tx, ctx.principal, {
          action: existing?.acceptedAt ? 'member.updated' : 'member.added',
          organizationId,
          targetId: invitee.id,
        });
        return membership;
      });
    },
  }),
  removeMember: t.id({
    description:
      "Removes the user's membership at that level; returns the id given. A pending membership (an invitation) " +
      'is named by the id its Membership.user shows while pending.',
    args: { input: t.arg({ type: RemoveMemberInput, required: true }) },
    authScopes: requireRoleOn('removeMember', 'Organization or space', ({ input }, ctx) => membershipPlace(ctx, input)),
    resolve: async (_root, { input }, ctx) => {
      const place = (await membershipPlace(ctx, input))!;
      const userId = String(input.userId);
      await ctx.prisma.$transaction(async (tx) => {
        await lockMemberships(tx, place.organizationId);
        const levelId = place.spaceId ?? place.organizationId;
        // A pending membership is named by its invitation's id (Membership.user.id while pending).
        const existing = await tx.membership.findFirst({
          where: { levelId, OR: [{ userId, acceptedAt: { not: null } }, { inviteeRef: userId, acceptedAt: null }] },
        });
        if (!existing) throw notFound('Membership');
        await assertNotLastOwner(tx, existing);
        await tx.membership.delete({ where: { id: existing.id } });
        await recordAudit(tx, ctx.principal, { action: 'member.removed', organizationId: place.organizationId, targetId: userId });
      });
      return userId;
    },
  }),
  acceptInvitation: t.prismaField({
    type: 'Organization',
    description: "Accepts all of the caller's pending memberships of the organization at once; returns the organization.",
    authScopes: { unrestrictedUser: true },
    args: { organizationId: t.arg.id({ required: true, validate: idSchema }) },
    resolve: async (query, _root, args, ctx) => {
      const organizationId = String(args.organizationId);
      const accepted = await answerInvitation(ctx, organizationId, async (tx, pending, userId) => {
        await tx.membership.updateMany({ where: { id: { in: pending.map((m) => m.id) } }, data: { acceptedAt: new Date() } });
        for (const _ of pending) await recordAudit(tx, ctx.principal, { action: 'member.added', organizationId, targetId: userId });
      });
      // In effect from this very request on, as createOrganization's membership is.
      for (const grant of grantsFromMemberships(accepted)) ctx.reach.add(grant);
      return ctx.prisma.organization.findUniqueOrThrow({ ...query, where: { id: organizationId } });
    },
  }),
  declineInvitation: t.boolean({
    description: "Declines (deletes) all of the caller's pending memberships of the organization.",
    authScopes: { unrestrictedUser: true },
    args: { organizationId: t.arg.id({ required: true, validate: idSchema }) },
    resolve: async (_root, args, ctx) => {
      const organizationId = String(args.organizationId);
      await answerInvitation(ctx, organizationId, async (tx, pending) => {
        await tx.membership.deleteMany({ where: { id: { in: pending.map((m) => m.id) } } });
        // Named as the organization saw the invitation.
        await recordAudit(tx, ctx.principal, { action: 'member.declined', organizationId, targetId: pending[0].inviteeRef! });
      });
      return true;
    },
  }),
}));

type InvitationRow = Prisma.MembershipGetPayload<{ include: { organization: true; space: true } }>;

const Invitation = builder.objectRef<InvitationRow>('Invitation').implement({
  description: 'A pending membership of the viewer: it grants nothing until accepted (acceptInvitation).',
  fields: (t) => ({
    organizationId: t.exposeID('organizationId'),
    organizationName: t.string({ resolve: (m) => m.organization.name }),
    spaceId: t.exposeID('spaceId', { nullable: true }),
    spaceName: t.string({ nullable: true, resolve: (m) => m.space?.name ?? null }),
    role: t.expose('role', { type: RoleEnum }),
    invitedByName: t.string({ resolve: (m) => m.invitedByName ?? '' }),
    invitedAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectField(Viewer, 'invitations', (t) =>
  t.field({
    type: [Invitation],
    description: "The viewer's pending memberships, oldest first (a session or a PERSONAL token with the user's full rights).",
    authScopes: { unrestrictedUser: true },
    resolve: (_viewer, _args, ctx) =>
      ctx.prisma.membership.findMany({
        where: { userId: principalUser(ctx.principal)!.id, acceptedAt: null },
        include: { organization: true, space: true },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      }),
  }),
);
