// Organization token policies (tokens-v2.md, "Organization token policy"): OWNERs set
// maxLifetimeSeconds, requireExpiry and allowPersonalTokens; new tokens and updates that break
// them are refused (BAD_USER_INPUT naming the rule); existing tokens that break them are refused
// inside the organization (HTTP 403 naming the rule), not revoked, until changed or the policy is.
import { addMember, buildWorld, createOrganization, mintToken, signUp, type TestUser, type World } from './helpers/factories';
import { serveSecondInstance, timedPost } from './helpers/liveServer';
import { dataOf, errorCodes, startTestApp, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';

const onPostgres = Boolean(testDatabaseUrl());
const DAY = 86_400;

const SET_POLICY = `mutation($input: UpdateOrganizationTokenPolicyInput!) {
  updateOrganizationTokenPolicy(input: $input) { maxLifetimeSeconds requireExpiry allowPersonalTokens }
}`;
const READ_POLICY = `query($id: ID!) { organization(id: $id) { tokenPolicy { maxLifetimeSeconds requireExpiry allowPersonalTokens } } }`;
const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id expiresAt } } }`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { id expiresAt status } }`;
const ORG = `query($id: ID!) { organization(id: $id) { id name } }`;
const ME = `{ viewer { apiToken { id } } }`;
const AUDIT = `query($id: ID!) { organization(id: $id) { auditEvents(first: 100) { edges { node { action actorName targetId } } } } }`;
const STATUS = `query($id: ID!) { organization(id: $id) { apiTokens(first: 100) { edges { node { id status } } } } }`;

let t: TestApp;
let w: World;
let editor: TestUser;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  editor = await signUp(t, 'Editor');
  await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
});
afterAll(() => t?.close());

/** Each test starts with no policy. */
afterEach(async () => {
  await t.gql(SET_POLICY, { input: { organizationId: w.organizationId, maxLifetimeSeconds: null, requireExpiry: false, allowPersonalTokens: true } }, w.owner.token);
});

const setPolicy = async (policy: Record<string, unknown>) =>
  dataOf(await t.gql(SET_POLICY, { input: { organizationId: w.organizationId, ...policy } }, w.owner.token)).updateOrganizationTokenPolicy;
const serviceToken = (extra: Record<string, unknown> = {}) =>
  mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId: w.organizationId, ...extra });

function expectRefusal(res: GraphQLResponse, code: string, message: RegExp) {
  expect(errorCodes(res)).toEqual([code]);
  expect(res.body.errors![0].message).toMatch(message);
}

/** The token is blocked: HTTP 403, FORBIDDEN, the rule named. */
async function expectBlocked(secret: string, rule: RegExp, query = ME, variables: Record<string, unknown> = {}) {
  const res = await t.gql(query, variables, secret);
  expect(res.status).toBe(403);
  expectRefusal(res, 'FORBIDDEN', rule);
  expect(res.body.errors![0].message).toMatch(/token policy/);
}

async function expectWorks(secret: string, query = ME, variables: Record<string, unknown> = {}) {
  const res = await t.gql(query, variables, secret);
  expect([res.status, res.body.errors]).toEqual([200, undefined]);
  return res.body.data;
}

async function statusOf(tokenId: string) {
  const edges = dataOf(await t.gql(STATUS, { id: w.organizationId }, w.owner.token)).organization.apiTokens.edges;
  return edges.find((e: any) => e.node.id === tokenId).node.status;
}

