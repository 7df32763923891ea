// Durability of embedded PGlite against a killed process: the real server (`npm start`'s
// entry point) on a fresh data directory takes a stream of createItem writes; the process is
// killed with SIGKILL mid-stream (no shutdown, no PGlite close); a restart on the same data
// directory must still hold every item whose createItem was acknowledged with HTTP 200.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { testDatabaseUrl } from './helpers/testDatabase';
import { SERVER_COMMAND, root } from './helpers/serverProcess';

const onPglite = !testDatabaseUrl();
const suite = onPglite ? describe : describe.skip;
const title = onPglite
  ? 'PGlite keeps every acknowledged write when the server is killed (SIGKILL)'
  : 'PGlite durability (skipped: TEST_DATABASE_URL is set; this is about the embedded PGlite data directory)';

const WRITERS = 3;
const MAX_WRITES_PER_WRITER = 300;
/** The kill comes this long after the first acknowledged write. */
const KILL_AFTER_MS = 3_000;

interface Running {
  child: ChildProcess;
  output: () => string;
  url: string;
}

const children = new Set<ChildProcess>();

function startServer(dataDir: string): Promise<Running> {
  // One process, as npm start runs it: under the tsx command a SIGKILL would hit only the wrapper
  // and leave the server (and PGlite) running.
  const child = spawn(process.execPath, SERVER_COMMAND, {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATA_DIR: dataDir, SEED_DEMO_DATA: 'true', NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 90_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    };
    child.once('exit', onExit);
    child.stdout!.on('data', () => {
      // The listening line and the demo banner come in one write.
      const match = /listening on (http:\/\/\S+\/graphql)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ child, output: () => output, url: match[1] });
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function post(url: string, query: string, variables: Record<string, unknown>, token: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as any };
}

// Two starts of the real server (PGlite initialises a fresh data directory, tsx compiles).
jest.setTimeout(180_000);

suite(title, () => {
  let dataDir: string;

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-durability-'));
  });

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('every createItem answered 200 before a SIGKILL is there after a restart', async () => {
    const first = await startServer(dataDir);
    const token = /OWNER token:\s+(pcl_\w+)/.exec(first.output())?.[1];
    const boardId = /board\(id: \\"(\w+)\\"\)/.exec(first.output())?.[1];
    expect(token && boardId).toBeTruthy();

    const status = 'durability';
    const acknowledged: string[] = [];
    let attempted = 0;
    let failed = 0;
    let firstAck = Infinity;
    let killed = false;
    const writer = async (w: number) => {
      for (let i = 0; i < MAX_WRITES_PER_WRITER && !killed; i++) {
        attempted++;
        try {
          const r = await post(
            first.url,
            'mutation($input: CreateItemInput!) { createItem(input: $input) { id } }',
            { input: { boardId, name: `w${w}-${i}`, status } },
            token!,
          );
          if (r.status === 200 && !r.body.errors && r.body.data?.createItem?.id) {
            acknowledged.push(r.body.data.createItem.id);
            firstAck = Math.min(firstAck, performance.now());
          } else failed++;
        } catch {
          failed++; // The connection died with the process: not acknowledged.
        }
      }
    };
    const killer = async () => {
      const deadline = performance.now() + 20_000;
      while (performance.now() < Math.min(deadline, firstAck + KILL_AFTER_MS)) await new Promise((r) => setTimeout(r, 20));
      killed = true;
      await kill(first.child);
    };
    // The writers stop on their own once the kill is done (each stops at its next write).
    const writing = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await killer();
    await writing;
    const ackedBeforeKill = acknowledged.length;

    const second = await startServer(dataDir);
    expect(second.output()).not.toContain('OWNER token');
    const recovered = new Set<string>();
    let after: string | null = null;
    for (let page = 0; page < 50; page++) {
      const r = await post(
        second.url,
        'query($id: ID!, $after: String, $status: String) { board(id: $id) { items(first: 100, after: $after, status: $status) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }',
        { id: boardId, after, status },
        token!,
      );
      expect(r.status).toBe(200);
      const items = r.body.data.board.items;
      for (const edge of items.edges) recovered.add(edge.node.id);
      if (!items.pageInfo.hasNextPage) break;
      after = items.pageInfo.endCursor;
    }
    await kill(second.child);
    const lost = acknowledged.filter((id) => !recovered.has(id));
    console.log(
      `PGlite SIGKILL: ${attempted} createItem sent, ${ackedBeforeKill} acknowledged (200), ${failed} failed or cut by the kill; ` +
        `after restart ${recovered.size} items found, ${acknowledged.length - lost.length} of the acknowledged, ${lost.length} lost`,
    );
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(lost).toEqual([]);
  });
});
