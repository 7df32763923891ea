// Workload identity federation (tokens-v2.md): federation policies and exchangeFederatedToken,
// against real OIDC issuers made by the test (test/helpers/oidcIssuer.ts) on loopback. Every
// refusal is checked to create nothing: no token, no used jti, no audit event.
import { createHmac, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import type { JWTPayload } from 'jose';
import { redactSecrets } from '../src/cli/errors';
import { ConfigError, DEFAULT_FEDERATION_ISSUERS, loadConfig, type FederationConfig } from '../src/env';
import { scrub } from '../src/server/logging';
import { addMember, buildWorld, mintToken, signUp, type World } from './helpers/factories';
import { serveSecondInstance, timedPost } from './helpers/liveServer';
import { type TestIssuer, githubClaims, startIssuer } from './helpers/oidcIssuer';
import { dataOf, errorCodes, startTestApp, testConfig, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';

const onPostgres = Boolean(testDatabaseUrl());
const FETCH_TIMEOUT_MS = 1_000;
const REFETCH_COOLDOWN_MS = 400;

const EXCHANGE = `mutation($idToken: String!, $policyId: ID) {
  exchangeFederatedToken(idToken: $idToken, policyId: $policyId) {
    secret
    apiToken { id name kind role scopeType expiresAt federationPolicy { id name } }
  }
}`;
const CREATE_POLICY = `mutation($input: CreateFederationPolicyInput!) {
  createFederationPolicy(input: $input) {
    id name issuer audience subject claims { claim equals } role scopeType tokenLifetimeSeconds
    organization { id } space { id } boards { id } createdBy { id }
  }
}`;
const DELETE_POLICY = `mutation($id: ID!) { deleteFederationPolicy(id: $id) }`;

let t: TestApp;
let w: World;
/** Trusted: the main issuer and the ones whose JWKS fail. Untrusted: `stranger`. */
let issuer: TestIssuer;
let downIssuer: TestIssuer;
let slowIssuer: TestIssuer;
let hugeIssuer: TestIssuer;
let stranger: TestIssuer;
/** The owner's policy for space A: EDITOR, pinning the GitHub owner and repository ids. */
let policyId: string;

function federationConfig(): FederationConfig {
  return {
    issuers: [issuer.url, downIssuer.url, slowIssuer.url, hugeIssuer.url],
    allowInsecureLoopback: true,
    fetchTimeoutMs: FETCH_TIMEOUT_MS,
    jwksRefetchCooldownMs: REFETCH_COOLDOWN_MS,
  };
}

const policyInput = (overrides: Record<string, unknown> = {}) => ({
  name: `deploy-${randomUUID().slice(0, 6)}`,
  issuer: issuer.url,
  audience: 'portcullis',
  claims: [
    { claim: 'repository_owner_id', equals: '1001' },
    { claim: 'repository_id', equals: '4242' },
  ],
  role: 'EDITOR',
  spaceId: w.spaceA,
  ...overrides,
});

async function createPolicy(token: string, overrides: Record<string, unknown> = {}) {
  return dataOf(await t.gql(CREATE_POLICY, { input: policyInput(overrides) }, token)).createFederationPolicy;
}

const exchange = (idToken: string, policy?: string) => t.gql(EXCHANGE, { idToken, ...(policy && { policyId: policy }) });

/** Everything an exchange could write. */
async function counts() {
  return {
    tokens: await t.prisma.apiToken.count(),
    jtis: await t.prisma.federatedTokenUse.count(),
    audit: await t.prisma.auditEvent.count(),
    policies: await t.prisma.federationPolicy.count(),
  };
}

/** The request is refused with `code` and a message matching `message`, and nothing is written. */
async function expectRefused(send: () => Promise<GraphQLResponse>, code: string, message: RegExp) {
  const before = await counts();
  const res = await send();
  expect(errorCodes(res)).toEqual([code]);
  expect(res.body.errors![0].message).toMatch(message);
  expect(res.body.data?.exchangeFederatedToken ?? res.body.data?.createFederationPolicy ?? null).toBeNull();
  expect(await counts()).toEqual(before);
  return res;
}

const signed = (claims: JWTPayload = {}) => issuer.sign(githubClaims(issuer.url, claims));
const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  [issuer, downIssuer, slowIssuer, hugeIssuer, stranger] = await Promise.all([startIssuer(), startIssuer(), startIssuer(), startIssuer(), startIssuer()]);
  downIssuer.jwksMode = 'down';
  slowIssuer.jwksMode = 'slow';
  hugeIssuer.jwksMode = 'huge';
  t = await startTestApp({ federation: federationConfig() });
  w = await buildWorld(t);
  policyId = (await createPolicy(w.owner.token)).id;
});

