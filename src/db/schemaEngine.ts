// Prisma's own schema engine (the WebAssembly build) driven through a driver adapter, so that
// migrations work where Prisma's native engine binary cannot be downloaded.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { PrismaPGlite } from 'pglite-prisma-adapter';

type EngineGlue = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let engineClass: Promise<typeof SchemaEngine> | undefined;

// A real import(): tsc's CommonJS output turns `import()` into require(), and Jest's require
// refuses ES modules (even where Node's would load them); Jest's import() works with
// --experimental-vm-modules, which PGlite needs anyway.
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

// The package's entry point imports the .wasm file as an ES module, which Node cannot do, and
// @prisma/internals' loader looks for the .wasm under its own build/ folder, which its npm
// package lacks. So: instantiate the .wasm ourselves with the wasm-bindgen glue (an ES module)
// as its imports, once per process.
function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  engineClass ??= (async () => {
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = (await importEsm(pathToFileURL(gluePath).href)) as EngineGlue;
    const bytes = await readFile(path.join(path.dirname(gluePath), 'schema_engine_bg.wasm'));
    // applyMigrations arms a 10 s timer around taking PostgreSQL's advisory lock and never
    // clears it (the glue has no clearTimeout): unref it, or every caller lingers 10 s at exit.
    const imports = { ...glue } as unknown as Record<string, (...args: unknown[]) => unknown>;
    for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
      const setTimer = imports[name];
      imports[name] = (...args) => {
        const timer = setTimer(...args) as { unref?: () => void };
        timer.unref?.();
        return timer;
      };
    }
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': imports });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue.SchemaEngine;
  })();
  return engineClass;
}

/** Runs `work` on a fresh engine over `adapterFactory`; frees the engine and its connections. */
async function withEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  datamodels: [string, string][] | undefined,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const SchemaEngineClass = await loadSchemaEngine();
  const connections = trackConnections(adapterFactory);
  try {
    const bound = bindMigrationAwareSqlAdapterFactory(connections.factory);
    const engine = await SchemaEngineClass.new({ datamodels }, () => undefined, bound);
    try {
      return await work(engine);
    } finally {
      engine.free();
    }
  } catch (error) {
    throw engineError(error);
  } finally {
    await connections.disposeAll();
  }
}

// The engine never disposes of the connections it opens, and on PostgreSQL the one that ran
// applyMigrations keeps its session advisory lock until it closes: the next applyMigrations,
// from this process or another gateway instance, would wait 10 s for it. So dispose of every
// connection (once) when the engine is done; for PrismaPg that ends the pool it created.
function trackConnections(factory: SqlMigrationAwareDriverAdapterFactory) {
  const opened: SqlDriverAdapter[] = [];
  const track = async (connecting: Promise<SqlDriverAdapter>): Promise<SqlDriverAdapter> => {
    const adapter = awaitPgliteScripts(await connecting);
    const dispose = adapter.dispose.bind(adapter);
    let disposed: Promise<void> | undefined;
    adapter.dispose = () => (disposed ??= dispose());
    opened.push(adapter);
    return adapter;
  };
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => track(factory.connect()),
    connectToShadowDb: () => track(factory.connectToShadowDb()),
  };
  return { factory: tracked, disposeAll: () => Promise.allSettled(opened.map((a) => a.dispose())) };
}

// pglite-prisma-adapter 0.7.2's executeScript starts PGlite's exec() without awaiting it, so a
// failing migration would be recorded as applied and its error escape as an unhandled
// rejection. Await it, and hand PostgreSQL's error on in the form the engine prints.
// (Duck-typed rather than instanceof, which a second copy of PGlite would defeat.)
function awaitPgliteScripts(adapter: SqlDriverAdapter): SqlDriverAdapter {
  const client = (adapter as unknown as { client?: Partial<Pick<PGlite, 'exec'>> }).client;
  const exec = client?.exec?.bind(client);
  if (adapter.adapterName !== 'pglite-prisma-adapter' || !exec) return adapter;
  adapter.executeScript = async (script) => {
    await exec(script).catch((error: unknown) => {
      const e = error as Partial<Record<'code' | 'severity' | 'message' | 'detail' | 'column' | 'hint', string>>;
      if (typeof e.code !== 'string' || typeof e.message !== 'string') throw error;
      const { code, severity = 'ERROR', message, detail, column, hint } = e;
      throw new DriverAdapterError({ kind: 'postgres', code, severity, message, detail, column, hint });
    });
  };
  return adapter;
}

// Engine errors are plain objects ({ code, message }) or wasm errors; make them Errors.
function engineError(error: unknown): Error {
  if (error instanceof Error) return error;
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return new Error(`Schema engine${code ? ` ${code}` : ''}: ${message ?? String(error)}`);
}

/** Reads prisma/migrations the way `prisma migrate` does: one folder per migration, by name. */
export async function listMigrations(migrationsDir: string): Promise<MigrationList> {
  const baseDir = path.resolve(migrationsDir);
  const lockContent = await readFile(path.join(baseDir, 'migration_lock.toml'), 'utf8').catch(() => null);
  const entries = await readdir(baseDir, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: await readFile(path.join(baseDir, name, 'migration.sql'), 'utf8').then(
          (value) => ({ tag: 'ok' as const, value }),
          (error: Error) => ({ tag: 'error' as const, value: error.message }),
        ),
      },
    })),
  );
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/**
 * Applies the migrations not yet recorded in the database's `_prisma_migrations` table
 * (what `prisma migrate deploy` does). Idempotent. Returns the names just applied.
 * The factory's connections are closed afterwards; a PGlite instance stays open (it is yours).
 */
export async function applyMigrations(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  migrationsDir: string,
): Promise<string[]> {
  const migrationsList = await listMigrations(migrationsDir);
  return withEngine(adapterFactory, undefined, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: NO_FILTER });
    return appliedMigrationNames;
  });
}

/**
 * The SQL of the next migration: the difference between the state the existing migrations
 * produce and the Prisma schema file, or null when there is none. The migrations are replayed
 * on a throwaway in-memory PGlite (the "shadow database"): offline, no server needed.
 * (Not on PostgreSQL through PrismaPg 7.10.0: its shadow database built from a connectionString
 * is the main database itself, and it drops the shadow before closing its own connection.)
 */
export async function diffMigrationsToSchema(migrationsDir: string, schemaPath: string): Promise<string | null> {
  const migrationsList = await listMigrations(migrationsDir);
  const schemaFile = { path: path.resolve(schemaPath), content: await readFile(schemaPath, 'utf8') };
  // One PGlite for both of the engine's connections: the diff never writes to the main one,
  // each PGlite costs seconds of initdb, and PrismaPGlite's own shadow is one nobody closes.
  const scratch = new PGlite();
  const single = new PrismaPGlite(scratch);
  const factory: SqlMigrationAwareDriverAdapterFactory = {
    provider: single.provider,
    adapterName: single.adapterName,
    connect: () => single.connect(),
    connectToShadowDb: () => single.connect(),
  };
  try {
    return await withEngine(factory, [[schemaFile.path, schemaFile.content]], async (engine) => {
      const { exitCode, stdout } = await engine.diff({
        from: { tag: 'migrations', ...migrationsList },
        to: { tag: 'schemaDatamodel', files: [schemaFile] },
        script: true,
        // With exitCode requested, the engine answers 2 when the diff is not empty.
        exitCode: true,
        filters: NO_FILTER,
      });
      return exitCode === 2 && stdout ? stdout : null;
    });
  } finally {
    await scratch.close();
  }
}
