// What the servers under test share as children of bench/run.ts: bench/server.ts (the gateway)
// and bench/bare-yoga.ts (the bare graphql-yoga + pg baseline). Each serves on 127.0.0.1 and
// free ports with node:http, reports its ports over IPC, answers { type: 'counters' } with its
// Counters, profiles itself between 'profile-start' and 'profile-stop' (BENCH_PROFILE_DIR), and
// stops on { type: 'stop' } once the requests in flight are answered.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';

export type ChildMessage =
  | { type: 'ready'; ports: Record<string, number> }
  | ({ type: 'counters' } & Counters)
  | { type: 'stopped' }
  | { type: 'profiled'; file: string }
  | { type: 'error'; message: string };

export type ParentMessage =
  | { type: 'counters' }
  | { type: 'stop' }
  /** V8 CPU profiling of this process, for one measured run (BENCH_PROFILE_DIR). */
  | { type: 'profile-start' }
  | { type: 'profile-stop'; file: string };

/** Running totals in the child process; the parent takes differences around each run. */
export interface Counters {
  /** argon2 operations (src/auth/password.ts; always 0 in the bare baseline). */
  hashes: number;
  verifications: number;
  /** SQL statements sent to the database. */
  statements: number;
  /** CPU time of this process (user + system, all threads), in milliseconds. */
  cpuMs: number;
  /**
   * CPU time of its main thread alone (the event loop, which runs every request's JavaScript),
   * in milliseconds; the rest is V8's garbage collector and compiler threads and libuv's pool.
   * Linux only (/proc/self/task/<pid>/schedstat).
   */
  mainThreadCpuMs?: number;
}

export function send(message: ChildMessage) {
  process.send?.(message);
}

/** Requests being answered, so that a stop lets them finish before the database closes. */
let inFlight = 0;

export function listen(handler: (req: IncomingMessage, res: ServerResponse) => unknown): Promise<Server> {
  const server = createServer((req, res) => {
    // Until the handler is done with it (a client that hung up does not stop its resolvers).
    inFlight++;
    void Promise.resolve(handler(req, res)).finally(() => inFlight--);
  });
  // autocannon keeps its connections open for the whole run.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** CPU time of this process's main thread so far, in nanoseconds (first field of schedstat; Linux only, throws elsewhere). */
export function mainThreadCpuNs(): number {
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** Counters.mainThreadCpuMs, where /proc has it. */
function mainThreadCpuMs(): number | undefined {
  try {
    return mainThreadCpuNs() / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Answers the parent until it says stop, then closes the servers, waits for the requests in
 * flight, calls `close` (apps, database) and disconnects. Sends 'ready' with the servers' ports.
 */
export function serveParent(servers: Record<string, Server>, counters: () => Omit<Counters, 'cpuMs' | 'mainThreadCpuMs'>, close: () => Promise<unknown>) {
  const all = Object.values(servers);
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
      send({ type: 'counters', ...counters(), cpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs: mainThreadCpuMs() });
    } else if (message.type === 'stop') {
      // No new connections; requests still in flight from the last run finish first.
      const closed = Promise.all(all.map((server) => new Promise((resolve) => server.close(resolve))));
      const drained = async () => {
        for (const deadline = Date.now() + 10_000; inFlight > 0 && Date.now() < deadline; ) {
          for (const server of all) server.closeIdleConnections();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        for (const server of all) server.closeAllConnections();
        await closed;
        // A request whose client hung up may still have statements under way.
        await new Promise((resolve) => setTimeout(resolve, 500));
      };
      drained()
        .then(close)
        .then(
          () => send({ type: 'stopped' }),
          (error: unknown) => send({ type: 'error', message: String(error) }),
        )
        .finally(() => process.disconnect?.());
    }
  });
  // The parent went away (crashed or killed): do not linger.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 2_000).unref());
  const ports = Object.fromEntries(Object.entries(servers).map(([name, server]) => [name, (server.address() as AddressInfo).port]));
  send({ type: 'ready', ports });
}

export function fail(error: unknown): never {
  send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
}
