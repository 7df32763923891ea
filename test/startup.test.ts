// The process as a new user runs it: `npm start`'s entry point on a fresh data directory
// prints the demo token once, answers a board query with it, stops cleanly on SIGTERM, and a
// second start on the same data keeps the data without printing a token again.
import { spawn } from 'node:child_process';
import { testDatabaseUrl } from './helpers/testDatabase';
import { SERVER_COMMAND, freshDatabase, killLeftoverServers, postGraphQL as post, root, startServer, stopServer as stop } from './helpers/serverProcess';

afterEach(killLeftoverServers);

// Each start initialises or reopens PGlite and compiles TypeScript: allow for a loaded machine.
jest.setTimeout(240_000);

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
      // The banner links the token console, which the same process serves.
      const consoleUrl = first.url.replace('/graphql', '/console');
      expect(first.output()).toContain(`Token console on ${consoleUrl}`);
      const consolePage = await fetch(consoleUrl);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain('<div id="root"></div>');
      const board = await post(first.url, `{ board(id: "${boardId}") { name items { edges { node { name } } } } }`, token);
      expect(board.status).toBe(200);
      expect(board.body.data.board.items.edges.length).toBeGreaterThan(0);
      const viewer = await post(first.url, '{ viewer { user { email } apiToken { role kind } } }', token);
      expect(viewer.body.data.viewer.apiToken.role).toBe('OWNER');
      expect(await stop(first)).toBe(0);

      const second = await startServer(database.env);
      expect(second.output()).not.toContain('OWNER token');
      const again = await post(second.url, `{ board(id: "${boardId}") { name } }`, token);
      expect(again.body.data.board.name).toBe('Roadmap');
      expect(await stop(second, 'SIGINT')).toBe(0);
    } finally {
      await database.drop();
    }
  });

  test('SEED_DEMO_DATA=false starts with no demo data', async () => {
    const database = await freshDatabase();
    try {
      const server = await startServer({ ...database.env, SEED_DEMO_DATA: 'false' });
      expect(server.output()).not.toContain('OWNER token');
      expect(await stop(server)).toBe(0);
    } finally {
      await database.drop();
    }
  });
});

test('a bad configuration value stops start-up with a message naming the variable', async () => {
  const child = spawn(process.execPath, SERVER_COMMAND, { cwd: root, env: { ...process.env, PORT: 'eighty' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  expect(code).toBe(1);
  expect(output).toMatch(/Invalid configuration:[\s\S]*PORT/);
});
