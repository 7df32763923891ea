// All configuration, parsed and validated once. Nothing else reads process.env.
import { isIP } from 'node:net';
import proxyAddr from 'proxy-addr';
import { z } from 'zod';

/** GitHub Actions and GitLab.com: the CI platforms most pipelines run on. */
export const DEFAULT_FEDERATION_ISSUERS = ['https://token.actions.githubusercontent.com', 'https://gitlab.com'];

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  DATA_DIR: z.string().min(1).default('./data'),
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  SEED_DEMO_DATA: bool.optional(),
  SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(28_800),
  LAST_USED_FLUSH_SECONDS: z.coerce.number().int().min(1).max(60).default(15),
  // How often an instance looks for token.expiring notices that are due (src/auth/expiryNotices.ts).
  TOKEN_EXPIRY_CHECK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  // How often an instance works through the revokeLeakedTokens queue (src/auth/leakedTokens.ts).
  LEAK_REPORTS_CHECK_SECONDS: z.coerce.number().int().min(1).max(3_600).default(5),
  // Webhooks (src/webhooks/): the delivery worker's poll interval, each attempt's timeout, the
  // first retry's delay (doubling after each failure: 30 s and 8 attempts span about an hour).
  WEBHOOK_POLL_SECONDS: z.coerce.number().int().min(1).max(3_600).default(2),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(30),
  WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
  // Plain-HTTP loopback URLs (tests, development); never in production.
  WEBHOOK_ALLOW_LOOPBACK: bool.default(false),
  // Seals the signing secrets in the database (AES-256-GCM): 32 bytes, base64 or 64 hex digits.
  WEBHOOK_SECRET_KEY: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : null;
      if (key?.length !== 32) {
        ctx.addIssue({ code: 'custom', message: 'must be 32 bytes, as base64 (e.g. openssl rand -base64 32) or 64 hex digits' });
        return z.NEVER;
      }
      return key;
    }),
  // DNS servers (ip or ip:port, comma-separated) for webhook host names instead of the system's resolver.
  WEBHOOK_DNS_SERVERS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const servers = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
      for (const server of servers) {
        if (!isDnsServer(server)) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(server.slice(0, 100))} is not a DNS server address: write an IP address, optionally with a port (127.0.0.1:5353, [::1]:53)` });
          return z.NEVER;
        }
      }
      return servers;
    }),
  TOKEN_VERIFY_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  // Credentials kept per instance (0: read on every request); see src/auth/credentialCache.ts.
  CREDENTIAL_CACHE_SIZE: z.coerce.number().int().min(0).max(1_000_000).default(10_000),
  CREDENTIAL_BARRIER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(2_000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  // Query limits (see src/server/queryLimits.ts). The deepest legitimate query,
  // organizations→spaces→boards→items→updates with edges/node and leaf fields, has depth 16.
  QUERY_MAX_DEPTH: z.coerce.number().int().min(1).max(1_000).default(20),
  QUERY_MAX_ALIASES: z.coerce.number().int().min(0).max(10_000).default(15),
  QUERY_MAX_DIRECTIVES: z.coerce.number().int().min(0).max(10_000).default(50),
  // GraphiQL's schema introspection query is about 185 tokens: below 200 it would break.
  QUERY_MAX_TOKENS: z.coerce.number().int().min(200).max(1_000_000).default(1_000),
  QUERY_MAX_COST: z.coerce.number().int().min(1).max(1_000_000_000).default(10_000),
  // Request bodies (see src/server/bodyLimit.ts). The largest legitimate request is about
  // 150 KB (a 10,000-character item update or 100 board ids, every character JSON-escaped);
  // GraphiQL's introspection request is about 2 KB, hence the floor.
  MAX_BODY_BYTES: z.coerce.number().int().min(16_384).max(104_857_600).default(1_048_576),
  // Abuse limits (see src/limits/). Per minute, fixed windows that start with the first use.
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  REDIS_KEY_PREFIX: z.string().min(1).max(100).default('portcullis:'),
  // Budgets are charged what responses hold (src/limits/cost.ts): ordinary queries cost tens to
  // thousands of points, so the default stops sustained bulk reads, not normal use. GraphQL's
  // Int (32 bits) bounds what a token's complexityBudget can show.
  BUDGET_DEFAULT_PER_MINUTE: z.coerce.number().int().min(1).max(2_147_483_647).default(1_000_000_000),
  BUDGET_MAX_PER_MINUTE: z.coerce.number().int().min(1).max(2_147_483_647).default(2_000_000_000),
  RATE_LIMIT_TOKEN_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(6_000),
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(600),
  RATE_LIMIT_LOGIN_FAILURES_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(10),
  RATE_LIMIT_SIGNUP_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(60),
  RATE_LIMIT_LEAK_REPORTS_PER_MINUTE: z.coerce.number().int().min(1).max(100_000_000).default(10),
  // Behind reverse proxies: which of them to trust for X-Forwarded-For (src/limits/clientAddress.ts).
  TRUST_PROXY: z
    .string()
    .default('false')
    .transform((value, ctx): TrustProxy => {
      const text = value.trim();
      if (text === 'false' || text === '0') return false;
      if (/^\d+$/.test(text)) {
        const hops = Number(text);
        if (hops <= 100) return { hops };
      }
      if (text === 'true') {
        // `true` used to mean "the leftmost X-Forwarded-For entry", which the client writes.
        ctx.addIssue({ code: 'custom', message: 'true is not accepted: give the number of proxies in front of the gateway (e.g. 1) or their addresses (e.g. 127.0.0.1,10.0.0.0/8)' });
        return z.NEVER;
      }
      const addresses = text.split(',').map((entry) => entry.trim());
      try {
        if (addresses.some((entry) => entry === '')) throw new Error('empty entry');
        proxyAddr.compile(addresses);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be false, a number of proxies (1 to 100), or a comma-separated list of addresses or CIDRs (or loopback, linklocal, uniquelocal)' });
        return z.NEVER;
      }
      return { addresses };
    }),
  // Browser origins allowed to call the API cross-origin (exact, comma-separated); unset: none.
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const origins = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
      for (const origin of origins) {
        if (!isOrigin(origin)) {
          ctx.addIssue({ code: 'custom', message: `${JSON.stringify(origin.slice(0, 100))} is not an origin: write scheme://host[:port], e.g. https://app.example.com, with no path` });
          return z.NEVER;
        }
      }
      return origins;
    }),
  // Prometheus metrics (see src/metrics/): off by default. METRICS_PORT serves them on a
  // listener of their own (and not on PORT), for a network that clients cannot reach.
  METRICS_ENABLED: bool.default(false),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Workload identity federation (src/federation/): the OIDC issuers whose ID tokens
  // exchangeFederatedToken accepts, comma-separated (checked in loadConfig).
  FEDERATION_ISSUERS: z.string().default(DEFAULT_FEDERATION_ISSUERS.join(',')),
  FEDERATION_ALLOW_INSECURE_LOOPBACK: bool.default(false),
});

