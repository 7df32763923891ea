// src/env.ts: configuration from the environment, with defaults and errors that name the
// variable (the process prints the message and exits, so it must be enough to act on).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, envSchema, loadConfig } from '../src/env';

/** The ConfigError loadConfig throws for `source` (fails the test when it does not throw one). */
function configError(source: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(source)}, got a configuration`);
}

describe('defaults', () => {
  test('an empty environment gives the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      nodeEnv: 'development',
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: './data',
      dbPoolSize: 10,
      seedDemoData: true,
      sessionTtlSeconds: 28_800,
      lastUsedFlushSeconds: 15,
      tokenExpiryCheckSeconds: 300,
      leakReportsCheckSeconds: 5,
      tokenVerifyCacheSize: 10_000,
      webhooks: { pollSeconds: 2, timeoutMs: 5_000, retryBaseMs: 30_000, maxAttempts: 8, allowLoopback: false, secretKey: undefined, dnsServers: [] },
      credentialCacheSize: 10_000,
      credentialBarrierTimeoutMs: 2_000,
      shutdownTimeoutMs: 10_000,
      logLevel: 'info',
      maxBodyBytes: 1_048_576,
      queryLimits: { maxDepth: 20, maxAliases: 15, maxDirectives: 50, maxTokens: 1000, maxCost: 10_000 },
      limits: {
        redisUrl: undefined,
        redisKeyPrefix: 'portcullis:',
        budgetDefaultPerMinute: 1_000_000_000,
        budgetMaxPerMinute: 2_000_000_000,
        tokenRequestsPerMinute: 6_000,
        anonymousRequestsPerMinute: 600,
        logInFailuresPerMinute: 10,
        signUpsPerMinute: 60,
        leakReportsPerMinute: 10,
        trustProxy: false,
      },
      corsOrigins: [],
      metrics: { enabled: false, port: undefined },
      federation: {
        issuers: ['https://token.actions.githubusercontent.com', 'https://gitlab.com'],
        allowInsecureLoopback: false,
        fetchTimeoutMs: 5_000,
        jwksRefetchCooldownMs: 60_000,
      },
    });
  });

  test('.env.example lists every variable with its default', () => {
    const example = readFileSync(path.join(__dirname, '..', '.env.example'), 'utf8');
    const listed = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(loadConfig(listed)).toEqual(loadConfig({}));
    expect(Object.keys(listed).sort()).toEqual(Object.keys(envSchema.shape).sort());
  });

  test('webhooks: a 32-byte key as base64 or hex, DNS servers as addresses', () => {
    const key = Buffer.alloc(32, 7);
    expect(loadConfig({ WEBHOOK_SECRET_KEY: key.toString('base64') }).webhooks.secretKey).toEqual(key);
    expect(loadConfig({ WEBHOOK_SECRET_KEY: key.toString('hex') }).webhooks.secretKey).toEqual(key);
    expect(configError({ WEBHOOK_SECRET_KEY: Buffer.alloc(16).toString('base64') }).message).toMatch(/WEBHOOK_SECRET_KEY: must be 32 bytes/);
    expect(configError({ WEBHOOK_SECRET_KEY: 'not-a-key-not-a-key-not-a-key-not-a-key-xyz' }).message).not.toContain('not-a-key');
    expect(loadConfig({ WEBHOOK_DNS_SERVERS: '127.0.0.1:5353, ::1, [::1]:53' }).webhooks.dnsServers).toEqual(['127.0.0.1:5353', '::1', '[::1]:53']);
    expect(configError({ WEBHOOK_DNS_SERVERS: 'dns.example.com' }).message).toMatch(/WEBHOOK_DNS_SERVERS: "dns.example.com" is not a DNS server address/);
    expect(loadConfig({ WEBHOOK_ALLOW_LOOPBACK: 'true' }).webhooks.allowLoopback).toBe(true);
    expect(configError({ WEBHOOK_TIMEOUT_MS: '50' }).message).toMatch(/WEBHOOK_TIMEOUT_MS/);
  });

  test('limits: redis:// URLs only, and a maximum budget below the default is refused', () => {
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).limits.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(configError({ REDIS_URL: 'http://127.0.0.1:6379' }).message).toMatch(/REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(configError({ BUDGET_DEFAULT_PER_MINUTE: '500', BUDGET_MAX_PER_MINUTE: '100' }).message).toMatch(/BUDGET_MAX_PER_MINUTE: must be at least BUDGET_DEFAULT_PER_MINUTE \(500\)/);
    expect(configError({ RATE_LIMIT_TOKEN_PER_MINUTE: '0' }).message).toMatch(/RATE_LIMIT_TOKEN_PER_MINUTE/);
  });

  test('TRUST_PROXY: false, a number of proxies, or their addresses; true is refused', () => {
    expect(loadConfig({ TRUST_PROXY: 'false' }).limits.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '0' }).limits.trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: '2' }).limits.trustProxy).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,loopback' }).limits.trustProxy).toEqual({ addresses: ['127.0.0.1', '10.0.0.0/8', 'loopback'] });
    expect(configError({ TRUST_PROXY: 'true' }).message).toMatch(/TRUST_PROXY: true is not accepted: give the number of proxies .* or their addresses/);
    expect(configError({ TRUST_PROXY: '10.0.0.0/99' }).message).toMatch(/TRUST_PROXY: must be false, a number of proxies/);
    expect(configError({ TRUST_PROXY: 'proxy.example.com' }).message).toMatch(/TRUST_PROXY/);
    expect(configError({ TRUST_PROXY: '127.0.0.1,,10.0.0.1' }).message).toMatch(/TRUST_PROXY/);
  });

  test('CORS_ORIGINS: exact origins, comma-separated; empty means none', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' }).corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(configError({ CORS_ORIGINS: 'https://app.example.com/path' }).message).toMatch(/CORS_ORIGINS: "https:\/\/app.example.com\/path" is not an origin/);
    expect(configError({ CORS_ORIGINS: 'https://app.example.com/' }).message).toMatch(/CORS_ORIGINS/);
    expect(configError({ CORS_ORIGINS: '*' }).message).toMatch(/CORS_ORIGINS/);
    expect(configError({ CORS_ORIGINS: 'app.example.com' }).message).toMatch(/CORS_ORIGINS/);
  });

  test('metrics: off by default; METRICS_ENABLED serves them on PORT; METRICS_PORT turns them on, on a port of their own', () => {
    expect(loadConfig({ METRICS_ENABLED: 'true' }).metrics).toEqual({ enabled: true, port: undefined });
    expect(loadConfig({ METRICS_PORT: '9464' }).metrics).toEqual({ enabled: true, port: 9464 });
    expect(loadConfig({ METRICS_ENABLED: 'true', METRICS_PORT: '0' }).metrics).toEqual({ enabled: true, port: 0 });
    expect(loadConfig({ METRICS_PORT: '' }).metrics).toEqual({ enabled: false, port: undefined });
    expect(configError({ METRICS_PORT: '4000' }).message).toMatch(/METRICS_PORT: must differ from PORT \(4000\)/);
    expect(configError({ METRICS_PORT: 'ninety' }).message).toMatch(/\bMETRICS_PORT\b/);
    expect(configError({ METRICS_ENABLED: 'on' }).message).toMatch(/\bMETRICS_ENABLED\b.*true or false/);
  });

  test('the default session lifetime is at most 24 hours', () => {
    expect(loadConfig({}).sessionTtlSeconds).toBeLessThanOrEqual(86_400);
  });

  test('demo data is off by default in production, and can be asked for', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).seedDemoData).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', SEED_DEMO_DATA: 'true' }).seedDemoData).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).seedDemoData).toBe(true);
    expect(loadConfig({ NODE_ENV: 'development', SEED_DEMO_DATA: 'false' }).seedDemoData).toBe(false);
  });

  test('without an argument it reads process.env', () => {
    const saved = process.env.PORT;
    process.env.PORT = '5123';
    try {
      expect(loadConfig().port).toBe(5123);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  test('unrelated variables are ignored', () => {
    expect(loadConfig({ PATH: '/usr/bin', HOME: '/root', SOMETHING_ELSE: '!!' }).port).toBe(4000);
  });
});

describe('values that are accepted', () => {
  test.each([
    ['0', 0], // any free port
    ['1', 1],
    ['8080', 8080],
    ['65535', 65_535],
  ])('PORT=%s', (value, port) => {
    expect(loadConfig({ PORT: value }).port).toBe(port);
  });

  test.each(['postgresql://postgres@127.0.0.1:5432/portcullis', 'postgres://user:pw@db.internal/portcullis?sslmode=require'])(
    'DATABASE_URL=%s',
    (url) => {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    },
  );

  test('an empty DATABASE_URL means PGlite', () => {
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
  });

  test.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('SEED_DEMO_DATA=%s', (value, expected) => {
    expect(loadConfig({ SEED_DEMO_DATA: value, NODE_ENV: value === 'true' ? 'production' : 'development' }).seedDemoData).toBe(expected);
  });

  test.each([
    ['60', 60],
    ['3600', 3600],
    ['86400', 86_400],
  ])('SESSION_TTL_SECONDS=%s', (value, seconds) => {
    expect(loadConfig({ SESSION_TTL_SECONDS: value }).sessionTtlSeconds).toBe(seconds);
  });

  test('an empty variable counts as unset, never as 0', () => {
    const config = loadConfig({ PORT: '', SESSION_TTL_SECONDS: '', TOKEN_VERIFY_CACHE_SIZE: '', SHUTDOWN_TIMEOUT_MS: '', SEED_DEMO_DATA: '' });
    expect(config).toMatchObject({ port: 4000, sessionTtlSeconds: 28_800, tokenVerifyCacheSize: 10_000, shutdownTimeoutMs: 10_000, seedDemoData: true });
  });
});

describe('clear errors that name the variable', () => {
  test.each(['abc', '-1', '65536', '80.5', '4000abc', '1e9'])('PORT=%s', (value) => {
    const error = configError({ PORT: value });
    expect(error.message).toMatch(/^Invalid configuration/);
    expect(error.message).toMatch(/\bPORT\b/);
  });

  test.each(['mysql://root@localhost/portcullis', 'localhost:5432', 'http://db/portcullis', 'portcullis'])('DATABASE_URL=%s', (value) => {
    const error = configError({ DATABASE_URL: value });
    expect(error.message).toMatch(/\bDATABASE_URL\b/);
    expect(error.message).toMatch(/postgres/i); // says what is expected
  });

  test('a bad DATABASE_URL is not echoed (it may hold a password)', () => {
    const error = configError({ DATABASE_URL: 'mysql://admin:hunter2-s3cret@db.internal/portcullis' });
    expect(error.message).toMatch(/\bDATABASE_URL\b/);
    expect(error.message).not.toContain('hunter2-s3cret');
  });

  test.each(['maybe', 'on', 'TRUE-ish', '2'])('SEED_DEMO_DATA=%s', (value) => {
    const error = configError({ SEED_DEMO_DATA: value });
    expect(error.message).toMatch(/\bSEED_DEMO_DATA\b/);
    expect(error.message).toMatch(/true or false/);
  });

  test.each(['86401', '172800', '59', '0', 'eight hours'])('SESSION_TTL_SECONDS=%s', (value) => {
    const error = configError({ SESSION_TTL_SECONDS: value });
    expect(error.message).toMatch(/\bSESSION_TTL_SECONDS\b/);
  });

  test('SESSION_TTL_SECONDS above 24 hours says what the limit is', () => {
    expect(configError({ SESSION_TTL_SECONDS: '86401' }).message).toMatch(/86400|86,400/);
  });

  test('every bad variable is reported at once, each on its own line', () => {
    const error = configError({ PORT: 'abc', DATABASE_URL: 'mysql://x', SEED_DEMO_DATA: 'maybe', SESSION_TTL_SECONDS: '999999', HOST: 'fine' });
    const lines = error.message.split('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'SEED_DEMO_DATA', 'SESSION_TTL_SECONDS']) {
      expect(lines.filter((line) => new RegExp(`\\b${name}\\b`).test(line))).toHaveLength(1);
    }
    expect(error.message).not.toMatch(/\bHOST\b/);
  });

  test.each([
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['DB_POOL_SIZE', '0'],
    ['LAST_USED_FLUSH_SECONDS', '61'],
    ['TOKEN_EXPIRY_CHECK_SECONDS', '0'],
    ['MAX_BODY_BYTES', '1000'],
    ['MAX_BODY_BYTES', '1MB'],
  ])('%s=%s', (name, value) => {
    expect(configError({ [name]: value }).message).toMatch(new RegExp(`\\b${name}\\b`));
  });
});