describe('setting the policy', () => {
  test('an OWNER sets and reads it; each change is audited; omitted fields stay as they are', async () => {
    expect(dataOf(await t.gql(READ_POLICY, { id: w.organizationId }, w.owner.token)).organization.tokenPolicy).toEqual({
      maxLifetimeSeconds: null,
      requireExpiry: false,
      allowPersonalTokens: true,
    });
    expect(await setPolicy({ maxLifetimeSeconds: 7 * DAY })).toEqual({ maxLifetimeSeconds: 7 * DAY, requireExpiry: false, allowPersonalTokens: true });
    expect(await setPolicy({ requireExpiry: true })).toEqual({ maxLifetimeSeconds: 7 * DAY, requireExpiry: true, allowPersonalTokens: true });
    expect(dataOf(await t.gql(READ_POLICY, { id: w.organizationId }, w.owner.token)).organization.tokenPolicy.requireExpiry).toBe(true);
    const events = dataOf(await t.gql(AUDIT, { id: w.organizationId }, w.owner.token)).organization.auditEvents.edges.map((e: any) => e.node);
    expect(events.slice(0, 2)).toEqual([
      { action: 'organization.token_policy_updated', actorName: w.owner.name, targetId: w.organizationId },
      { action: 'organization.token_policy_updated', actorName: w.owner.name, targetId: w.organizationId },
    ]);
  });

  test('a non-OWNER can neither set nor read it, and nothing changes', async () => {
    expectRefusal(await t.gql(SET_POLICY, { input: { organizationId: w.organizationId, requireExpiry: true } }, editor.token), 'FORBIDDEN', /OWNER/);
    const editorsOwnerToken = await mintToken(t, editor.token, { kind: 'SERVICE', role: 'EDITOR', organizationId: w.organizationId });
    expect(errorCodes(await t.gql(SET_POLICY, { input: { organizationId: w.organizationId, requireExpiry: true } }, editorsOwnerToken.secret))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await t.gql(READ_POLICY, { id: w.organizationId }, editor.token))).toEqual(['FORBIDDEN']);
    // Another organization's: it does not exist for the caller.
    expect(errorCodes(await t.gql(SET_POLICY, { input: { organizationId: w.otherOrganizationId, requireExpiry: true } }, w.owner.token))).toEqual(['NOT_FOUND']);
    expect(await t.prisma.organizationTokenPolicy.findUnique({ where: { organizationId: w.otherOrganizationId } })).toBeNull();
    expect((await t.prisma.organizationTokenPolicy.findUnique({ where: { organizationId: w.organizationId } }))?.requireExpiry ?? false).toBe(false);
  });

  test.each([0, 59, 10 * 365 * DAY + 1, -5])('maxLifetimeSeconds %p is BAD_USER_INPUT and changes nothing', async (maxLifetimeSeconds) => {
    const res = await t.gql(SET_POLICY, { input: { organizationId: w.organizationId, maxLifetimeSeconds } }, w.owner.token);
    expectRefusal(res, 'BAD_USER_INPUT', /maxLifetimeSeconds/);
    expect((await t.prisma.organizationTokenPolicy.findUnique({ where: { organizationId: w.organizationId } }))?.maxLifetimeSeconds ?? null).toBeNull();
  });
});

describe('maxLifetimeSeconds', () => {
  test('a 7-day maximum refuses a 30-day token, accepts a 7-day one, and blocks an older never-expiring one until it is changed', async () => {
    const old = await serviceToken();
    await expectWorks(old.secret);
    await expectWorks(old.secret); // now in the credential cache: the policy must still reach it
    await setPolicy({ maxLifetimeSeconds: 7 * DAY });

    const tooLong = await t.gql(CREATE, { input: { name: 'ci', role: 'VIEWER', organizationId: w.organizationId, expiresInSeconds: 30 * DAY } }, w.owner.token);
    expectRefusal(tooLong, 'BAD_USER_INPUT', /token policy of organization "Acme".*maxLifetimeSeconds 604800/);
    expect(await t.prisma.apiToken.count({ where: { name: 'ci' } })).toBe(0);
    const week = await serviceToken({ expiresInSeconds: 7 * DAY });
    await expectWorks(week.secret);

    await expectBlocked(old.secret, /at most 7 days \(maxLifetimeSeconds 604800\)/);
    expect(await statusOf(old.id)).toBe('ACTIVE'); // blocked, not revoked
    // An update that leaves it breaking the rule is refused; one that brings it into line works.
    expectRefusal(await t.gql(UPDATE, { input: { id: old.id, name: 'renamed' } }, w.owner.token), 'BAD_USER_INPUT', /maxLifetimeSeconds/);
    expectRefusal(await t.gql(UPDATE, { input: { id: old.id, expiresInSeconds: 8 * DAY } }, w.owner.token), 'BAD_USER_INPUT', /maxLifetimeSeconds/);
    dataOf(await t.gql(UPDATE, { input: { id: old.id, expiresInSeconds: 3 * DAY } }, w.owner.token));
    await expectWorks(old.secret);
  });

  test('a blocked token works again once the policy is relaxed', async () => {
    const old = await serviceToken({ expiresInSeconds: 30 * DAY });
    await expectWorks(old.secret);
    await setPolicy({ maxLifetimeSeconds: 7 * DAY });
    await expectBlocked(old.secret, /maxLifetimeSeconds/);
    await setPolicy({ maxLifetimeSeconds: 31 * DAY });
    await expectWorks(old.secret);
  });
});

describe('requireExpiry', () => {
  test('tokens without an expiry are refused when created, and blocked when they exist', async () => {
    const old = await serviceToken();
    await setPolicy({ requireExpiry: true });
    expectRefusal(await t.gql(CREATE, { input: { name: 'forever', role: 'VIEWER', organizationId: w.organizationId } }, w.owner.token), 'BAD_USER_INPUT', /requireExpiry/);
    await expectWorks((await serviceToken({ expiresInSeconds: 365 * DAY })).secret);
    await expectBlocked(old.secret, /tokens must expire \(requireExpiry\)/);
    expect(await statusOf(old.id)).toBe('ACTIVE');
    await setPolicy({ requireExpiry: false });
    await expectWorks(old.secret);
  });
});

