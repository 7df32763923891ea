// createApp(config, database) -> the yoga app and what it needs. Used by the server and by
// the tests; it never reads process.env and never listens.
import { createYoga } from 'graphql-yoga';
import type { Config } from './env';
import type { Database } from './db/database';
import { createAuthenticator } from './auth/authenticate';
import { LastUsedRecorder } from './auth/lastUsedRecorder';
import { ExpiryNoticeJob } from './auth/expiryNotices';
import { LeakReportWorker } from './auth/leakedTokens';
import { WebhookDeliveryWorker } from './webhooks/worker';
import { SecretProofCache } from './auth/secretProofCache';
import { CredentialCache } from './auth/credentialCache';
import { CredentialChanges } from './auth/credentialChanges';
import { credentialBarrierPlugin } from './server/credentialBarrier';
import { createContext, createOpenAccessContext, type Context } from './context';
import { schema, schemaWithoutScopeAuth } from './schema';
import { healthPlugin } from './server/health';
import { graphiqlPlugin } from './server/graphiql';
import { consolePlugin } from './server/console';
import { securityHeadersPlugin } from './server/securityHeaders';
import { tokenExpirationHeaderPlugin } from './server/tokenExpirationHeader';
import { corsOption } from './server/cors';
import { authorizationOf } from './auth/authorizationHeader';
import { maskError } from './server/maskError';
import { requestErrorsPlugin } from './server/requestErrors';
import { scopeCachePlugin } from './server/scopeCache';
import { queryLimitsPlugins } from './server/queryLimits';
import { bodyLimit } from './server/bodyLimit';
import { createLogger, requestLogging, type LogStream, type Logger } from './server/logging';
import { AbuseLimiter } from './limits/abuseLimiter';
import { createCounters } from './limits/counters';
import { abuseLimitsPlugin, pageLimitsPlugin } from './limits/plugin';
import { clientAddressResolver } from './limits/clientAddress';
import { AppMetrics } from './metrics/registry';
import { metricsEndpointPlugin, requestMetricsPlugin } from './metrics/plugin';

