// scope-auth's per-request state (src/server/scopeCache.ts) is dropped once the response is made,
// so that its weak-map entry does not wait for a garbage collection.
import { initContextCache } from '@pothos/core';
import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Context } from '../src/context';
import { builder } from '../src/schema/builder';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { startTestApp, type TestApp } from './helpers/testApp';

let t: TestApp;
let w: World;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  await mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'VIEWER', spaceId: w.spaceA });
});
afterAll(() => t?.close());

/**
 * Sends `query` with the owner's token through yoga with `serverContext`. Yoga's GraphQL context
 * is a wrapper around it, which inherits its Pothos cache key (initContextCache): scope-auth's
 * cache for the request is then found from `serverContext` too.
 */
async function send(query: string, serverContext: object) {
  const body = JSON.stringify({ query });
  const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), authorization: `Bearer ${w.owner.token}` };
  const response = await t.app.yoga.fetch(new Request('http://localhost/graphql', { method: 'POST', headers, body }), serverContext);
  return (await response.json()) as { data?: { apiTokens: { edges: unknown[] } }; errors?: unknown };
}

/** scope-auth's cache for this context (a new one when none is kept). */
const cacheOf = (context: object) => RequestCache.fromContext(context as Context, builder);

/** The scopes scope-auth holds for this context: computed during execution, absent from a new cache. */
const scopesHeldFor = (context: object) => (cacheOf(context) as unknown as { scopes?: object }).scopes;

test('after a response whose execution ran scope-auth, its cache for that request is gone', async () => {
  const context = initContextCache();
  // ApiToken's type scope (readToken) runs for every token listed.
  const answer = await send('{ apiTokens(first: 5) { edges { node { id } } } }', context);
  expect(answer.errors).toBeUndefined();
  expect(answer.data?.apiTokens.edges.length).toBeGreaterThan(0);
  expect(scopesHeldFor(context)).toBeUndefined();
});

test('the check above would see a cache left behind', () => {
  const context = { ...initContextCache(), principal: { kind: 'anonymous' } };
  cacheOf(context).getScopes();
  expect(scopesHeldFor(context)).toBeDefined();
});
