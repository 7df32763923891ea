// Boards: the board(id) query, createBoard, updateBoard, deleteBoard.
import { placeOfBoard } from '../loaders';
import { findVisible, locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { visibleOnly } from './visibility';
import { Item, ItemConnection } from './item';
import { connectionOf, oldestFirst, planPage } from './pagination';
import { idSchema, nameSchema, textSchema } from './validation';

const ITEMS = oldestFirst('Board.items');

export const Board = builder.prismaObject('Board', {
  isTypeOf: visibleOnly('Board', (board: { spaceId: string; organizationId: string; id: string }, ctx) => ctx.reach.canSee(placeOfBoard(board))),
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    space: t.relation('space'),
    items: t.connection(
      {
        type: Item,
        description: 'Oldest first.',
        args: { status: t.arg.string({ description: 'Only items with exactly this status.', validate: textSchema('The status').max(200).nullish() }) },
        // Read in SQL (src/db/hotReads.ts), the pages of every board of a response in one
        // statement per page shape (no N+1).
        resolve: async (board, args, ctx) => {
          const { keyBounds: bounds, direction, size } = planPage(ITEMS, args);
          const rows = await ctx.loaders.itemPages.load({ boardId: board.id, shape: { status: args.status ?? null, bounds, direction, take: size + 1 } });
          return connectionOf<typeof Item.$inferType>(ITEMS, args, rows);
        },
      },
      ItemConnection,
    ),
  }),
});

export const BoardConnection = builder.connectionObject({ type: Board, name: 'BoardConnection' });

builder.queryField('board', (t) =>
  t.field({
    type: Board,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    // The board's row in SQL (src/db/hotReads.ts); its relations, when asked for, through Prisma.
    resolve: (_root, { id }, ctx) => findVisible(ctx, id, ctx.loaders.board, placeOfBoard),
  }),
);

const CreateBoardInput = builder.inputType('CreateBoardInput', {
  fields: (t) => ({
    spaceId: t.id({ required: true, validate: idSchema }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
  }),
});

const UpdateBoardInput = builder.inputType('UpdateBoardInput', {
  fields: (t) => ({
    id: t.id({ required: true, validate: idSchema }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
  }),
});

builder.mutationFields((t) => ({
  createBoard: t.prismaField({
    type: 'Board',
    args: { input: t.arg({ type: CreateBoardInput, required: true }) },
    authScopes: requireRoleOn('createBoard', 'Space', ({ input }, ctx) => locate.space(ctx, String(input.spaceId))),
    resolve: async (query, _root, { input }, ctx) => {
      const space = (await ctx.loaders.space(String(input.spaceId)))!;
      return ctx.prisma.board.create({
        ...query,
        data: { spaceId: space.id, organizationId: space.organizationId, name: input.name },
      });
    },
  }),
  updateBoard: t.prismaField({
    type: 'Board',
    args: { input: t.arg({ type: UpdateBoardInput, required: true }) },
    authScopes: requireRoleOn('updateBoard', 'Board', ({ input }, ctx) => locate.board(ctx, String(input.id))),
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.board.update({ ...query, where: { id: String(input.id) }, data: { name: input.name } }),
  }),
  deleteBoard: t.id({
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    authScopes: requireRoleOn('deleteBoard', 'Board', ({ id }, ctx) => locate.board(ctx, String(id))),
    resolve: async (_root, { id }, ctx) => {
      await ctx.prisma.board.delete({ where: { id: String(id) } });
      return String(id);
    },
  }),
}));
