// The process: read configuration, open the database (migrating it), seed demo data on
// first run, listen, and shut down gracefully on SIGTERM/SIGINT.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics } from 'prom-client';
import { createApp } from './app';
import { ConfigError, loadConfig } from './env';
import { openDatabase } from './db/database';
import { seedDemoData } from './db/demoData';
import { startMetricsServer } from './metrics/server';
import { ensureConsoleBuilt } from './server/console';

async function main() {
  const config = loadConfig();
  // A fresh clone's `npm install` built it already; a changed source since is rebuilt here. The
  // API does not depend on it: if the build fails, /console says so and the rest is served.
  try {
    ensureConsoleBuilt((message) => console.log(message));
  } catch (error) {
    console.error(`The token console is not available: ${error instanceof Error ? error.message : error}`);
  }
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
  });
  const app = createApp(config, database);
  // Responses being worked on, so that a shutdown can close their connections once they are sent.
  const inFlight = new Set<ServerResponse>();
  let stopping = false;
  const server = createServer((req, res) => {
    if (stopping) {
      // A request on a connection that was kept alive before the shutdown began.
      res.writeHead(503, { 'Content-Type': 'application/json', Connection: 'close', 'Retry-After': '1' });
      res.end(JSON.stringify({ errors: [{ message: 'The server is shutting down.', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }));
      return;
    }
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    void app.yoga(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  // The process's own metrics (CPU, memory, event loop delay, GC) next to the gateway's. On
  // METRICS_PORT they are served until the process exits, so that a shutdown can be watched.
  if (app.metrics) collectDefaultMetrics({ register: app.metrics.registry });
  const metricsServer = app.metrics && config.metrics.port !== undefined ? await startMetricsServer(app.metrics, config.metrics.port, config.host) : null;
  // Signals are handled from here on, before the (possibly slow) first-run seeding.
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal, inFlight: inFlight.size }, `${signal} received: finishing in-flight requests, then stopping.`);
    const deadline = setTimeout(() => {
      app.logger.warn(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; closing connections.`);
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // Stop accepting (new connections are refused); once every connection is closed, flush
    // pending writes, close the database and exit.
    server.close(() => {
      clearTimeout(deadline);
      Promise.resolve()
        .then(() => app.stop())
        .then(() => database.close())
        .then(
          () => {
            app.logger.info('Stopped.');
            process.exit(0);
          },
          (error: unknown) => {
            app.logger.error({ err: error }, 'Failed to stop cleanly.');
            process.exit(1);
          },
        );
    });
    // Idle keep-alive connections close now; busy ones as soon as their response is sent
    // (it says `Connection: close`, so the client does not reuse the connection).
    for (const res of inFlight) {
      if (!res.headersSent) res.setHeader('Connection', 'close');
      res.once('finish', () => setImmediate(() => server.closeIdleConnections()));
    }
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${port}/graphql`;
  const metricsPort = metricsServer ? (metricsServer.address() as AddressInfo).port : port;
  const consoleLine = `Token console on http://${host}:${port}/console`;
  const metricsLine = app.metrics ? [`Metrics on http://${host}:${metricsPort}/metrics`] : [];
  const demo = config.seedDemoData ? await seedDemoData(database.prisma) : null;
  // One write, so that whoever reads the output sees the banner with the listening line.
  const where = database.kind === 'pglite' ? `PGlite in ${config.dataDir}` : 'PostgreSQL';
  console.log([`Portcullis listening on ${url} (database: ${where})`, consoleLine, ...metricsLine, ...(demo ? [demo.banner(url)] : [])].join('\n'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('Portcullis failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
