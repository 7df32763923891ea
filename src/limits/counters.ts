// Counters over one-minute windows: in this process's memory, or in Redis when REDIS_URL is
// set so that every gateway instance counts against the same budget (rate-limiter-flexible).
//
// A window starts with a key's first use and lasts 60 s (as monday.com's budgets do). Each
// counter's limit is given per call, because budgets differ per token: the store only keeps
// the count, and `take` compares. A refused amount is given back, so a client that keeps
// asking while refused does not push its next window further away.
//
// In memory the counters answer synchronously (a promise per count, and the turn of microtasks
// each hook of the request then waits, were most of what the limits cost a request: issue 10).
// They are kept in an LRU map of keys, each with its windows by kind, holding at most
// MEMORY_WINDOWS windows, so a flood of new keys (client addresses) cannot grow the process
// without bound; an evicted key starts new windows. Keyed by the caller's own key string, which
// a request passes again and again (src/limits/abuseLimiter.ts): no "kind:key" string is built,
// and hashed, per count.
//
// If Redis cannot be reached, counting goes on in memory, per instance (the library's
// "insurance" limiter): the gateway keeps serving and every limit still holds on each
// instance, but no longer across instances. That is fail-open for sharing and fail-closed for
// each instance's own limits; the state shows in the logs and in /healthz.
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from '../server/logging';
import type { MaybePromise } from '../maybePromise';

const WINDOW_SECONDS = 60;
const WINDOW_MS = WINDOW_SECONDS * 1000;
/** Windows kept in memory (about 350 bytes each with its key, measured for keys of one window). */
const MEMORY_WINDOWS = 500_000;
// The stores keep counts; limits are applied by `take`, never by the library.
const UNBOUNDED = Number.MAX_SAFE_INTEGER;

export type CounterKind = 'budget' | 'requests' | 'authFailures' | 'logInFailures' | 'signUps' | 'leakReports';
const KINDS: readonly CounterKind[] = ['budget', 'requests', 'authFailures', 'logInFailures', 'signUps', 'leakReports'];

export interface Take {
  allowed: boolean;
  limit: number;
  /** What is left in this window after this take (before it, when refused). */
  remaining: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  resetMs: number;
}

export interface CountersHealth {
  store: 'memory' | 'redis';
  /** With Redis: whether it answers now (if not, limits are counted per instance). */
  redis?: 'ready' | 'unreachable';
}

/** Synchronous in memory, promises with Redis. */
export interface Counters {
  /** Adds `amount` to `key`'s count unless the count would pass `limit`. */
  take(kind: CounterKind, key: string, amount: number, limit: number): MaybePromise<Take>;
  /** Adds `amount` to `key`'s count, whatever it was; `remaining` is never below 0. */
  add(kind: CounterKind, key: string, amount: number, limit: number): MaybePromise<Take>;
  /** Whether `key`'s count has reached `limit` (nothing is added). */
  reached(kind: CounterKind, key: string, limit: number): MaybePromise<Take>;
  /** Gives back an amount taken earlier (a successful logIn does not count as a failure). */
  giveBack(kind: CounterKind, key: string, amount: number): MaybePromise<void>;
  health(): CountersHealth;
  close(): Promise<void>;
}

export interface CountersOptions {
  redisUrl: string | undefined;
  keyPrefix: string;
  logger: Logger;
  /** In memory: how many windows are kept (default MEMORY_WINDOWS). */
  memoryWindows?: number;
}

export function createCounters(options: CountersOptions): Counters {
  return options.redisUrl ? redisCounters(options.redisUrl, options) : memoryCounters(options.memoryWindows ?? MEMORY_WINDOWS);
}

/** A key's count in the window that started with its first use. */
interface Window {
  count: number;
  /** Date.now() when the window ends. */
  endsAt: number;
}

/** A key's windows, by kind. */
type Windows = Partial<Record<CounterKind, Window>>;

