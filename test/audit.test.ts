// Audit events: every token change and every membership change writes exactly one event
// with the actor and the target, listed newest first (OWNER only); no secret or password is
// ever in an audit event or any response.
import { dataOf, errorCodes, startTestApp, type TestApp } from './helpers/testApp';
import { ACCEPT_INVITATION, addMember, buildWorld, mintToken, signUp, type TestUser, type World } from './helpers/factories';

const AUDIT = `query($id: ID!, $first: Int) {
  organization(id: $id) { auditEvents(first: $first) { edges { node { id action actorName targetId createdAt } } } }
}`;

interface AuditNode {
  id: string;
  action: string;
  actorName: string;
  targetId: string | null;
  createdAt: string;
}

let t: TestApp;
let w: World;
let editor: TestUser;
let newcomer: TestUser;
/** Every secret and password this file creates, to look for in every response. */
const secrets: string[] = [];

const remember = <T extends { secret: string }>(minted: T) => {
  secrets.push(minted.secret);
  return minted;
};

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  editor = await signUp(t, 'Edna Editor');
  newcomer = await signUp(t, 'Nick Newcomer');
  for (const user of [w.owner, w.stranger, editor, newcomer]) secrets.push(user.token, user.password);
  await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
});

afterAll(async () => {
  await t?.close();
});

async function auditEvents(token = w.owner.token, organizationId = w.organizationId): Promise<AuditNode[]> {
  return dataOf(await t.gql(AUDIT, { id: organizationId, first: 100 }, token)).organization.auditEvents.edges.map((e: any) => e.node);
}

/**
 * Runs `action` and checks that exactly one audit event was written, in the database and at
 * the head of the organization's list, with this action, actor and target.
 */
async function expectOneEvent(
  expected: { action: string; actorName: string; targetId?: () => string; organizationId?: string | null; reader?: string },
  action: () => Promise<unknown>,
) {
  const organizationId = expected.organizationId === undefined ? w.organizationId : expected.organizationId;
  const before = await t.prisma.auditEvent.findMany({ select: { id: true } });
  const started = Date.now();
  await action();
  const written = await t.prisma.auditEvent.findMany({ where: { id: { notIn: before.map((e) => e.id) } } });
  expect(written).toHaveLength(1);
  const [event] = written;
  const targetId = expected.targetId?.();
  expect(event).toMatchObject({ action: expected.action, actorName: expected.actorName, organizationId });
  if (targetId) expect(event.targetId).toBe(targetId);
  expect(event.createdAt.getTime()).toBeGreaterThanOrEqual(started - 1000);
  if (organizationId) {
    const [newest] = await auditEvents(expected.reader ?? w.owner.token, organizationId);
    expect(newest).toEqual({
      id: event.id,
      action: expected.action,
      actorName: expected.actorName,
      targetId: event.targetId,
      createdAt: event.createdAt.toISOString(),
    });
  }
  return event;
}

const gqlOk = async (query: string, variables: Record<string, unknown>, token: string) => dataOf(await t.gql(query, variables, token));

const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id } } }`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { id } }`;
const REGENERATE = `mutation($id: ID!, $grace: Int) { regenerateApiToken(id: $id, gracePeriodSeconds: $grace) { secret apiToken { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`;
const DELETE = `mutation($id: ID!) { deleteApiToken(id: $id) }`;
const ADD = `mutation($input: AddMemberInput!) { addMember(input: $input) { role user { id } } }`;
const REMOVE = `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`;

