// Headers on every response. No-store: responses can hold secrets (a new token's or session's
// secret) and per-caller data, which no browser or proxy cache may keep. Nosniff: a JSON
// body is never run as a script or page. No referrer: URLs never leak to other sites. A
// policy that forbids everything (framing included) unless the response brings its own
// (GraphiQL's page, src/server/graphiql.ts; the console, src/server/console.ts). The console's
// hashed asset files bring their own long Cache-Control: they hold no secret and never change.
import type { Plugin } from 'graphql-yoga';
import { setResponseHeaders } from './responseHeaders';

const EVERY_RESPONSE: Record<string, string> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export function securityHeadersPlugin(): Plugin {
  return {
    onResponse(payload) {
      const headers: Record<string, string> = { ...EVERY_RESPONSE };
      if (!payload.response.headers.has('Content-Security-Policy')) headers['Content-Security-Policy'] = DEFAULT_CONTENT_SECURITY_POLICY;
      if (payload.response.headers.has('Cache-Control')) delete headers['Cache-Control'];
      setResponseHeaders(payload, headers);
    },
  };
}