afterAll(async () => {
  await t?.close();
  await Promise.all([issuer, downIssuer, slowIssuer, hugeIssuer, stranger].map((i) => i?.close()));
});

describe('FEDERATION_ISSUERS and FEDERATION_ALLOW_INSECURE_LOOPBACK', () => {
  it('default to GitHub Actions and GitLab.com, over https', () => {
    expect(loadConfig({}).federation).toEqual({
      issuers: DEFAULT_FEDERATION_ISSUERS,
      allowInsecureLoopback: false,
      fetchTimeoutMs: 5_000,
      jwksRefetchCooldownMs: 60_000,
    });
    expect(DEFAULT_FEDERATION_ISSUERS).toEqual(['https://token.actions.githubusercontent.com', 'https://gitlab.com']);
  });

  it('are validated at start-up: https only, http on loopback only when allowed', () => {
    expect(loadConfig({ FEDERATION_ISSUERS: 'https://a.example, https://b.example/' }).federation.issuers).toEqual(['https://a.example', 'https://b.example/']);
    expect(loadConfig({ FEDERATION_ISSUERS: 'http://127.0.0.1:9999', FEDERATION_ALLOW_INSECURE_LOOPBACK: 'true' }).federation.issuers).toEqual(['http://127.0.0.1:9999']);
    const refused = (env: Record<string, string>) => () => loadConfig(env);
    expect(refused({ FEDERATION_ISSUERS: 'http://127.0.0.1:9999' })).toThrow(/FEDERATION_ISSUERS: "http:\/\/127.0.0.1:9999" is plain HTTP: allowed only on loopback with FEDERATION_ALLOW_INSECURE_LOOPBACK=true/);
    expect(refused({ FEDERATION_ISSUERS: 'http://ci.example', FEDERATION_ALLOW_INSECURE_LOOPBACK: 'true' })).toThrow(/must be an https:\/\/ URL/);
    expect(refused({ FEDERATION_ISSUERS: 'not a url' })).toThrow(/is not a URL/);
    expect(refused({ FEDERATION_ISSUERS: 'https://ci.example?x=1' })).toThrow(/query or a fragment/);
    expect(refused({ FEDERATION_ISSUERS: 'https://user:pw@ci.example' })).toThrow(/credentials/);
    expect(refused({ FEDERATION_ALLOW_INSECURE_LOOPBACK: 'maybe' })).toThrow(ConfigError);
  });
});