/** `https://app.example.com` or `http://localhost:3000`: an http(s) URL that is its own origin (no path, query, user or trailing slash). */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

/** `1.1.1.1`, `127.0.0.1:5353`, `::1` or `[::1]:53`: what dns.Resolver#setServers accepts. */
function isDnsServer(text: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  const withPort = /^([^:]+):(\d{1,5})$/.exec(text);
  const [host, port] = bracketed ? [bracketed[1]!, bracketed[2]] : withPort ? [withPort[1]!, withPort[2]] : [text, undefined];
  return isIP(host) !== 0 && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
}

/**
 * Which proxies are trusted to append the client's address to X-Forwarded-For: none, the
 * nearest `hops` of them, or those at these addresses (proxy-addr's syntax: IPs, CIDRs and
 * the names loopback, linklocal, uniquelocal).
 */
export type TrustProxy = false | { hops: number } | { addresses: string[] };

export type Env = z.infer<typeof envSchema>;

export interface Config {
  nodeEnv: Env['NODE_ENV'];
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  dbPoolSize: number;
  /** Create the demo organization, owner and token on an empty database. */
  seedDemoData: boolean;
  sessionTtlSeconds: number;
  lastUsedFlushSeconds: number;
  /** How often the token.expiring notices are looked for, in seconds. */
  tokenExpiryCheckSeconds: number;
  /** How often the revokeLeakedTokens queue is worked through; 0 (tests only) never on a timer. */
  leakReportsCheckSeconds: number;
  tokenVerifyCacheSize: number;
  /** Webhook deliveries; see src/webhooks/. */
  webhooks: WebhookConfig;
  /** Credentials (token or session with user and memberships) kept per instance; 0 = none. */
  credentialCacheSize: number;
  /** How long a mutation waits for the other instances to confirm they dropped stale credentials. */
  credentialBarrierTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: Env['LOG_LEVEL'];
  /** Largest request body accepted, in bytes (HTTP 413 above it); see src/server/bodyLimit.ts. */
  maxBodyBytes: number;
  /** Checked on every document before it executes (GraphQL Armor); see src/server/queryLimits.ts. */
  queryLimits: QueryLimits;
  /** Complexity budgets and request rates; see src/limits/. */
  limits: AbuseLimits;
  /** Origins whose pages may call the API (CORS, without credentials); empty: none. */
  corsOrigins: string[];
  /** Prometheus metrics at /metrics; see src/metrics/. */
  metrics: MetricsConfig;
  /** Workload identity federation; see src/federation/. */
  federation: FederationConfig;
}

