// An app served on a real ephemeral port (127.0.0.1), for tests that need real sockets and
// real concurrency (several instances, faults between the app and its database), and a
// fetch-based client that records when each request started and ended.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createApp, type App } from '../../src/app';
import { openDatabase } from '../../src/db/database';
import type { Config } from '../../src/env';
import { TcpProxy } from './tcpProxy';
import { testConfig, type TestApp } from './testApp';

export interface LiveServer {
  /** http://127.0.0.1:<port> (no path). */
  origin: string;
  close(): Promise<void>;
}

export async function serve(app: App): Promise<LiveServer> {
  const server = createServer(app.yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of the test's own fetch client would hold close() open.
        server.closeAllConnections();
      }),
  };
}

/**
 * A second gateway instance on the same PostgreSQL test database as `t` (its own pool and app),
 * served on its own port; closing it stops the app and closes its pool too. `slowLinkMs`: it
 * reaches PostgreSQL through a proxy that delays every chunk by that long (so it hears of
 * changes that much later), closed with it.
 */
export async function serveSecondInstance(
  t: TestApp,
  options: { databaseUrl?: string; config?: Partial<Config>; slowLinkMs?: number } = {},
): Promise<LiveServer & { app: App }> {
  let databaseUrl = options.databaseUrl ?? t.database.location;
  let slow: TcpProxy | undefined;
  if (options.slowLinkMs) {
    const url = new URL(databaseUrl);
    slow = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) }, options.slowLinkMs);
    await slow.listen();
    url.hostname = '127.0.0.1';
    url.port = String(slow.port);
    databaseUrl = url.toString();
  }
  const database = await openDatabase({ databaseUrl, dataDir: '', poolSize: 5, migrate: false });
  const app = createApp(testConfig(options.config), database);
  const live = await serve(app);
  return {
    app,
    origin: live.origin,
    close: async () => {
      await live.close();
      await app.stop();
      await database.close();
      await slow?.cut();
    },
  };
}

export interface TimedResponse {
  /** performance.now() just before the request was sent, and once its body was read. */
  start: number;
  end: number;
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] } | null;
}

/** POST /graphql, bounded by `timeoutMs`; a transport failure is status 0 with no body. */
export async function timedPost(
  origin: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
  timeoutMs = 10_000,
): Promise<TimedResponse> {
  const start = performance.now();
  try {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let body: TimedResponse['body'] = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    return { start, end: performance.now(), status: response.status, body };
  } catch {
    return { start, end: performance.now(), status: 0, body: null };
  }
}