describe('token changes', () => {
  it('create, update, regenerate, revoke and delete each write one event with the actor and the token', async () => {
    let tokenId = '';
    await expectOneEvent({ action: 'token.created', actorName: 'Edna Editor', targetId: () => tokenId }, async () => {
      const created = await gqlOk(CREATE, { input: { name: 'Audited', role: 'AGENT', spaceId: w.spaceA } }, editor.token);
      remember(created.createApiToken);
      tokenId = created.createApiToken.apiToken.id;
    });
    await expectOneEvent({ action: 'token.updated', actorName: 'Edna Editor', targetId: () => tokenId }, () =>
      gqlOk(UPDATE, { input: { id: tokenId, name: 'Audited (renamed)', role: 'VIEWER' } }, editor.token),
    );
    await expectOneEvent({ action: 'token.regenerated', actorName: 'Edna Editor', targetId: () => tokenId }, async () => {
      remember((await gqlOk(REGENERATE, { id: tokenId, grace: 60 }, editor.token)).regenerateApiToken);
    });
    // An OWNER acting on someone else's token is the actor.
    await expectOneEvent({ action: 'token.revoked', actorName: 'Owner', targetId: () => tokenId }, () =>
      gqlOk(REVOKE, { id: tokenId }, w.owner.token),
    );
    await expectOneEvent({ action: 'token.deleted', actorName: 'Edna Editor', targetId: () => tokenId }, () =>
      gqlOk(DELETE, { id: tokenId }, editor.token),
    );
    // The events outlive the token, in order, newest first.
    const forToken = (await auditEvents()).filter((e) => e.targetId === tokenId).map((e) => e.action);
    expect(forToken).toEqual(['token.deleted', 'token.revoked', 'token.regenerated', 'token.updated', 'token.created']);
  });

  it('a SERVICE token acting is named by its name; a PERSONAL token by its user’s name', async () => {
    const service = remember(await mintToken(t, w.owner.token, { name: 'Provisioner', role: 'OWNER', organizationId: w.organizationId }));
    let childId = '';
    await expectOneEvent({ action: 'token.created', actorName: 'Provisioner', targetId: () => childId }, async () => {
      childId = remember(await mintToken(t, service.secret, { name: 'child', role: 'VIEWER', spaceId: w.spaceB })).id;
    });
    await expectOneEvent({ action: 'token.revoked', actorName: 'Provisioner', targetId: () => childId }, () =>
      gqlOk(REVOKE, { id: childId }, service.secret),
    );

    const personal = remember(await mintToken(t, editor.token, { name: 'Edna laptop', kind: 'PERSONAL' }));
    let viaPersonal = '';
    await expectOneEvent({ action: 'token.created', actorName: 'Edna Editor', targetId: () => viaPersonal }, async () => {
      viaPersonal = remember(await mintToken(t, personal.secret, { name: 'via laptop', role: 'VIEWER', spaceId: w.spaceA })).id;
    });
    await expectOneEvent({ action: 'token.deleted', actorName: 'Edna Editor', targetId: () => viaPersonal }, () =>
      gqlOk(DELETE, { id: viaPersonal }, personal.secret),
    );
  });

  it('a PERSONAL token without a scope belongs to no organization: its events are still written, once each', async () => {
    let id = '';
    const noOrganization = { actorName: 'Edna Editor', targetId: () => id, organizationId: null };
    await expectOneEvent({ action: 'token.created', ...noOrganization }, async () => {
      id = remember(await mintToken(t, editor.token, { name: 'unscoped', kind: 'PERSONAL' })).id;
    });
    await expectOneEvent({ action: 'token.updated', ...noOrganization }, () => gqlOk(UPDATE, { input: { id, name: 'unscoped 2' } }, editor.token));
    await expectOneEvent({ action: 'token.regenerated', ...noOrganization }, async () => {
      remember((await gqlOk(REGENERATE, { id }, editor.token)).regenerateApiToken);
    });
    await expectOneEvent({ action: 'token.revoked', ...noOrganization }, () => gqlOk(REVOKE, { id }, editor.token));
    await expectOneEvent({ action: 'token.deleted', ...noOrganization }, () => gqlOk(DELETE, { id }, editor.token));
  });

  it('refused and failed requests write nothing', async () => {
    const token = remember(await mintToken(t, w.owner.token, { name: 'Owner’s', role: 'VIEWER', spaceId: w.spaceA }));
    const count = await t.prisma.auditEvent.count();
    const refused = [
      await t.gql(UPDATE, { input: { id: token.id, name: 'x' } }, editor.token), // not theirs: NOT_FOUND
      await t.gql(REVOKE, { id: token.id }, editor.token),
      await t.gql(DELETE, { id: token.id }, editor.token),
      await t.gql(REGENERATE, { id: token.id }, editor.token),
      await t.gql(REGENERATE, { id: token.id, grace: 86_401 }, w.owner.token), // BAD_USER_INPUT
      await t.gql(CREATE, { input: { name: 'too high', role: 'OWNER', spaceId: w.spaceA } }, editor.token), // FORBIDDEN
      await t.gql(CREATE, { input: { name: '', role: 'VIEWER', spaceId: w.spaceA } }, editor.token),
      await t.gql(ADD, { input: { organizationId: w.organizationId, email: newcomer.email, role: 'VIEWER' } }, editor.token),
      await t.gql(ADD, { input: { organizationId: w.organizationId, email: 'not an email', role: 'VIEWER' } }, w.owner.token), // BAD_USER_INPUT
      await t.gql(REMOVE, { input: { organizationId: w.organizationId, userId: newcomer.id } }, w.owner.token), // no membership
    ];
    for (const res of refused) expect(errorCodes(res)).toHaveLength(1);
    expect(await t.prisma.auditEvent.count()).toBe(count);
  });
});

