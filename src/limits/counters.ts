// Counters over one-minute windows (rate-limiter-flexible): in this process's memory, or in
// Redis when REDIS_URL is set so that every gateway instance counts against the same budget.
//
// A window starts with a key's first use and lasts 60 s (as monday.com's budgets do). Each
// counter's limit is given per call, because budgets differ per token: the store only keeps
// the count, and `take` compares. A refused amount is given back, so a client that keeps
// asking while refused does not push its next window further away.
//
// If Redis cannot be reached, counting goes on in memory, per instance (the library's
// "insurance" limiter): the gateway keeps serving and every limit still holds on each
// instance, but no longer across instances. That is fail-open for sharing and fail-closed for
// each instance's own limits; the state shows in the logs and in /healthz.
import { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../server/logging';

const WINDOW_SECONDS = 60;
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

export interface Counters {
  /** Adds `amount` to `key`'s count unless the count would pass `limit`. */
  take(kind: CounterKind, key: string, amount: number, limit: number): Promise<Take>;
  /** Adds `amount` to `key`'s count, whatever it was; `remaining` is never below 0. */
  add(kind: CounterKind, key: string, amount: number, limit: number): Promise<Take>;
  /** Whether `key`'s count has reached `limit` (nothing is added). */
  reached(kind: CounterKind, key: string, limit: number): Promise<Take>;
  /** Gives back an amount taken earlier (a successful logIn does not count as a failure). */
  giveBack(kind: CounterKind, key: string, amount: number): Promise<void>;
  health(): CountersHealth;
  close(): Promise<void>;
}

export interface CountersOptions {
  redisUrl: string | undefined;
  keyPrefix: string;
  logger: Logger;
}

export function createCounters(options: CountersOptions): Counters {
  const memory = (kind: CounterKind) => new RateLimiterMemory({ keyPrefix: kind, points: UNBOUNDED, duration: WINDOW_SECONDS });
  let redis: Redis | undefined;
  let limiters: Record<CounterKind, RateLimiterAbstract>;
  if (options.redisUrl) {
    const client = (redis = connectRedis(options.redisUrl, options.logger));
    limiters = byKind(
      (kind) =>
        new RateLimiterRedis({
          storeClient: client,
          keyPrefix: `${options.keyPrefix}${kind}`,
          points: UNBOUNDED,
          duration: WINDOW_SECONDS,
          // Not connected: count in memory at once rather than wait for Redis.
          rejectIfRedisNotReady: true,
          insuranceLimiter: memory(kind),
        }),
    );
  } else {
    limiters = byKind(memory);
  }

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
      const resetMs = counted ? counted.msBeforeNext : WINDOW_SECONDS * 1000;
      return { allowed: used < limit, limit, remaining: Math.max(limit - used, 0), resetMs };
    },
    async giveBack(kind, key, amount) {
      if (amount > 0) await limiters[kind].reward(key, amount);
    },
    health() {
      if (!redis) return { store: 'memory' };
      return { store: 'redis', redis: redis.status === 'ready' ? 'ready' : 'unreachable' };
    },
    async close() {
      if (!redis) return;
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
