// The `portcullis` CLI as a person or a script runs it: a child process (node src/cli/bin.cjs)
// against a real gateway on a loopback port, asserting stdout, stderr and the exit code.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createBoard, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { CLI_BIN as bin, CLI_ROOT as root, type CliRun, runCli } from './helpers/cliProcess';
import { type LiveServer, serve } from './helpers/liveServer';
import { dataOf, startTestApp, type TestApp } from './helpers/testApp';


type Run = CliRun;

let t: TestApp;
let live: LiveServer;
let owner: TestUser;
let spaceId: string;
let boardId: string;
let configDir: string;
/** Every stderr of every run: no secret may ever appear in one. */
const allStderr: string[] = [];
/** Every secret seen in the test: tokens, the password, the session. */
const secrets: string[] = [];

/** The CLI's whole environment: nothing inherited but PATH, the test gateway's base URL and the test's config dir. */
const cliEnv = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? '',
  HOME: configDir,
  PORTCULLIS_CONFIG_DIR: configDir,
  PORTCULLIS_URL: live.origin,
  ...extra,
});

/** Runs the CLI with stdin a pipe (so never a terminal), the test gateway's base URL and the test's config dir. */
async function cli(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  const run = await runCli(args, cliEnv(options.env), options.stdin);
  allStderr.push(run.stderr);
  return run;
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), answering each prompt once it has been
 * printed (typing earlier would let the terminal echo what it should hide).
 */
function cliOnTerminal(args: string[], answers: [RegExp, string][], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', '"$CLI_NODE" "$CLI_BIN" "$@"'.replace('"$@"', args.map((a) => `'${a}'`).join(' ')), '/dev/null'], {
      cwd: root,
      env: cliEnv({ CLI_NODE: process.execPath, CLI_BIN: bin, ...env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const pending = [...answers];
    child.stdout.on('data', (chunk) => {
      output += chunk;
      while (pending.length > 0 && pending[0][0].test(output)) {
        child.stdin.write(`${pending.shift()![1]}\r`);
      }
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      allStderr.push(output);
      resolve({ code, stdout: output, stderr: output });
    });
  });
}

const VIEWER = `{ viewer { apiToken { id name } } }`;
const TOKEN_STATUS = `query($name: String!) { apiTokens(filter: { nameContains: $name }) { edges { node { id name role status } } } }`;
const secretsIn = (text: string): string[] => text.match(/pc[ls]_[0-9A-Za-z]{20,}/g) ?? [];

beforeAll(async () => {
  t = await startTestApp();
  live = await serve(t.app);
  configDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-cli-'));
  owner = await signUp(t, 'Owner');
  secrets.push(owner.password, owner.token);
  const organizationId = await createOrganization(t, owner.token);
  spaceId = await createSpace(t, owner.token, organizationId);
  boardId = await createBoard(t, owner.token, spaceId);
});

