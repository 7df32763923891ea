// createApp(config, database) -> the yoga app and what it needs. Used by the server and by
// the tests; it never reads process.env and never listens.
import { createYoga } from 'graphql-yoga';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { Config } from './env';
import type { Database } from './db/database';
import { createAuthenticator } from './auth/authenticate';
import { LastUsedRecorder } from './auth/lastUsedRecorder';
import { SecretProofCache } from './auth/secretProofCache';
import { createContext, type Context } from './context';
import { schema } from './schema';
import { healthPlugin } from './server/health';
import { maskError } from './server/maskError';
import { requestErrorsPlugin } from './server/requestErrors';
import { queryLimitsPlugins } from './server/queryLimits';

export interface App {
  yoga: ReturnType<typeof createYoga<Record<string, unknown>, Context>>;
  database: Database;
  lastUsed: LastUsedRecorder;
  /** Stops background work and flushes pending writes (does not close the database). */
  stop(): Promise<void>;
}

export function createApp(config: Config, database: Database): App {
  const { prisma } = database;
  const lastUsed = new LastUsedRecorder(prisma, config.lastUsedFlushSeconds * 1000);
  const authenticator = createAuthenticator({
    prisma,
    proofs: new SecretProofCache(config.tokenVerifyCacheSize),
    lastUsed,
  });
  lastUsed.start();

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    context: ({ request }) => createContext({ prisma, config, authenticator, lastUsed }, request),
    graphqlEndpoint: '/graphql',
    // GraphiQL is rendered from the installed package: no CDN, works offline.
    graphiql: { title: 'Portcullis GraphiQL', shouldPersistHeaders: false },
    renderGraphiQL,
    // Unexpected errors become "Unexpected error." with no stack, SQL or secret.
    maskedErrors: { maskError, isDev: false },
    landingPage: false,
    logging: config.logLevel === 'silent' ? false : config.logLevel,
    // Query limits run while parsing and validating: a document over one never executes.
    plugins: [healthPlugin(database), ...queryLimitsPlugins(config.queryLimits), requestErrorsPlugin()],
  });

  return { yoga, database, lastUsed, stop: () => lastUsed.stop() };
}
