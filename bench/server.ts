// The gateway under test, in its own process (forked by bench/run.ts, so that autocannon does
// not share its event loop). It opens the already seeded database and serves, on 127.0.0.1
// and two free ports, two apps built by the same createApp over the same database (which counts
// the statements it is sent):
//   - "auth": the real stack (authentication, scope-auth, query limits, budgets, rate limits),
//   - "open": the same with AppOptions.openAccess (every request acts as the owner; no token,
//     no scopes, no limits), the benchmark's baseline.
// It is served with node:http as src/server.ts does. Over IPC it reports its ports, answers
// { type: 'counters' } with its Counters (argon2, SQL statements, CPU time), profiles itself
// between { type: 'profile-start' } and 'profile-stop', and stops on { type: 'stop' }.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';
import { createApp, type App, type AppOptions } from '../src/app';
import { loadConfig } from '../src/env';
import { openDatabase } from '../src/db/database';
import { argon2Counters } from '../src/auth/password';

export interface ChildOptions {
  databaseUrl?: string;
  dataDir: string;
  /** The user every open-access request acts as. */
  openAccessUserId: string;
  logLevel: string;
  poolSize: number;
}

export type ChildMessage =
  | { type: 'ready'; authPort: number; openPort: number }
  | { type: 'counters' } & Counters
  | { type: 'stopped' }
  | { type: 'profiled'; file: string }
  | { type: 'error'; message: string };

export type ParentMessage =
  | { type: 'counters' }
  | { type: 'stop' }
  /** V8 CPU profiling of this process, for one measured run (BENCH_PROFILE_DIR). */
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string };

/** Running totals in the gateway process; the parent takes differences around each run. */
export interface Counters {
  /** argon2 operations (src/auth/password.ts). */
  hashes: number;
  verifications: number;
  /** SQL statements sent to the database (DatabaseOptions.onQuery). */
  statements: number;
  /** CPU time of this process (user + system), in milliseconds. */
  cpuMs: number;
}

/** High enough that no limit ever refuses the benchmark, while every limit still runs. */
const UNREFUSING_LIMITS = {
  RATE_LIMIT_TOKEN_PER_MINUTE: '100000000',
  RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000000',
  RATE_LIMIT_LOGIN_FAILURES_PER_MINUTE: '100000000',
  RATE_LIMIT_SIGNUP_PER_MINUTE: '100000000',
  BUDGET_DEFAULT_PER_MINUTE: '100000000',
  BUDGET_MAX_PER_MINUTE: '100000000',
};

function send(message: ChildMessage) {
  process.send?.(message);
}

/** Requests being answered, so that a stop lets them finish before the database closes. */
let inFlight = 0;

function listen(app: App): Promise<Server> {
  const server = createServer((req, res) => {
    // Until yoga is done with it (a client that hung up does not stop its resolvers).
    inFlight++;
    void Promise.resolve(app.yoga(req, res)).finally(() => inFlight--);
  });
  // autocannon keeps its connections open for the whole run.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
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
  const servers = await Promise.all([listen(auth), listen(open)]);
  const [authPort, openPort] = servers.map((server) => (server.address() as AddressInfo).port);

  let profiler: Session | undefined;
  const inspect = (method: string) =>
    new Promise<unknown>((resolve, reject) => profiler!.post(method, (error, result) => (error ? reject(error) : resolve(result))));

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'profile-start') {
      profiler ??= new Session();
      profiler.connect();
      void inspect('Profiler.enable').then(() => inspect('Profiler.start'));
    } else if (message.type === 'profile-stop') {
      void inspect('Profiler.stop').then((result) => {
        writeFileSync(message.file, JSON.stringify((result as { profile: unknown }).profile));
        profiler!.disconnect();
        send({ type: 'profiled', file: message.file });
      });
    } else if (message.type === 'counters') {
      const cpu = process.cpuUsage();
      send({ type: 'counters', ...argon2Counters(), statements, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (message.type === 'stop') {
      // No new connections; requests still in flight from the last run finish first.
      const closed = Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
      const drained = async () => {
        for (const deadline = Date.now() + 10_000; inFlight > 0 && Date.now() < deadline; ) {
          for (const server of servers) server.closeIdleConnections();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        for (const server of servers) server.closeAllConnections();
        await closed;
        // A request whose client hung up may still have statements under way.
        await new Promise((resolve) => setTimeout(resolve, 500));
      };
      drained()
        .then(() => Promise.all([auth.stop(), open.stop()]))
        .then(() => database.close())
        .then(
          () => send({ type: 'stopped' }),
          (error: unknown) => send({ type: 'error', message: String(error) }),
        )
        .finally(() => process.disconnect?.());
    }
  });
  // The parent went away (crashed or killed): do not linger.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 2_000).unref());
  send({ type: 'ready', authPort, openPort });
}

main().catch((error: unknown) => {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