export interface App {
  yoga: ReturnType<typeof createYoga<Record<string, unknown>, Context>>;
  database: Database;
  lastUsed: LastUsedRecorder;
  /** token.expiring audit events, checked every TOKEN_EXPIRY_CHECK_SECONDS (one instance at a time). */
  expiryNotices: ExpiryNoticeJob;
  /** The revokeLeakedTokens queue, worked through every LEAK_REPORTS_CHECK_SECONDS (any instance). */
  leakReports: LeakReportWorker;
  /** The webhook outbox, sent every WEBHOOK_POLL_SECONDS (any instance). */
  webhooks: WebhookDeliveryWorker;
  /** Structured logs (pino): one line per request, masked errors with their stack. */
  logger: Logger;
  limiter: AbuseLimiter;
  /** Credentials kept in this process, and how every instance learns they changed. */
  credentials: CredentialCache;
  credentialChanges: CredentialChanges;
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

/** Even with every change heard, a cached credential is read again after this long. */
const CREDENTIAL_CACHE_TTL_MS = 60_000;
const GRAPHQL_ENDPOINT = '/graphql';

export function createApp(config: Config, database: Database, options: AppOptions = {}): App {
  const { prisma } = database;
  const metrics = config.metrics.enabled ? new AppMetrics(database) : null;
  const lastUsed = new LastUsedRecorder(prisma, config.lastUsedFlushSeconds * 1000);
  const logger = createLogger(config, options.logStream);
  const credentials = new CredentialCache(config.credentialCacheSize, CREDENTIAL_CACHE_TTL_MS, metrics?.cacheStats('credentials'));
  const credentialChanges = new CredentialChanges(database, credentials, logger, config.credentialBarrierTimeoutMs);
  // Until it listens, the cache answers nothing (every request reads the database).
  if (config.credentialCacheSize > 0) void credentialChanges.start();
  const authenticator = createAuthenticator({
    prisma,
    proofs: new SecretProofCache(config.tokenVerifyCacheSize, metrics?.cacheStats('secret_proof')),
    credentials,
    lastUsed,
    // Without a cache there is nothing to drop (and no listener to answer a barrier).
    credentialsChanged: config.credentialCacheSize > 0 ? () => credentialChanges.barrier() : undefined,
  });
  lastUsed.start();
  const expiryNotices = new ExpiryNoticeJob(prisma, config.tokenExpiryCheckSeconds * 1000, logger);
  expiryNotices.start();
  const leakReports = new LeakReportWorker(prisma, config.leakReportsCheckSeconds * 1000, logger);
  leakReports.start();
  const webhooks = new WebhookDeliveryWorker(prisma, config.webhooks, logger);
  webhooks.start();

  const limitBody = bodyLimit(config.maxBodyBytes);
  const logging = requestLogging(logger);
  const limiter = new AbuseLimiter(createCounters({ redisUrl: config.limits.redisUrl, keyPrefix: config.limits.redisKeyPrefix, logger }), config.limits, metrics?.refused);
  const openAccess = options.openAccess;
  const clientAddressOf = clientAddressResolver(config.limits.trustProxy);
  const limitPlugins = openAccess ? [] : [...queryLimitsPlugins(config.queryLimits), abuseLimitsPlugin(limiter)];
  const pageLimits = openAccess ? [] : [pageLimitsPlugin(limiter, clientAddressOf)];
  // First, so that a request's latency covers every other plugin. With METRICS_PORT, /metrics
  // is served on that port only (src/server.ts) and answers 404 here.
  const metricsPlugins = metrics
    ? [requestMetricsPlugin(metrics, GRAPHQL_ENDPOINT), ...(config.metrics.port === undefined ? [metricsEndpointPlugin(metrics)] : [])]
    : [];
  const yoga = createYoga<Record<string, unknown>, Context>({
    schema: openAccess ? schemaWithoutScopeAuth() : schema,
    context: (initial) => {
      const { request } = initial;
      const clientAddress = clientAddressOf(initial);
      if (openAccess) return createOpenAccessContext({ database, config, lastUsed }, openAccess.userId, request, clientAddress);
      // Two credentials in one request: HTTP 400 before either is looked at.
      const authorization = authorizationOf(initial, request);
      return createContext({ database, config, authenticator, lastUsed, limiter }, request, authorization, clientAddress);
    },
    graphqlEndpoint: GRAPHQL_ENDPOINT,
    // GraphiQL is served by graphiqlPlugin (rendered from the installed package: no CDN, works
    // offline), after pageLimitsPlugin has counted the request and with its own CSP.
    graphiql: false,
    // Only CORS_ORIGINS, never with credentials (src/server/cors.ts).
    cors: corsOption(config.corsOrigins),
    // Unexpected errors become "Unexpected error." with no stack, SQL or secret.
    maskedErrors: { maskError: logging.maskError(maskError), isDev: false },
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
    plugins: [
      ...metricsPlugins,
      securityHeadersPlugin(),
      tokenExpirationHeaderPlugin(),
      ...pageLimits,
      healthPlugin(database, limiter),
      graphiqlPlugin(),
      consolePlugin(),
      limitBody.plugin,
      ...limitPlugins,
      requestErrorsPlugin(),
      ...(openAccess ? [] : [scopeCachePlugin()]),
      logging.plugin,
      ...(config.credentialCacheSize > 0 ? [credentialBarrierPlugin(credentialChanges, logger)] : []),
    ],
  });

  return {
    yoga,
    database,
    lastUsed,
    expiryNotices,
    leakReports,
    webhooks,
    logger,
    limiter,
    credentials,
    credentialChanges,
    metrics,
    stop: async () => {
      await expiryNotices.stop();
      await leakReports.stop();
      await webhooks.stop();
      await credentialChanges.stop();
      await lastUsed.stop();
      await limiter.close();
    },
  };
}
