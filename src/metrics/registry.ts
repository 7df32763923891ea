// The gateway's Prometheus metrics: their names, labels and buckets, in one registry per app
// (createApp runs many times in one test process; the global default registry would clash).
// Labels never carry a secret, a token id, a user id or an address: operation names (only when
// the document names the operation, capped in length and number), HTTP statuses, refusal
// reasons and cache names, all of them few.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/database';
import type { LimitRefusal } from '../limits/abuseLimiter';
import { argon2Hashes, argon2Verifications } from './argon2';

/** Why a request was refused: the error codes, and for RATE_LIMITED the limit it reached. */
export type RefusalReason = 'unauthenticated' | 'forbidden' | LimitRefusal;

const REFUSAL_REASONS: readonly RefusalReason[] = [
  'unauthenticated',
  'forbidden',
  'token_rate',
  'address_rate',
  'budget',
  'login_failures',
  'signup_rate',
  'leak_report_rate',
  'refused_credentials',
];

/** A cache's lookups; `metrics.cacheStats(name)` gives one to each cache. */
export interface CacheStats {
  hit(): void;
  miss(): void;
}

export const noCacheStats: CacheStats = { hit: () => undefined, miss: () => undefined };

/** Operation names longer than this, or beyond this many distinct ones, are labelled "other". */
export const MAX_OPERATION_NAME_LENGTH = 100;
export const MAX_OPERATION_NAMES = 200;

type Observer = { observe(seconds: number): void };

export class AppMetrics {
  readonly registry = new Registry();
  private readonly requestDuration: Histogram<'operation' | 'status'>;
  private readonly refusals: Counter<'reason'>;
  private readonly cacheHits: Counter<'cache'>;
  private readonly cacheMisses: Counter<'cache'>;
  /** Histogram children by operation label, then status: found again without allocating. */
  private readonly requestObservers = new Map<string, Map<number, Observer>>();
  private readonly operationNames = new Set<string>();

  constructor(database: Pick<Database, 'connections'>) {
    const registers = [this.registry];
    this.requestDuration = new Histogram({
      name: 'portcullis_http_request_duration_seconds',
      help: 'GraphQL requests (POST and GET /graphql) by operation name and HTTP status, from arrival to response; _count is the request count.',
      labelNames: ['operation', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.refusals = new Counter({
      name: 'portcullis_refusals_total',
      help: 'Responses refused in whole or in part, by reason (the error code, or for HTTP 429 the limit reached); a response counts once per reason.',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of REFUSAL_REASONS) this.refusals.inc({ reason }, 0);
    this.cacheHits = new Counter({ name: 'portcullis_cache_hits_total', help: 'Cache lookups that found a usable entry, by cache.', labelNames: ['cache'], registers });
    this.cacheMisses = new Counter({ name: 'portcullis_cache_misses_total', help: 'Cache lookups that found none (the work was done), by cache.', labelNames: ['cache'], registers });
    // argon2id runs in this process whichever app asks: its metrics are the process's (./argon2.ts).
    this.registry.registerMetric(argon2Verifications);
    this.registry.registerMetric(argon2Hashes);
    this.registerPoolGauges(database);
  }

  /** One GraphQL request answered. `operation` is the document's operation name, if it has one. */
  observeRequest(operation: string | undefined, status: number, seconds: number): void {
    const label = this.operationLabel(operation);
    let byStatus = this.requestObservers.get(label);
    if (!byStatus) this.requestObservers.set(label, (byStatus = new Map()));
    let observer = byStatus.get(status);
    if (!observer) byStatus.set(status, (observer = this.requestDuration.labels(label, String(status))));
    observer.observe(seconds);
  }

  /** Bound so that it can be handed over as a callback (AbuseLimiter's onRefusal). */
  readonly refused = (reason: RefusalReason): void => {
    this.refusals.inc({ reason });
  };

  /** The hit and miss counters of one cache, labelled `cache="<name>"`. */
  cacheStats(name: string): CacheStats {
    this.cacheHits.inc({ cache: name }, 0);
    this.cacheMisses.inc({ cache: name }, 0);
    const hits = this.cacheHits.labels(name);
    const misses = this.cacheMisses.labels(name);
    return { hit: () => hits.inc(), miss: () => misses.inc() };
  }

  /** The text exposition format (what GET /metrics answers). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Caps the label's cardinality: a client chooses operation names. */
  private operationLabel(name: string | undefined): string {
    if (name === undefined) return 'anonymous';
    if (this.operationNames.has(name)) return name;
    if (name.length > MAX_OPERATION_NAME_LENGTH || this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /**
   * PostgreSQL: the pg pool's connections, read when scraped. PGlite has no pool (one embedded
   * connection in this process, whose queue it does not expose): no gauges then.
   */
  private registerPoolGauges(database: Pick<Database, 'connections'>) {
    const { connections } = database;
    if (!connections) return;
    const registers = [this.registry];
    new Gauge({
      name: 'portcullis_db_pool_connections',
      help: 'PostgreSQL pool connections open, by state (in_use: lent to a query or transaction; idle).',
      labelNames: ['state'],
      registers,
      collect() {
        const now = connections();
        this.set({ state: 'in_use' }, now.total - now.idle);
        this.set({ state: 'idle' }, now.idle);
      },
    });
    new Gauge({
      name: 'portcullis_db_pool_waiting',
      help: 'Queries waiting for a PostgreSQL pool connection (all are in use).',
      registers,
      collect() {
        this.set(connections().waiting);
      },
    });
    new Gauge({
      name: 'portcullis_db_pool_max',
      help: 'The most connections the PostgreSQL pool opens (DB_POOL_SIZE).',
      registers,
      collect() {
        this.set(connections().max);
      },
    });
  }
}
