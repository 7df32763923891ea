// Pothos scope-auth keeps each request's scope results in a WeakMap keyed by the request's
// context. An entry stays there until a garbage collection finds its context unreachable, and
// until then every minor GC walks it (V8 processes weak-map entries at each scavenge) and keeps
// what it holds (the scopes, a result per checked object) alive a while longer. Measured on the
// board query (issue 10): 23 µs of GC per request, and the only major GCs of the run. So the
// entry is dropped as soon as execution is done: nothing reads it after that.
import { RequestCache } from '@pothos/plugin-scope-auth';
import type { Plugin } from 'graphql-yoga';

export function scopeCachePlugin(): Plugin {
  // One hooks object for every request: onExecuteDone is given the execution's arguments.
  const afterExecution = { onExecuteDone: ({ args }: { args: { contextValue: unknown } }) => RequestCache.clearForContext(args.contextValue as object) };
  return {
    onExecute: () => afterExecution,
  };
}
