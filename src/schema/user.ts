// Users, accounts (signUp, logIn) and the viewer.
import { type IssuedToken, issueToken } from '../auth/issueToken';
import { MIN_PASSWORD_LENGTH, hashSecret, verifyAgainstDummy, verifySecret } from '../auth/password';
import { principalToken, principalUser } from '../auth/principal';
import { SESSION_TOKEN_PREFIX } from '../auth/tokenFormat';
import { badInput, unauthenticated } from '../errors';
import type { PrismaClient, User as UserRow } from '../generated/prisma/client';
import { builder } from './builder';
import { emailKey, nameSchema, textSchema } from './validation';
import { z } from 'zod';

export const User = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    email: t.exposeString('email'),
    name: t.exposeString('name'),
  }),
});

export const Viewer = builder.objectRef<{ kind: 'viewer' }>('Viewer').implement({
  description: 'Who is calling: the user (null for a SERVICE token) and the token used.',
  fields: (t) => ({
    user: t.field({ type: User, nullable: true, resolve: (_v, _a, ctx) => principalUser(ctx.principal) }),
    apiToken: t.prismaField({
      type: 'ApiToken',
      nullable: true,
      resolve: (query, _v, _a, ctx) => {
        const token = principalToken(ctx.principal);
        // Spread even without a token: Pothos (onUnusedQuery) fails a resolver that leaves its query unused.
        const select = { ...query };
        return token ? ctx.prisma.apiToken.findUnique({ ...select, where: { id: token.id } }) : null;
      },
    }),
  }),
});

builder.queryField('viewer', (t) => t.field({ type: Viewer, resolve: () => ({ kind: 'viewer' as const }) }));

const AuthPayload = builder.objectRef<{ user: UserRow; token: string; expiresAt: Date }>('AuthPayload').implement({
  fields: (t) => ({
    user: t.field({ type: User, resolve: (p) => p.user }),
    token: t.exposeString('token', { description: 'A short-lived session bearer token.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
  }),
});

const email = z
  .string()
  .trim()
  .max(254, 'The email address is too long.')
  .email('Not a valid email address.');

const SignUpInput = builder.inputType('SignUpInput', {
  fields: (t) => ({
    email: t.string({ required: true, validate: email }),
    password: t.string({
      required: true,
      validate: z
        .string()
        .min(MIN_PASSWORD_LENGTH, `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`)
        .max(1024, 'The password must be at most 1024 characters.'),
    }),
    name: t.string({ required: true, validate: nameSchema('The name') }),
  }),
});

const LogInInput = builder.inputType('LogInInput', {
  fields: (t) => ({
    email: t.string({ required: true, validate: textSchema('The email address').max(1024).transform(emailKey) }),
    password: t.string({ required: true, validate: z.string().max(1024, 'The password must be at most 1024 characters.') }),
  }),
});

type SessionContext = { config: { sessionTtlSeconds: number } };

const sessionRow = (ctx: SessionContext, user: { id: string }, issued: IssuedToken) => ({
  publicId: issued.publicId,
  secretHash: issued.secretHash,
  userId: user.id,
  expiresAt: new Date(Date.now() + ctx.config.sessionTtlSeconds * 1000),
});

async function startSession(ctx: SessionContext & { prisma: PrismaClient }, user: UserRow) {
  const issued = await issueToken(SESSION_TOKEN_PREFIX);
  const session = await ctx.prisma.session.create({ data: sessionRow(ctx, user, issued) });
  return { user, token: issued.token, expiresAt: session.expiresAt };
}

const ALREADY_EXISTS = 'An account with this email address already exists.';

builder.mutationFields((t) => ({
  signUp: t.field({
    type: AuthPayload,
    skipTypeScopes: true,
    args: { input: t.arg({ type: SignUpInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      await ctx.limiter?.signUpAttempt(ctx.clientAddress);
      const key = emailKey(input.email);
      // Timing: an existing email is refused in the time a new account takes
      // (test/accountTiming.test.ts). Both argon2id hashes (the password's and the session
      // secret's, side by side on libuv's pool) are spent before looking at the email, and every
      // case sends the same statements in one transaction: the upsert (a read, then an insert
      // or a same-value update), the claim of a placeholder (matching nothing unless there is
      // one), the session's insert. A refusal then rolls all of it back.
      const [passwordHash, issued] = await Promise.all([hashSecret(input.password), issueToken(SESSION_TOKEN_PREFIX)]);
      const data = { email: input.email, name: input.name, passwordHash };
      const { user, session } = await ctx.prisma
        .$transaction(async (tx) => {
          const found = await tx.user.upsert({ where: { emailKey: key }, create: { ...data, emailKey: key }, update: { emailKey: key } });
          // An invitation's placeholder (see addMember) is claimed: it becomes this account.
          await tx.user.updateMany({ where: { id: found.id, passwordHash: null }, data });
          const session = await tx.session.create({ data: sessionRow(ctx, found, issued) });
          // The upsert made this account (it holds this request's hash), or found a placeholder.
          if (found.passwordHash !== passwordHash && found.passwordHash !== null) throw badInput(ALREADY_EXISTS);
          return { user: { ...found, ...data }, session };
        })
        .catch((error: { code?: string }) => {
          if (error.code === 'P2002') throw badInput(ALREADY_EXISTS);
          throw error;
        });
      return { user, token: issued.token, expiresAt: session.expiresAt };
    },
  }),
  logIn: t.field({
    type: AuthPayload,
    skipTypeScopes: true,
    args: { input: t.arg({ type: LogInInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      // Counted as a failure until it succeeds, per address and per email (known or not).
      const attempt = await ctx.limiter?.logInAttempt(ctx.clientAddress, input.email);
      const user = await ctx.prisma.user.findUnique({ where: { emailKey: input.email } });
      // Unknown email and wrong password fail alike, in about the same time.
      // An invitation's placeholder (no password yet) fails like an unknown email.
      const ok = user?.passwordHash ? await verifySecret(user.passwordHash, input.password) : await verifyAgainstDummy(input.password);
      if (!user || !ok) throw unauthenticated('Wrong email or password.');
      await attempt?.succeeded();
      return startSession(ctx, user);
    },
  }),
  logOut: t.boolean({
    description: 'Ends the calling session at once, on every instance: its token is refused from the next request on.',
    resolve: async (_root, _args, ctx) => {
      if (ctx.principal.kind !== 'session') {
        throw badInput('logOut ends a session; to stop an API token, revoke it (revokeApiToken).');
      }
      // Every request reads its Session row (credentialLookup.ts): once deleted, the token is refused.
      await ctx.prisma.session.deleteMany({ where: { id: ctx.principal.sessionId } });
      return true;
    },
  }),
  logOutEverywhere: t.int({
    description:
      "Ends every session of the caller's account (this one too) and returns how many; API tokens are not touched. " +
      'Needs a session or a PERSONAL token with no scope and no cap below OWNER.',
    authScopes: { unrestrictedUser: true },
    resolve: async (_root, _args, ctx) => {
      const user = principalUser(ctx.principal)!;
      const { count } = await ctx.prisma.session.deleteMany({ where: { userId: user.id } });
      return count;
    },
  }),
}));