afterAll(async () => {
  await live?.close();
  await t?.close();
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

describe('portcullis CLI', () => {
  let sessionToken: string;
  let createdId: string;
  let quietSecret: string;
  let regeneratedSecret: string;
  let editorSecret: string;

  it('refuses a wrong password (exit 3) without writing a session or printing the password', async () => {
    const wrong = await cli(['login', '--email', owner.email, '--password-stdin'], { stdin: 'not-the-password-42\n' });
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/^portcullis: .*\(UNAUTHENTICATED\)/);
    expect(wrong.stdout + wrong.stderr).not.toContain('not-the-password-42');
    expect(existsSync(path.join(configDir, 'session.json'))).toBe(false);
  });

  it('logs in with --password-stdin into a file only the user can read, and whoami uses it', async () => {
    const login = await cli(['login', '--email', owner.email, '--password-stdin'], { stdin: `${owner.password}\n` });
    expect(login).toMatchObject({ code: 0, stderr: '' });
    expect(login.stdout).toContain(owner.email);
    const file = path.join(configDir, 'session.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(configDir).mode & 0o077).toBe(0);
    const session = JSON.parse(readFileSync(file, 'utf8'));
    sessionToken = session.token;
    secrets.push(sessionToken);
    expect(session.url).toBe(`${live.origin}/graphql`);
    expect(login.stdout).not.toContain(sessionToken);

    const whoami = await cli(['whoami']);
    expect(whoami.code).toBe(0);
    expect(whoami.stdout).toContain(owner.email);
    expect(whoami.stdout).toContain('a session (from the session file)');
    expect(secretsIn(whoami.stdout)).toEqual([]);
  });

  it('on a terminal, asks for the email and the password (not echoed), and confirms a delete', async () => {
    const terminalConfig = mkdtempSync(path.join(os.tmpdir(), 'portcullis-cli-tty-'));
    try {
      const login = await cliOnTerminal(['login'], [[/Email: /, owner.email], [/Password: /, owner.password]], {
        PORTCULLIS_CONFIG_DIR: terminalConfig,
      });
      expect(login.code).toBe(0);
      expect(login.stdout).toContain(`<${owner.email}>`);
      expect(login.stdout).not.toContain(owner.password);
      expect(statSync(path.join(terminalConfig, 'session.json')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(terminalConfig, { recursive: true, force: true });
    }

    const doomed = await mintToken(t, owner.token, { name: 'doomed', role: 'VIEWER', spaceId });
    secrets.push(doomed.secret);
    const declined = await cliOnTerminal(['tokens', 'delete', doomed.id], [[/\[y\/N\]/, 'n']]);
    expect(declined.code).toBe(1);
    expect(dataOf(await t.gql(VIEWER, {}, doomed.secret)).viewer.apiToken.id).toBe(doomed.id);
    const confirmed = await cliOnTerminal(['tokens', 'delete', doomed.id], [[/\[y\/N\]/, 'y']]);
    expect(confirmed.code).toBe(0);
    expect((await t.gql(VIEWER, {}, doomed.secret)).status).toBe(401);
  });

  it('creates a token and prints its secret once; --quiet prints only the secret, which works', async () => {
    const created = await cli(['tokens', 'create', '--name', 'ci-deploy', '--role', 'editor', '--space', spaceId, '--expires', '7d', '--budget', '5000']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/shown only this once/);
    const printed = secretsIn(created.stdout);
    expect(printed).toHaveLength(1);
    secrets.push(...printed);
    createdId = /\(([^)]+)\): SERVICE EDITOR, scope space Space/.exec(created.stdout)![1];

    const quiet = await cli(['tokens', 'create', '-q', '--name', 'quiet-one', '--role', 'agent', '--space', spaceId]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^pcl_[0-9A-Za-z]+\n$/);
    quietSecret = quiet.stdout.trim();
    secrets.push(quietSecret);
    expect(dataOf(await t.gql(VIEWER, {}, quietSecret)).viewer.apiToken.name).toBe('quiet-one');
  });

  it('lists tokens as a table, and as JSON through every page (newest first), filtered by name', async () => {
    const table = await cli(['tokens', 'list']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+KIND\s+ROLE\s+SCOPE\s+STATUS\s+LAST USED\s+EXPIRES$/);
    expect(lines[1]).toMatch(/quiet-one\s+SERVICE\s+AGENT\s+space Space\s+ACTIVE\s+\S/);
    expect(lines[2]).toMatch(new RegExp(`^${createdId}\\s+ci-deploy\\s+SERVICE\\s+EDITOR`));
    expect(secretsIn(table.stdout)).toEqual([]);

    // Three more through the API: five in all, listed two to a page, so the CLI must follow `after`.
    for (let i = 0; i < 3; i++) secrets.push((await mintToken(t, owner.token, { name: `paged-${i}`, role: 'VIEWER', spaceId })).secret);
    const expected = dataOf(await t.gql(`{ apiTokens(first: 100) { edges { node { id } } } }`, {}, owner.token)).apiTokens.edges.map(
      (edge: { node: { id: string } }) => edge.node.id,
    );
    expect(expected).toHaveLength(5);
    const json = await cli(['tokens', 'list', '--json'], { env: { PORTCULLIS_PAGE_SIZE: '2' } });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).map((token: { id: string }) => token.id)).toEqual(expected);

    const filtered = await cli(['tokens', 'list', '--json', '--name', 'QUIET']);
    expect(JSON.parse(filtered.stdout).map((token: { name: string }) => token.name)).toEqual(['quiet-one']);
  });

  it('updates a token', async () => {
    const updated = await cli(['tokens', 'update', createdId, '--name', 'ci-renamed', '--role', 'viewer']);
    expect(updated).toMatchObject({ code: 0, stderr: '' });
    const node = dataOf(await t.gql(TOKEN_STATUS, { name: 'ci-renamed' }, owner.token)).apiTokens.edges[0].node;
    expect(node).toMatchObject({ id: createdId, role: 'VIEWER' });
  });

  it('regenerates a secret: the old one is refused, the new one works', async () => {
    const quietId = dataOf(await t.gql(VIEWER, {}, quietSecret)).viewer.apiToken.id;
    const regenerated = await cli(['tokens', 'regenerate', quietId, '--quiet']);
    expect(regenerated.code).toBe(0);
    const newSecret = regenerated.stdout.trim();
    regeneratedSecret = newSecret;
    secrets.push(newSecret);
    expect(newSecret).not.toBe(quietSecret);
    expect((await t.gql(VIEWER, {}, quietSecret)).status).toBe(401);
    expect(dataOf(await t.gql(VIEWER, {}, newSecret)).viewer.apiToken.id).toBe(quietId);

    // The old secret as the CLI's credential: refused (3), and the token is not in the message.
    const refused = await cli(['whoami'], { env: { PORTCULLIS_TOKEN: quietSecret } });
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/UNAUTHENTICATED/);
  });

  it('creates a token usable only from --allowed-ips; a bad range is the API\'s BAD_USER_INPUT (exit 3), an empty list a usage error (exit 2)', async () => {
    const created = await cli(['tokens', 'create', '--name', 'fenced', '--role', 'viewer', '--space', spaceId, '--allowed-ips', '10.1.2.3/8, 2001:db8::/32']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toContain('Usable only from 10.0.0.0/8, 2001:db8::/32.');
    const [secret] = secretsIn(created.stdout);
    secrets.push(secret);
    // The gateway's own answer from 127.0.0.1, outside the ranges.
    const refused = await t.gql(VIEWER, {}, secret);
    expect(refused.status).toBe(403);
    expect(refused.body.errors?.[0].message).toBe('This token cannot be used from 127.0.0.1.');

    const bad = await cli(['tokens', 'create', '--name', 'bad-range', '--role', 'viewer', '--space', spaceId, '--allowed-ips', '10.0.0.0/33']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/10\.0\.0\.0\/33.*\(BAD_USER_INPUT\)/);
    const empty = await cli(['tokens', 'create', '--name', 'no-range', '--role', 'viewer', '--space', spaceId, '--allowed-ips', ' , ']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/CIDR ranges/);
    expect(dataOf(await t.gql(TOKEN_STATUS, { name: '-range' }, owner.token)).apiTokens.edges).toEqual([]);
  });

  it('rotates the calling token: with --grace both secrets work for a while; without, the old one stops at once', async () => {
    const token = await mintToken(t, owner.token, { name: 'self-rotating', role: 'VIEWER', spaceId });
    secrets.push(token.secret);
    const graced = await cli(['tokens', 'rotate', '--grace', '10m'], { env: { PORTCULLIS_TOKEN: token.secret } });
    expect(graced).toMatchObject({ code: 0, stderr: '' });
    expect(graced.stdout).toMatch(/Rotated token "self-rotating"/);
    expect(graced.stdout).toMatch(/The old secret keeps working until about/);
    const printed = secretsIn(graced.stdout);
    expect(printed).toHaveLength(1);
    const second = printed[0];
    secrets.push(second);
    expect(dataOf(await t.gql(VIEWER, {}, token.secret)).viewer.apiToken.id).toBe(token.id);
    expect(dataOf(await t.gql(VIEWER, {}, second)).viewer.apiToken.id).toBe(token.id);

    const quiet = await cli(['tokens', 'rotate', '-q', '--token', second]);
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toMatch(/^pcl_[0-9A-Za-z]+\n$/);
    const third = quiet.stdout.trim();
    secrets.push(third);
    expect((await t.gql(VIEWER, {}, second)).status).toBe(401);
    expect(dataOf(await t.gql(VIEWER, {}, third)).viewer.apiToken.id).toBe(token.id);
  });

  it('does not rotate a session: from the session file a usage error (exit 2), given as a token the API refuses it (exit 3)', async () => {
    const fromFile = await cli(['tokens', 'rotate']);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toMatch(/--token or PORTCULLIS_TOKEN/);
    const asToken = await cli(['tokens', 'rotate'], { env: { PORTCULLIS_TOKEN: sessionToken } });
    expect(asToken.code).toBe(3);
    expect(asToken.stderr).toMatch(/Only an API token can rotate itself.*\(FORBIDDEN\)/);
    expect(dataOf(await t.gql(VIEWER, {}, sessionToken)).viewer).toBeTruthy();
  });

  it('revokes and deletes only with --yes when stdin is not a terminal', async () => {
    const withoutYes = await cli(['tokens', 'revoke', createdId]);
    expect(withoutYes.code).toBe(2);
    expect(withoutYes.stderr).toMatch(/--yes/);
    expect(dataOf(await t.gql(TOKEN_STATUS, { name: 'ci-renamed' }, owner.token)).apiTokens.edges[0].node.status).toBe('ACTIVE');

    expect((await cli(['tokens', 'revoke', createdId, '--yes'])).code).toBe(0);
    const revoked = await cli(['tokens', 'list', '--json', '--status', 'revoked']);
    expect(JSON.parse(revoked.stdout).map((token: { id: string }) => token.id)).toEqual([createdId]);

    expect((await cli(['tokens', 'delete', createdId])).code).toBe(2);
    expect((await cli(['tokens', 'delete', createdId, '--yes'])).code).toBe(0);
    expect(dataOf(await t.gql(TOKEN_STATUS, { name: 'ci-renamed' }, owner.token)).apiTokens.edges).toEqual([]);
  });

  it('exits 3 with the API message when the gateway refuses (a role above the caller’s)', async () => {
    const editor = await mintToken(t, owner.token, { name: 'space-editor', role: 'EDITOR', spaceId });
    editorSecret = editor.secret;
    secrets.push(editor.secret);
    const refused = await cli(['tokens', 'create', '--name', 'escalate', '--role', 'owner', '--space', spaceId], {
      env: { PORTCULLIS_TOKEN: editor.secret },
    });
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^portcullis: .*OWNER.*\(FORBIDDEN\)/);
    expect(dataOf(await t.gql(TOKEN_STATUS, { name: 'escalate' }, owner.token)).apiTokens.edges).toEqual([]);
  });

  it('takes the token from --token over PORTCULLIS_TOKEN over the session file', async () => {
    const fromEnv = await cli(['whoami', '--json'], { env: { PORTCULLIS_TOKEN: editorSecret } });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ credential: 'environment', apiToken: { name: 'space-editor' } });
    const fromFlag = await cli(['--url', `${live.origin}/graphql`, '--token', regeneratedSecret, 'whoami', '--json'], {
      env: { PORTCULLIS_TOKEN: 'pcl_not-this-one' },
    });
    expect(JSON.parse(fromFlag.stdout)).toMatchObject({ credential: 'flag', apiToken: { name: 'quiet-one' } });
  });

  it('exits 4 when the gateway is unreachable or unavailable, and never sends the session to another URL', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refusedConnection = await cli(['whoami'], { env: { PORTCULLIS_URL: `http://127.0.0.1:${closedPort}` } });
    expect(refusedConnection.code).toBe(4);
    expect(refusedConnection.stderr).toMatch(/Cannot reach the gateway .*ECONNREFUSED/);

    // A name that does not resolve; and a credential about to go over plain HTTP is warned about.
    const unknownHost = await cli(['whoami'], { env: { PORTCULLIS_URL: 'http://portcullis.invalid', PORTCULLIS_TOKEN: editorSecret } });
    expect(unknownHost.code).toBe(4);
    expect(unknownHost.stderr).toMatch(/warning: sending a credential over plain HTTP to portcullis\.invalid/);
    expect(unknownHost.stderr).toMatch(/Cannot reach the gateway at http:\/\/portcullis\.invalid\/graphql/);

    const seen: IncomingHttpHeaders[] = [];
    const unavailable = createServer((request, response) => {
      seen.push(request.headers);
      if (request.headers.authorization) {
        // A careless server (or proxy) that quotes the credential in its error: the CLI must not print it.
        response.writeHead(200, { 'content-type': 'application/json' });
        const message = `Bad credential: ${request.headers.authorization}`;
        response.end(JSON.stringify({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] }));
        return;
      }
      response.writeHead(503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ errors: [{ message: 'The database cannot be reached.', extensions: { code: 'SERVICE_UNAVAILABLE' } }] }));
    });
    await new Promise<void>((resolve) => unavailable.listen(0, '127.0.0.1', resolve));
    try {
      const down = await cli(['whoami'], { env: { PORTCULLIS_URL: `http://127.0.0.1:${(unavailable.address() as AddressInfo).port}` } });
      expect(down.code).toBe(4);
      expect(down.stderr).toMatch(/database cannot be reached.*SERVICE_UNAVAILABLE/);
      expect(seen).toHaveLength(1);
      expect(seen[0].authorization).toBeUndefined();

      const fakeUrl = `http://127.0.0.1:${(unavailable.address() as AddressInfo).port}`;
      const echoed = await cli(['whoami'], { env: { PORTCULLIS_URL: fakeUrl, PORTCULLIS_TOKEN: editorSecret } });
      expect(echoed.code).toBe(3);
      expect(echoed.stderr).toMatch(/Bad credential: Bearer pcl_\[redacted\] \(UNAUTHENTICATED\)/);
      expect(echoed.stderr).not.toContain(editorSecret);
    } finally {
      await new Promise<void>((resolve) => unavailable.close(() => resolve()));
    }
  });

  it('exits 2 for a bad option value, sending nothing', async () => {
    const bad = await cli(['tokens', 'create', '--name', 'x', '--role', 'editor', '--expires', 'tomorrow']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--expires/);
    expect(dataOf(await t.gql(TOKEN_STATUS, { name: 'x' }, owner.token)).apiTokens.edges.map((e: any) => e.node.name)).not.toContain('x');
  });

  it('creates a PERSONAL token on some boards expiring on a date, and changes its budget', async () => {
    const year = new Date().getUTCFullYear() + 1;
    const created = await cli(['tokens', 'create', '--kind', 'personal', '--name', 'mine', '--boards', boardId, '--expires', `${year}-12-31`]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`PERSONAL uncapped, scope boards Board, expires ${year}-12-31 00:00 UTC`);
    secrets.push(...secretsIn(created.stdout));
    const id = /"mine" \(([^)]+)\)/.exec(created.stdout)![1];
    expect((await cli(['tokens', 'update', id, '--budget', '1234'])).code).toBe(0);
    const MINE = `{ apiTokens(filter: { nameContains: "mine" }) { edges { node { id kind role scopeType expiresAt complexityBudget } } } }`;
    const node = dataOf(await t.gql(MINE, {}, owner.token)).apiTokens.edges[0].node;
    expect(node).toEqual({ id, kind: 'PERSONAL', role: null, scopeType: 'BOARDS', expiresAt: `${year}-12-31T00:00:00.000Z`, complexityBudget: 1234 });
  });

  it('logs out: the session ends on the gateway and the file is gone', async () => {
    const logout = await cli(['logout']);
    expect(logout).toMatchObject({ code: 0, stderr: '' });
    expect(existsSync(path.join(configDir, 'session.json'))).toBe(false);
    expect((await t.gql(VIEWER, {}, sessionToken)).status).toBe(401);
    const afterLogout = await cli(['whoami']);
    expect(afterLogout.code).toBe(3);
    expect(afterLogout.stderr).toMatch(/No credential was sent/);
  });

  it('never printed a secret on stderr', () => {
    expect(allStderr.length).toBeGreaterThan(15);
    for (const stderr of allStderr) {
      expect(secretsIn(stderr)).toEqual([]);
      for (const secret of secrets) expect(stderr).not.toContain(secret);
    }
  });
});
