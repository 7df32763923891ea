// The API token lifecycle and the minting rules (roles-and-tokens.md, "Minting tokens" and
// "Token lifecycle"), through the real app on a real database.
import { dataOf, errorCodes, startTestApp, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { formatToken } from '../src/auth/tokenFormat';
import {
  addMember,
  buildWorld,
  createItem,
  mintToken,
  signUp,
  type MintedToken,
  type TestUser,
  type World,
} from './helpers/factories';

const TOKEN_FIELDS = `
  id name description kind role scopeType
  organization { id } space { id } boards { id }
  maskedToken status createdAt expiresAt lastUsedAt revokedAt createdBy { id }
`;

const CREATE = `mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { secret apiToken { ${TOKEN_FIELDS} } }
}`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { ${TOKEN_FIELDS} } }`;
const REVOKE = `mutation($id: ID!) { revokeApiToken(id: $id) { ${TOKEN_FIELDS} } }`;
const DELETE = `mutation($id: ID!) { deleteApiToken(id: $id) }`;
const REGENERATE = `mutation($id: ID!, $grace: Int) {
  regenerateApiToken(id: $id, gracePeriodSeconds: $grace) { secret apiToken { ${TOKEN_FIELDS} } }
}`;
const MY_TOKENS = `query($filter: ApiTokenFilter) {
  apiTokens(first: 100, filter: $filter) { edges { node { ${TOKEN_FIELDS} } } }
}`;
const ORG_TOKENS = `query($id: ID!, $filter: ApiTokenFilter) {
  organization(id: $id) { apiTokens(first: 100, filter: $filter) { edges { node { ${TOKEN_FIELDS} } } } }
}`;
const WHO_AM_I = `{ viewer { user { id } apiToken { id name } } }`;

/** API token strings: prefix, 16-char public id, 43-char (256-bit) secret, 6-char checksum. */
const TOKEN_PATTERN = /^pcl_([0-9A-Za-z]{16})([0-9A-Za-z]{43})([0-9A-Za-z]{6})$/;

let t: TestApp;
let w: World;
let owner2: TestUser; // a second organization-wide OWNER
let editor: TestUser; // organization-wide EDITOR
let editor2: TestUser; // another organization-wide EDITOR
let agent: TestUser; // organization-wide AGENT
let viewer: TestUser; // organization-wide VIEWER
let spaceEditor: TestUser; // EDITOR in space A only

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  [owner2, editor, editor2, agent, viewer, spaceEditor] = await Promise.all(
    ['Second Owner', 'Editor', 'Other Editor', 'Agent', 'Viewer', 'Space Editor'].map((name) => signUp(t, name)),
  );
  const org = (email: string, role: 'VIEWER' | 'AGENT' | 'EDITOR' | 'OWNER', spaceId?: string) =>
    addMember(t, w.owner.token, { organizationId: w.organizationId, email, role, spaceId });
  await org(owner2.email, 'OWNER');
  await org(editor.email, 'EDITOR');
  await org(editor2.email, 'EDITOR');
  await org(agent.email, 'AGENT');
  await org(viewer.email, 'VIEWER');
  await org(spaceEditor.email, 'EDITOR', w.spaceA);
});

afterAll(async () => {
  await t?.close();
});

// ---------------------------------------------------------------------------------------
// Helpers

function create(callerToken: string, input: Record<string, unknown>) {
  return t.gql(CREATE, { input: { name: 'A token', ...input } }, callerToken);
}

async function createOk(callerToken: string, input: Record<string, unknown>) {
  return dataOf(await create(callerToken, input)).createApiToken as { secret: string; apiToken: any };
}

/** A response refused with exactly one error of `code`, and no data for that field. */
function expectRefused(res: GraphQLResponse, code: string, message?: RegExp) {
  expect(res.status).toBe(200);
  expect(errorCodes(res)).toEqual([code]);
  if (message) expect(res.body.errors![0].message).toMatch(message);
  expect(res.body.data ?? null).toBeNull();
}

/** The response to a request authenticated with a bad credential: 401, one UNAUTHENTICATED error, no data. */
function expectInvalidToken(res: GraphQLResponse) {
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  expect(errorCodes(res)).toEqual(['UNAUTHENTICATED']);
  expect(res.body.data).toBeUndefined();
}

async function whoAmI(secret: string) {
  return t.gql(WHO_AM_I, {}, secret);
}

async function expectWorks(token: MintedToken | string) {
  const secret = typeof token === 'string' ? token : token.secret;
  const res = await whoAmI(secret);
  expect(res.status).toBe(200);
  expect(res.body.errors).toBeUndefined();
  if (typeof token !== 'string') expect(res.body.data.viewer.apiToken.id).toBe(token.id);
  return res.body.data.viewer;
}

async function expectRefusedCredential(secret: string) {
  expectInvalidToken(await whoAmI(secret));
}

async function myTokens(callerToken: string, filter?: Record<string, unknown>): Promise<any[]> {
  return dataOf(await t.gql(MY_TOKENS, { filter }, callerToken)).apiTokens.edges.map((e: any) => e.node);
}

async function orgTokens(callerToken: string, filter?: Record<string, unknown>): Promise<any[]> {
  return dataOf(await t.gql(ORG_TOKENS, { id: w.organizationId, filter }, callerToken)).organization.apiTokens.edges.map(
    (e: any) => e.node,
  );
}

const tokenRow = (id: string) => t.prisma.apiToken.findUnique({ where: { id } });
const tokenCount = () => t.prisma.apiToken.count();

// ---------------------------------------------------------------------------------------

describe('createApiToken', () => {
  it('returns the secret once, in the pcl_ format, and stores only an argon2id hash of it', async () => {
    const before = Date.now();
    const { secret, apiToken } = await createOk(w.owner.token, {
      name: 'Deploy bot',
      description: 'Deploys space A',
      role: 'AGENT',
      spaceId: w.spaceA,
    });
    const match = TOKEN_PATTERN.exec(secret);
    expect(match).not.toBeNull();
    const [, publicId, secretPart] = match!;

    expect(apiToken).toMatchObject({
      name: 'Deploy bot',
      description: 'Deploys space A',
      kind: 'SERVICE', // the default kind
      role: 'AGENT',
      scopeType: 'SPACE',
      organization: { id: w.organizationId },
      space: { id: w.spaceA },
      boards: [],
      status: 'ACTIVE',
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
      createdBy: { id: w.owner.id },
    });
    expect(new Date(apiToken.createdAt).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(new Date(apiToken.createdAt).getTime()).toBeLessThanOrEqual(Date.now() + 1000);

    // maskedToken: the prefix and the public identifier, never any of the secret.
    expect(apiToken.maskedToken.startsWith(`pcl_${publicId}`)).toBe(true);
    expect(apiToken.maskedToken.replace(/[^0-9A-Za-z_]/g, '')).toBe(`pcl_${publicId}`);
    expect(apiToken.maskedToken).not.toContain(secretPart.slice(0, 8));

    const row = (await tokenRow(apiToken.id))!;
    expect(row.publicId).toBe(publicId);
    expect(row.secretHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(row)).not.toContain(secretPart);
    expect(JSON.stringify(row)).not.toContain(secret);

    // The secret works, and no query shows it again.
    const me = await expectWorks({ id: apiToken.id, secret });
    expect(me.user).toBeNull(); // a SERVICE token acts as no user
    const listed = JSON.stringify([
      await myTokens(w.owner.token),
      await orgTokens(w.owner.token),
      (await t.gql(`{ viewer { apiToken { ${TOKEN_FIELDS} } } }`, {}, secret)).body,
    ]);
    expect(listed).toContain(apiToken.id);
    expect(listed).not.toContain(secretPart);
  });

  it('creates ORGANIZATION- and BOARDS-scoped tokens', async () => {
    const org = (await createOk(w.owner.token, { role: 'VIEWER', organizationId: w.organizationId })).apiToken;
    expect(org).toMatchObject({ scopeType: 'ORGANIZATION', organization: { id: w.organizationId }, space: null, boards: [] });

    const boards = (await createOk(w.owner.token, { role: 'EDITOR', boardIds: [w.boardA1, w.boardA2] })).apiToken;
    expect(boards).toMatchObject({ scopeType: 'BOARDS', organization: { id: w.organizationId }, space: { id: w.spaceA } });
    expect(boards.boards.map((b: any) => b.id).sort()).toEqual([w.boardA1, w.boardA2].sort());
  });

  it('gives every token its own secret and public id', async () => {
    const a = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    const b = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    const [, pa, sa] = TOKEN_PATTERN.exec(a.secret)!;
    const [, pb, sb] = TOKEN_PATTERN.exec(b.secret)!;
    expect(pa).not.toBe(pb);
    expect(sa).not.toBe(sb);
  });

  describe('refuses bad input with a clear error and creates nothing', () => {
    const cases: [string, () => Record<string, unknown>, string, RegExp][] = [
      ['organizationId and spaceId together', () => ({ role: 'VIEWER', organizationId: w.organizationId, spaceId: w.spaceA }), 'BAD_USER_INPUT', /organizationId.*spaceId/],
      ['spaceId and boardIds together', () => ({ role: 'VIEWER', spaceId: w.spaceA, boardIds: [w.boardA1] }), 'BAD_USER_INPUT', /spaceId.*boardIds/],
      ['boards in two spaces', () => ({ role: 'VIEWER', boardIds: [w.boardA1, w.boardB1] }), 'BAD_USER_INPUT', /one space/],
      ['an empty list of boards', () => ({ role: 'VIEWER', boardIds: [] }), 'BAD_USER_INPUT', /at least one board/],
      ['an unknown board id', () => ({ role: 'VIEWER', boardIds: [w.boardA1, 'cunknownboard000000000000'] }), 'NOT_FOUND', /cunknownboard000000000000/],
      ['a board of another organization', () => ({ role: 'VIEWER', boardIds: [w.otherBoard] }), 'NOT_FOUND', /Board/],
      ['an unknown space', () => ({ role: 'VIEWER', spaceId: 'cunknownspace000000000000' }), 'NOT_FOUND', /Space/],
      ['an empty name', () => ({ name: '', role: 'VIEWER', spaceId: w.spaceA }), 'BAD_USER_INPUT', /name must not be empty/],
      ['a blank name', () => ({ name: '   ', role: 'VIEWER', spaceId: w.spaceA }), 'BAD_USER_INPUT', /name must not be empty/],
      ['a SERVICE token without a role', () => ({ spaceId: w.spaceA }), 'BAD_USER_INPUT', /role/],
      ['a SERVICE token without a scope', () => ({ role: 'VIEWER' }), 'BAD_USER_INPUT', /scope/],
    ];
    it.each(cases)('%s', async (_label, input, code, message) => {
      const count = await tokenCount();
      const audits = await t.prisma.auditEvent.count();
      expectRefused(await create(w.owner.token, input()), code, message);
      expect(await tokenCount()).toBe(count);
      expect(await t.prisma.auditEvent.count()).toBe(audits);
    });
  });
});

describe('apiTokens (the caller’s own tokens)', () => {
  let lister: TestUser;
  let names: string[];
  let ids: Record<string, string>;

  beforeAll(async () => {
    lister = await signUp(t, 'Lister');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: lister.email, role: 'EDITOR' });
    names = ['Deploy Alpha', 'nightly DEPLOY beta', 'Reporting', 'Backup'];
    ids = {};
    for (const name of names) ids[name] = (await mintToken(t, lister.token, { name, role: 'VIEWER', spaceId: w.spaceA })).id;
    // Make the order unambiguous even if two creations fell in the same millisecond.
    for (const [i, name] of names.entries()) {
      await t.prisma.apiToken.update({ where: { id: ids[name] }, data: { createdAt: new Date(Date.now() - (10 - i) * 60_000) } });
    }
  });

  it('lists the tokens newest first', async () => {
    const listed = await myTokens(lister.token);
    expect(listed.map((n) => n.name)).toEqual([...names].reverse());
  });

  it('filters by nameContains, case-insensitively', async () => {
    expect((await myTokens(lister.token, { nameContains: 'deploy' })).map((n) => n.name)).toEqual(['nightly DEPLOY beta', 'Deploy Alpha']);
    expect((await myTokens(lister.token, { nameContains: 'DePlOy' })).map((n) => n.name)).toEqual(['nightly DEPLOY beta', 'Deploy Alpha']);
    expect((await myTokens(lister.token, { nameContains: 'PORT' })).map((n) => n.name)).toEqual(['Reporting']);
    expect(await myTokens(lister.token, { nameContains: 'nothing like it' })).toEqual([]);
    // LIKE wildcards and the escape character are matched literally.
    expect(await myTokens(lister.token, { nameContains: '%' })).toEqual([]);
    expect(await myTokens(lister.token, { nameContains: 'deploy_' })).toEqual([]);
    expect(await myTokens(lister.token, { nameContains: 'Back\\' })).toEqual([]);
    const odd = await mintToken(t, lister.token, { name: 'odd 100%_\\ name', role: 'VIEWER', spaceId: w.spaceA });
    expect((await myTokens(lister.token, { nameContains: '0%_\\ N' })).map((n) => n.id)).toEqual([odd.id]);
    await t.gql(DELETE, { id: odd.id }, lister.token);
  });

  it('filters by status', async () => {
    await t.gql(REVOKE, { id: ids['Reporting'] }, lister.token);
    await t.prisma.apiToken.update({ where: { id: ids['Backup'] }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await myTokens(lister.token, { status: 'ACTIVE' })).map((n) => n.name)).toEqual(['nightly DEPLOY beta', 'Deploy Alpha']);
    const revoked = await myTokens(lister.token, { status: 'REVOKED' });
    expect(revoked.map((n) => n.name)).toEqual(['Reporting']);
    expect(revoked[0].status).toBe('REVOKED');
    const expired = await myTokens(lister.token, { status: 'EXPIRED' });
    expect(expired.map((n) => n.name)).toEqual(['Backup']);
    expect(expired[0].status).toBe('EXPIRED');
    expect((await myTokens(lister.token, { status: 'ACTIVE', nameContains: 'alpha' })).map((n) => n.name)).toEqual(['Deploy Alpha']);
    // The same filters on the organization's list (OWNER only).
    expect((await orgTokens(w.owner.token, { status: 'REVOKED', nameContains: 'report' })).map((n) => n.id)).toEqual([ids['Reporting']]);
  });

  it('lists nothing of other users', async () => {
    const listed = await myTokens(editor2.token);
    for (const id of Object.values(ids)) expect(listed.map((n) => n.id)).not.toContain(id);
  });
});

describe('updateApiToken', () => {
  let token: MintedToken;
  beforeAll(async () => {
    token = await mintToken(t, editor.token, { name: 'Before', description: 'old', role: 'VIEWER', spaceId: w.spaceA });
  });

  it('changes name and description, and leaves what is omitted', async () => {
    const updated = dataOf(await t.gql(UPDATE, { input: { id: token.id, name: 'After', description: 'new' } }, editor.token)).updateApiToken;
    expect(updated).toMatchObject({ id: token.id, name: 'After', description: 'new', role: 'VIEWER', scopeType: 'SPACE' });
    const renamed = dataOf(await t.gql(UPDATE, { input: { id: token.id, description: null } }, editor.token)).updateApiToken;
    expect(renamed).toMatchObject({ name: 'After', description: null, role: 'VIEWER' });
    await expectWorks(token); // the secret is untouched
  });

  it('changes the role within what the caller may grant', async () => {
    const raised = dataOf(await t.gql(UPDATE, { input: { id: token.id, role: 'EDITOR' } }, editor.token)).updateApiToken;
    expect(raised.role).toBe('EDITOR');
    // The new role takes effect on the token's next request: EDITOR may rename a board.
    const rename = await t.gql(`mutation { updateBoard(input: { id: "${w.boardA1}", name: "Board A1" }) { id } }`, {}, token.secret);
    expect(rename.body.errors).toBeUndefined();
    const lowered = dataOf(await t.gql(UPDATE, { input: { id: token.id, role: 'AGENT' } }, editor.token)).updateApiToken;
    expect(lowered.role).toBe('AGENT');
    const refused = await t.gql(`mutation { updateBoard(input: { id: "${w.boardA1}", name: "Board A1" }) { id } }`, {}, token.secret);
    expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
  });

  it('refuses a role above the caller’s (FORBIDDEN) and changes nothing', async () => {
    const before = await tokenRow(token.id);
    expectRefused(await t.gql(UPDATE, { input: { id: token.id, name: 'Escalated', role: 'OWNER' } }, editor.token), 'FORBIDDEN', /OWNER/);
    expect(await tokenRow(token.id)).toEqual(before);
  });

  it('refuses an empty name (BAD_USER_INPUT) and changes nothing', async () => {
    const before = await tokenRow(token.id);
    expectRefused(await t.gql(UPDATE, { input: { id: token.id, name: '' } }, editor.token), 'BAD_USER_INPUT', /name/);
    expect(await tokenRow(token.id)).toEqual(before);
  });

  it('a creator who could no longer mint the token may change nothing of it (it is the OWNERs’ now)', async () => {
    const demoted = await signUp(t, 'Soon Demoted');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: demoted.email, role: 'EDITOR' });
    const token = await mintToken(t, demoted.token, { role: 'EDITOR', organizationId: w.organizationId });
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: demoted.email, role: 'VIEWER' });
    expectRefused(await t.gql(UPDATE, { input: { id: token.id, name: 'Renamed after demotion' } }, demoted.token), 'NOT_FOUND');
    expectRefused(await t.gql(REVOKE, { id: token.id }, demoted.token), 'NOT_FOUND');
    const row = await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } });
    expect([row.name, row.revokedAt]).toEqual([expect.not.stringMatching('Renamed after demotion'), null]);
    expect(dataOf(await t.gql(REVOKE, { id: token.id }, owner2.token)).revokeApiToken.status).toBe('REVOKED');
  });

  it('lets an organization OWNER change anyone’s token, up to OWNER', async () => {
    const updated = dataOf(await t.gql(UPDATE, { input: { id: token.id, role: 'OWNER' } }, owner2.token)).updateApiToken;
    expect(updated.role).toBe('OWNER');
    // Its EDITOR creator could not mint an OWNER token: it is no longer theirs to manage
    // (no OWNER secret through regeneration), until an OWNER lowers it again.
    const before = await tokenRow(token.id);
    expectRefused(await t.gql(REGENERATE, { id: token.id }, editor.token), 'NOT_FOUND');
    expectRefused(await t.gql(UPDATE, { input: { id: token.id, role: 'VIEWER' } }, editor.token), 'NOT_FOUND');
    expect(await tokenRow(token.id)).toEqual(before);
    dataOf(await t.gql(UPDATE, { input: { id: token.id, role: 'EDITOR' } }, owner2.token));
    dataOf(await t.gql(UPDATE, { input: { id: token.id, role: 'VIEWER' } }, editor.token));
    expect((await tokenRow(token.id))!.role).toBe('VIEWER');
  });
});

describe('revokeApiToken', () => {
  it('refuses the token from the next request on; it stays listed as REVOKED with revokedAt', async () => {
    const token = await mintToken(t, editor.token, { name: 'To revoke', role: 'VIEWER', spaceId: w.spaceA });
    await expectWorks(token); // its proof is now cached: revocation must still win
    const before = Date.now();
    const revoked = dataOf(await t.gql(REVOKE, { id: token.id }, editor.token)).revokeApiToken;
    expect(revoked).toMatchObject({ id: token.id, status: 'REVOKED' });
    expect(new Date(revoked.revokedAt).getTime()).toBeGreaterThanOrEqual(before - 1000);

    const res = await whoAmI(token.secret);
    expectInvalidToken(res);
    // Only the holder of the right secret may learn why; the message never echoes the secret.
    expect(res.body.errors![0].message).toMatch(/revoked/i);
    expect(JSON.stringify(res.body)).not.toContain(token.secret);
    // A wrong secret for the same public id learns nothing: it reads like an unknown token.
    const publicId = TOKEN_PATTERN.exec(token.secret)![1];
    const wrongSecret = await whoAmI(formatToken('pcl_', publicId, 'A'.repeat(43)));
    const unknown = await whoAmI(formatToken('pcl_', 'Z'.repeat(16), 'A'.repeat(43)));
    expectInvalidToken(wrongSecret);
    expect(wrongSecret.body).toEqual(unknown.body);
    expect(wrongSecret.body.errors![0].message).not.toMatch(/revoked/i);

    const listed = (await myTokens(editor.token)).find((n) => n.id === token.id);
    expect(listed).toMatchObject({ status: 'REVOKED', revokedAt: revoked.revokedAt });
    expect((await orgTokens(w.owner.token, { status: 'REVOKED' })).map((n) => n.id)).toContain(token.id);

    // Revoking again changes nothing; regenerating a revoked token is refused.
    const again = dataOf(await t.gql(REVOKE, { id: token.id }, editor.token)).revokeApiToken;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    expectRefused(await t.gql(REGENERATE, { id: token.id }, editor.token), 'BAD_USER_INPUT', /revoked/);
    await expectRefusedCredential(token.secret);
  });

  it('ends a grace period too: neither the old nor the new secret works', async () => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    const fresh = dataOf(await t.gql(REGENERATE, { id: token.id, grace: 3600 }, editor.token)).regenerateApiToken.secret;
    await expectWorks(token);
    dataOf(await t.gql(REVOKE, { id: token.id }, editor.token));
    await expectRefusedCredential(token.secret);
    await expectRefusedCredential(fresh);
  });
});

describe('deleteApiToken', () => {
  it('refuses the token at once, removes it from lists, and then it is NOT_FOUND', async () => {
    const token = await mintToken(t, editor.token, { name: 'To delete', role: 'VIEWER', spaceId: w.spaceA });
    await expectWorks(token);
    expect(dataOf(await t.gql(DELETE, { id: token.id }, editor.token)).deleteApiToken).toBe(token.id);

    await expectRefusedCredential(token.secret);
    expect((await myTokens(editor.token)).map((n) => n.id)).not.toContain(token.id);
    expect((await orgTokens(w.owner.token)).map((n) => n.id)).not.toContain(token.id);
    expect(await tokenRow(token.id)).toBeNull();

    expectRefused(await t.gql(DELETE, { id: token.id }, editor.token), 'NOT_FOUND');
    expectRefused(await t.gql(REVOKE, { id: token.id }, editor.token), 'NOT_FOUND');
    expectRefused(await t.gql(UPDATE, { input: { id: token.id, name: 'x' } }, editor.token), 'NOT_FOUND');
    expectRefused(await t.gql(REGENERATE, { id: token.id }, editor.token), 'NOT_FOUND');
    expectRefused(await t.gql(DELETE, { id: token.id }, w.owner.token), 'NOT_FOUND');
  });
});

describe('regenerateApiToken', () => {
  it('keeps the id and settings, issues a new secret and refuses the old one at once', async () => {
    const token = await mintToken(t, editor.token, { name: 'Rotating', description: 'd', role: 'AGENT', boardIds: [w.boardA1], expiresInSeconds: 3600 });
    await expectWorks(token);
    const before = (await t.gql(`query { apiTokens(first: 100) { edges { node { ${TOKEN_FIELDS} } } } }`, {}, editor.token)).body.data.apiTokens.edges
      .map((e: any) => e.node)
      .find((n: any) => n.id === token.id);

    const regenerated = dataOf(await t.gql(REGENERATE, { id: token.id }, editor.token)).regenerateApiToken;
    expect(regenerated.secret).toMatch(TOKEN_PATTERN);
    expect(regenerated.secret).not.toBe(token.secret);
    const { lastUsedAt: _a, ...settingsBefore } = before;
    const { lastUsedAt: _b, ...settingsAfter } = regenerated.apiToken;
    expect(settingsAfter).toEqual(settingsBefore); // same id, name, role, scope, expiry, maskedToken
    expect(TOKEN_PATTERN.exec(regenerated.secret)![1]).toBe(TOKEN_PATTERN.exec(token.secret)![1]);

    await expectRefusedCredential(token.secret);
    await expectWorks({ id: token.id, secret: regenerated.secret });
    // Regenerating again retires the second secret as well.
    const third = dataOf(await t.gql(REGENERATE, { id: token.id, grace: 0 }, editor.token)).regenerateApiToken.secret;
    await expectRefusedCredential(regenerated.secret);
    await expectWorks({ id: token.id, secret: third });
  });

  it('with gracePeriodSeconds, the old and the new secret both work until the grace ends', async () => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    await expectWorks(token);
    const start = Date.now();
    const fresh = dataOf(await t.gql(REGENERATE, { id: token.id, grace: 600 }, editor.token)).regenerateApiToken.secret;
    await expectWorks(token);
    await expectWorks({ id: token.id, secret: fresh });

    const row = (await tokenRow(token.id))!;
    expect(row.previousSecretExpiresAt!.getTime()).toBeGreaterThanOrEqual(start + 600_000 - 1000);
    expect(row.previousSecretExpiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 600_000 + 1000);

    // The grace period ends.
    await t.prisma.apiToken.update({ where: { id: token.id }, data: { previousSecretExpiresAt: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier(); // a change behind the API's back: wait until the credential cache has heard of it
    await expectRefusedCredential(token.secret);
    await expectWorks({ id: token.id, secret: fresh });
  });

  it.each([86_401, -1, 1_000_000])('refuses gracePeriodSeconds %p (BAD_USER_INPUT) and changes nothing', async (grace) => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    const before = await tokenRow(token.id);
    expectRefused(await t.gql(REGENERATE, { id: token.id, grace }, editor.token), 'BAD_USER_INPUT', /gracePeriodSeconds/);
    expect(await tokenRow(token.id)).toEqual(before);
    await expectWorks(token);
  });

  it('accepts the maximum grace of 86400 seconds', async () => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    const fresh = dataOf(await t.gql(REGENERATE, { id: token.id, grace: 86_400 }, editor.token)).regenerateApiToken.secret;
    await expectWorks(token);
    await expectWorks({ id: token.id, secret: fresh });
  });
});

describe('expiry', () => {
  it('refuses expiresAt together with expiresInSeconds, a past expiresAt and a non-positive lifetime', async () => {
    const count = await tokenCount();
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 60_000).toISOString();
    const base = { role: 'VIEWER', spaceId: w.spaceA };
    expectRefused(await create(editor.token, { ...base, expiresAt: future, expiresInSeconds: 60 }), 'BAD_USER_INPUT', /expiresAt.*expiresInSeconds/);
    expectRefused(await create(editor.token, { ...base, expiresAt: past }), 'BAD_USER_INPUT', /past/);
    expectRefused(await create(editor.token, { ...base, expiresInSeconds: 0 }), 'BAD_USER_INPUT', /expiresInSeconds/);
    expectRefused(await create(editor.token, { ...base, expiresInSeconds: -60 }), 'BAD_USER_INPUT', /expiresInSeconds/);
    expect(errorCodes(await create(editor.token, { ...base, expiresAt: 'next tuesday' }))).toEqual(['BAD_USER_INPUT']);
    expect(await tokenCount()).toBe(count);
  });

  it('sets expiresAt from expiresAt or from expiresInSeconds', async () => {
    const at = new Date(Date.now() + 7_200_000);
    at.setMilliseconds(0);
    const byDate = (await createOk(editor.token, { role: 'VIEWER', spaceId: w.spaceA, expiresAt: at.toISOString() })).apiToken;
    expect(byDate.expiresAt).toBe(at.toISOString());
    const start = Date.now();
    const bySeconds = (await createOk(editor.token, { role: 'VIEWER', spaceId: w.spaceA, expiresInSeconds: 3600 })).apiToken;
    const expires = new Date(bySeconds.expiresAt).getTime();
    expect(expires).toBeGreaterThanOrEqual(start + 3_600_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3_600_000 + 1000);
    expect(bySeconds.status).toBe('ACTIVE');
  });

  it('refuses an expired token (401) and lists it as EXPIRED', async () => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA, expiresInSeconds: 3600 });
    await expectWorks(token);
    await t.prisma.apiToken.update({ where: { id: token.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.app.credentialChanges.barrier(); // a change behind the API's back: wait until the credential cache has heard of it
    const res = await whoAmI(token.secret);
    expectInvalidToken(res);
    expect(res.body.errors![0].message).toMatch(/expired/i);
    const listed = (await myTokens(editor.token)).find((n) => n.id === token.id);
    expect(listed.status).toBe('EXPIRED');
    expect((await myTokens(editor.token, { status: 'EXPIRED' })).map((n) => n.id)).toContain(token.id);
    expect((await myTokens(editor.token, { status: 'ACTIVE' })).map((n) => n.id)).not.toContain(token.id);
  });
});

describe('lastUsedAt', () => {
  it('is null before the first use and the time of the use after it', async () => {
    const token = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    const find = async () => (await myTokens(editor.token)).find((n) => n.id === token.id);
    expect((await find()).lastUsedAt).toBeNull();
    // Reading the list (with another credential) is no use of this token.
    expect((await find()).lastUsedAt).toBeNull();
    const usedAt = Date.now();
    await expectWorks(token);
    const lastUsedAt = new Date((await find()).lastUsedAt).getTime();
    expect(Math.abs(lastUsedAt - usedAt)).toBeLessThan(60_000);
    // Written to the database at once (the first use), so every gateway instance sees it.
    expect((await tokenRow(token.id))!.lastUsedAt).not.toBeNull();
  });
});

describe('who may see and manage a token', () => {
  let token: MintedToken;
  beforeAll(async () => {
    token = await mintToken(t, editor.token, { name: 'Editor’s own', role: 'VIEWER', spaceId: w.spaceA });
  });

  it('its creator sees it in apiTokens; other members do not', async () => {
    expect((await myTokens(editor.token)).map((n) => n.id)).toContain(token.id);
    for (const other of [editor2, agent, viewer, spaceEditor, w.stranger]) {
      expect((await myTokens(other.token)).map((n) => n.id)).not.toContain(token.id);
    }
  });

  it('apiToken(id): the token for its creator, an OWNER and the token itself; null for everyone else and for unknown or malformed ids', async () => {
    const ONE = `query($id: ID!) { apiToken(id: $id) { id name } }`;
    for (const reader of [editor.token, w.owner.token, owner2.token, token.secret]) {
      expect(dataOf(await t.gql(ONE, { id: token.id }, reader)).apiToken).toEqual({ id: token.id, name: 'Editor’s own' });
    }
    for (const other of [editor2, agent, viewer, spaceEditor, w.stranger]) {
      expect(dataOf(await t.gql(ONE, { id: token.id }, other.token)).apiToken).toBeNull();
    }
    for (const id of ['cnosuchtoken0000000000000', 'x'.repeat(201), 'a\u0000b']) expect(dataOf(await t.gql(ONE, { id }, editor.token)).apiToken).toBeNull();
    expect(errorCodes(await t.gql(ONE, { id: token.id }))).toEqual(['UNAUTHENTICATED']);
  });

  it('organization.apiTokens is for OWNERs only, and lists every token of the organization', async () => {
    expect((await orgTokens(w.owner.token)).map((n) => n.id)).toContain(token.id);
    expect((await orgTokens(owner2.token)).map((n) => n.id)).toContain(token.id);
    const res = await t.gql(ORG_TOKENS, { id: w.organizationId }, editor.token);
    expect(errorCodes(res)).toEqual(['FORBIDDEN']);
    expect(res.body.errors![0].message).toMatch(/OWNER/);
    expect(res.body.data!.organization).toBeNull();
  });

  it('others (not creator, not OWNER) get NOT_FOUND for every change, and nothing changes', async () => {
    const before = await tokenRow(token.id);
    for (const other of [editor2, agent, viewer, spaceEditor, w.stranger]) {
      expectRefused(await t.gql(UPDATE, { input: { id: token.id, name: 'Hijacked' } }, other.token), 'NOT_FOUND');
      expectRefused(await t.gql(REVOKE, { id: token.id }, other.token), 'NOT_FOUND');
      expectRefused(await t.gql(REGENERATE, { id: token.id }, other.token), 'NOT_FOUND');
      expectRefused(await t.gql(DELETE, { id: token.id }, other.token), 'NOT_FOUND');
    }
    // Nor through a token of theirs, even an organization-wide EDITOR one.
    const otherEditorsToken = await mintToken(t, editor2.token, { role: 'EDITOR', organizationId: w.organizationId });
    expectRefused(await t.gql(REVOKE, { id: token.id }, otherEditorsToken.secret), 'NOT_FOUND');
    expect(await tokenRow(token.id)).toEqual(before);
    await expectWorks(token);
  });

  it('an unknown id is NOT_FOUND like someone else’s', async () => {
    expectRefused(await t.gql(REVOKE, { id: 'cnosuchtoken0000000000000' }, editor.token), 'NOT_FOUND');
  });

  it('an organization OWNER who did not create it may update, regenerate, revoke and delete it', async () => {
    const own = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    expect(dataOf(await t.gql(UPDATE, { input: { id: own.id, name: 'Renamed by owner' } }, owner2.token)).updateApiToken.name).toBe('Renamed by owner');
    const fresh = dataOf(await t.gql(REGENERATE, { id: own.id }, owner2.token)).regenerateApiToken.secret;
    await expectWorks({ id: own.id, secret: fresh });
    expect(dataOf(await t.gql(REVOKE, { id: own.id }, owner2.token)).revokeApiToken.status).toBe('REVOKED');
    expect(dataOf(await t.gql(DELETE, { id: own.id }, owner2.token)).deleteApiToken).toBe(own.id);
  });

  it('the creator may manage it through one of their PERSONAL tokens', async () => {
    const own = await mintToken(t, editor.token, { role: 'VIEWER', spaceId: w.spaceA });
    const personal = await mintToken(t, editor.token, { kind: 'PERSONAL' });
    expect((await myTokens(personal.secret)).map((n) => n.id)).toContain(own.id);
    expect(dataOf(await t.gql(UPDATE, { input: { id: own.id, name: 'Via personal' } }, personal.secret)).updateApiToken.name).toBe('Via personal');
    expect(dataOf(await t.gql(DELETE, { id: own.id }, personal.secret)).deleteApiToken).toBe(own.id);
  });

  it('a read-only or scoped PERSONAL token manages only the tokens it could mint itself', async () => {
    const broad = await mintToken(t, editor.token, { role: 'EDITOR', organizationId: w.organizationId });
    const narrow = await mintToken(t, editor.token, { kind: 'PERSONAL', role: 'VIEWER', boardIds: [w.boardA1] });
    const readOnly = await mintToken(t, editor.token, { kind: 'PERSONAL', role: 'VIEWER', boardIds: [w.boardA1] });
    const listed = (await myTokens(readOnly.secret)).map((n) => n.id);
    expect(listed).toContain(narrow.id);
    expect(listed).not.toContain(broad.id);
    for (const [query, variables] of [
      [UPDATE, { input: { id: broad.id, name: 'Hijacked' } }],
      [REVOKE, { id: broad.id }],
      [DELETE, { id: broad.id }],
      [REGENERATE, { id: broad.id }],
    ] as const) {
      expect(errorCodes(await t.gql(query, variables, readOnly.secret))).toEqual(['NOT_FOUND']);
    }
    const row = await t.prisma.apiToken.findUniqueOrThrow({ where: { id: broad.id } });
    expect([row.name, row.revokedAt]).toEqual([expect.not.stringMatching('Hijacked'), null]);
    expect(dataOf(await t.gql(REVOKE, { id: narrow.id }, readOnly.secret)).revokeApiToken.status).toBe('REVOKED');
  });

  it('the viewer.apiToken of a request is the token itself, whoever created it', async () => {
    const me = await expectWorks(token);
    expect(me.apiToken.name).toBe('Editor’s own');
  });
});

describe('minting limits', () => {
  const mutations = (secretOrSession: string, input: Record<string, unknown>) => create(secretOrSession, input);

  it('VIEWER and AGENT members can mint no SERVICE token, not even a VIEWER one', async () => {
    const count = await tokenCount();
    for (const member of [viewer, agent]) {
      for (const scope of [{ organizationId: w.organizationId }, { spaceId: w.spaceA }, { boardIds: [w.boardA1] }]) {
        expectRefused(await mutations(member.token, { role: 'VIEWER', ...scope }), 'FORBIDDEN', /EDITOR/);
      }
    }
    expect(await tokenCount()).toBe(count);
  });

  it('an EDITOR can mint up to EDITOR within its reach, and not OWNER', async () => {
    for (const role of ['VIEWER', 'AGENT', 'EDITOR']) {
      expect((await createOk(editor.token, { role, organizationId: w.organizationId })).apiToken.role).toBe(role);
    }
    const count = await tokenCount();
    expectRefused(await mutations(editor.token, { role: 'OWNER', organizationId: w.organizationId }), 'FORBIDDEN', /OWNER/);
    expectRefused(await mutations(editor.token, { role: 'OWNER', spaceId: w.spaceA }), 'FORBIDDEN', /OWNER/);
    // Outside its reach the scope does not exist for it.
    expectRefused(await mutations(editor.token, { role: 'VIEWER', organizationId: w.otherOrganizationId }), 'NOT_FOUND');
    expectRefused(await mutations(editor.token, { role: 'VIEWER', spaceId: w.otherSpace }), 'NOT_FOUND');
    expect(await tokenCount()).toBe(count);
  });

  it('an EDITOR of one space can mint for that space only', async () => {
    expect((await createOk(spaceEditor.token, { role: 'EDITOR', spaceId: w.spaceA })).apiToken.scopeType).toBe('SPACE');
    expect((await createOk(spaceEditor.token, { role: 'AGENT', boardIds: [w.boardA2] })).apiToken.scopeType).toBe('BOARDS');
    const count = await tokenCount();
    expectRefused(await mutations(spaceEditor.token, { role: 'VIEWER', spaceId: w.spaceB }), 'NOT_FOUND');
    expectRefused(await mutations(spaceEditor.token, { role: 'VIEWER', boardIds: [w.boardB1] }), 'NOT_FOUND');
    expectRefused(await mutations(spaceEditor.token, { role: 'VIEWER', organizationId: w.organizationId }), 'FORBIDDEN');
    expectRefused(await mutations(spaceEditor.token, { role: 'OWNER', spaceId: w.spaceA }), 'FORBIDDEN');
    expect(await tokenCount()).toBe(count);
  });

  it('a token scoped to a space cannot mint for another space or the whole organization', async () => {
    const scoped = await mintToken(t, w.owner.token, { role: 'EDITOR', spaceId: w.spaceA });
    const child = (await createOk(scoped.secret, { role: 'AGENT', spaceId: w.spaceA })).apiToken;
    expect(child).toMatchObject({ scopeType: 'SPACE', space: { id: w.spaceA }, createdBy: null });
    expect((await createOk(scoped.secret, { role: 'VIEWER', boardIds: [w.boardA1] })).apiToken.scopeType).toBe('BOARDS');
    const boardsOnly = await mintToken(t, w.owner.token, { role: 'EDITOR', boardIds: [w.boardA1] });
    const count = await tokenCount();
    expectRefused(await mutations(scoped.secret, { role: 'VIEWER', spaceId: w.spaceB }), 'NOT_FOUND');
    expectRefused(await mutations(scoped.secret, { role: 'VIEWER', boardIds: [w.boardB1] }), 'NOT_FOUND');
    expectRefused(await mutations(scoped.secret, { role: 'VIEWER', organizationId: w.organizationId }), 'FORBIDDEN');
    expectRefused(await mutations(scoped.secret, { role: 'OWNER', spaceId: w.spaceA }), 'FORBIDDEN');
    // Nor can it raise a token it minted above itself.
    expectRefused(await t.gql(UPDATE, { input: { id: child.id, role: 'OWNER' } }, scoped.secret), 'FORBIDDEN');
    // A BOARDS-scoped token cannot widen to the whole space or to another board.
    expectRefused(await mutations(boardsOnly.secret, { role: 'VIEWER', spaceId: w.spaceA }), 'FORBIDDEN');
    expectRefused(await mutations(boardsOnly.secret, { role: 'VIEWER', boardIds: [w.boardA1, w.boardA2] }), 'NOT_FOUND');
    expect((await createOk(boardsOnly.secret, { role: 'VIEWER', boardIds: [w.boardA1] })).apiToken.scopeType).toBe('BOARDS');
    expect(await tokenCount()).toBe(count + 1);
  });

  it('a token with an expiry cannot mint one with no expiry or a later one, but can mint an earlier one', async () => {
    const parent = await mintToken(t, w.owner.token, { role: 'EDITOR', organizationId: w.organizationId, expiresInSeconds: 3600 });
    const latest = (await tokenRow(parent.id))!.expiresAt!;
    const count = await tokenCount();
    const base = { role: 'VIEWER', spaceId: w.spaceA };
    const message = new RegExp(latest.toISOString().replace(/[.]/g, '\\.'));
    expectRefused(await mutations(parent.secret, base), 'FORBIDDEN', message);
    expectRefused(await mutations(parent.secret, { ...base, expiresInSeconds: 7200 }), 'FORBIDDEN', message);
    expectRefused(await mutations(parent.secret, { ...base, expiresAt: new Date(latest.getTime() + 1000).toISOString() }), 'FORBIDDEN', message);
    expect(await tokenCount()).toBe(count);

    const earlier = (await createOk(parent.secret, { ...base, expiresInSeconds: 600 })).apiToken;
    expect(new Date(earlier.expiresAt).getTime()).toBeLessThan(latest.getTime());
    const same = (await createOk(parent.secret, { ...base, expiresAt: latest.toISOString() })).apiToken;
    expect(same.expiresAt).toBe(latest.toISOString());
  });

  it('a PERSONAL token with an expiry is bound the same way', async () => {
    const personal = await mintToken(t, editor.token, { kind: 'PERSONAL', expiresInSeconds: 600 });
    expectRefused(await mutations(personal.secret, { kind: 'PERSONAL' }), 'FORBIDDEN', /expires/);
    expectRefused(await mutations(personal.secret, { role: 'VIEWER', spaceId: w.spaceA }), 'FORBIDDEN', /expires/);
    expect((await createOk(personal.secret, { kind: 'PERSONAL', expiresInSeconds: 60 })).apiToken.kind).toBe('PERSONAL');
  });
});

describe('PERSONAL tokens', () => {
  it('any member may mint one for themselves; without a scope its scopeType is null', async () => {
    for (const member of [viewer, agent, spaceEditor]) {
      const { secret, apiToken } = await createOk(member.token, { kind: 'PERSONAL', name: `${member.name}'s laptop` });
      expect(apiToken).toMatchObject({ kind: 'PERSONAL', role: null, scopeType: null, organization: null, space: null, boards: [], createdBy: { id: member.id } });
      const me = await expectWorks({ id: apiToken.id, secret });
      expect(me.user.id).toBe(member.id);
    }
    // Its organization and space read null, even with nested selections.
    const { secret: unscoped } = await createOk(editor.token, { kind: 'PERSONAL' });
    const nested = await t.gql(
      `{ viewer { apiToken { kind organization { id spaces { edges { node { id } } } } space { id boards { edges { node { id } } } } } } }`,
      {},
      unscoped,
    );
    expect({ ...nested.body, extensions: undefined }).toEqual({ data: { viewer: { apiToken: { kind: 'PERSONAL', organization: null, space: null } } } });
    // A user with no membership at all may mint one too: it reaches nothing.
    const loner = await signUp(t, 'Loner');
    const { secret } = await createOk(loner.token, { kind: 'PERSONAL' });
    const outOfReach = await t.gql(`query($id: ID!) { organization(id: $id) { id spaces { edges { node { id } } } } }`, { id: w.organizationId }, secret);
    expect({ ...outOfReach.body, extensions: undefined }).toEqual({ data: { organization: null } });
  });

  it('acts with the user’s rights: a VIEWER’s personal token cannot write', async () => {
    const { secret } = await createOk(viewer.token, { kind: 'PERSONAL' });
    const res = await t.gql(`mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`, { input: { boardId: w.boardA1, name: 'x' } }, secret);
    expect(errorCodes(res)).toEqual(['FORBIDDEN']);
  });

  it('may have a scope and a role cap, which narrow the user’s rights', async () => {
    const { secret, apiToken } = await createOk(editor.token, { kind: 'PERSONAL', role: 'AGENT', spaceId: w.spaceA });
    expect(apiToken).toMatchObject({ kind: 'PERSONAL', role: 'AGENT', scopeType: 'SPACE', space: { id: w.spaceA } });
    // AGENT in space A: may create an item there, not update one; space B does not exist for it.
    const itemId = await createItem(t, secret, w.boardA1, 'From a personal token');
    const update = await t.gql(`mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: itemId, name: 'x' } }, secret);
    expect(errorCodes(update)).toEqual(['FORBIDDEN']);
    expect((await t.gql(`query($id: ID!) { space(id: $id) { id } }`, { id: w.spaceB }, secret)).body.data.space).toBeNull();
    // A cap alone.
    const capped = (await createOk(editor.token, { kind: 'PERSONAL', role: 'VIEWER' })).apiToken;
    expect(capped).toMatchObject({ role: 'VIEWER', scopeType: null });
  });

  it('cannot be given a scope beyond the user’s reach', async () => {
    const count = await tokenCount();
    expectRefused(await create(spaceEditor.token, { kind: 'PERSONAL', spaceId: w.spaceB }), 'NOT_FOUND');
    expectRefused(await create(w.stranger.token, { kind: 'PERSONAL', organizationId: w.organizationId }), 'NOT_FOUND');
    expect(await tokenCount()).toBe(count);
  });

  it('may carry a cap above the user’s role, and still never exceeds the user’s rights', async () => {
    const capped = await createOk(viewer.token, { kind: 'PERSONAL', role: 'EDITOR', spaceId: w.spaceA });
    expect(capped.apiToken.role).toBe('EDITOR');
    const update = await t.gql(
      `mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`,
      { input: { id: w.itemA1, name: 'Edited by a VIEWER?' } },
      capped.secret,
    );
    expectRefused(update, 'FORBIDDEN');
    expect((await t.prisma.item.findUniqueOrThrow({ where: { id: w.itemA1 } })).name).not.toBe('Edited by a VIEWER?');
  });

  it('a scoped or capped PERSONAL token mints only inside its own scope and cap', async () => {
    const scoped = await mintToken(t, editor.token, { kind: 'PERSONAL', spaceId: w.spaceA });
    expectRefused(await create(scoped.secret, { kind: 'PERSONAL' }), 'FORBIDDEN', /scope/);
    expectRefused(await create(scoped.secret, { kind: 'PERSONAL', organizationId: w.organizationId }), 'FORBIDDEN');
    expectRefused(await create(scoped.secret, { kind: 'PERSONAL', spaceId: w.spaceB }), 'NOT_FOUND');
    expect((await createOk(scoped.secret, { kind: 'PERSONAL', boardIds: [w.boardA1] })).apiToken.scopeType).toBe('BOARDS');

    const capped = await mintToken(t, editor.token, { kind: 'PERSONAL', role: 'AGENT' });
    expectRefused(await create(capped.secret, { kind: 'PERSONAL' }), 'FORBIDDEN', /AGENT/);
    expectRefused(await create(capped.secret, { kind: 'PERSONAL', role: 'EDITOR' }), 'FORBIDDEN', /AGENT/);
    expectRefused(await create(capped.secret, { role: 'VIEWER', spaceId: w.spaceA }), 'FORBIDDEN'); // no SERVICE tokens below EDITOR
    expect((await createOk(capped.secret, { kind: 'PERSONAL', role: 'VIEWER' })).apiToken.role).toBe('VIEWER');
  });

  it('a SERVICE token cannot mint PERSONAL tokens', async () => {
    const service = await mintToken(t, w.owner.token, { role: 'OWNER', organizationId: w.organizationId });
    const count = await tokenCount();
    expectRefused(await create(service.secret, { kind: 'PERSONAL' }), 'FORBIDDEN', /PERSONAL/);
    expectRefused(await create(service.secret, { kind: 'PERSONAL', organizationId: w.organizationId, role: 'VIEWER' }), 'FORBIDDEN');
    expect(await tokenCount()).toBe(count);
  });
});

describe('top-level apiTokens: what the caller created', () => {
  it('of a user: tokens created directly or through their PERSONAL tokens; of a SERVICE token: those it minted', async () => {
    const maker = await signUp(t, 'Maker');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: maker.email, role: 'EDITOR' });
    const direct = await mintToken(t, maker.token, { name: 'direct', role: 'EDITOR', organizationId: w.organizationId });
    const personal = await mintToken(t, maker.token, { name: 'personal', kind: 'PERSONAL' });
    const viaPersonal = await mintToken(t, personal.secret, { name: 'via personal', role: 'VIEWER', spaceId: w.spaceA });
    const viaService = await mintToken(t, direct.secret, { name: 'via service', role: 'EDITOR', spaceId: w.spaceB });
    const grandchild = await mintToken(t, viaService.secret, { name: 'grandchild', role: 'VIEWER', spaceId: w.spaceB, expiresInSeconds: 60 });

    const ofUser = (await myTokens(maker.token)).map((n) => n.name);
    expect(ofUser).toEqual(['via personal', 'personal', 'direct']);
    expect((await myTokens(personal.secret)).map((n) => n.name)).toEqual(['via personal', 'personal', 'direct']);
    expect((await myTokens(direct.secret)).map((n) => n.name)).toEqual(['via service']);
    expect((await myTokens(viaService.secret)).map((n) => n.name)).toEqual(['grandchild']);
    expect(await myTokens(grandchild.secret)).toEqual([]);
    expect(await myTokens(viaPersonal.secret)).toEqual([]);

    const created = (await myTokens(maker.token)).find((n) => n.name === 'via personal');
    expect(created.createdBy).toEqual({ id: maker.id });
    // A SERVICE token manages what it minted.
    expect(dataOf(await t.gql(REVOKE, { id: grandchild.id }, viaService.secret)).revokeApiToken.status).toBe('REVOKED');
  });
});

describe('a CI pipeline', () => {
  it('an EDITOR mints a short-lived space token, which mints an even shorter AGENT token that reports on an item', async () => {
    const pipeline = (await createOk(editor.token, {
      name: 'CI pipeline',
      role: 'EDITOR',
      spaceId: w.spaceA,
      expiresInSeconds: 900,
    }))!;
    const job = await createOk(pipeline.secret, { name: 'CI job #42', role: 'AGENT', boardIds: [w.boardA1], expiresInSeconds: 300 });
    expect(job.apiToken).toMatchObject({ kind: 'SERVICE', role: 'AGENT', scopeType: 'BOARDS', createdBy: null });
    expect(new Date(job.apiToken.expiresAt).getTime()).toBeLessThan(new Date(pipeline.apiToken.expiresAt).getTime());

    const posted = dataOf(
      await t.gql(
        `mutation($input: PostItemUpdateInput!) { postItemUpdate(input: $input) { id body authorName } }`,
        { input: { itemId: w.itemA1, body: 'Build passed' } },
        job.secret,
      ),
    ).postItemUpdate;
    expect(posted).toMatchObject({ body: 'Build passed', authorName: 'CI job #42' });

    const read = dataOf(
      await t.gql(`query($id: ID!) { item(id: $id) { updates(first: 5) { edges { node { id authorName body } } } } }`, { id: w.itemA1 }, editor.token),
    );
    expect(read.item.updates.edges[0].node).toEqual(posted);

    // The job token can only report: no edits, and nothing outside its board.
    const edit = await t.gql(`mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: w.itemA1, status: 'done' } }, job.secret);
    expect(errorCodes(edit)).toEqual(['FORBIDDEN']);
    const elsewhere = await t.gql(
      `mutation($input: PostItemUpdateInput!) { postItemUpdate(input: $input) { id } }`,
      { input: { itemId: w.itemA2, body: 'x' } },
      job.secret,
    );
    expect(errorCodes(elsewhere)).toEqual(['NOT_FOUND']);

    // The pipeline lists the job token; the editor's own list shows the pipeline but not the job.
    expect((await myTokens(pipeline.secret)).map((n) => n.id)).toEqual([job.apiToken.id]);
    const editorsList = (await myTokens(editor.token)).map((n) => n.id);
    expect(editorsList).toContain(pipeline.apiToken.id);
    expect(editorsList).not.toContain(job.apiToken.id);
  });
});

