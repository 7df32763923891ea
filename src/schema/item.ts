// Items and their updates: item(id), createItem, updateItem, deleteItem, postItemUpdate.
import { actorName } from '../auth/principal';
import { placeOfItem } from '../loaders';
import { findVisible, locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { visibleOnly } from './visibility';
import { connectionOf, newestFirst, relationPageQuery, withSortKey } from './pagination';
import { idSchema, nameSchema, textSchema } from './validation';

const status = textSchema('The status').trim().max(200, 'The status must be at most 200 characters.').nullish();

const UPDATES = newestFirst('Item.updates');

// Visibility is checked where items are handed out, not per item: a type scope here ran for
// every item of a page (scope-auth's request cache, a closure and a Map entry per item; issue
// 10). Items reach a response only through ItemConnection (checked below, once per page) and
// the fields test/itemVisibility.test.ts lists, each checked in its resolver.
export const Item = builder.prismaObject('Item', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    status: t.exposeString('status', { nullable: true }),
    board: t.relation('board'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updates: t.connection(
      {
        type: ItemUpdate,
        description: 'Newest first.',
        select: (args, _ctx, nestedSelection) => ({ updates: withSortKey(nestedSelection(relationPageQuery(UPDATES, args), ['edges', 'node'])) }),
        resolve: (item, args) => connectionOf<typeof ItemUpdate.$inferType>(UPDATES, args, item.updates),
      },
      ItemUpdateConnection,
    ),
  }),
});

type ItemEdge = { node: typeof Item.$inferType };

export const ItemConnection = builder.connectionObject({
  type: Item,
  name: 'ItemConnection',
  // Each item row carries its board's place; a page is one board's, so one place to check.
  // connectionOf builds edges as an array of settled edges; anything else is refused.
  isTypeOf: visibleOnly('ItemConnection', (connection: { edges: unknown }, ctx) =>
    Array.isArray(connection.edges) && ctx.reach.canSeeEach(connection.edges as readonly ItemEdge[], (edge) => placeOfItem(edge.node)),
  ),
});

export const ItemUpdate = builder.prismaObject('ItemUpdate', {
  fields: (t) => ({
    id: t.exposeID('id'),
    body: t.exposeString('body'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    authorName: t.exposeString('authorName', { description: "The user's name, or the token's name for a SERVICE token." }),
  }),
});

export const ItemUpdateConnection = builder.connectionObject({ type: ItemUpdate, name: 'ItemUpdateConnection' });

builder.queryField('item', (t) =>
  t.prismaField({
    type: 'Item',
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (query, _root, { id }, ctx) =>
      findVisible(ctx, id, (itemId) => ctx.prisma.item.findUnique({ ...query, where: { id: itemId } }), placeOfItem, query),
  }),
);

const CreateItemInput = builder.inputType('CreateItemInput', {
  fields: (t) => ({
    boardId: t.id({ required: true, validate: idSchema }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
    status: t.string({ validate: status }),
  }),
});

const UpdateItemInput = builder.inputType('UpdateItemInput', {
  fields: (t) => ({
    id: t.id({ required: true, validate: idSchema }),
    name: t.string({ validate: nameSchema('The name').nullish() }),
    status: t.string({ validate: status }),
  }),
});

const PostItemUpdateInput = builder.inputType('PostItemUpdateInput', {
  fields: (t) => ({
    itemId: t.id({ required: true, validate: idSchema }),
    body: t.string({
      required: true,
      validate: textSchema('The body').trim().min(1, 'The body must not be empty.').max(10_000, 'The body must be at most 10000 characters.'),
    }),
  }),
});

builder.mutationFields((t) => ({
  createItem: t.prismaField({
    type: 'Item',
    args: { input: t.arg({ type: CreateItemInput, required: true }) },
    authScopes: requireRoleOn('createItem', 'Board', ({ input }, ctx) => locate.board(ctx, String(input.boardId))),
    resolve: async (query, _root, { input }, ctx) => {
      const board = (await ctx.loaders.board(String(input.boardId)))!;
      return ctx.prisma.item.create({
        ...query,
        data: { boardId: board.id, spaceId: board.spaceId, organizationId: board.organizationId, name: input.name, status: input.status ?? null },
      });
    },
  }),
  updateItem: t.prismaField({
    type: 'Item',
    args: { input: t.arg({ type: UpdateItemInput, required: true }) },
    authScopes: requireRoleOn('updateItem', 'Item', ({ input }, ctx) => locate.item(ctx, String(input.id))),
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.item.update({
        ...query,
        where: { id: String(input.id) },
        // An omitted field stays as it is; status: null clears the status.
        data: { ...(input.name != null && { name: input.name }), ...(input.status !== undefined && { status: input.status }) },
      }),
  }),
  deleteItem: t.id({
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    authScopes: requireRoleOn('deleteItem', 'Item', ({ id }, ctx) => locate.item(ctx, String(id))),
    resolve: async (_root, { id }, ctx) => {
      await ctx.prisma.item.delete({ where: { id: String(id) } });
      return String(id);
    },
  }),
  postItemUpdate: t.prismaField({
    type: 'ItemUpdate',
    description: 'Append-only reporting (e.g. CI results): needs AGENT on the item\'s board.',
    args: { input: t.arg({ type: PostItemUpdateInput, required: true }) },
    authScopes: requireRoleOn('postItemUpdate', 'Item', ({ input }, ctx) => locate.item(ctx, String(input.itemId))),
    resolve: (query, _root, { input }, ctx) =>
      ctx.prisma.itemUpdate.create({
        ...query,
        data: { itemId: String(input.itemId), body: input.body, authorName: actorName(ctx.principal) },
      }),
  }),
}));