describe('membership changes', () => {
  it('addMember for someone new writes member.invited (naming the invitation, not the account); accepting writes member.added; then member.updated, member.removed, all naming the user', async () => {
    const input = { organizationId: w.organizationId, email: newcomer.email };
    let invitation = '';
    await expectOneEvent({ action: 'member.invited', actorName: 'Owner', targetId: () => invitation }, async () => {
      invitation = (await gqlOk(ADD, { input: { ...input, role: 'VIEWER' } }, w.owner.token)).addMember.user.id;
    });
    expect(invitation).not.toBe(newcomer.id);
    // The invitee accepting is the actor of member.added.
    await expectOneEvent({ action: 'member.added', actorName: 'Nick Newcomer', targetId: () => newcomer.id }, () =>
      gqlOk(ACCEPT_INVITATION, { id: w.organizationId }, newcomer.token),
    );
    // A member now: changes apply at once.
    await expectOneEvent({ action: 'member.updated', actorName: 'Owner', targetId: () => newcomer.id }, () =>
      gqlOk(ADD, { input: { ...input, role: 'EDITOR' } }, w.owner.token),
    );
    // A space membership is a membership of its own.
    await expectOneEvent({ action: 'member.added', actorName: 'Owner', targetId: () => newcomer.id }, () =>
      gqlOk(ADD, { input: { ...input, role: 'OWNER', spaceId: w.spaceA } }, w.owner.token),
    );
    await expectOneEvent({ action: 'member.updated', actorName: 'Owner', targetId: () => newcomer.id }, () =>
      gqlOk(ADD, { input: { ...input, role: 'AGENT', spaceId: w.spaceA } }, w.owner.token),
    );
    await expectOneEvent({ action: 'member.removed', actorName: 'Owner', targetId: () => newcomer.id }, () =>
      gqlOk(REMOVE, { input: { organizationId: w.organizationId, userId: newcomer.id, spaceId: w.spaceA } }, w.owner.token),
    );
    await expectOneEvent({ action: 'member.removed', actorName: 'Owner', targetId: () => newcomer.id }, () =>
      gqlOk(REMOVE, { input: { organizationId: w.organizationId, userId: newcomer.id } }, w.owner.token),
    );
    const actions = (await auditEvents()).filter((e) => e.targetId === newcomer.id).map((e) => e.action);
    expect(actions).toEqual(['member.removed', 'member.removed', 'member.updated', 'member.added', 'member.updated', 'member.added']);
    expect((await auditEvents()).filter((e) => e.targetId === invitation).map((e) => e.action)).toEqual(['member.invited']);
  });

  it('a SERVICE OWNER token managing members is the actor by its name', async () => {
    const admin = remember(await mintToken(t, w.owner.token, { name: 'HR sync', role: 'OWNER', organizationId: w.organizationId }));
    let invitation = '';
    await expectOneEvent({ action: 'member.invited', actorName: 'HR sync', targetId: () => invitation }, async () => {
      invitation = (await gqlOk(ADD, { input: { organizationId: w.organizationId, email: newcomer.email, role: 'VIEWER' } }, admin.secret)).addMember.user.id;
    });
    await expectOneEvent({ action: 'member.removed', actorName: 'HR sync', targetId: () => invitation }, () =>
      gqlOk(REMOVE, { input: { organizationId: w.organizationId, userId: invitation } }, admin.secret),
    );
  });

  it('events are written to the organization they happen in', async () => {
    let invitation = '';
    await expectOneEvent(
      { action: 'member.invited', actorName: 'Stranger', targetId: () => invitation, organizationId: w.otherOrganizationId, reader: w.stranger.token },
      async () => {
        invitation = (await gqlOk(ADD, { input: { organizationId: w.otherOrganizationId, email: newcomer.email, role: 'VIEWER' } }, w.stranger.token)).addMember.user.id;
      },
    );
    expect((await auditEvents()).filter((e) => e.actorName === 'Stranger')).toEqual([]);
  });
});

