// `portcullis ci token` as a CI job runs it: a child process (node src/cli/bin.cjs) against a
// real gateway on a loopback port that trusts a test OIDC issuer (test/helpers/oidcIssuer.ts),
// with GitHub Actions' two variables pointing at a loopback stand-in for the runner's ID token
// endpoint, or a GitLab-style variable holding the ID token.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createOrganization, createSpace, signUp, type TestUser } from './helpers/factories';
import { type CliRun, runCli } from './helpers/cliProcess';
import { type LiveServer, serve } from './helpers/liveServer';
import { killLeftoverServers, migratedDatabase, postGraphQL, startServer, stopServer } from './helpers/serverProcess';
import { type TestIssuer, githubClaims, startIssuer } from './helpers/oidcIssuer';
import { dataOf, startTestApp, type TestApp } from './helpers/testApp';

const RUNNER_SECRET = `runner-${randomUUID()}`;

type Run = CliRun;

let t: TestApp;
let live: LiveServer;
let issuer: TestIssuer;
/** Trusted, but its JWKS endpoint drops every connection. */
let downIssuer: TestIssuer;
let owner: TestUser;
let spaceId: string;
let workDir: string;
/** A stand-in for the GitHub Actions runner's ID token endpoint. */
let runner: Server;
let runnerUrl: string;
const runnerRequests: { audience: string | null; authorization: string | undefined }[] = [];
/** Every ID token handed out and every token issued: none may appear in any stderr. */
const secrets: string[] = [RUNNER_SECRET];
const allStderr: string[] = [];

async function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const run = await runCli(args, { PATH: process.env.PATH ?? '', HOME: workDir, PORTCULLIS_CONFIG_DIR: workDir, PORTCULLIS_URL: live.origin, ...env });
  allStderr.push(run.stderr);
  return run;
}

/** GitHub Actions' variables, as a job with `permissions: id-token: write` has them. */
const github = (extra: Record<string, string> = {}) => ({
  ACTIONS_ID_TOKEN_REQUEST_URL: `${runnerUrl}/_apis/distributedtask/hubs/build/plans/1/jobs/2/idtoken?api-version=2.0`,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: RUNNER_SECRET,
  ...extra,
});

const VIEWER = `{ viewer { apiToken { id name role scopeType federationPolicy { id } } } }`;

async function createPolicy(input: Record<string, unknown>) {
  return dataOf(
    await t.gql(
      `mutation($input: CreateFederationPolicyInput!) { createFederationPolicy(input: $input) { id } }`,
      { input: { name: `ci-${randomUUID().slice(0, 6)}`, issuer: issuer.url, audience: 'portcullis', role: 'EDITOR', spaceId, ...input } },
      owner.token,
    ),
  ).createFederationPolicy.id as string;
}

let githubPolicy: string;

