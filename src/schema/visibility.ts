// What a caller can see at all, before any role is asked for (issue 10: neither check keeps
// scope-auth's per-request state, which a read of a board and its items now never creates):
// - Every Query field needs a credential: an anonymous caller gets UNAUTHENTICATED at each
//   one. (Mutations keep their type scope in scope-auth: signUp, logIn and the other public ones
//   skip it there.)
// - The types whose objects belong to a place (Organization, Space, Board, a page of items) are
//   seen only where the caller can see that place, whatever resolver returned them: graphql-js
//   asks an object type's isTypeOf about every object it completes, so the check runs once per
//   object, and a hidden one is one error at the field that returned it.
// Who may do what inside a visible place stays with scope-auth's scopes and the roles table.
import { defaultFieldResolver, isObjectType, type GraphQLResolveInfo, type GraphQLSchema } from 'graphql';
import type { Context } from '../context';
import { forbidden, unauthenticated } from '../errors';

type VisibilityCheck = (value: unknown, ctx: Context, info: GraphQLResolveInfo) => boolean;
const checks = new WeakSet<VisibilityCheck>();

/** An isTypeOf that lets through what `visible` accepts and refuses the rest. */
export function visibleOnly<T>(typeName: string, visible: (value: T, ctx: Context) => boolean): VisibilityCheck {
  const check: VisibilityCheck = (value, ctx) => {
    if (visible(value as T, ctx)) return true;
    throw ctx.principal.kind === 'anonymous' ? unauthenticated() : forbidden(`Not authorized to read fields for ${typeName}`);
  };
  checks.add(check);
  return check;
}

/** `schema` with every Query field refusing an anonymous caller. */
export function queriesNeedACredential(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getQueryType()?.getFields() ?? {})) {
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (root, args, ctx: Context, info) => {
      if (ctx.principal.kind === 'anonymous') throw unauthenticated();
      return resolve(root, args, ctx, info);
    };
  }
  return schema;
}

/** `schema` without its visibility checks: only for the benchmark's open-access baseline. */
export function withoutVisibilityChecks(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) && type.isTypeOf && checks.has(type.isTypeOf as VisibilityCheck)) type.isTypeOf = undefined;
  }
  return schema;
}
