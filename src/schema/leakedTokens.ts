// revokeLeakedTokens: no credential, up to 1,000 strings, the same answer whatever they are
// (src/auth/leakedTokens.ts does the work in the background).
import { MAX_LEAK_REPORT_TOKENS, enqueueLeakReport } from '../auth/leakedTokens';
import { badInput } from '../errors';
import { builder } from './builder';

const RevokeLeakedTokensPayload = builder.objectRef<{ received: number }>('RevokeLeakedTokensPayload').implement({
  fields: (t) => ({
    received: t.exposeInt('received', { description: 'How many strings were received; never which of them were live tokens.' }),
  }),
});

builder.mutationField('revokeLeakedTokens', (t) =>
  t.field({
    type: RevokeLeakedTokensPayload,
    description: 'No credential: whoever finds leaked tokens can kill them (at most 1,000 per call). Live ones are revoked within seconds.',
    skipTypeScopes: true,
    args: { tokens: t.arg.stringList({ required: true }) },
    resolve: async (_root, { tokens }, ctx) => {
      await ctx.limiter?.leakReportAttempt(ctx.clientAddress);
      if (tokens.length > MAX_LEAK_REPORT_TOKENS) {
        throw badInput(`tokens: at most ${MAX_LEAK_REPORT_TOKENS} strings per call (got ${tokens.length}); send the rest in further calls.`);
      }
      // Whatever was found (nothing is looked up here): the same answer for the same count.
      await enqueueLeakReport(ctx.prisma, tokens);
      return { received: tokens.length };
    },
  }),
);