describe('another member’s PERSONAL token (security review: impersonation through regeneration)', () => {
  it('an organization OWNER sees, revokes and deletes it, but never regenerates or updates it', async () => {
    const bob = await signUp(t, 'Bob');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: bob.email, role: 'EDITOR' });
    const bobs = await mintToken(t, bob.token, { kind: 'PERSONAL', organizationId: w.organizationId });
    const before = await tokenRow(bobs.id);

    expect((await orgTokens(owner2.token)).map((n) => n.id)).toContain(bobs.id);
    expectRefused(await t.gql(REGENERATE, { id: bobs.id, grace: 0 }, owner2.token), 'FORBIDDEN', /Only its own user can regenerate/);
    expectRefused(await t.gql(UPDATE, { input: { id: bobs.id, name: 'Taken over', role: 'VIEWER' } }, owner2.token), 'FORBIDDEN', /own user/);
    // Nor through an OWNER's own tokens.
    const ownersPersonal = await mintToken(t, owner2.token, { kind: 'PERSONAL' });
    const ownersService = await mintToken(t, owner2.token, { role: 'OWNER', organizationId: w.organizationId });
    for (const via of [ownersPersonal.secret, ownersService.secret]) {
      expectRefused(await t.gql(REGENERATE, { id: bobs.id }, via), 'FORBIDDEN');
    }
    // Nothing changed: the same secret hash, and Bob's secret still acts as Bob.
    expect(await tokenRow(bobs.id)).toEqual(before);
    expect((await expectWorks(bobs)).user.id).toBe(bob.id);

    // Bob himself may regenerate it.
    const fresh = dataOf(await t.gql(REGENERATE, { id: bobs.id }, bob.token)).regenerateApiToken.secret;
    expect((await expectWorks({ id: bobs.id, secret: fresh })).user.id).toBe(bob.id);
    // The OWNER may stop it.
    expect(dataOf(await t.gql(REVOKE, { id: bobs.id }, owner2.token)).revokeApiToken.status).toBe('REVOKED');
    await expectRefusedCredential(fresh);
    expect(dataOf(await t.gql(DELETE, { id: bobs.id }, owner2.token)).deleteApiToken).toBe(bobs.id);
  });
});