describe('Organization.auditEvents', () => {
  it('is for OWNERs only (FORBIDDEN below; the organization then reads null)', async () => {
    for (const token of [editor.token, remember(await mintToken(t, w.owner.token, { role: 'EDITOR', organizationId: w.organizationId })).secret]) {
      const res = await t.gql(AUDIT, { id: w.organizationId }, token);
      expect(errorCodes(res)).toEqual(['FORBIDDEN']);
      expect(res.body.errors![0].message).toMatch(/needs the OWNER role here; yours is EDITOR/);
      expect(res.body.data!.organization).toBeNull();
    }
    // Outside the organization it does not exist.
    const res = await t.gql(AUDIT, { id: w.organizationId }, w.stranger.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data!.organization).toBeNull();
    // An organization-wide OWNER token may read it.
    const ownerToken = remember(await mintToken(t, w.owner.token, { role: 'OWNER', organizationId: w.organizationId }));
    expect((await auditEvents(ownerToken.secret)).length).toBeGreaterThan(0);
  });

  it('lists newest first', async () => {
    const events = await auditEvents();
    expect(events.length).toBeGreaterThan(5);
    const times = events.map((e) => new Date(e.createdAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });
});

describe('no secret or password anywhere', () => {
  it('is in an audit event, a list, a token or an error', async () => {
    // Use a few of the tokens, including refused ones, so that errors are part of what is searched.
    const revoked = remember(await mintToken(t, w.owner.token, { name: 'gone', role: 'VIEWER', spaceId: w.spaceA }));
    await t.gql(REVOKE, { id: revoked.id }, w.owner.token);
    const TOKEN_FIELDS = `id name description kind role scopeType maskedToken status createdAt expiresAt lastUsedAt revokedAt createdBy { id email name }`;
    const responses = [
      await t.gql(AUDIT, { id: w.organizationId, first: 100 }, w.owner.token),
      await t.gql(AUDIT, { id: w.otherOrganizationId, first: 100 }, w.stranger.token),
      await t.gql(`{ apiTokens(first: 100) { edges { node { ${TOKEN_FIELDS} } } } }`, {}, w.owner.token),
      await t.gql(`{ apiTokens(first: 100) { edges { node { ${TOKEN_FIELDS} } } } }`, {}, editor.token),
      await t.gql(
        `query($id: ID!) { organization(id: $id) {
          apiTokens(first: 100) { edges { node { ${TOKEN_FIELDS} } } }
          members(first: 100) { edges { node { role user { id email name } } } }
        } }`,
        { id: w.organizationId },
        w.owner.token,
      ),
      await t.gql(`{ viewer { user { id email name } apiToken { ${TOKEN_FIELDS} } } }`, {}, revoked.secret),
      await t.gql(`{ viewer { user { id email name } apiToken { ${TOKEN_FIELDS} } } }`, {}, secrets.find((s) => s.startsWith('pcl_'))!),
      await t.gql(CREATE, { input: { name: 'x', role: 'OWNER', spaceId: w.spaceA } }, editor.token),
      await t.gql(`{ viewer { user { id } } }`, {}, `${revoked.secret.slice(0, -1)}x`),
    ];
    const rows = JSON.stringify([
      await t.prisma.auditEvent.findMany(),
      await t.prisma.apiToken.findMany(),
      await t.prisma.user.findMany(),
    ]);
    const everything = JSON.stringify(responses.map((r) => r.body)) + rows;
    expect(secrets.length).toBeGreaterThan(15);
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      // Not even the secret part of an API token, nor the secret of a session token.
      const secretPart = /^pc[ls]_[0-9A-Za-z]{16}([0-9A-Za-z]{43})/.exec(secret)?.[1];
      if (secretPart) expect(everything).not.toContain(secretPart);
    }
  });
});

describe('membership changes made by creating an organization or deleting a space', () => {
  it('createOrganization records its creator as added', async () => {
    const founder = await signUp(t, 'Fiona Founder');
    secrets.push(founder.token, founder.password);
    const before = await t.prisma.auditEvent.count();
    const organizationId = (await gqlOk(`mutation { createOrganization(input: { name: "Founded" }) { id } }`, {}, founder.token))
      .createOrganization.id;
    expect(await t.prisma.auditEvent.count()).toBe(before + 1);
    expect(await auditEvents(founder.token, organizationId)).toEqual([
      expect.objectContaining({ action: 'member.added', actorName: 'Fiona Founder', targetId: founder.id }),
    ]);
  });

  it('deleteSpace records the removal of its memberships and of the tokens scoped to it', async () => {
    const space = (await gqlOk(
      `mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id } }`,
      { input: { organizationId: w.organizationId, name: 'Doomed' } },
      w.owner.token,
    )).createSpace.id;
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: newcomer.email, role: 'VIEWER', spaceId: space });
    const token = remember(await mintToken(t, w.owner.token, { role: 'VIEWER', spaceId: space }));
    await gqlOk(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: space }, w.owner.token);
    const newest = (await auditEvents()).slice(0, 2);
    expect(newest.map((e) => [e.action, e.targetId]).sort()).toEqual(
      [
        ['member.removed', newcomer.id],
        ['token.deleted', token.id],
      ].sort(),
    );
    expect(newest.every((e) => e.actorName === w.owner.name)).toBe(true);
  });
});