describe('allowPersonalTokens', () => {
  test('false: PERSONAL tokens of the organization are refused when created, and blocked when they exist; SERVICE tokens are not', async () => {
    const scoped = await mintToken(t, w.owner.token, { kind: 'PERSONAL', organizationId: w.organizationId });
    const service = await serviceToken();
    await setPolicy({ allowPersonalTokens: false });
    const refused = await t.gql(CREATE, { input: { name: 'mine', kind: 'PERSONAL', organizationId: w.organizationId } }, w.owner.token);
    expectRefusal(refused, 'BAD_USER_INPUT', /PERSONAL tokens are not allowed \(allowPersonalTokens is false\)/);
    await expectBlocked(scoped.secret, /allowPersonalTokens/);
    await expectWorks(service.secret);
  });

  test('an unscoped PERSONAL token is refused inside that organization only (403 naming the rule), and cannot be created while it reaches it', async () => {
    const secondOrganization = await createOrganization(t, w.owner.token, 'Second');
    const unscoped = await mintToken(t, w.owner.token, { kind: 'PERSONAL' });
    await expectWorks(unscoped.secret, ORG, { id: w.organizationId });
    await setPolicy({ allowPersonalTokens: false });
    await expectBlocked(unscoped.secret, /allowPersonalTokens/, ORG, { id: w.organizationId });
    await expectBlocked(unscoped.secret, /allowPersonalTokens/, `query($id: ID!) { space(id: $id) { id } }`, { id: w.spaceA });
    // Elsewhere it works: the other organization, and what is not inside one.
    expect((await expectWorks(unscoped.secret, ORG, { id: secondOrganization })).organization.name).toBe('Second');
    await expectWorks(unscoped.secret);
    const organizations = await expectWorks(unscoped.secret, `{ organizations { edges { node { id } } } }`);
    expect(organizations.organizations.edges.map((e: any) => e.node.id)).toEqual([secondOrganization]);
    // A new unscoped PERSONAL token would reach the organization too.
    expectRefusal(await t.gql(CREATE, { input: { name: 'mine', kind: 'PERSONAL' } }, w.owner.token), 'BAD_USER_INPUT', /"Acme".*allowPersonalTokens/);
    await mintToken(t, w.owner.token, { kind: 'PERSONAL', organizationId: secondOrganization });
  });
});

describe('updateApiToken with a new expiry (how a blocked token is brought into line)', () => {
  test('expiresAt or expiresInSeconds, not both; in the future; after notBefore; never past the calling token\'s own expiry', async () => {
    const token = await serviceToken({ notBefore: new Date(Date.now() + 2 * DAY * 1000).toISOString() });
    const update = (input: Record<string, unknown>, caller = w.owner.token) => t.gql(UPDATE, { input: { id: token.id, ...input } }, caller);
    expectRefusal(await update({ expiresAt: new Date(Date.now() + DAY * 1000).toISOString(), expiresInSeconds: 60 }), 'BAD_USER_INPUT', /at most one of expiresAt and expiresInSeconds/);
    expectRefusal(await update({ expiresAt: new Date(Date.now() - 1000).toISOString() }), 'BAD_USER_INPUT', /in the past/);
    expectRefusal(await update({ expiresInSeconds: DAY }), 'BAD_USER_INPUT', /notBefore .* must be earlier than the token's expiry/);
    // A token that expires in 2 days may not give another a later expiry.
    const caller = await mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'EDITOR', organizationId: w.organizationId, expiresInSeconds: 2 * DAY });
    const child = await mintToken(t, caller.secret, { kind: 'SERVICE', role: 'VIEWER', organizationId: w.organizationId, expiresInSeconds: DAY });
    expectRefusal(await t.gql(UPDATE, { input: { id: child.id, expiresInSeconds: 3 * DAY } }, caller.secret), 'FORBIDDEN', /must expire no later than/);
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).expiresAt).toBeNull();
    const shorter = dataOf(await t.gql(UPDATE, { input: { id: child.id, expiresInSeconds: 3600 } }, caller.secret)).updateApiToken.expiresAt;
    expect(Math.abs(new Date(shorter).getTime() - (Date.now() + 3_600_000))).toBeLessThan(60_000);
  });
});

(onPostgres ? describe : describe.skip)('two instances on one PostgreSQL database', () => {
  test('a policy change blocks a cached token on the other instance from the next request on', async () => {
    const second = await serveSecondInstance(t);
    try {
      await second.app.credentialChanges.whenStarted();
      const token = await serviceToken();
      for (let i = 0; i < 2; i++) expect((await timedPost(second.origin, ME, {}, token.secret)).status).toBe(200);
      expect(second.app.credentials.state().hits).toBeGreaterThanOrEqual(1);
      await setPolicy({ requireExpiry: true });
      const next = await timedPost(second.origin, ME, {}, token.secret);
      expect(next.status).toBe(403);
      expect(next.body?.errors?.[0].message).toMatch(/requireExpiry/);
    } finally {
      await second.close();
    }
  });
});
