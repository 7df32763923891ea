// The in-memory counters (src/limits/counters.ts, no REDIS_URL): one-minute windows that start
// with a key's first count, limits applied per call, refused amounts given back. The same
// behaviour through the app is in test/limits.test.ts; on Redis, in test/sharedLimits.test.ts.
import { createCounters } from '../src/limits/counters';
import { createLogger } from '../src/server/logging';
import { testConfig } from './helpers/testApp';

/** The store without REDIS_URL: windows in this process's memory (an LRU map), at most `memoryWindows` of them. */
const memoryCounters = (memoryWindows?: number) =>
  createCounters({ redisUrl: undefined, keyPrefix: 'test:', logger: createLogger(testConfig(), { write: () => undefined }), memoryWindows });

beforeEach(() => jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') }));
afterEach(() => jest.useRealTimers());

test('take counts up to the limit, refuses past it and gives the refused amount back', async () => {
  const counters = memoryCounters();
  expect(await counters.take('requests', 'k', 2, 3)).toEqual({ allowed: true, limit: 3, remaining: 1, resetMs: 60_000 });
  jest.advanceTimersByTime(1_000);
  expect(await counters.take('requests', 'k', 2, 3)).toEqual({ allowed: false, limit: 3, remaining: 1, resetMs: 59_000 });
  expect(await counters.take('requests', 'k', 1, 3)).toEqual({ allowed: true, limit: 3, remaining: 0, resetMs: 59_000 });
  expect(await counters.reached('requests', 'k', 3)).toEqual({ allowed: false, limit: 3, remaining: 0, resetMs: 59_000 });
  // Other keys and kinds count apart.
  expect(await counters.reached('requests', 'other', 3)).toEqual({ allowed: true, limit: 3, remaining: 3, resetMs: 60_000 });
  expect(await counters.reached('budget', 'k', 3)).toMatchObject({ allowed: true, remaining: 3 });
});

test('add counts past the limit; remaining never goes below 0', async () => {
  const counters = memoryCounters();
  expect(await counters.add('budget', 'k', 7, 5)).toEqual({ allowed: false, limit: 5, remaining: 0, resetMs: 60_000 });
  expect(await counters.reached('budget', 'k', 8)).toMatchObject({ allowed: true, remaining: 1 });
  // Nothing to add: only the state.
  expect(await counters.add('budget', 'k', 0, 8)).toMatchObject({ allowed: true, remaining: 1 });
});

test('a window lasts 60 s from the first count, then the count starts from zero', async () => {
  const counters = memoryCounters();
  await counters.take('authFailures', 'k', 1, 1);
  jest.advanceTimersByTime(30_000);
  // A later count does not move the window.
  expect(await counters.take('authFailures', 'k', 1, 1)).toMatchObject({ allowed: false, resetMs: 30_000 });
  jest.advanceTimersByTime(29_999);
  expect(await counters.reached('authFailures', 'k', 1)).toMatchObject({ allowed: false, resetMs: 1 });
  jest.advanceTimersByTime(1);
  expect(await counters.reached('authFailures', 'k', 1)).toEqual({ allowed: true, limit: 1, remaining: 1, resetMs: 60_000 });
  expect(await counters.take('authFailures', 'k', 1, 1)).toEqual({ allowed: true, limit: 1, remaining: 0, resetMs: 60_000 });
});

test("one key's kinds keep windows of their own: each starts with its own first count", async () => {
  const counters = memoryCounters();
  await counters.take('requests', 'token:a', 1, 5);
  jest.advanceTimersByTime(30_000);
  await counters.add('budget', 'token:a', 7, 10);
  jest.advanceTimersByTime(30_000);
  // The requests window has ended; the budget's, begun 30 s later, has not.
  expect(await counters.reached('requests', 'token:a', 5)).toEqual({ allowed: true, limit: 5, remaining: 5, resetMs: 60_000 });
  expect(await counters.reached('budget', 'token:a', 10)).toEqual({ allowed: true, limit: 10, remaining: 3, resetMs: 30_000 });
  // A give-back of one kind leaves the other alone.
  await counters.giveBack('requests', 'token:a', 1);
  expect(await counters.reached('budget', 'token:a', 10)).toMatchObject({ remaining: 3 });
});

test('the windows kept are bounded: a key weighs as many windows as it holds, and the least recently used go first', async () => {
  const counters = memoryCounters(6);
  const kinds = ['requests', 'authFailures', 'logInFailures', 'signUps', 'leakReports'] as const;
  for (const kind of kinds) await counters.take(kind, 'address:a', 1, 9);
  await counters.take('requests', 'address:b', 1, 9);
  // Six windows: all still here.
  for (const kind of kinds) expect(await counters.reached(kind, 'address:a', 9)).toMatchObject({ remaining: 8 });
  expect(await counters.reached('requests', 'address:b', 9)).toMatchObject({ remaining: 8 });
  // A seventh: the least recently used key (a, five windows) goes, and b stays.
  await counters.take('requests', 'address:c', 1, 9);
  for (const kind of kinds) expect(await counters.reached(kind, 'address:a', 9)).toMatchObject({ remaining: 9 });
  expect(await counters.reached('requests', 'address:b', 9)).toMatchObject({ remaining: 8 });
  expect(await counters.reached('requests', 'address:c', 9)).toMatchObject({ remaining: 8 });
});

test('giveBack returns what was taken (a successful logIn)', async () => {
  const counters = memoryCounters();
  await counters.take('logInFailures', 'k', 1, 1);
  await counters.giveBack('logInFailures', 'k', 1);
  expect(await counters.take('logInFailures', 'k', 1, 1)).toMatchObject({ allowed: true, remaining: 0 });
  expect(counters.health()).toEqual({ store: 'memory' });
});

test('in memory, every answer is at hand: no promise for the request path to wait on', () => {
  const counters = memoryCounters();
  for (const answer of [counters.take('requests', 'k', 1, 3), counters.add('budget', 'k', 5, 10), counters.reached('budget', 'k', 10), counters.giveBack('requests', 'k', 1)]) {
    expect(answer).not.toBeInstanceOf(Promise);
  }
  expect(counters.reached('requests', 'k', 3)).toMatchObject({ allowed: true, remaining: 3 });
});

test('giveBack never leaves credit: not below zero, nothing once the window has ended', async () => {
  const counters = memoryCounters();
  await counters.take('logInFailures', 'k', 1, 2);
  await counters.giveBack('logInFailures', 'k', 5);
  expect(await counters.reached('logInFailures', 'k', 2)).toMatchObject({ remaining: 2 });
  jest.advanceTimersByTime(60_000);
  await counters.giveBack('logInFailures', 'k', 1);
  expect(await counters.take('logInFailures', 'k', 2, 2)).toMatchObject({ allowed: true, remaining: 0 });
  expect(await counters.take('logInFailures', 'k', 1, 2)).toMatchObject({ allowed: false });
});
