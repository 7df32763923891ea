// Pothos scope-auth keeps each request's scope results in a WeakMap keyed by the request's
// context. An entry stays there until a garbage collection finds its context unreachable, and
// until then every minor GC walks it (V8 processes weak-map entries at each scavenge) and keeps
// what it holds (the scopes, a result per checked object) alive a while longer. Measured on the
// board query (issue 10): 23 µs of GC per request, and the only major GCs of the run. So the
// entry is dropped as soon as the response is made: nothing reads it after that.
//
// In onResponse rather than after execution: yoga's context is the server context this hook is
// handed (requests are not batched), and an onExecute hook that returns an onExecuteDone costs
// every request about 1.5 µs even when scope-auth never ran (a read of a board and its items).
import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

export function scopeCachePlugin(): Plugin {
  return {
    onResponse: ({ serverContext }) => RequestCache.clearForContext(serverContext),
  };
}
