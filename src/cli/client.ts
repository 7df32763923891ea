// The GraphQL client of the CLI: one POST per operation over Node's fetch, and the mapping of
// every way it can fail onto the exit codes (errors.ts). Nothing here prints the token sent.
import type { Connection } from './config';
import { redactSecrets, refusedError, unreachableError } from './errors';
import { printMessage } from './output';

const REQUEST_TIMEOUT_MS = 30_000;

/** Codes that mean the gateway could not do its work, not that it refused: retrying may help. */
const UNAVAILABLE_CODES = new Set(['SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR']);

interface GraphQLErrorBody {
  message?: string;
  extensions?: { code?: string };
}

export interface GraphQLClient {
  readonly url: string;
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
}

/** The URL for messages, without credentials a user may have written into it. */
function displayUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString();
}

/** Why fetch failed, in words: the innermost cause (ECONNREFUSED, ENOTFOUND…) says most. */
function transportFailure(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  let cause: unknown = error;
  while (cause instanceof Error && cause.cause) cause = cause.cause;
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function describeErrors(errors: GraphQLErrorBody[]): string {
  return errors
    .map((error) => {
      const code = error.extensions?.code;
      return code ? `${error.message ?? 'Error'} (${code})` : (error.message ?? 'Error');
    })
    .join('\n');
}

const isLoopback = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);

export function createClient(connection: Connection): GraphQLClient {
  const where = displayUrl(connection.url);
  const { protocol, hostname } = new URL(connection.url);
  if (connection.token && protocol === 'http:' && !isLoopback(hostname)) {
    // Anyone on the way can read a bearer token sent in clear text; say so, but do not refuse
    // (a private network may be trusted).
    printMessage(`portcullis: warning: sending a credential over plain HTTP to ${hostname}; prefer https://.`);
  }
  return {
    url: connection.url,
    async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
      let response: Response;
      let text: string;
      try {
        response = await fetch(connection.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/graphql-response+json, application/json',
            ...(connection.token && { authorization: `Bearer ${connection.token}` }),
          },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        text = await response.text();
      } catch (error) {
        throw unreachableError(`Cannot reach the gateway at ${where}: ${redactSecrets(transportFailure(error))}`);
      }
      let body: { data?: T | null; errors?: GraphQLErrorBody[] } | null = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
      const errors = Array.isArray(body?.errors) ? body!.errors : [];
      if (errors.length > 0) {
        const message = redactSecrets(describeErrors(errors));
        const unavailable = response.status >= 500 || errors.some((e) => UNAVAILABLE_CODES.has(e.extensions?.code ?? ''));
        if (unavailable) throw unreachableError(`The gateway at ${where} could not answer: ${message}`);
        const retryAfter = response.headers.get('retry-after');
        const hints = [
          retryAfter && `Retry after ${retryAfter} s.`,
          !connection.token &&
            errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') &&
            'No credential was sent: set PORTCULLIS_TOKEN, pass --token, or run `portcullis login` (a session is only sent to the URL it was made on).',
        ].filter(Boolean);
        throw refusedError([message, ...hints].join('\n'));
      }
      if (response.status >= 500) throw unreachableError(`The gateway at ${where} answered HTTP ${response.status}.`);
      if (!response.ok || body?.data == null) {
        // Not a GraphQL answer (a proxy page, another service on that port, a wrong path).
        throw unreachableError(`No GraphQL answer from ${where} (HTTP ${response.status}): is this the Portcullis gateway?`);
      }
      return body.data;
    },
  };
}
