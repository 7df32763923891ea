// The token console's HTTP side (src/server/console.ts): the built page at /console and its
// client routes, the hashed assets with a long cache, the console's own strict CSP (other
// routes keep theirs), and page loads under the per-address request rate. The page itself is
// tested in a browser by test/console.e2e.test.ts.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createApp, type App } from '../src/app';
import { CONSOLE_CONTENT_SECURITY_POLICY, CONSOLE_DIST_DIR, ensureConsoleBuilt } from '../src/server/console';
import { serve, type LiveServer } from './helpers/liveServer';
import { startTestApp, testConfig, type TestApp } from './helpers/testApp';

let t: TestApp;
let assets: string[];

beforeAll(async () => {
  ensureConsoleBuilt();
  assets = readdirSync(path.join(CONSOLE_DIST_DIR, 'assets'));
  t = await startTestApp();
});

afterAll(async () => {
  await t?.close();
});

test('the console CSP allows only this origin, no inline script or style, no framing, no forms elsewhere', () => {
  expect(CONSOLE_CONTENT_SECURITY_POLICY).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
});

test.each(['/console', '/console/', '/console/tokens', '/console/tokens/some-id', '/console/organizations/x/audit'])(
  'GET %s: the page, with the console CSP and no-store',
  async (pathname) => {
    const res = await t.http().get(pathname).set('Accept', 'text/html');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONSOLE_CONTENT_SECURITY_POLICY);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.text).toContain('<div id="root"></div>');
    // Nothing inline that the CSP would have to allow: scripts and styles are files of this origin.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc="\/console\/assets\/)[^>]*>/);
    expect(res.text).not.toMatch(/<style|style="/);
    expect(res.text).not.toMatch(/https?:\/\//);
  },
);

test('the hashed assets: right type, cached for a year, same CSP; an unknown one is 404', async () => {
  const script = assets.find((name) => name.endsWith('.js'))!;
  const styles = assets.find((name) => name.endsWith('.css'))!;
  const js = await t.http().get(`/console/assets/${script}`);
  expect(js.status).toBe(200);
  expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
  expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  expect(js.headers['content-security-policy']).toBe(CONSOLE_CONTENT_SECURITY_POLICY);
  const css = await t.http().get(`/console/assets/${styles}`);
  expect(css.status).toBe(200);
  expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  const missing = await t.http().get('/console/assets/nope-123.js');
  expect(missing.status).toBe(404);
  expect(missing.headers['cache-control']).toBe('no-store');
  const escape = await t.http().get('/console/assets/..%2f..%2f..%2fpackage.json');
  expect(escape.status).toBe(404);
});

test('only GET and HEAD', async () => {
  const res = await t.http().post('/console/tokens').send('x');
  expect(res.status).toBe(405);
  expect(res.headers.allow).toBe('GET, HEAD');
  const head = await t.http().head('/console');
  expect(head.status).toBe(200);
});

test('other routes keep their own CSP', async () => {
  const api = await t.http().post('/graphql').send({ query: '{ __typename }' });
  expect(api.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
  const graphiql = await t.http().get('/graphql').set('Accept', 'text/html');
  expect(graphiql.headers['content-security-policy']).toMatch(/^default-src 'self'; script-src 'sha256-/);
  expect(graphiql.headers['cache-control']).toBe('no-store');
});

describe('page loads count against the per-address rate', () => {
  let app: App;
  let live: LiveServer;

  beforeAll(async () => {
    app = createApp(testConfig({ limits: { ...testConfig().limits, anonymousRequestsPerMinute: 3 } }), t.database);
    live = await serve(app);
  });

  afterAll(async () => {
    await live?.close();
    await app?.stop();
  });

  test('the fourth page load of a minute is refused; asset files are not counted', async () => {
    const script = assets.find((name) => name.endsWith('.js'))!;
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${live.origin}/console/tokens`)).status).toBe(200);
      // The page's script, as a browser would fetch it after each load: not counted.
      expect((await fetch(`${live.origin}/console/assets/${script}`)).status).toBe(200);
    }
    const refused = await fetch(`${live.origin}/console`);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await refused.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
  });
});
