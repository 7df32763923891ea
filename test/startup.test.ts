// The process as a new user runs it: `npm start`'s entry point on a fresh data directory
// prints the demo token once, answers a board query with it, stops cleanly on SIGTERM, and a
// second start on the same data keeps the data without printing a token again.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { adminQuery, testDatabaseUrl, withDatabaseName } from './helpers/testDatabase';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

interface Running {
  child: ChildProcess;
  output: () => string;
  url: string;
}

function startServer(env: Record<string, string>): Promise<Running> {
  const child = spawn(tsx, ['src/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 90_000);
    const check = () => {
      // The server prints the listening line and the demo banner (if any) in one write.
      const match = /listening on (http:\/\/\S+\/graphql)/.exec(output);
      if (match) {
        setTimeout(() => {
          clearTimeout(timer);
          resolve({ child, output: () => output, url: match[1] });
        }, 300);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  child.removeAllListeners('exit');
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}

async function post(url: string, query: string, token?: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const children = new Set<ChildProcess>();
afterEach(() => {
  // A failed test must not leave a server running (jest would wait for it).
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});

// Each start initialises or reopens PGlite and compiles TypeScript: allow for a loaded machine.
jest.setTimeout(240_000);

/**
 * A fresh, empty database for the server, as `npm start` would get it: a new PGlite data
 * directory, or (with TEST_DATABASE_URL) a new PostgreSQL database named in DATABASE_URL.
 */
async function freshDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
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

describe(`npm start on a fresh ${testDatabaseUrl() ? 'PostgreSQL database' : 'PGlite data directory'}`, () => {
  test('first start prints a working OWNER token once; SIGTERM exits 0; the next start keeps the data and prints no token', async () => {
    const database = await freshDatabase();
    try {
      const first = await startServer(database.env);
      const token = /OWNER token:\s+(pcl_\w+)/.exec(first.output())?.[1];
      const boardId = /board\(id: \\"(\w+)\\"\)/.exec(first.output())?.[1];
      expect(token).toBeDefined();
      expect(boardId).toBeDefined();
      expect(first.output()).toContain('Owner login:');
      expect(first.output()).toContain('curl');

      const health = await fetch(first.url.replace('/graphql', '/healthz'));
      expect(health.status).toBe(200);
      const board = await post(first.url, `{ board(id: "${boardId}") { name items { edges { node { name } } } } }`, token);
      expect(board.status).toBe(200);
      expect(board.body.data.board.items.edges.length).toBeGreaterThan(0);
      const viewer = await post(first.url, '{ viewer { user { email } apiToken { role kind } } }', token);
      expect(viewer.body.data.viewer.apiToken.role).toBe('OWNER');
      expect(await stop(first.child)).toBe(0);

      const second = await startServer(database.env);
      expect(second.output()).not.toContain('OWNER token');
      const again = await post(second.url, `{ board(id: "${boardId}") { name } }`, token);
      expect(again.body.data.board.name).toBe('Roadmap');
      expect(await stop(second.child, 'SIGINT')).toBe(0);
    } finally {
      await database.drop();
    }
  });

  test('SEED_DEMO_DATA=false starts with no demo data', async () => {
    const database = await freshDatabase();
    try {
      const server = await startServer({ ...database.env, SEED_DEMO_DATA: 'false' });
      expect(server.output()).not.toContain('OWNER token');
      expect(await stop(server.child)).toBe(0);
    } finally {
      await database.drop();
    }
  });
});

test('a bad configuration value stops start-up with a message naming the variable', async () => {
  const child = spawn(tsx, ['src/server.ts'], { cwd: root, env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(output).toMatch(/Invalid configuration:[\s\S]*PORT/);
});
