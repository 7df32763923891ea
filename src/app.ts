// createApp(config, database) -> the yoga app and what it needs. Used by the server and by
// the tests; it never reads process.env and never listens.
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Config } from './env';
import type { Database } from './db/database';
import { createAuthenticator } from './auth/authenticate';
import { LastUsedRecorder } from './auth/lastUsedRecorder';
import { SecretProofCache } from './auth/secretProofCache';
import { createContext, createOpenAccessContext, type Context } from './context';
import { schema, schemaWithoutScopeAuth } from './schema';
import { healthPlugin } from './server/health';
import { maskError } from './server/maskError';
import { requestErrorsPlugin } from './server/requestErrors';
import { queryLimitsPlugins } from './server/queryLimits';
import { bodyLimit } from './server/bodyLimit';
import { createLogger, requestLogging, type LogStream, type Logger } from './server/logging';
import { AbuseLimiter } from './limits/abuseLimiter';
import { createCounters } from './limits/counters';
import { abuseLimitsPlugin } from './limits/plugin';
import { clientAddressOf } from './limits/clientAddress';
import { AppMetrics } from './metrics/registry';
import { metricsEndpointPlugin, requestMetricsPlugin } from './metrics/plugin';

export interface App {
  yoga: ReturnType<typeof createYoga<Record<string, unknown>, Context>>;
  database: Database;
  lastUsed: LastUsedRecorder;
  /** Structured logs (pino): one line per request, masked errors with their stack. */
  logger: Logger;
  limiter: AbuseLimiter;
  /** Prometheus metrics (null unless METRICS_ENABLED or METRICS_PORT); the server serves them on METRICS_PORT. */
  metrics: AppMetrics | null;
  /** Stops background work and flushes pending writes (does not close the database). */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** Where log lines go (default stdout); tests pass a stream that captures them. */
  logStream?: LogStream;
  /**
   * Benchmark only (bench/): every request acts as this user with all of their memberships,
   * with no credential checked, no auth scopes and no query, budget or rate limits. It is the
   * baseline that shows what authentication, scopes and limits cost; no configuration turns it on.
   */
  openAccess?: { userId: string };
}

const GRAPHQL_ENDPOINT = '/graphql';

export function createApp(config: Config, database: Database, options: AppOptions = {}): App {
  const { prisma } = database;
  const metrics = config.metrics.enabled ? new AppMetrics(database) : null;
  const lastUsed = new LastUsedRecorder(prisma, config.lastUsedFlushSeconds * 1000);
  const authenticator = createAuthenticator({
    prisma,
    proofs: new SecretProofCache(config.tokenVerifyCacheSize, metrics?.cacheStats('secret_proof')),
    lastUsed,
  });
  lastUsed.start();

  const limitBody = bodyLimit(config.maxBodyBytes);
  const logger = createLogger(config, options.logStream);
  const logging = requestLogging(logger);
  const limiter = new AbuseLimiter(createCounters({ redisUrl: config.limits.redisUrl, keyPrefix: config.limits.redisKeyPrefix, logger }), config.limits, metrics?.refused);
  const openAccess = options.openAccess;
  const limitPlugins = openAccess ? [] : [...queryLimitsPlugins(config.queryLimits), abuseLimitsPlugin(limiter)];
  // First, so that a request's latency covers every other plugin. With METRICS_PORT, /metrics
  // is served on that port only (src/server.ts) and answers 404 here.
  const metricsPlugins = metrics
    ? [requestMetricsPlugin(metrics, GRAPHQL_ENDPOINT), ...(config.metrics.port === undefined ? [metricsEndpointPlugin(metrics)] : [])]
    : [];
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema: openAccess ? schemaWithoutScopeAuth() : schema,
    context: (initial) => {
      const { request } = initial;
      const clientAddress = clientAddressOf(initial, request, config.limits.trustProxy);
      if (openAccess) return createOpenAccessContext({ prisma, config, lastUsed }, openAccess.userId, request, clientAddress);
      return createContext({ prisma, config, authenticator, lastUsed, limiter }, request, clientAddress);
    },
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    // GraphiQL is rendered from the installed package: no CDN, works offline.
    graphiql: { title: 'Portcullis GraphiQL', shouldPersistHeaders: false },
    renderGraphiQL,
    // Unexpected errors become "Unexpected error." with no stack, SQL or secret.
    maskedErrors: { maskError, isDev: false },
    landingPage: false,
    // Bodies over MAX_BODY_BYTES: HTTP 413 before they are read whole. Batches (a JSON array
    // body) stay refused: yoga's batching is off, so they get HTTP 400 "Batching is not supported."
    ...limitBody.options,
    // No file uploads in this schema: multipart/form-data bodies get 415 like any other type
    // yoga does not read (its multipart parser answers some malformed forms with 200 or 500).
    multipart: false,
    // Yoga's own log calls (masked errors' originals, with their stack) carry the request id.
    logging: logging.yogaLogger,
    // Query limits run while parsing and validating: a document over one never executes.
    plugins: [...metricsPlugins, healthPlugin(database, limiter), limitBody.plugin, ...limitPlugins, requestErrorsPlugin(), logging.plugin],
  });

  return {
    yoga,
    database,
    lastUsed,
    logger,
    limiter,
    metrics,
    stop: async () => {
      await lastUsed.stop();
      await limiter.close();
    },
  };
}
