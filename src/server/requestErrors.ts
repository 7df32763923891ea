// Request errors (a document that does not parse or validate, a missing query, a variable
// of the wrong type) get HTTP 400 whatever the client accepts, and the spec's code
// BAD_USER_INPUT. Yoga alone answers 200 to `Accept: application/json` for parse and
// validation errors (it flags them `http.spec`), and uses codes outside the spec's list
// (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_REQUEST, or none for variables).
// Other refusals of the request (405, 413, 415) keep their status and get BAD_USER_INPUT too,
// and a POST body of a type yoga cannot read gets a GraphQL-shaped 415 instead of an empty one.
import { GraphQLError } from 'graphql';
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
  // Any refusal of the request itself (400, 405 wrong method, 413, 415): yoga's codes for these
  // (BAD_REQUEST, REQUEST_ENTITY_TOO_LARGE) are outside the spec's list.
  if (!extensions || !http?.status || http.status < 400 || http.status >= 500) return;
  http.spec = false;
  if (!SPEC_CODES.has(extensions.code as ErrorCode)) extensions.code = 'BAD_USER_INPUT';
}

/** A POST body no request parser reads (yoga alone answers 415 with an empty body). */
export const unsupportedMediaType = () =>
  new GraphQLError('Unsupported Content-Type: send the request body as application/json.', {
    extensions: { code: 'BAD_USER_INPUT', http: { status: 415 } },
  });

/**
 * A request parser's failure as a 400. Yoga's parsers throw bare errors for some malformed
 * requests (GET or form `variables`/`extensions` that are not JSON: a SyntaxError), which would
 * otherwise be masked as a 500. GraphQLErrors (bad JSON body, body too large) and aborts pass.
 */
function unreadableRequest(error: unknown): unknown {
  if (error instanceof GraphQLError || (error as { name?: unknown } | null)?.name === 'AbortError') return error;
  const message =
    error instanceof SyntaxError ? 'The request\'s variables or extensions are not valid JSON.' : 'The request could not be read.';
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

export function requestErrorsPlugin(): Plugin {
  return {
    // Runs after yoga's parsers have had their pick (and before its method check, which answers
    // 405 to anything but GET and POST). None matched: a GraphQL-shaped 415. One did: whatever
    // it throws is about the request, never the server (it reads no database), so 400.
    onRequestParse({ requestParser, setRequestParser }) {
      if (!requestParser) {
        setRequestParser(() => {
          throw unsupportedMediaType();
        });
        return;
      }
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (error) {
          throw unreadableRequest(error);
        }
      });
    },
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: readonly GraphQLError[] } | null)?.errors;
        if (Array.isArray(errors)) errors.forEach(normalise);
      }
    },
  };
}
