// Headers on every response. No-store: responses can hold secrets (a new token's or session's
// secret) and per-caller data, which no browser or proxy cache may keep. Nosniff: a JSON
// body is never run as a script or page. No referrer: URLs never leak to other sites. A
// policy that forbids everything (framing included) unless the response brings its own
// (GraphiQL's page, src/server/graphiql.ts).
import type { Plugin } from 'graphql-yoga';

const EVERY_RESPONSE: Record<string, string> = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export function securityHeadersPlugin(): Plugin {
  return {
    onResponse({ response, setResponse, fetchAPI }) {
      const headers: Record<string, string> = { ...EVERY_RESPONSE };
      if (!response.headers.has('Content-Security-Policy')) headers['Content-Security-Policy'] = DEFAULT_CONTENT_SECURITY_POLICY;
      try {
        for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      } catch {
        // A response with immutable headers: answer with a copy.
        const copy = new fetchAPI.Headers(response.headers);
        for (const [name, value] of Object.entries(headers)) copy.set(name, value);
        setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers: copy }));
      }
    },
  };
}