describe('createFederationPolicy', () => {
  it('is made by an OWNER of the scope, audited, and listed on Organization.federationPolicies for OWNERs only', async () => {
    const policy = await createPolicy(w.owner.token, { subject: 'repo:acme/app:environment:production', tokenLifetimeSeconds: 600 });
    expect(policy).toMatchObject({
      issuer: issuer.url,
      audience: 'portcullis',
      subject: 'repo:acme/app:environment:production',
      claims: [
        { claim: 'repository_owner_id', equals: '1001' },
        { claim: 'repository_id', equals: '4242' },
      ],
      role: 'EDITOR',
      scopeType: 'SPACE',
      tokenLifetimeSeconds: 600,
      organization: { id: w.organizationId },
      space: { id: w.spaceA },
      boards: [],
      createdBy: { id: w.owner.id },
    });
    const event = await t.prisma.auditEvent.findFirst({ where: { action: 'federation.policy_created', targetId: policy.id } });
    expect(event).toMatchObject({ organizationId: w.organizationId, actorUserId: w.owner.id });

    const LIST = `query($id: ID!) { organization(id: $id) { federationPolicies(first: 50) { edges { node { id } } } } }`;
    const listed = dataOf(await t.gql(LIST, { id: w.organizationId }, w.owner.token)).organization.federationPolicies.edges.map((e: any) => e.node.id);
    expect(listed).toEqual(expect.arrayContaining([policy.id, policyId]));
    const editor = await signUp(t, 'Editor lister');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
    expect(errorCodes(await t.gql(LIST, { id: w.organizationId }, editor.token))).toEqual(['FORBIDDEN']);
    dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token));
  });

  it('the default token lifetime is 900 seconds, at most 3600', async () => {
    const policy = await createPolicy(w.owner.token);
    expect(policy.tokenLifetimeSeconds).toBe(900);
    dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token));
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ tokenLifetimeSeconds: 3601 }) }, w.owner.token), 'BAD_USER_INPUT', /at most 3600/);
  });

  it('refuses a policy that pins nothing', async () => {
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ claims: [] }) }, w.owner.token), 'BAD_USER_INPUT', /must pin the workload: give subject or at least one claim/);
  });

  it('refuses a GitHub Actions policy without repository_owner_id', async () => {
    const github = { issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:acme/app:ref:refs/heads/main' };
    const app = await startTestApp({ federation: { ...federationConfig(), issuers: DEFAULT_FEDERATION_ISSUERS } });
    try {
      const owner = await signUp(app, 'GitHub owner');
      const organizationId = dataOf(await app.gql(`mutation { createOrganization(input: { name: "O" }) { id } }`, {}, owner.token)).createOrganization.id;
      const input = { name: 'gh', audience: 'portcullis', role: 'VIEWER', organizationId, ...github };
      const res = await app.gql(CREATE_POLICY, { input: { ...input, claims: [{ claim: 'repository', equals: 'acme/app' }] } }, owner.token);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toMatch(/must pin repository_owner_id/);
      expect(await app.prisma.federationPolicy.count()).toBe(0);
      dataOf(await app.gql(CREATE_POLICY, { input: { ...input, claims: [{ claim: 'repository_owner_id', equals: '1001' }] } }, owner.token));
    } finally {
      await app.close();
    }
  });

  it('refuses an issuer not in FEDERATION_ISSUERS, and claims verification checks', async () => {
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ issuer: stranger.url }) }, w.owner.token), 'BAD_USER_INPUT', /is not one this gateway trusts/);
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ claims: [{ claim: 'aud', equals: 'x' }] }) }, w.owner.token), 'BAD_USER_INPUT', /cannot pin aud/);
    const twice = [{ claim: 'repository_id', equals: '1' }, { claim: 'repository_id', equals: '2' }];
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ claims: twice }) }, w.owner.token), 'BAD_USER_INPUT', /names repository_id twice/);
    const many = Array.from({ length: 21 }, (_, i) => ({ claim: `c${i}`, equals: 'x' }));
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ claims: many }) }, w.owner.token), 'BAD_USER_INPUT', /At most 20 claim conditions/);
  });

  it('refuses a non-OWNER creator, a role above the creator\'s, and SERVICE tokens', async () => {
    const editor = await signUp(t, 'Editor');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ role: 'VIEWER' }) }, editor.token), 'FORBIDDEN', /needs OWNER in the policy's whole scope; your role there is EDITOR/);

    // An OWNER acting through a PERSONAL token capped at EDITOR holds EDITOR: it cannot grant OWNER.
    const capped = await mintToken(t, w.owner.token, { kind: 'PERSONAL', role: 'EDITOR' });
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ role: 'OWNER' }) }, capped.secret), 'FORBIDDEN', /cannot grant OWNER: your role in this scope is EDITOR/);

    // A space OWNER cannot reach past the space.
    const spaceOwner = await signUp(t, 'Space owner');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: spaceOwner.email, role: 'OWNER', spaceId: w.spaceA });
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput({ spaceId: undefined, organizationId: w.organizationId, role: 'VIEWER' }) }, spaceOwner.token), 'FORBIDDEN', /your role (there|in this scope) is none/);
    const own = await createPolicy(spaceOwner.token, { role: 'OWNER' });
    expect(own.space).toEqual({ id: w.spaceA });
    dataOf(await t.gql(DELETE_POLICY, { id: own.id }, spaceOwner.token));

    const service = await mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'OWNER', organizationId: w.organizationId });
    await expectRefused(() => t.gql(CREATE_POLICY, { input: policyInput() }, service.secret), 'FORBIDDEN', /created by a user/);
  });
});

