// Cross-origin access (yoga's `cors` option): only pages of the CORS_ORIGINS origins may call
// the API from a browser, and never with credentials. Callers authenticate with a bearer token
// they set themselves, so no cookie or other ambient credential is needed, and
// Access-Control-Allow-Credentials is never sent. Any other origin (and every origin when
// CORS_ORIGINS is empty) gets no Access-Control-* header: the browser keeps the response from it.
import type { YogaServerOptions } from 'graphql-yoga';

type CorsOption = NonNullable<YogaServerOptions<Record<string, unknown>, Record<string, unknown>>['cors']>;

/** Headers a cross-origin page may read beyond the safelisted ones: the limits' and the request id. */
const EXPOSED_HEADERS = ['Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'WWW-Authenticate', 'X-Request-Id'];

export function corsOption(allowedOrigins: readonly string[]): CorsOption {
  const allowed = new Set(allowedOrigins);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    if (origin == null || !allowed.has(origin)) return false;
    return { origin, credentials: false, methods: ['GET', 'POST'], exposedHeaders: EXPOSED_HEADERS, maxAge: 600 };
  };
}
