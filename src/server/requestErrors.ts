// Request errors (a document that does not parse or validate, a missing query, a variable
// of the wrong type) get HTTP 400 whatever the client accepts, and the spec's code
// BAD_USER_INPUT. Yoga alone answers 200 to `Accept: application/json` for parse and
// validation errors (it flags them `http.spec`), and uses codes outside the spec's list
// (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST, or none for variables).
import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ErrorCode } from '../errors';

const SPEC_CODES = new Set<ErrorCode>([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  'INTERNAL_SERVER_ERROR',
]);

type HttpExtension = { status?: number; spec?: boolean; headers?: Record<string, string> };

function normalise(error: GraphQLError) {
  const extensions = error.extensions as { code?: unknown; http?: HttpExtension; originalError?: unknown } | undefined;
  // Yoga in development mode attaches the original error (name, message, stack): internals.
  if (extensions) delete extensions.originalError;
  const http = extensions?.http;
  if (!extensions || http?.status !== 400) return;
  http.spec = false;
  if (!SPEC_CODES.has(extensions.code as ErrorCode)) extensions.code = 'BAD_USER_INPUT';
}

export function requestErrorsPlugin(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: readonly GraphQLError[] } | null)?.errors;
        if (Array.isArray(errors)) errors.forEach(normalise);
      }
    },
  };
}
