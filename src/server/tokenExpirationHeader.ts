// Portcullis-Token-Expiration (GitHub's GitHub-Authentication-Token-Expiration): every response
// to a request authenticated with an API token that expires says when, in RFC 3339, so that
// scripts and CI jobs can warn before it stops working. No header for tokens without expiry,
// sessions (they are short-lived by design and renewed by logging in), or anonymous requests,
// nor on 401s: a refused credential authenticated nothing.
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context';
import { principalToken } from '../auth/principal';
import { setResponseHeaders } from './responseHeaders';

export const TOKEN_EXPIRATION_HEADER = 'Portcullis-Token-Expiration';

export function tokenExpirationHeaderPlugin(): Plugin<Record<string, unknown>, Context> {
  return {
    // Yoga's context is the server context this hook is handed (requests are not batched); a
    // refused credential never reaches it, so a 401 has no principal to read.
    onResponse(payload) {
      const { principal } = payload.serverContext as Partial<Context>;
      const expiresAt = principal ? principalToken(principal)?.expiresAt : null;
      if (expiresAt) setResponseHeaders(payload, { [TOKEN_EXPIRATION_HEADER]: expiresAt.toISOString() });
    },
  };
}