export interface FederationConfig {
  /** The issuer URLs (`iss`) trusted, exactly as their ID tokens carry them. */
  issuers: string[];
  /** Plain http:// issuers on loopback addresses are allowed (tests, development). */
  allowInsecureLoopback: boolean;
  /** Discovery and JWKS requests: each bounded by this (the spec's 5 s; tests shorten it). */
  fetchTimeoutMs: number;
  /** An unknown `kid` fetches the JWKS again at most this often (the spec's once a minute). */
  jwksRefetchCooldownMs: number;
}

export interface WebhookConfig {
  /** How often an instance looks for due deliveries; 0 (tests only) never on a timer. */
  pollSeconds: number;
  /** Each attempt's limit, connection to response body. */
  timeoutMs: number;
  /** The delay before the first retry; it doubles after each failed attempt. */
  retryBaseMs: number;
  /** Attempts before a delivery is marked failed. */
  maxAttempts: number;
  /** Plain-HTTP URLs on loopback addresses are accepted (tests, development). */
  allowLoopback: boolean;
  /** The key that seals signing secrets at rest; unset: stored unsealed (see SECURITY.md). */
  secretKey: Buffer | undefined;
  /** DNS servers for webhook host names; empty: the system's resolver. */
  dnsServers: string[];
}

export interface MetricsConfig {
  /** Metrics are collected (METRICS_ENABLED=true, or METRICS_PORT set). */
  enabled: boolean;
  /**
   * Set: /metrics is served only by a listener of its own on this port (0: any free port),
   * and not on the gateway's port. Unset: on the gateway's port, when enabled.
   */
  port: number | undefined;
}

export interface AbuseLimits {
  /** Shared counters for several instances; unset = in this process's memory. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** Complexity points per minute of a token (or session, or anonymous address) without its own budget. */
  budgetDefaultPerMinute: number;
  /** The highest budget an OWNER can give a token. */
  budgetMaxPerMinute: number;
  /** Requests per minute per token or session. */
  tokenRequestsPerMinute: number;
  /** Requests per minute per client address, without a credential (and refused credentials). */
  anonymousRequestsPerMinute: number;
  /** Failed logIn attempts per minute, per client address and per email address. */
  logInFailuresPerMinute: number;
  /** signUps per minute per client address. */
  signUpsPerMinute: number;
  /** revokeLeakedTokens calls per minute per client address. */
  leakReportsPerMinute: number;
  /** Whose X-Forwarded-For entries name the client; see src/limits/clientAddress.ts. */
  trustProxy: TrustProxy;
}

export interface QueryLimits {
  /** Deepest field nesting (every field counts, leaves included). */
  maxDepth: number;
  /** Aliased fields per operation (`__typename` aliases are free). */
  maxAliases: number;
  /** Directives (`@include`, `@skip`, …) per operation. */
  maxDirectives: number;
  /** Lexical tokens per document: its size, checked while parsing. */
  maxTokens: number;
  /** Static cost per operation: 1 per scalar field, 2 per object field, times `first`/`last` of its connection. */
  maxCost: number;
}

