// A value now, or a promise of it. The request path is synchronous where its answers are at
// hand (in-memory counters, a cached credential) and asynchronous only where it must wait (Redis,
// the database): each promise there, and each turn of microtasks yoga's hooks wait for it,
// cost every request a few microseconds (issue 10). Small on purpose: @whatwg-node's
// handleMaybePromise does this too, but allocates a fake promise per step.

export type MaybePromise<T> = T | Promise<T>;

export function isPromise<T>(value: MaybePromise<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `next(value)`: at once when the value is at hand, else when the promise resolves. */
export function then<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return isPromise(value) ? value.then(next) : next(value);
}

/** Every value, at once when all are at hand. */
export function all<T>(values: MaybePromise<T>[]): MaybePromise<T[]> {
  return values.some(isPromise) ? Promise.all(values) : (values as T[]);
}

/** `run()`, with its error, thrown at once or rejected later, handed to `onError`. */
export function recover<T, R>(run: () => MaybePromise<T>, onError: (error: unknown) => MaybePromise<R>): MaybePromise<T | R> {
  let value: MaybePromise<T>;
  try {
    value = run();
  } catch (error) {
    return onError(error);
  }
  return isPromise(value) ? value.catch(onError) : value;
}
