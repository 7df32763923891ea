// Prisma's own schema engine (the WebAssembly build) driven through a driver adapter, so that
// migrations work where Prisma's native engine binary cannot be downloaded.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { messages, PGlite } from '@electric-sql/pglite';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm';
import { PrismaPGlite } from 'pglite-prisma-adapter';

type EngineRuntime = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let engineClass: Promise<typeof SchemaEngine> | undefined;

// The package's entry point imports the .wasm file as an ES module, which Node cannot do, and
// @prisma/internals' loader looks for the .wasm under its own build/ folder, which its npm
// package lacks. So: instantiate the .wasm ourselves with the wasm-bindgen glue as its imports,
// once per process. `require` (not `import()`) keeps this working under CommonJS and ts-jest;
// the glue is an ES module without top-level await, which Node >= 20.19 can require.
function loadSchemaEngine(): Promise<typeof SchemaEngine> {
  engineClass ??= (async () => {
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const glue = require(gluePath) as EngineRuntime;
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

/** Runs `work` on a fresh engine bound to `adapterFactory`, and frees the engine after. */
async function withEngine<T>(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  datamodels: [string, string][] | undefined,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const SchemaEngineClass = await loadSchemaEngine();
  const bound = bindMigrationAwareSqlAdapterFactory(awaitPgliteScripts(adapterFactory));
  const engine = await SchemaEngineClass.new({ datamodels }, () => undefined, bound);
  try {
    return await work(engine);
  } catch (error) {
    throw engineError(error);
  } finally {
    engine.free();
  }
}

// pglite-prisma-adapter 0.7.2's executeScript starts PGlite's exec() without awaiting it, so a
// failing migration would be recorded as applied and its error escape as an unhandled
// rejection. Await it, and pass PostgreSQL's error on in the form the engine prints.
function awaitPgliteScripts(factory: SqlMigrationAwareDriverAdapterFactory): SqlMigrationAwareDriverAdapterFactory {
  if (factory.adapterName !== 'pglite-prisma-adapter') return factory;
  const fix = async (connecting: Promise<SqlDriverAdapter>): Promise<SqlDriverAdapter> => {
    const adapter = await connecting;
    const client = (adapter as unknown as { client?: unknown }).client;
    if (!(client instanceof PGlite)) return adapter;
    adapter.executeScript = async (script) => {
      await client.exec(script).catch((error: unknown) => {
        if (!(error instanceof messages.DatabaseError)) throw error;
        const { code = 'N/A', severity = 'ERROR', message, detail, column, hint } = error;
        throw new DriverAdapterError({ kind: 'postgres', code, severity, message, detail, column, hint });
      });
    };
    return adapter;
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => fix(factory.connect()),
    connectToShadowDb: () => fix(factory.connectToShadowDb()),
  };
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
 * produce (replayed on the adapter's shadow database) and the Prisma schema file.
 * Returns null when there is no difference. Without an adapter factory, a throwaway in-memory
 * PGlite serves as the shadow database: no server needed.
 */
export async function diffMigrationsToSchema(
  migrationsDir: string,
  schemaPath: string,
  adapterFactory?: SqlMigrationAwareDriverAdapterFactory,
): Promise<string | null> {
  if (!adapterFactory) {
    // One PGlite for both connections: the diff never writes to the main one, and each new
    // PGlite costs seconds of initdb. (PrismaPGlite's own shadow is a new PGlite it never closes.)
    const scratch = new PGlite();
    const single = new PrismaPGlite(scratch);
    try {
      return await diffMigrationsToSchema(migrationsDir, schemaPath, {
        provider: single.provider,
        adapterName: single.adapterName,
        connect: () => single.connect(),
        connectToShadowDb: () => single.connect(),
      });
    } finally {
      await scratch.close();
    }
  }
  const migrationsList = await listMigrations(migrationsDir);
  const schemaFile = { path: path.resolve(schemaPath), content: await readFile(schemaPath, 'utf8') };
  return withEngine(adapterFactory, [[schemaFile.path, schemaFile.content]], async (engine) => {
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
}