beforeAll(async () => {
  issuer = await startIssuer();
  downIssuer = await startIssuer();
  downIssuer.jwksMode = 'down';
  t = await startTestApp({ federation: { issuers: [issuer.url, downIssuer.url], allowInsecureLoopback: true, fetchTimeoutMs: 2_000, jwksRefetchCooldownMs: 60_000 } });
  live = await serve(t.app);
  workDir = mkdtempSync(path.join(os.tmpdir(), 'portcullis-ci-'));
  owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token);
  spaceId = await createSpace(t, owner.token, organizationId);
  githubPolicy = await createPolicy({ claims: [{ claim: 'repository_owner_id', equals: '1001' }, { claim: 'repository_id', equals: '4242' }] });

  runner = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://runner');
    runnerRequests.push({ audience: url.searchParams.get('audience'), authorization: req.headers.authorization });
    if (req.headers.authorization !== `bearer ${RUNNER_SECRET}` || !url.pathname.endsWith('/idtoken')) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `bad credential ${req.headers.authorization}` }));
      return;
    }
    void issuer.sign(githubClaims(issuer.url, { aud: url.searchParams.get('audience') ?? 'none' })).then((value) => {
      secrets.push(value);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
    });
  });
  await new Promise<void>((resolve) => runner.listen(0, '127.0.0.1', resolve));
  runnerUrl = `http://127.0.0.1:${(runner.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => runner?.close(resolve));
  await live?.close();
  await t?.close();
  await issuer?.close();
  await downIssuer?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  // Nothing secret in any error output of the whole file.
  for (const stderr of allStderr) for (const secret of secrets) expect(stderr).not.toContain(secret);
});

afterEach(killLeftoverServers);

describe('portcullis ci token', () => {
  it('in GitHub Actions: requests the job\'s ID token (audience portcullis), exchanges it and prints the token', async () => {
    runnerRequests.length = 0;
    const run = await cli(['ci', 'token'], github());
    expect(run).toMatchObject({ code: 0, stderr: expect.stringMatching(/^portcullis: token "ci-\w+" \(\w+\), SERVICE EDITOR on space, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\.\n$/) });
    expect(run.stdout).toMatch(/^pcl_\w+\n$/);
    const token = run.stdout.trim();
    secrets.push(token);
    expect(runnerRequests).toEqual([{ audience: 'portcullis', authorization: `bearer ${RUNNER_SECRET}` }]);
    expect(dataOf(await t.gql(VIEWER, {}, token)).viewer.apiToken).toMatchObject({ role: 'EDITOR', scopeType: 'SPACE', federationPolicy: { id: githubPolicy } });
  });

  it('--github-env NAME: masks the token, then writes NAME=token to $GITHUB_ENV (and prints nothing else on stdout)', async () => {
    const githubEnv = path.join(workDir, 'github_env');
    writeFileSync(githubEnv, 'EARLIER=1\n');
    const run = await cli(['ci', 'token', '--github-env', 'PORTCULLIS_TOKEN'], github({ GITHUB_ENV: githubEnv }));
    expect(run.code).toBe(0);
    const [, token] = /^::add-mask::(pcl_\w+)\n$/.exec(run.stdout) ?? [];
    expect(token).toBeDefined();
    secrets.push(token);
    expect(readFileSync(githubEnv, 'utf8')).toBe(`EARLIER=1\nPORTCULLIS_TOKEN=${token}\n`);
    expect(run.stderr).toMatch(/in \$PORTCULLIS_TOKEN for the next steps/);
    dataOf(await t.gql(VIEWER, {}, token));
  });

  it('--github-env without $GITHUB_ENV, or with a bad name, is a usage error that spends no ID token', async () => {
    runnerRequests.length = 0;
    expect(await cli(['ci', 'token', '--github-env', 'PORTCULLIS_TOKEN'], github())).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/needs \$GITHUB_ENV/) });
    expect(await cli(['ci', 'token', '--github-env', 'A=B'], github({ GITHUB_ENV: path.join(workDir, 'x') }))).toMatchObject({ code: 2, stderr: expect.stringMatching(/--github-env expects a variable name/) });
    expect(runnerRequests).toEqual([]);
  });

  it('--audience: the audience asked for; one no policy accepts is refused (exit 3) with the gateway\'s reason', async () => {
    runnerRequests.length = 0;
    const run = await cli(['ci', 'token', '--audience', 'elsewhere'], github());
    expect(runnerRequests.map((r) => r.audience)).toEqual(['elsewhere']);
    expect(run).toMatchObject({ code: 3, stdout: '' });
    expect(run.stderr).toMatch(/^portcullis: No federation policy accepts this ID token \(iss "http:\/\/127\.0\.0\.1:\d+", aud "elsewhere", sub "repo:acme\/app:environment:production"\)\. \(FORBIDDEN\)\n$/);
  });

  it('in GitLab CI: reads the ID token from --id-token-env, and a replay of it is refused', async () => {
    const gitlabPolicy = await createPolicy({ role: 'VIEWER', subject: 'project_path:acme/app:ref_type:branch:ref:main', claims: [{ claim: 'namespace_id', equals: '77' }] });
    const now = Math.floor(Date.now() / 1000);
    const idToken = await issuer.sign({
      iss: issuer.url, aud: 'portcullis', sub: 'project_path:acme/app:ref_type:branch:ref:main', namespace_id: '77', project_id: '88',
      project_path: 'acme/app', ref: 'main', ref_type: 'branch', jti: randomUUID(), iat: now, nbf: now, exp: now + 300,
    });
    secrets.push(idToken);
    const run = await cli(['ci', 'token', '--id-token-env', 'PORTCULLIS_ID_TOKEN'], { PORTCULLIS_ID_TOKEN: idToken });
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    secrets.push(token);
    expect(dataOf(await t.gql(VIEWER, {}, token)).viewer.apiToken).toMatchObject({ role: 'VIEWER', federationPolicy: { id: gitlabPolicy } });

    const replay = await cli(['ci', 'token', '--id-token-env', 'PORTCULLIS_ID_TOKEN'], { PORTCULLIS_ID_TOKEN: idToken });
    expect(replay).toMatchObject({ code: 3, stdout: '', stderr: expect.stringMatching(/used already .*each ID token is exchanged once\. \(UNAUTHENTICATED\)/) });
  });

  it('--policy picks one of several policies that accept the job; without it the gateway says so (exit 3)', async () => {
    const second = await createPolicy({ role: 'VIEWER', claims: [{ claim: 'repository_owner_id', equals: '1001' }] });
    const ambiguous = await cli(['ci', 'token'], github());
    expect(ambiguous).toMatchObject({ code: 3, stderr: expect.stringMatching(/2 federation policies accept this ID token: name the one to use with policyId/) });
    const run = await cli(['ci', 'token', '--policy', second], github());
    expect(run.code).toBe(0);
    secrets.push(run.stdout.trim());
    expect(dataOf(await t.gql(VIEWER, {}, run.stdout.trim())).viewer.apiToken.federationPolicy).toEqual({ id: second });
    dataOf(await t.gql(`mutation($id: ID!) { deleteFederationPolicy(id: $id) }`, { id: second }, owner.token));
  });

  it('no ID token to be had is a usage error (exit 2), in words', async () => {
    expect(await cli(['ci', 'token'])).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/No ID token: in GitHub Actions give the job `permissions: id-token: write`/) });
    expect(await cli(['ci', 'token', '--id-token-env', 'MISSING'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/The variable MISSING is unset or empty/) });
  });

  it('a runner that refuses (exit 3) or a gateway that cannot be reached (exit 4) is said in words, without secrets', async () => {
    const refused = await cli(['ci', 'token'], github({ ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong-request-token' }));
    expect(refused).toMatchObject({ code: 3, stdout: '', stderr: expect.stringMatching(/GitHub Actions refused the ID token request \(HTTP 401\): does the job have `permissions: id-token: write`\?/) });
    expect(refused.stderr).not.toContain('wrong-request-token');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await cli(['ci', 'token'], github({ PORTCULLIS_URL: `http://127.0.0.1:${port}` }));
    expect(unreachable).toMatchObject({ code: 4, stdout: '', stderr: expect.stringMatching(/Cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+\/graphql: .*ECONNREFUSED/) });

    // The gateway cannot fetch the issuer's keys: exit 4 too, the gateway's reason in words.
    const idToken = await downIssuer.sign(githubClaims(downIssuer.url));
    secrets.push(idToken);
    const issuerDown = await cli(['ci', 'token', '--id-token-env', 'ID_TOKEN'], { ID_TOKEN: idToken });
    expect(issuerDown).toMatchObject({ code: 4, stdout: '' });
    expect(issuerDown.stderr).toMatch(/could not answer: The keys of the issuer http:\/\/127\.0\.0\.1:\d+ could not be fetched: .*Try again shortly\. \(SERVICE_UNAVAILABLE\)/);
  });

  // The gateway as `npm start` runs it (node --import tsx; Node loads jose itself): the whole path
  // from a fresh process, FEDERATION_ISSUERS and FEDERATION_ALLOW_INSECURE_LOOPBACK read from the
  // environment.
  it('works against the server process, configured by FEDERATION_ISSUERS', async () => {
    const database = await migratedDatabase();
    try {
      const server = await startServer({ ...database.env, SEED_DEMO_DATA: 'false', FEDERATION_ISSUERS: issuer.url, FEDERATION_ALLOW_INSECURE_LOOPBACK: 'true' });
      const email = `ops-${randomUUID().slice(0, 8)}@example.com`;
      const signUp = await postGraphQL(server.url, `mutation { signUp(input: { email: "${email}", password: "pw-${randomUUID()}", name: "Ops" }) { token } }`);
      const session = signUp.body.data.signUp.token as string;
      const org = await postGraphQL(server.url, `mutation { createOrganization(input: { name: "Acme" }) { id } }`, session);
      const space = await postGraphQL(server.url, `mutation { createSpace(input: { organizationId: "${org.body.data.createOrganization.id}", name: "Deploys" }) { id } }`, session);
      const policy = await postGraphQL(
        server.url,
        `mutation { createFederationPolicy(input: { name: "deploys", issuer: "${issuer.url}", audience: "portcullis", role: AGENT,
           spaceId: "${space.body.data.createSpace.id}", claims: [{ claim: "repository_owner_id", equals: "1001" }] }) { id tokenLifetimeSeconds } }`,
        session,
      );
      expect(policy.body.data.createFederationPolicy.tokenLifetimeSeconds).toBe(900);

      const run = await cli(['ci', 'token'], github({ PORTCULLIS_URL: server.url }));
      expect(run.code).toBe(0);
      const token = run.stdout.trim();
      secrets.push(token);
      const viewer = await postGraphQL(server.url, VIEWER, token);
      expect(viewer.body.data.viewer.apiToken).toMatchObject({ name: 'deploys', role: 'AGENT', scopeType: 'SPACE' });
      expect(await stopServer(server)).toBe(0);
    } finally {
      await database.drop();
    }
  }, 240_000);
});