describe('a creator who could no longer mint the token (security review)', () => {
  const REMOVE = `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`;

  it('removed from the organization: no longer lists, revokes or regenerates its SERVICE tokens; OWNERs still do', async () => {
    const leaver = await signUp(t, 'Leaver');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: leaver.email, role: 'EDITOR' });
    const service = await mintToken(t, leaver.token, { role: 'EDITOR', spaceId: w.spaceA });
    const personal = await mintToken(t, leaver.token, { kind: 'PERSONAL', organizationId: w.organizationId });
    await expectWorks(service);
    expect((await myTokens(leaver.token)).map((n) => n.id)).toEqual(expect.arrayContaining([service.id, personal.id]));

    dataOf(await t.gql(REMOVE, { input: { organizationId: w.organizationId, userId: leaver.id } }, w.owner.token));

    // The SERVICE token still works (it belongs to the organization), but is not the leaver's to manage any more.
    await expectWorks(service);
    const listed = (await myTokens(leaver.token)).map((n) => n.id);
    expect(listed).not.toContain(service.id);
    for (const [query, variables] of [
      [REVOKE, { id: service.id }],
      [REGENERATE, { id: service.id }],
      [UPDATE, { input: { id: service.id, name: 'Still mine' } }],
      [DELETE, { id: service.id }],
    ] as const) {
      expectRefused(await t.gql(query, variables, leaver.token), 'NOT_FOUND');
    }
    expect((await tokenRow(service.id))!.revokedAt).toBeNull();
    // Its own PERSONAL token acts as the leaver (now nothing in that organization): still theirs to revoke.
    expect(listed).toContain(personal.id);
    expect(dataOf(await t.gql(REVOKE, { id: personal.id }, leaver.token)).revokeApiToken.status).toBe('REVOKED');
    // The organization's OWNERs manage the SERVICE token.
    expect((await orgTokens(owner2.token)).map((n) => n.id)).toContain(service.id);
    expect(dataOf(await t.gql(REVOKE, { id: service.id }, owner2.token)).revokeApiToken.status).toBe('REVOKED');
  });

  it('demoted below what the token holds: no longer manages it', async () => {
    const demoted = await signUp(t, 'Demoted');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: demoted.email, role: 'EDITOR' });
    const editorToken = await mintToken(t, demoted.token, { role: 'EDITOR', spaceId: w.spaceA });
    const viewerToken = await mintToken(t, demoted.token, { role: 'VIEWER', spaceId: w.spaceA });
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: demoted.email, role: 'VIEWER' });
    // A VIEWER mints no SERVICE token at all: neither is theirs to manage now.
    const listed = (await myTokens(demoted.token)).map((n) => n.id);
    expect(listed).not.toContain(editorToken.id);
    expect(listed).not.toContain(viewerToken.id);
    expectRefused(await t.gql(REVOKE, { id: editorToken.id }, demoted.token), 'NOT_FOUND');
    // Promoted back to EDITOR, they manage them again.
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: demoted.email, role: 'EDITOR' });
    expect((await myTokens(demoted.token)).map((n) => n.id)).toEqual(expect.arrayContaining([editorToken.id, viewerToken.id]));
  });
});
