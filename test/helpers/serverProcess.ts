// The server as a process, the way `npm start` runs it (node --import tsx src/server.ts), on a
// fresh database: start it, read its output, signal it, and make sure none is left running.
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPLATE_ENV, adminQuery, testDatabaseUrl, withDatabaseName } from './testDatabase';

export const root = path.resolve(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
  /** Resolves once the output matches `pattern` (rejects after `timeoutMs`). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/**
 * node's arguments for the server, as `npm start` gives them: one process, so that a signal
 * reaches the server itself (the tsx command would run it in a child of its own).
 */
export const SERVER_COMMAND = ['--import', 'tsx', 'src/server.ts'];

const children = new Set<ChildProcess>();

/** For afterEach: a failed test must not leave a server running (jest would wait for it). */
export function killLeftoverServers() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

/** Starts `node --import tsx src/server.ts` on an ephemeral port; resolves once it listens. */
export async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, SERVER_COMMAND, {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const waiters = new Set<{ check: () => void; fail: (error: Error) => void }>();
  const onData = (chunk: Buffer) => {
    output += chunk;
    for (const waiter of waiters) waiter.check();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      // Nothing more will be written: whoever still waits for some output waits in vain.
      for (const waiter of waiters) waiter.fail(new Error(`the server exited with ${code} before printing it:\n${output}`));
      resolve(code);
    }),
  );

  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const waiter = {
        check: () => {
          const match = pattern.exec(output);
          if (!match) return;
          done();
          resolve(match);
        },
        fail: (error: Error) => {
          done();
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.fail(new Error(`no ${pattern} in the server's output within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(waiter);
      };
      waiters.add(waiter);
      waiter.check();
    });

  // Each start initialises or reopens the database and compiles TypeScript: allow for a loaded
  // machine. The server prints the listening line and the demo banner (if any) in one write.
  const [, url] = await waitForOutput(/listening on (http:\/\/\S+\/graphql)/, 90_000);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { child, output: () => output, url, exited, waitForOutput };
}

/** Signals the server and resolves with its exit code. */
export function stopServer(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  server.child.kill(signal);
  return server.exited;
}

export async function postGraphQL(url: string, query: string, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * A fresh, empty database for the server, as `npm start` would get it: a new PGlite data
 * directory, or (with TEST_DATABASE_URL) a new PostgreSQL database named in DATABASE_URL.
 */
export async function freshDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const url = testDatabaseUrl();
  if (url) {
    const name = `portcullis_start_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    return {
      env: { DATABASE_URL: withDatabaseName(url, name) },
      drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-start-'));
  return { env: { DATA_DIR: dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

/**
 * A copy of the run's migrated template database (see globalSetup), for tests that need a
 * server but not a first start: the server finds every migration applied and starts faster.
 */
export async function migratedDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the tests through jest (globalSetup builds it).`);
  const url = testDatabaseUrl();
  if (url) {
    const name = `portcullis_proc_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    return {
      env: { DATABASE_URL: withDatabaseName(url, name) },
      drop: () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-proc-'));
  cpSync(template, dataDir, { recursive: true });
  return { env: { DATA_DIR: dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
}
