// Graceful shutdown of the real process (node --import tsx src/server.ts, as npm start runs it):
// on SIGTERM the request in flight finishes with 200, new connections are refused, idle
// keep-alive connections are closed, and the process exits 0; a request still unfinished after
// SHUTDOWN_TIMEOUT_MS is cut off and the process still exits 0.
//
// A request is made "in flight" deterministically, with no test-only code in the app: it is
// sent with `Expect: 100-continue` and its body held back. The server answers `100 Continue`
// once it has the headers and handles the request; the test sees that answer, sends SIGTERM,
// and only then sends the body.
import http from 'node:http';
import { testDatabaseUrl } from './helpers/testDatabase';
import { killLeftoverServers, migratedDatabase, startServer, type ServerProcess } from './helpers/serverProcess';

afterEach(killLeftoverServers);
jest.setTimeout(120_000);

interface HeldRequest {
  /** Sends the held-back body; resolves with the response. */
  send(): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }>;
  /** Rejects when the request fails (e.g. the connection is cut). */
  failed: Promise<NodeJS.ErrnoException>;
}

/** A POST /graphql whose headers the server has received (it answered 100 Continue), body held back. */
function holdRequest(url: string, query: string): Promise<HeldRequest> {
  const body = JSON.stringify({ query });
  const req = http.request(url, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
  });
  const response = new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
  const failed = new Promise<NodeJS.ErrnoException>((resolve) => req.once('error', resolve));
  req.flushHeaders();
  return new Promise((resolve, reject) => {
    req.once('error', reject);
    req.once('continue', () =>
      resolve({
        failed,
        send: async () => {
          req.end(body);
          const res = await response;
          let text = '';
          for await (const chunk of res) text += chunk;
          return { status: res.statusCode!, headers: res.headers, body: JSON.parse(text) };
        },
      }),
    );
  });
}

/** An idle keep-alive connection: resolves, once a first request on it is answered, with its 'close'. */
async function idleKeepAliveConnection(url: string): Promise<Promise<void>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return new Promise((resolve, reject) => {
    const req = http.get(url.replace('/graphql', '/healthz'), { agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(closed));
    });
    let closed: Promise<void>;
    req.once('socket', (socket) => (closed = new Promise((done) => socket.once('close', () => done()))));
    req.once('error', reject);
  });
}

async function connectionRefused(url: string): Promise<string | undefined> {
  try {
    await fetch(url.replace('/graphql', '/healthz'));
    return undefined;
  } catch (error) {
    return ((error as { cause?: { code?: string } }).cause?.code) ?? String(error);
  }
}

describe(`SIGTERM on ${testDatabaseUrl() ? 'PostgreSQL' : 'PGlite'}`, () => {
  let database: Awaited<ReturnType<typeof migratedDatabase>>;
  beforeAll(async () => {
    database = await migratedDatabase();
  });
  afterAll(() => database?.drop());

  const start = (env: Record<string, string> = {}): Promise<ServerProcess> =>
    startServer({ ...database.env, SEED_DEMO_DATA: 'false', LOG_LEVEL: 'info', ...env });

  test('the request in flight completes with 200, new connections are refused, idle ones closed; exit code 0', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '60000' });
    const idleClosed = await idleKeepAliveConnection(server.url);
    // A signUp: it writes to the database (hashing the password with argon2 on the way), so
    // the database must still be open while the server drains.
    const inFlight = await holdRequest(
      server.url,
      `mutation { signUp(input: { email: "late@example.com", password: "correct horse battery", name: "Late" }) { token user { email } } }`,
    );

    server.child.kill('SIGTERM');
    await server.waitForOutput(/SIGTERM received/);
    await idleClosed;
    expect(['ECONNREFUSED', 'ECONNRESET']).toContain(await connectionRefused(server.url));

    const response = await inFlight.send();
    expect(response.status).toBe(200);
    expect(response.body.data.signUp.user.email).toBe('late@example.com');
    expect(response.body.data.signUp.token).toMatch(/^pcs_/);
    // The client is told not to reuse the connection.
    expect(response.headers.connection).toBe('close');

    expect(await server.exited).toBe(0);
    const output = server.output();
    expect(output).not.toContain('Shutdown took longer');
    expect(output).toContain('Stopped.');
    // The drained request was logged like any other, under the id it was answered with.
    const lines = output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines).toContainEqual(expect.objectContaining({ requestId: response.headers['x-request-id'], status: 200, path: '/graphql', caller: 'anonymous' }));
    expect(lines).toContainEqual(expect.objectContaining({ signal: 'SIGTERM', inFlight: 1 }));

  });

  test('a request still unfinished after SHUTDOWN_TIMEOUT_MS is cut off; the process still exits 0', async () => {
    const server = await start({ SHUTDOWN_TIMEOUT_MS: '500' });
    const stuck = await holdRequest(server.url, '{ __typename }');
    server.child.kill('SIGTERM');
    // The body never comes: the connection is closed at the deadline.
    expect(['ECONNRESET', 'ECONNREFUSED', undefined]).toContain((await stuck.failed).code);
    expect(await server.exited).toBe(0);
    expect(server.output()).toContain('Shutdown took longer than 500 ms; closing connections.');
  });
});
