// The process: read configuration, open the database (migrating it), seed demo data on
// first run, listen, and shut down gracefully on SIGTERM/SIGINT.
import { createServer } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './env';
import { openDatabase } from './db/database';
import { seedDemoData } from './db/demoData';

async function main() {
  const config = loadConfig();
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
  });
  const app = createApp(config, database);
  const server = createServer(app.yoga);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${host}:${port}/graphql`;
  const demo = config.seedDemoData ? await seedDemoData(database.prisma) : null;
  // One write, so that whoever reads the output sees the banner with the listening line.
  const where = database.kind === 'pglite' ? `PGlite in ${config.dataDir}` : 'PostgreSQL';
  console.log([`Portcullis listening on ${url} (database: ${where})`, ...(demo ? [demo.banner(url)] : [])].join('\n'));

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: finishing in-flight requests, then stopping.`);
    const deadline = setTimeout(() => {
      console.error(`Shutdown took longer than ${config.shutdownTimeoutMs} ms; closing connections.`);
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    deadline.unref();
    // Stop accepting; idle keep-alive connections are closed now, busy ones when done.
    server.close(async () => {
      clearTimeout(deadline);
      await app.stop();
      await database.close();
      process.exit(0);
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
  } else {
    console.error('Portcullis failed to start:', error instanceof Error ? error.message : error);
  }
  process.exit(1);
});