describe('exchangeFederatedToken', () => {
  it('turns a matching GitHub-shaped ID token into a SERVICE token with the policy\'s role, reaching only its space, expiring after its lifetime', async () => {
    const idToken = await signed();
    const before = Date.now();
    const res = await exchange(idToken);
    const { secret, apiToken } = dataOf(res).exchangeFederatedToken;
    expect(secret).toMatch(/^pcl_/);
    const policy = await t.prisma.federationPolicy.findUniqueOrThrow({ where: { id: policyId } });
    expect(apiToken).toMatchObject({ kind: 'SERVICE', role: 'EDITOR', scopeType: 'SPACE', name: policy.name, federationPolicy: { id: policyId, name: policy.name } });
    const expiresAt = new Date(apiToken.expiresAt).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000 - 1_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000 + 1_000);

    // Works, as EDITOR, in space A only.
    const board = dataOf(await t.gql(`mutation($s: ID!) { createBoard(input: { spaceId: $s, name: "from CI" }) { id } }`, { s: w.spaceA }, secret));
    expect(board.createBoard.id).toBeTruthy();
    const reads = dataOf(await t.gql(`query($a: ID!, $b: ID!) { a: board(id: $a) { id } b: board(id: $b) { id } }`, { a: w.boardA1, b: w.boardB1 }, secret));
    expect(reads).toEqual({ a: { id: w.boardA1 }, b: null });
    expect(errorCodes(await t.gql(`mutation($s: ID!) { createBoard(input: { spaceId: $s, name: "x" }) { id } }`, { s: w.spaceB }, secret))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await t.gql(`mutation($s: ID!) { deleteSpace(id: $s) }`, { s: w.spaceA }, secret))).toEqual(['FORBIDDEN']);

    // Audited with the issuer, subject and matched claim values, never the JWT.
    const event = await t.prisma.auditEvent.findFirstOrThrow({ where: { action: 'token.federated', targetId: apiToken.id } });
    expect(event.organizationId).toBe(w.organizationId);
    expect(event.actorName).toBe(`federation: iss=${issuer.url} sub=repo:acme/app:environment:production repository_owner_id=1001 repository_id=4242`);
    const everything = JSON.stringify(await t.prisma.auditEvent.findMany());
    expect(everything).not.toContain(idToken.split('.')[2]);
    expect(everything).not.toContain(secret);
  });

  it('issues tokens that expire after the policy\'s tokenLifetimeSeconds, and are then refused', async () => {
    const short = await createPolicy(w.owner.token, { tokenLifetimeSeconds: 60, claims: [{ claim: 'repository_owner_id', equals: '1001' }, { claim: 'repository_id', equals: 'short-lived' }] });
    const before = Date.now();
    const { secret, apiToken } = dataOf(await exchange(await signed({ repository_id: 'short-lived' }))).exchangeFederatedToken;
    const expiresAt = new Date(apiToken.expiresAt).getTime();
    expect(expiresAt - before).toBeGreaterThanOrEqual(59_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
    dataOf(await t.gql(`{ viewer { apiToken { id } } }`, {}, secret));
    // Its expiry, moved to now, is what the gateway checks: refused from then on.
    await t.prisma.apiToken.update({ where: { id: apiToken.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    await t.app.credentialChanges.barrier(); // the change was made beside the API: wait until the cache has heard of it
    const res = await t.gql(`{ viewer { apiToken { id } } }`, {}, secret);
    expect(res.status).toBe(401);
    expect(res.body.errors![0].message).toBe('This token has expired.');
    dataOf(await t.gql(DELETE_POLICY, { id: short.id }, w.owner.token));
  });

  it('accepts ES256 too', async () => {
    dataOf(await exchange(await issuer.sign(githubClaims(issuer.url), { alg: 'ES256' })));
  });

  it('refuses a wrong audience and another repository_owner_id (FORBIDDEN naming iss, aud and sub)', async () => {
    const wrongAudience = await signed({ aud: 'someone-else' });
    const res = await expectRefused(() => exchange(wrongAudience), 'FORBIDDEN', /No federation policy accepts this ID token/);
    expect(res.body.errors![0].message).toBe(`No federation policy accepts this ID token (iss "${issuer.url}", aud "someone-else", sub "repo:acme/app:environment:production").`);
    await expectRefused(async () => exchange(await signed({ repository_owner_id: '6666' })), 'FORBIDDEN', /No federation policy accepts this ID token/);
    // The claim compared as the policy says, not a look-alike.
    await expectRefused(async () => exchange(await signed({ repository_owner_id: ['1001'] as unknown as string })), 'FORBIDDEN', /No federation policy/);
  });

  it('refuses expired, not yet valid, future-issued and badly signed tokens (UNAUTHENTICATED with the reason)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(async () => exchange(await signed({ iat: now - 900, nbf: now - 900, exp: now - 120 })), 'UNAUTHENTICATED', /has expired/);
    await expectRefused(async () => exchange(await signed({ nbf: now + 300, exp: now + 600 })), 'UNAUTHENTICATED', /not valid yet/);
    await expectRefused(async () => exchange(await signed({ iat: now + 300, exp: now + 600 })), 'UNAUTHENTICATED', /issued in the future/);
    // Within the 60 s leeway: accepted.
    dataOf(await exchange(await signed({ nbf: now + 30, iat: now + 30 })));

    // Signed for another repository owner, then its claims changed to ours: the signature no longer holds.
    const [header, , signature] = (await signed({ repository_owner_id: '6666' })).split('.');
    const forged = `${header}.${base64url(githubClaims(issuer.url))}.${signature}`;
    await expectRefused(() => exchange(forged), 'UNAUTHENTICATED', /bad signature/);
    await expectRefused(() => exchange('not.a.jwt'), 'UNAUTHENTICATED', /not a well-formed JWT/);
    await expectRefused(async () => exchange(await issuer.sign({ ...githubClaims(issuer.url), jti: undefined })), 'UNAUTHENTICATED', /jti/);
  });

  it('refuses alg none and HS256 signed with the issuer\'s public key', async () => {
    const claims = base64url(githubClaims(issuer.url));
    const none = `${base64url({ alg: 'none', typ: 'JWT' })}.${claims}.`;
    await expectRefused(() => exchange(none), 'UNAUTHENTICATED', /algorithm \(alg "none"\) is not accepted: only RS256 and ES256/);

    const header = base64url({ alg: 'HS256', typ: 'JWT', kid: issuer.publishedKid() });
    const mac = createHmac('sha256', issuer.publicKeyPem()).update(`${header}.${claims}`).digest('base64url');
    await expectRefused(() => exchange(`${header}.${claims}.${mac}`), 'UNAUTHENTICATED', /algorithm \(alg "HS256"\) is not accepted/);
  });

  it('refuses an unknown kid after fetching the keys again once, and takes a rotated key the same way', async () => {
    dataOf(await exchange(await signed())); // the keys are cached
    await wait(REFETCH_COOLDOWN_MS + 100);
    const before = issuer.requests.jwks;
    await expectRefused(async () => exchange(await issuer.sign(githubClaims(issuer.url), { key: 'unpublished' })), 'UNAUTHENTICATED', /signed with an unknown key \(kid "rs256-/);
    expect(issuer.requests.jwks).toBe(before + 1);
    // Within the cooldown another unknown kid fetches nothing.
    await expectRefused(async () => exchange(await issuer.sign(githubClaims(issuer.url), { key: 'unpublished', kid: 'made-up' })), 'UNAUTHENTICATED', /unknown key \(kid "made-up"\)/);
    expect(issuer.requests.jwks).toBe(before + 1);

    // The issuer rotates: a token signed with its new key fetches the keys again once, and passes.
    await issuer.rotate();
    await wait(REFETCH_COOLDOWN_MS + 100);
    dataOf(await exchange(await issuer.sign(githubClaims(issuer.url), { key: 'rotated' })));
    expect(issuer.requests.jwks).toBe(before + 2);
  });

  it('refuses a replayed jti, also on a second instance', async () => {
    const idToken = await signed();
    dataOf(await exchange(idToken));
    await expectRefused(() => exchange(idToken), 'UNAUTHENTICATED', /used already \(jti "[0-9a-f-]+"\); each ID token is exchanged once/);
    // Sent twice at once: one exchange wins, the other is refused by the key.
    const raced = await signed();
    const before = await t.prisma.apiToken.count();
    const answers = await Promise.all([exchange(raced), exchange(raced), exchange(raced)]);
    expect(answers.map((res) => errorCodes(res)[0] ?? 'ok').sort()).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'ok']);
    expect(await t.prisma.apiToken.count()).toBe(before + 1);
    if (!onPostgres) return; // PGlite: one process owns the database
    const second = await serveSecondInstance(t, { config: { federation: federationConfig() } });
    try {
      const before = await counts();
      const res = await timedPost(second.origin, EXCHANGE, { idToken });
      expect(res.body?.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
      expect(res.body?.errors?.[0].message).toMatch(/used already/);
      expect(await counts()).toEqual(before);
      // And a fresh one used on the second instance first is refused on the first.
      const fresh = await signed();
      expect(dataOfTimed(await timedPost(second.origin, EXCHANGE, { idToken: fresh })).exchangeFederatedToken.secret).toMatch(/^pcl_/);
      await expectRefused(() => exchange(fresh), 'UNAUTHENTICATED', /used already/);
    } finally {
      await second.close();
    }
  });

  it('refuses an issuer not in FEDERATION_ISSUERS without contacting it', async () => {
    const idToken = await stranger.sign(githubClaims(stranger.url));
    await expectRefused(() => exchange(idToken), 'UNAUTHENTICATED', /issuer \(iss "http:\/\/127\.0\.0\.1:\d+"\) is not trusted by this gateway/);
    expect(stranger.requests).toEqual({ discovery: 0, jwks: 0 });
  });

  it('answers SERVICE_UNAVAILABLE, at once or within the timeout, when an issuer\'s JWKS is down, slow or oversized', async () => {
    for (const [broken, reason] of [
      [downIssuer, /could not be fetched: .*(other side closed|socket|ECONNRESET)/i],
      [slowIssuer, new RegExp(`could not be fetched: no answer within ${FETCH_TIMEOUT_MS / 1000} s`)],
      [hugeIssuer, /more than 1048576 bytes/],
    ] as const) {
      const idToken = await broken.sign(githubClaims(broken.url));
      const start = performance.now();
      const res = await expectRefused(() => exchange(idToken), 'SERVICE_UNAVAILABLE', reason);
      expect(performance.now() - start).toBeLessThan(FETCH_TIMEOUT_MS + 2_000);
      expect(res.status).toBe(503);
      expect(res.body.errors![0].message).toContain(broken.url);
      expect(res.body.errors![0].message).not.toContain(idToken);
    }
    // The gateway is fine, and an issuer that recovers is used again.
    dataOf(await exchange(await signed()));
    slowIssuer.jwksMode = 'ok';
    const policy = await createPolicy(w.owner.token, { issuer: slowIssuer.url });
    dataOf(await exchange(await slowIssuer.sign(githubClaims(slowIssuer.url))));
    dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token));
    slowIssuer.jwksMode = 'slow';
  });

  it('counts against the address\'s anonymous rate limit, with or without a credential', async () => {
    const limited = await startTestApp({ federation: federationConfig(), limits: { ...testConfig().limits, anonymousRequestsPerMinute: 3 } });
    try {
      const user = await signUp(limited, 'Limited'); // the first anonymous request of the address
      const idToken = await signed({ aud: 'nobody' });
      expect(errorCodes(await limited.gql(EXCHANGE, { idToken }))).toEqual(['FORBIDDEN']);
      // With a credential the request counts against it, and the exchange against the address as well.
      expect(errorCodes(await limited.gql(EXCHANGE, { idToken }, user.token))).toEqual(['FORBIDDEN']);
      const res = await limited.gql(EXCHANGE, { idToken }, user.token);
      expect(res.status).toBe(429);
      expect(errorCodes(res)).toEqual(['RATE_LIMITED']);
      expect(errorCodes(await limited.gql(EXCHANGE, { idToken }))).toEqual(['RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  });

  it('asks for policyId when several policies match, and takes the one named', async () => {
    const other = await createPolicy(w.owner.token, { role: 'VIEWER', spaceId: w.spaceB });
    await expectRefused(async () => exchange(await signed()), 'BAD_USER_INPUT', /2 federation policies accept this ID token: name the one to use with policyId/);
    const { apiToken } = dataOf(await exchange(await signed(), other.id)).exchangeFederatedToken;
    expect(apiToken).toMatchObject({ role: 'VIEWER', federationPolicy: { id: other.id } });
    // A policyId that does not match the token (or does not exist) is no way around the rules.
    await expectRefused(async () => exchange(await signed({ repository_owner_id: '6666' }), other.id), 'FORBIDDEN', /No federation policy with that policyId/);
    dataOf(await t.gql(DELETE_POLICY, { id: other.id }, w.owner.token));
  });

  it('meets the organization\'s token policy: a maximum lifetime below the policy\'s tokenLifetimeSeconds refuses the exchange', async () => {
    const SET_TOKEN_POLICY = `mutation($input: UpdateOrganizationTokenPolicyInput!) { updateOrganizationTokenPolicy(input: $input) { maxLifetimeSeconds } }`;
    const policy = await createPolicy(w.owner.token, { tokenLifetimeSeconds: 900, claims: [{ claim: 'repository_owner_id', equals: '1001' }, { claim: 'repository_id', equals: 'policed' }] });
    dataOf(await t.gql(SET_TOKEN_POLICY, { input: { organizationId: w.organizationId, maxLifetimeSeconds: 600 } }, w.owner.token));
    try {
      const idToken = await signed({ repository_id: 'policed' });
      await expectRefused(() => exchange(idToken), 'BAD_USER_INPUT', /token policy.*10 minutes|token policy.*600 seconds|token policy/i);
      // The refused exchange spent nothing: the same ID token works once the policy allows it.
      dataOf(await t.gql(SET_TOKEN_POLICY, { input: { organizationId: w.organizationId, maxLifetimeSeconds: 3600 } }, w.owner.token));
      const { apiToken } = dataOf(await exchange(idToken)).exchangeFederatedToken;
      // Its secret is known to reuse detection (regenerating it retires that digest).
      expect(await t.prisma.apiTokenSecretDigest.count({ where: { tokenId: apiToken.id, retiredAt: null } })).toBe(1);
    } finally {
      dataOf(await t.gql(SET_TOKEN_POLICY, { input: { organizationId: w.organizationId, maxLifetimeSeconds: null } }, w.owner.token));
      dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token));
    }
  });

  it('issues nothing once the policy\'s creator is no longer an OWNER of its scope', async () => {
    const creator = await signUp(t, 'Former owner');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: creator.email, role: 'OWNER' });
    const policy = await createPolicy(creator.token, { spaceId: w.spaceB, claims: [{ claim: 'repository_owner_id', equals: '1001' }, { claim: 'repository_id', equals: 'former' }] });
    dataOf(await exchange(await signed({ repository_id: 'former' })));
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: creator.email, role: 'EDITOR' });
    await expectRefused(async () => exchange(await signed({ repository_id: 'former' })), 'FORBIDDEN', /its creator is no longer an OWNER of its scope/);
    dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token));
  });
});

