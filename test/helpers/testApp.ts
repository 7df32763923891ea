// The real app on its own copy of the database, driven through supertest.
import request from 'supertest';
import { createApp, type App, type AppOptions } from '../../src/app';
import { loadConfig, type Config } from '../../src/env';
import { openTestDatabase, type TestDatabase } from './testDatabase';

export interface GraphQLResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: { data?: T; errors?: { message: string; extensions?: { code?: string }; path?: (string | number)[] }[] };
}

export interface TestApp {
  app: App;
  database: TestDatabase;
  prisma: TestDatabase['prisma'];
  /** POST /graphql with an optional bearer token. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>>;
  /** POST /graphql with a raw Authorization header. */
  gqlWithHeader(query: string, authorization: string): Promise<GraphQLResponse>;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * The configuration of a test app. Its request-rate limits are high: test files send hundreds
 * of requests a minute from one address and one token, which is what the limits are there to
 * stop. test/limits.test.ts and test/sharedLimits.test.ts set small ones to reach them.
 */
export function testConfig(overrides: Partial<Config> = {}): Config {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    SEED_DEMO_DATA: 'false',
    RATE_LIMIT_TOKEN_PER_MINUTE: '100000000',
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000000',
    RATE_LIMIT_LOGIN_FAILURES_PER_MINUTE: '100000000',
    RATE_LIMIT_SIGNUP_PER_MINUTE: '100000000',
    RATE_LIMIT_LEAK_REPORTS_PER_MINUTE: '100000000',
  });
  // No webhook polling on a timer (its statements would show in tests that count them): the
  // webhook tests run the worker themselves or turn it on.
  return { ...config, webhooks: { ...config.webhooks, pollSeconds: 0 }, ...overrides };
}

/**
 * `options.onQuery` is called with every SQL statement the app sends (see openDatabase);
 * `options.logStream` receives every log line (set `logLevel` too: tests default to 'silent').
 */
export async function startTestApp(
  overrides: Partial<Config> = {},
  options: { onQuery?: (sql: string) => void } & AppOptions = {},
): Promise<TestApp> {
  const database = await openTestDatabase({ onQuery: options.onQuery });
  const app = createApp(testConfig(overrides), database, { logStream: options.logStream });
  const http = () => request(app.yoga);
  const post = async (query: string, variables: Record<string, unknown> | undefined, authorization?: string) => {
    let req = http().post('/graphql').set('Content-Type', 'application/json');
    if (authorization !== undefined) req = req.set('Authorization', authorization);
    const res = await req.send({ query, variables });
    return { status: res.status, headers: res.headers as Record<string, string>, body: res.body };
  };
  return {
    app,
    database,
    prisma: database.prisma,
    gql: (query, variables, token) => post(query, variables, token === undefined ? undefined : `Bearer ${token}`),
    gqlWithHeader: (query, authorization) => post(query, undefined, authorization),
    http,
    close: async () => {
      await app.stop();
      await database.drop();
    },
  };
}

/** The data of a response that must have succeeded (fails the test with the errors otherwise). */
export function dataOf<T = any>(response: GraphQLResponse<T>): T {
  if (response.body.errors?.length || response.status !== 200) {
    throw new Error(`Expected success, got HTTP ${response.status}: ${JSON.stringify(response.body.errors)}`);
  }
  return response.body.data as T;
}

/** The codes of a response's errors. */
export const errorCodes = (response: GraphQLResponse) => (response.body.errors ?? []).map((e) => e.extensions?.code);
