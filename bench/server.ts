// The gateway under test, in its own process (forked by bench/run.ts, so that autocannon does
// not share its event loop). It opens the already seeded database and serves, on 127.0.0.1
// and two free ports, two apps built by the same createApp over the same database (which counts
// the statements it is sent):
//   - "auth": the real stack (authentication, scope-auth, query limits, budgets, rate limits),
//   - "open": the same with AppOptions.openAccess (every request acts as the owner; no token,
//     no scopes, no limits), the benchmark's baseline for the cost of auth.
// It is served with node:http as src/server.ts does, with NODE_ENV=production; bench/run.ts
// runs it compiled to JavaScript (esbuild) unless BENCH_RUNNER=tsx. IPC: see bench/child.ts.
import { createApp, type AppOptions } from '../src/app';
import { loadConfig } from '../src/env';
import { openDatabase } from '../src/db/database';
import { argon2Counters } from '../src/auth/password';
import { fail, listen, serveParent } from './child';
import { UNREFUSING_LIMITS } from './workload';

export interface ChildOptions {
  databaseUrl?: string;
  dataDir: string;
  /** The user every open-access request acts as. */
  openAccessUserId: string;
  logLevel: string;
  poolSize: number;
}

async function main() {
  const options = JSON.parse(process.env.BENCH_CHILD_OPTIONS ?? '') as ChildOptions;
  const config = loadConfig({
    ...process.env,
    ...UNREFUSING_LIMITS,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: options.databaseUrl ?? '',
    DATA_DIR: options.dataDir,
    DB_POOL_SIZE: String(options.poolSize),
    LOG_LEVEL: options.logLevel,
    REDIS_URL: '',
    SEED_DEMO_DATA: 'false',
  });
  let statements = 0;
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    migrate: false,
    onQuery: () => void statements++,
  });
  const auth = createApp(config, database);
  const openOptions: AppOptions = { openAccess: { userId: options.openAccessUserId } };
  const open = createApp(config, database, openOptions);
  const [authServer, openServer] = await Promise.all([listen(auth.yoga), listen(open.yoga)]);
  serveParent(
    { auth: authServer, open: openServer },
    () => ({ ...argon2Counters(), statements }),
    () => Promise.all([auth.stop(), open.stop()]).then(() => database.close()),
  );
}

main().catch(fail);