describe('deleteFederationPolicy', () => {
  it('revokes the live tokens the policy issued, refused from the next request on (on every instance)', async () => {
    const policy = await createPolicy(w.owner.token, { claims: [{ claim: 'repository_owner_id', equals: '1001' }, { claim: 'repository_id', equals: 'doomed' }] });
    const issued = [];
    for (let i = 0; i < 2; i++) issued.push(dataOf(await exchange(await signed({ repository_id: 'doomed' }))).exchangeFederatedToken);
    const unrelated = dataOf(await exchange(await signed())).exchangeFederatedToken;
    const VIEWER = `{ viewer { apiToken { id } } }`;
    const second = onPostgres ? await serveSecondInstance(t, { config: { federation: federationConfig() } }) : null;
    try {
      // Cached by each instance before the deletion.
      for (const { secret } of issued) {
        dataOf(await t.gql(VIEWER, {}, secret));
        if (second) expect((await timedPost(second.origin, VIEWER, {}, secret)).status).toBe(200);
      }
      // Only an OWNER of its scope deletes it; to others out of reach it does not exist.
      const editor = await signUp(t, 'Editor deleter');
      await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
      expect(errorCodes(await t.gql(DELETE_POLICY, { id: policy.id }, editor.token))).toEqual(['FORBIDDEN']);
      expect(errorCodes(await t.gql(DELETE_POLICY, { id: policy.id }, w.stranger.token))).toEqual(['NOT_FOUND']);

      expect(dataOf(await t.gql(DELETE_POLICY, { id: policy.id }, w.owner.token)).deleteFederationPolicy).toBe(policy.id);
      for (const { secret, apiToken } of issued) {
        const res = await t.gql(VIEWER, {}, secret);
        expect(res.status).toBe(401);
        expect(res.body.errors![0].message).toBe('This token has been revoked.');
        if (second) expect((await timedPost(second.origin, VIEWER, {}, secret)).status).toBe(401);
        const events = await t.prisma.auditEvent.findMany({ where: { targetId: apiToken.id, action: 'token.revoked' } });
        expect(events).toHaveLength(1);
      }
      dataOf(await t.gql(VIEWER, {}, unrelated.secret));
      expect(await t.prisma.auditEvent.count({ where: { action: 'federation.policy_deleted', targetId: policy.id } })).toBe(1);
      expect(await t.prisma.federationPolicy.findUnique({ where: { id: policy.id } })).toBeNull();
      // Its ID tokens match nothing any more.
      await expectRefused(async () => exchange(await signed({ repository_id: 'doomed' })), 'FORBIDDEN', /No federation policy accepts/);
    } finally {
      await second?.close();
    }
  });
});

