// GraphiQL on GET /graphql for browsers (Accept: text/html), rendered once from the installed
// @graphql-yoga/render-graphiql: one page with its script, styles, fonts and Monaco's workers
// inline (workers start from blob: URLs), so nothing is fetched from elsewhere. The page's
// Content-Security-Policy allows exactly that: its one inline script by hash, inline styles
// (Monaco and GraphiQL add style elements at run time, which no hash can name), data: images
// and fonts, blob: workers, requests to this origin only, and no framing (clickjacking).
import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';

export const GRAPHIQL_OPTIONS = { title: 'Portcullis GraphiQL', shouldPersistHeaders: false };

/**
 * A browser asking for /graphql: the page, not a GraphQL response. `url` is read only for a
 * GET, and once: each read of yoga's lazy `url` parses the URL again.
 */
export function isGraphiQLRequest(request: Request, url: Pick<URL, 'pathname'>): boolean {
  if (request.method !== 'GET') return false;
  const { pathname } = url;
  return (pathname === '/graphql' || pathname === '/graphql/') && !!request.headers.get('accept')?.includes('text/html');
}

export function graphiqlPage(): { html: string; contentSecurityPolicy: string } {
  const html = renderGraphiQL(GRAPHIQL_OPTIONS);
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
  const hashes = scripts.map((script) => `'sha256-${createHash('sha256').update(script, 'utf8').digest('base64')}'`);
  const contentSecurityPolicy = [
    "default-src 'self'",
    `script-src ${hashes.join(' ')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "worker-src blob:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

export function graphiqlPlugin(): Plugin {
  const page = graphiqlPage();
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (!isGraphiQLRequest(request, url)) return;
      endResponse(
        new fetchAPI.Response(page.html, {
          status: 200,
          headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': page.contentSecurityPolicy },
        }),
      );
    },
  };
}
