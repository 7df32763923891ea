// The abuse limits in the request pipeline. After authentication and before execution, each
// operation counts one request against its caller's request rate and is refused if the
// caller's complexity budget is exhausted; a refusal is the only error of the response
// (RATE_LIMITED, HTTP 429, Retry-After) and nothing executes. After execution the budget is
// charged what the response held, and the response says so in
// `extensions.complexity { cost, requestedCost, budget, remaining, resetInSeconds }` and the
// RateLimit-* headers.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import { isGraphiQLRequest } from '../server/graphiql';
import { isConsolePageRequest } from '../server/console';
import { budgetHeaders, type AbuseLimiter } from './abuseLimiter';
import { setResponseHeaders } from '../server/responseHeaders';
import type { ClientAddressOf } from './clientAddress';
import { operationCosts, responseCost } from './cost';
import { recover, then } from '../maybePromise';

/** What an onExecute hook may return: its hooks for after execution (yoga does not export the type). */
type AfterExecuteHooks = Exclude<Awaited<ReturnType<NonNullable<Plugin['onExecute']>>>, void>;

/**
 * The requests answered without GraphQL execution count against their address's request rate
 * like any unauthenticated request: GraphiQL's page (about 9 MB), the console's page loads (not
 * its asset files, which browsers cache) and /healthz (a database round trip). Once the address's allowance is used up they get HTTP 429 with Retry-After.
 * It must run before the plugins that answer them (src/server/graphiql.ts, console.ts, health.ts).
 */
export function pageLimitsPlugin(limiter: AbuseLimiter, clientAddressOf: ClientAddressOf): Plugin {
  return {
    // Not async: every GraphQL request passes here too, and needs no promise to pass.
    onRequest({ request, url, serverContext, endResponse, fetchAPI }) {
      // GraphiQL and the console's pages are GETs or HEADs, and /healthz answers any method (its
      // URL holds "healthz" however it is spelled): a GraphQL POST passes without its URL being
      // parsed. Then one read of `url`: whatwg-node hands the hooks a lazy URL that parses the
      // request's URL again at every property read.
      if (request.method !== 'GET' && request.method !== 'HEAD' && !request.url.includes('healthz')) return;
      const { pathname } = url;
      if (pathname !== '/healthz' && !isGraphiQLRequest(request, { pathname }) && !isConsolePageRequest(request, pathname)) return;
      const refuse = (error: unknown) => {
        if (!(error instanceof GraphQLError)) throw error;
        const http = error.extensions.http as { status: number; headers: Record<string, string> };
        endResponse(fetchAPI.Response.json({ errors: [{ message: error.message, extensions: { code: error.extensions.code } }] }, { status: http.status, headers: http.headers }));
      };
      return recover(() => limiter.admitRequest(limiter.callerOf({ kind: 'anonymous' }, clientAddressOf(serverContext))), refuse);
    },
  };
}

export function abuseLimitsPlugin(limiter: AbuseLimiter): Plugin<Record<string, unknown>, Context> {
  return {
    // Yoga's context is the server context it hands this hook (the request is not batched).
    onResponse(payload) {
      const charge = (payload.serverContext as Partial<Context>).budgetCharge;
      if (charge) setResponseHeaders(payload, budgetHeaders(charge));
    },
    // Synchronous while the counters answer synchronously (in memory): a hook that returns a
    // promise makes yoga wait a turn of microtasks before executing, and again before responding.
    onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue as unknown as Context;
      const caller = limiter.callerOf(ctx.principal, ctx.clientAddress);
      // Variables of the wrong type make the estimate unknowable; execution then refuses them.
      const costs = operationCosts(args.schema, args.document, args.operationName ?? undefined, args.variableValues ?? undefined);
      const requestedCost = costs.requested ?? 0;
      const refuse = (error: unknown) => {
        if (!(error instanceof GraphQLError)) throw error;
        setResultAndStopExecution({ errors: [error] });
      };
      const charging: AfterExecuteHooks = {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in result) return; // no subscriptions in this schema
          const charged = limiter.chargeBudget(caller, responseCost(costs.response, result.data ?? null), requestedCost);
          return then(charged, (charge) => {
            const { cost, budget, remaining, resetInSeconds } = charge;
            ctx.budgetCharge = charge;
            // Object.assign, not `{ ...result, extensions }`: V8 copied the result by that
            // spread slowly (that line: 389 ticks of the CPU profile, then 139; about 4 µs a
            // request, issue 10).
            setResult(Object.assign({}, result, { extensions: { ...result.extensions, complexity: { cost, requestedCost, budget, remaining, resetInSeconds } } }));
          });
        },
      };
      const admitted = () => then(limiter.admitRequest(caller), () => limiter.admitBudget(caller, requestedCost));
      return recover(() => then(admitted(), () => charging), refuse);
    },
  };
}