describe('logs', () => {
  it('hold no ID token and no issued secret, whatever the exchange\'s outcome; JWTs are scrubbed from any line', async () => {
    const lines: string[] = [];
    const logged = await startTestApp({ logLevel: 'debug', federation: federationConfig() }, { logStream: { write: (line: string) => void lines.push(line) } });
    try {
      const owner = await signUp(logged, 'Logged owner');
      const organizationId = dataOf(await logged.gql(`mutation { createOrganization(input: { name: "L" }) { id } }`, {}, owner.token)).createOrganization.id;
      dataOf(await logged.gql(CREATE_POLICY, { input: { ...policyInput(), spaceId: undefined, organizationId } }, owner.token));
      const idTokens = [await signed(), await signed({ aud: 'nobody' }), await downIssuer.sign(githubClaims(downIssuer.url)), 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.'];
      const answers = [];
      for (const idToken of idTokens) answers.push(await logged.gql(EXCHANGE, { idToken }));
      const secret = dataOf(answers[0]).exchangeFederatedToken.secret;
      expect(answers.slice(1).map((res) => errorCodes(res)[0])).toEqual(['FORBIDDEN', 'SERVICE_UNAVAILABLE', 'UNAUTHENTICATED']);
      expect(lines.length).toBeGreaterThan(idTokens.length);
      for (const text of [...lines, ...answers.slice(1).map((res) => JSON.stringify(res.body))]) {
        for (const idToken of idTokens) expect(text).not.toContain(idToken);
        expect(text).not.toContain(secret);
      }
    } finally {
      await logged.close();
    }
    // The last line of defence, should a message ever quote one.
    const idToken = await signed();
    expect(scrub(`{"msg":"refused ${idToken} here"}`)).toBe('{"msg":"refused [REDACTED] here"}');
    expect(redactSecrets(`refused ${idToken}.`)).toBe('refused [redacted JWT].');
  });
});

describe('hostile input (fast-check)', () => {
  const SEED = Number(process.env.FC_SEED ?? 20_250_605);

  it('exchangeFederatedToken: any string is a clear refusal that creates nothing', async () => {
    const before = await counts();
    const jwtish = fc
      .tuple(fc.string({ maxLength: 60 }), fc.string({ maxLength: 200 }), fc.string({ maxLength: 60 }))
      .map(([h, p, s]) => [h, p, s].map((part) => Buffer.from(part).toString('base64url')).join('.'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), jwtish), fc.option(fc.string({ maxLength: 250 })), async (idToken, policy) => {
        const res = await t.gql(EXCHANGE, { idToken, policyId: policy });
        expect(res.status).toBeLessThan(500);
        expect(['UNAUTHENTICATED', 'BAD_USER_INPUT']).toContain(errorCodes(res)[0]);
        expect(res.body.errors![0].message).not.toMatch(/Unexpected error/);
      }),
      { seed: SEED, numRuns: 60 },
    );
    const oversized = await t.gql(EXCHANGE, { idToken: 'a'.repeat(20_000) });
    expect(errorCodes(oversized)).toEqual(['BAD_USER_INPUT']);
    expect(await counts()).toEqual(before);
  });

  it('createFederationPolicy: any claim names and values are stored as given or refused as BAD_USER_INPUT', async () => {
    const created: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ claim: fc.string({ maxLength: 120 }), equals: fc.string({ unit: 'binary', maxLength: 50 }) }), { maxLength: 4 }),
        fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
        async (claims, subject) => {
          const res = await t.gql(CREATE_POLICY, { input: policyInput({ claims, subject, audience: `aud-${randomUUID()}` }) }, w.owner.token);
          if (res.body.errors) {
            expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
            return;
          }
          const policy = res.body.data.createFederationPolicy;
          created.push(policy.id);
          expect(policy.claims).toEqual(claims);
          expect(policy.subject).toEqual(subject);
        },
      ),
      { seed: SEED, numRuns: 40 },
    );
    for (const id of created) dataOf(await t.gql(DELETE_POLICY, { id }, w.owner.token));
  });
});

function dataOfTimed(res: { status: number; body: any }) {
  if (res.status !== 200 || res.body?.errors) throw new Error(`Expected success, got HTTP ${res.status}: ${JSON.stringify(res.body?.errors)}`);
  return res.body.data;
}
