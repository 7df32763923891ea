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
  const expiries = new WeakMap<Request, Date>();
  return {
    onContextBuilding() {
      return ({ context }) => {
        const ctx = context as unknown as Context;
        const expiresAt = ctx.principal ? principalToken(ctx.principal)?.expiresAt : null;
        if (expiresAt) expiries.set(ctx.request, expiresAt);
      };
    },
    onResponse(payload) {
      const expiresAt = expiries.get(payload.request);
      if (expiresAt) setResponseHeaders(payload, { [TOKEN_EXPIRATION_HEADER]: expiresAt.toISOString() });
    },
  };
}