function memoryCounters(maxWindows: number): Counters {
  // Each key weighs as many windows as it holds (set again when it gains a kind).
  const keys = new LRUCache<string, Windows>({ maxSize: maxWindows, sizeCalculation: (windows) => Math.max(Object.keys(windows).length, 1) });
  /** The key's window of this kind if it has one that has not ended. */
  const liveWindow = (kind: CounterKind, key: string, now: number): Window | undefined => {
    const window = keys.get(key)?.[kind];
    return window && window.endsAt > now ? window : undefined;
  };
  /** The key's window of this kind, a new one if it has none or its window has ended. */
  const windowOf = (kind: CounterKind, key: string, now: number): Window => {
    const windows = keys.get(key);
    const window = windows?.[kind];
    if (window && window.endsAt > now) return window;
    const fresh: Window = { count: 0, endsAt: now + WINDOW_MS };
    // A new kind makes the key weigh more: a new object, since lru-cache sizes a value when it changes.
    if (windows && window) windows[kind] = fresh;
    else keys.set(key, { ...windows, [kind]: fresh });
    return fresh;
  };
  return {
    take(kind, key, amount, limit) {
      if (amount <= 0) return this.reached(kind, key, limit);
      const now = Date.now();
      const window = windowOf(kind, key, now);
      const resetMs = window.endsAt - now;
      if (window.count + amount > limit) return { allowed: false, limit, remaining: Math.max(limit - window.count, 0), resetMs };
      window.count += amount;
      return { allowed: true, limit, remaining: limit - window.count, resetMs };
    },
    add(kind, key, amount, limit) {
      if (amount <= 0) return this.reached(kind, key, limit);
      const now = Date.now();
      const window = windowOf(kind, key, now);
      window.count += amount;
      return { allowed: window.count <= limit, limit, remaining: Math.max(limit - window.count, 0), resetMs: window.endsAt - now };
    },
    reached(kind, key, limit) {
      const now = Date.now();
      const window = liveWindow(kind, key, now);
      if (!window) return { allowed: limit > 0, limit, remaining: Math.max(limit, 0), resetMs: WINDOW_MS };
      return { allowed: window.count < limit, limit, remaining: Math.max(limit - window.count, 0), resetMs: window.endsAt - now };
    },
    giveBack(kind, key, amount) {
      const window = liveWindow(kind, key, Date.now());
      if (window) window.count = Math.max(window.count - amount, 0);
    },
    health: () => ({ store: 'memory' }),
    close: async () => undefined,
  };
}

function redisCounters(url: string, options: CountersOptions): Counters {
  const redis = connectRedis(url, options.logger);
  const limiters = byKind(
    (kind) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${options.keyPrefix}${kind}`,
        points: UNBOUNDED,
        duration: WINDOW_SECONDS,
        // Not connected: count in memory at once rather than wait for Redis.
        rejectIfRedisNotReady: true,
        insuranceLimiter: new RateLimiterMemory({ keyPrefix: kind, points: UNBOUNDED, duration: WINDOW_SECONDS }),
      }),
  );
  return {
    async take(kind, key, amount, limit) {
      if (amount <= 0) return this.reached(kind, key, limit);
      const counted = await limiters[kind].penalty(key, amount);
      if (counted.consumedPoints > limit) {
        await limiters[kind].reward(key, amount);
        return { allowed: false, limit, remaining: Math.max(limit - (counted.consumedPoints - amount), 0), resetMs: counted.msBeforeNext };
      }
      return { allowed: true, limit, remaining: limit - counted.consumedPoints, resetMs: counted.msBeforeNext };
    },
    async add(kind, key, amount, limit) {
      if (amount <= 0) return this.reached(kind, key, limit);
      const counted = await limiters[kind].penalty(key, amount);
      return { allowed: counted.consumedPoints <= limit, limit, remaining: Math.max(limit - counted.consumedPoints, 0), resetMs: counted.msBeforeNext };
    },
    async reached(kind, key, limit) {
      const counted = await limiters[kind].get(key);
      const used = counted?.consumedPoints ?? 0;
      const resetMs = counted ? counted.msBeforeNext : WINDOW_MS;
      return { allowed: used < limit, limit, remaining: Math.max(limit - used, 0), resetMs };
    },
    async giveBack(kind, key, amount) {
      if (amount > 0) await limiters[kind].reward(key, amount);
    },
    health: () => ({ store: 'redis', redis: redis.status === 'ready' ? 'ready' : 'unreachable' }),
    async close() {
      // A deliberate disconnection is not an outage: no warning.
      redis.removeAllListeners('close').removeAllListeners('error').on('error', () => undefined);
      redis.disconnect();
    },
  };
}

function byKind<T>(make: (kind: CounterKind) => T): Record<CounterKind, T> {
  const made = {} as Record<CounterKind, T>;
  for (const kind of KINDS) made[kind] = make(kind);
  return made;
}

/**
 * An ioredis client that never queues commands while disconnected and gives up on a slow
 * command after 250 ms: a limit check falls back to memory instead of holding the request.
 * Reconnects in the background; each change of state is logged once.
 */
function connectRedis(url: string, logger: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 250,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let reachable: boolean | undefined;
  const where = redisLocation(url);
  client.on('ready', () => {
    if (reachable !== true) logger.info({ redis: where }, 'Redis is reachable: limits are shared by every instance.');
    reachable = true;
  });
  const lost = (reason: string) => {
    if (reachable !== false) {
      logger.warn({ redis: where, reason }, 'Redis is unreachable: limits are counted in this instance only until it is back.');
    }
    reachable = false;
  };
  client.on('error', (error: Error) => lost(error.message));
  client.on('close', () => lost('connection closed'));
  return client;
}

/** host:port of a Redis URL, without its password. */
function redisLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '6379'}`;
  } catch {
    return 'redis';
  }
}
