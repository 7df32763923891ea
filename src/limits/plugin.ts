// The abuse limits in the request pipeline. After authentication and before execution, each
// operation counts one request against its caller's request rate and its cost against the
// caller's complexity budget; a refusal is the only error of the response (RATE_LIMITED, HTTP
// 429, Retry-After) and nothing executes. Every executed operation answers with
// `extensions.complexity { cost, budget, remaining, resetInSeconds }` and RateLimit-* headers.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import { queryRefused } from '../errors';
import { budgetHeaders, type AbuseLimiter, type BudgetCharge } from './abuseLimiter';
import { operationCost } from './cost';

export function abuseLimitsPlugin(limiter: AbuseLimiter): Plugin<Record<string, unknown>, Context> {
  // The budget's state per request, for the response headers.
  const charges = new WeakMap<Request, BudgetCharge>();

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as unknown as Context;
      const caller = limiter.callerOf(ctx.principal, ctx.clientAddress);
      let charge: BudgetCharge;
      try {
        await limiter.admitRequest(caller);
        // Variables of the wrong type make the cost unknowable; execution then refuses them.
        const cost = operationCost(args.schema, args.document, args.operationName ?? undefined, args.variableValues ?? undefined) ?? 0;
        if (cost > caller.budget) {
          throw queryRefused(
            `This query costs ${cost} complexity points, more than the whole budget of ${caller.budget} per minute: ask for fewer items (smaller first/last).`,
          );
        }
        charge = await limiter.chargeBudget(caller, cost);
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        setResultAndStopExecution({ errors: [error] });
        return;
      }
      charges.set(ctx.request, charge);
      const complexity = { cost: charge.cost, budget: charge.budget, remaining: charge.remaining, resetInSeconds: charge.resetInSeconds };
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return; // no subscriptions in this schema
          setResult({ ...result, extensions: { ...result.extensions, complexity } });
        },
      };
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const charge = charges.get(request);
      if (!charge) return;
      const headers = budgetHeaders(charge);
      try {
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      } catch {
        const copy = new fetchAPI.Headers(response.headers);
        for (const [name, value] of Object.entries(headers)) copy.set(name, value);
        setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers: copy }));
      }
    },
  };
}
