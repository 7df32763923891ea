// Spaces: the space(id) query, createSpace, updateSpace, deleteSpace.
import { recordAudit } from '../audit';
import { placeOfSpace } from '../loaders';
import { findVisible, locate, requireRoleOn } from './authorize';
import { Board, BoardConnection } from './board';
import { builder } from './builder';
import { visibleOnly } from './visibility';
import { RoleEnum } from './enums';
import { connectionOf, oldestFirst, relationPageQuery, withSortKey } from './pagination';
import { idSchema, nameSchema } from './validation';

const BOARDS = oldestFirst('Space.boards');

export const Space = builder.prismaObject('Space', {
  isTypeOf: visibleOnly('Space', (space: { id: string; organizationId: string }, ctx) => ctx.reach.canSee(placeOfSpace(space))),
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    organization: t.relation('organization'),
    viewerRole: t.field({
      type: RoleEnum,
      nullable: true,
      description: "The caller's role over the whole space (null if only some boards are visible).",
      resolve: (space, _args, ctx) => ctx.reach.roleAt(placeOfSpace(space)),
    }),
    boards: t.connection(
      {
        type: Board,
        description: 'The boards the caller can see, oldest first.',
        select: (args, ctx, nestedSelection) => {
          const visible = ctx.reach.boardFilter();
          const where = {
            OR: [{ organizationId: { in: visible.organizationIds } }, { spaceId: { in: visible.spaceIds } }, { id: { in: visible.boardIds } }],
          };
          return { boards: withSortKey(nestedSelection(relationPageQuery(BOARDS, args, where), ['edges', 'node'])) };
        },
        resolve: (space, args) => connectionOf<typeof Board.$inferType>(BOARDS, args, space.boards),
      },
      BoardConnection,
    ),
  }),
});

export const SpaceConnection = builder.connectionObject({ type: Space, name: 'SpaceConnection' });

builder.queryField('space', (t) =>
  t.prismaField({
    type: 'Space',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      findVisible(ctx, id, (spaceId) => ctx.prisma.space.findUnique({ ...query, where: { id: spaceId } }), placeOfSpace, query),
  }),
);

const CreateSpaceInput = builder.inputType('CreateSpaceInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
  }),
});

const UpdateSpaceInput = builder.inputType('UpdateSpaceInput', {
  fields: (t) => ({
    id: t.id({ required: true, validate: idSchema }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
  }),
});

builder.mutationFields((t) => ({
  createSpace: t.prismaField({
    type: 'Space',
    args: { input: t.arg({ type: CreateSpaceInput, required: true }) },
    authScopes: requireRoleOn('createSpace', 'Organization', ({ input }, ctx) =>
      locate.organization(ctx, String(input.organizationId)),
    ),
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.space.create({ ...query, data: { organizationId: String(input.organizationId), name: input.name } }),
  }),
  updateSpace: t.prismaField({
    type: 'Space',
    args: { input: t.arg({ type: UpdateSpaceInput, required: true }) },
    authScopes: requireRoleOn('updateSpace', 'Space', ({ input }, ctx) => locate.space(ctx, String(input.id))),
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.space.update({ ...query, where: { id: String(input.id) }, data: { name: input.name } }),
  }),
  deleteSpace: t.id({
    description: 'Deletes the space with its boards, items and space-scoped tokens. Needs OWNER in that space.',
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    authScopes: requireRoleOn('deleteSpace', 'Space', ({ id }, ctx) => locate.space(ctx, String(id))),
    resolve: async (_root, { id }, ctx) => {
      const spaceId = String(id);
      await ctx.prisma.$transaction(async (tx) => {
        // What the cascade removes is audited like any other removal.
        const memberships = await tx.membership.findMany({ where: { spaceId }, select: { userId: true, acceptedAt: true, inviteeRef: true } });
        const tokens = await tx.apiToken.findMany({ where: { spaceId }, select: { id: true } });
        const space = await tx.space.delete({ where: { id: spaceId } });
        const organizationId = space.organizationId;
        for (const m of memberships) {
          // A pending membership is named as the organization saw it: by its invitation's id.
          const targetId = m.acceptedAt ? m.userId : (m.inviteeRef ?? m.userId);
          await recordAudit(tx, ctx.principal, { action: 'member.removed', organizationId, targetId });
        }
        for (const token of tokens) {
          await recordAudit(tx, ctx.principal, { action: 'token.deleted', organizationId, targetId: token.id });
        }
      });
      return spaceId;
    },
  }),
}));