export class ConfigError extends Error {}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  // An empty variable (`PORT=` in a .env file) is unset, never coerced to 0.
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(source).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  if (env.BUDGET_MAX_PER_MINUTE < env.BUDGET_DEFAULT_PER_MINUTE) {
    throw new ConfigError(
      `Invalid configuration:\n  BUDGET_MAX_PER_MINUTE: must be at least BUDGET_DEFAULT_PER_MINUTE (${env.BUDGET_DEFAULT_PER_MINUTE})`,
    );
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
    throw new ConfigError(`Invalid configuration:\n  METRICS_PORT: must differ from PORT (${env.PORT})`);
  }
  const federationIssuers = parseIssuers(env.FEDERATION_ISSUERS, env.FEDERATION_ALLOW_INSECURE_LOOPBACK);
  return {
    nodeEnv: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.DATA_DIR,
    dbPoolSize: env.DB_POOL_SIZE,
    // Demo data is on by default, except in production where it must be asked for.
    seedDemoData: env.SEED_DEMO_DATA ?? env.NODE_ENV !== 'production',
    sessionTtlSeconds: env.SESSION_TTL_SECONDS,
    lastUsedFlushSeconds: env.LAST_USED_FLUSH_SECONDS,
    tokenExpiryCheckSeconds: env.TOKEN_EXPIRY_CHECK_SECONDS,
    leakReportsCheckSeconds: env.LEAK_REPORTS_CHECK_SECONDS,
    tokenVerifyCacheSize: env.TOKEN_VERIFY_CACHE_SIZE,
    webhooks: {
      pollSeconds: env.WEBHOOK_POLL_SECONDS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_SECONDS * 1000,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
      allowLoopback: env.WEBHOOK_ALLOW_LOOPBACK,
      secretKey: env.WEBHOOK_SECRET_KEY,
      dnsServers: env.WEBHOOK_DNS_SERVERS,
    },
    credentialCacheSize: env.CREDENTIAL_CACHE_SIZE,
    credentialBarrierTimeoutMs: env.CREDENTIAL_BARRIER_TIMEOUT_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    logLevel: env.LOG_LEVEL,
    maxBodyBytes: env.MAX_BODY_BYTES,
    queryLimits: {
      maxDepth: env.QUERY_MAX_DEPTH,
      maxAliases: env.QUERY_MAX_ALIASES,
      maxDirectives: env.QUERY_MAX_DIRECTIVES,
      maxTokens: env.QUERY_MAX_TOKENS,
      maxCost: env.QUERY_MAX_COST,
    },
    limits: {
      redisUrl: env.REDIS_URL,
      redisKeyPrefix: env.REDIS_KEY_PREFIX,
      budgetDefaultPerMinute: env.BUDGET_DEFAULT_PER_MINUTE,
      budgetMaxPerMinute: env.BUDGET_MAX_PER_MINUTE,
      tokenRequestsPerMinute: env.RATE_LIMIT_TOKEN_PER_MINUTE,
      anonymousRequestsPerMinute: env.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      logInFailuresPerMinute: env.RATE_LIMIT_LOGIN_FAILURES_PER_MINUTE,
      signUpsPerMinute: env.RATE_LIMIT_SIGNUP_PER_MINUTE,
      leakReportsPerMinute: env.RATE_LIMIT_LEAK_REPORTS_PER_MINUTE,
      trustProxy: env.TRUST_PROXY,
    },
    corsOrigins: env.CORS_ORIGINS,
    metrics: { enabled: env.METRICS_ENABLED || env.METRICS_PORT !== undefined, port: env.METRICS_PORT },
    federation: {
      issuers: federationIssuers,
      allowInsecureLoopback: env.FEDERATION_ALLOW_INSECURE_LOOPBACK,
      fetchTimeoutMs: 5_000,
      jwksRefetchCooldownMs: 60_000,
    },
  };
}

/** A loopback host (127.0.0.0/8, ::1, localhost): the only place plain-HTTP issuers may live. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * FEDERATION_ISSUERS: https:// URLs with no query, fragment or credentials (their discovery
 * document and keys are fetched from there); http:// only on loopback with
 * FEDERATION_ALLOW_INSECURE_LOOPBACK=true.
 */
function parseIssuers(value: string, allowInsecureLoopback: boolean): string[] {
  const issuers = [...new Set(value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''))];
  for (const issuer of issuers) {
    const problem = issuerProblem(issuer, allowInsecureLoopback);
    if (problem) throw new ConfigError(`Invalid configuration:\n  FEDERATION_ISSUERS: ${JSON.stringify(issuer.slice(0, 200))} ${problem}`);
  }
  return issuers;
}

function issuerProblem(issuer: string, allowInsecureLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    return 'is not a URL (write e.g. https://token.actions.githubusercontent.com)';
  }
  if (url.username || url.password || url.search || url.hash || issuer.includes('?') || issuer.includes('#')) {
    return 'must not carry credentials, a query or a fragment';
  }
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) {
    return allowInsecureLoopback ? null : 'is plain HTTP: allowed only on loopback with FEDERATION_ALLOW_INSECURE_LOOPBACK=true (tests, development)';
  }
  return 'must be an https:// URL';
}
