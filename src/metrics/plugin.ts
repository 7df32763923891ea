// The metrics in the request pipeline: each GraphQL request's latency by operation name and
// HTTP status, refusals by error code, and GET /metrics on the gateway's port (unless
// METRICS_PORT gives the metrics a listener of their own, ./server.ts).
// On the request path: one small state object per GraphQL request and a few map lookups.
import { Kind, type DocumentNode, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppMetrics } from './registry';

interface RequestState {
  started: number;
  /** Set once the document is valid, when it names its operation. */
  operation: string | undefined;
}

export function requestMetricsPlugin(metrics: AppMetrics, graphqlEndpoint: string): Plugin {
  const requests = new WeakMap<Request, RequestState>();
  return {
    onRequest({ request, url }) {
      if (url.pathname === graphqlEndpoint) requests.set(request, { started: performance.now(), operation: undefined });
    },
    // After validation, so that only documents that could run name a label.
    onValidate({ params, context }) {
      const { request, params: graphqlParams } = context as { request?: Request; params?: { operationName?: string | null } };
      return ({ valid }) => {
        const state = request && requests.get(request);
        if (valid && state) state.operation = operationNameOf(params.documentAST, graphqlParams?.operationName);
      };
    },
    // UNAUTHENTICATED and FORBIDDEN, once per response; RATE_LIMITED is counted by the limiter,
    // which knows which limit refused.
    onExecutionResult({ result }) {
      if (Array.isArray(result) || !result || Symbol.asyncIterator in result) return; // no batching, no subscriptions
      let unauthenticated = false;
      let forbidden = false;
      for (const error of (result as { errors?: readonly GraphQLError[] }).errors ?? []) {
        const code = error.extensions?.code;
        if (code === 'UNAUTHENTICATED') unauthenticated = true;
        else if (code === 'FORBIDDEN') forbidden = true;
      }
      if (unauthenticated) metrics.refused('unauthenticated');
      if (forbidden) metrics.refused('forbidden');
    },
    onResponse({ request, response }) {
      const state = requests.get(request);
      if (!state) return;
      requests.delete(request);
      metrics.observeRequest(state.operation, response.status, (performance.now() - state.started) / 1000);
    },
  };
}

/** GET /metrics on the gateway's port, in Prometheus's text format. */
export function metricsEndpointPlugin(metrics: AppMetrics): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== '/metrics' || request.method !== 'GET') return;
      endResponse(new fetchAPI.Response(await metrics.render(), { status: 200, headers: { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' } }));
    },
  };
}

/**
 * The name of the operation that runs: the one `operationName` selects, or the document's only
 * operation. Undefined when that operation has no name (or the choice is ambiguous).
 */
export function operationNameOf(document: DocumentNode, operationName: string | null | undefined): string | undefined {
  let only: string | undefined;
  let operations = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (operationName) {
      if (definition.name?.value === operationName) return operationName;
      continue;
    }
    operations++;
    only = definition.name?.value;
  }
  return operations === 1 ? only : undefined;
}
