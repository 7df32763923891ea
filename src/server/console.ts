// The token console (src/console/, a React app built by Vite) served at /console: index.html
// for /console and every client route under it, the hashed files of /console/assets/ with a
// long cache (their names change with their content), everything with the console's own
// Content-Security-Policy. The page runs only the built script files from this origin, loads
// only its own style sheet, and talks to this origin only (the GraphQL API).
//
// The build lives in src/console/dist (gitignored). `npm install` builds it (postinstall) and
// `npm start` rebuilds it when any console source is newer (ensureConsoleBuilt).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'graphql-yoga';

export const CONSOLE_SOURCE_DIR = path.resolve(__dirname, '../console');
export const CONSOLE_DIST_DIR = path.join(CONSOLE_SOURCE_DIR, 'dist');
const CONSOLE_INDEX = path.join(CONSOLE_DIST_DIR, 'index.html');
const VITE_CONFIG = path.join(CONSOLE_SOURCE_DIR, 'vite.config.mts');

export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/** Newest modification time of the console's sources (its build, screenshots and tests aside). */
function newestSourceTime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'screenshots' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceTime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** True when there is no build, or a source file changed after it was made. */
export function consoleBuildIsStale(): boolean {
  if (!existsSync(CONSOLE_INDEX)) return true;
  return newestSourceTime(CONSOLE_SOURCE_DIR) > statSync(CONSOLE_INDEX).mtimeMs;
}

/** Builds the console with the installed Vite (no network) unless its build is up to date. */
export function ensureConsoleBuilt(log: (message: string) => void = () => {}): void {
  if (!consoleBuildIsStale()) return;
  log('Building the console (src/console) with Vite...');
  const vite = path.join(path.dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
  const result = spawnSync(process.execPath, [vite, 'build', '--config', VITE_CONFIG], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`Building the console failed (vite build exited with ${result.status ?? result.signal}).`);
}

export const isConsolePath = (pathname: string): boolean => pathname === '/console' || pathname.startsWith('/console/');
const ASSETS_PREFIX = '/console/assets/';

/** A page load of the console (not one of its asset files): counted against the address's request rate. */
export function isConsolePageRequest(request: Request, pathname: string): boolean {
  return isConsolePath(pathname) && !pathname.startsWith(ASSETS_PREFIX) && (request.method === 'GET' || request.method === 'HEAD');
}

interface BuiltFile {
  body: Buffer;
  contentType: string;
}

/** The built files, read once the build exists (so a server started before the build still serves it after). */
function loadBuild(): { index: Buffer; assets: Map<string, BuiltFile> } | null {
  if (!existsSync(CONSOLE_INDEX)) return null;
  const assets = new Map<string, BuiltFile>();
  const assetsDir = path.join(CONSOLE_DIST_DIR, 'assets');
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      assets.set(name, { body: readFileSync(path.join(assetsDir, name)), contentType: CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream' });
    }
  }
  return { index: readFileSync(CONSOLE_INDEX), assets };
}

export function consolePlugin(): Plugin {
  let build: ReturnType<typeof loadBuild> = null;
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const { pathname } = url; // one read: each read of yoga's `url` parses it again
      if (!isConsolePath(pathname)) return;
      const headers = { 'Content-Security-Policy': CONSOLE_CONTENT_SECURITY_POLICY, 'X-Frame-Options': 'DENY' };
      const respond = (body: BodyInit | null, status: number, extra: Record<string, string>) =>
        endResponse(new fetchAPI.Response(request.method === 'HEAD' ? null : body, { status, headers: { ...headers, ...extra } }));
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        respond('Method not allowed.', 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
        return;
      }
      build ??= loadBuild();
      if (!build) {
        respond('The console is not built: run `npm run console:build` (npm install and npm start build it).', 503, { 'Content-Type': 'text/plain; charset=utf-8' });
        return;
      }
      if (pathname.startsWith(ASSETS_PREFIX)) {
        const file = build.assets.get(pathname.slice(ASSETS_PREFIX.length));
        if (!file) {
          respond('Not found.', 404, { 'Content-Type': 'text/plain; charset=utf-8' });
          return;
        }
        // Hashed names: a changed file is a new URL, so browsers may keep these for a year.
        respond(new Uint8Array(file.body), 200, { 'Content-Type': file.contentType, 'Cache-Control': 'public, max-age=31536000, immutable' });
        return;
      }
      respond(new Uint8Array(build.index), 200, { 'Content-Type': 'text/html; charset=utf-8' });
    },
  };
}
