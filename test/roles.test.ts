// Roles, per roles-and-tokens.md "Roles" and "What a request may do": every mutation and every
// OWNER-only field, for every way of holding a role (SERVICE tokens at each scope type, users
// through organization-wide and space memberships, PERSONAL tokens with a cap), at every role.
// Below the required role: FORBIDDEN and nothing changed in the database; at or above: done.
import { OPERATIONS, type Operation, type Role } from '../src/auth/roles';
import { credentials, scopeInput } from './helpers/credentials';
import { addMember, createBoard, createItem, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { dbFingerprint, expectRefused, type GrantPlace, requiresRole } from './helpers/requiresRole';
import { dataOf, type TestApp, startTestApp } from './helpers/testApp';

let t: TestApp;
let owner: TestUser;
/** The victim of addMember/removeMember. */
let victim: TestUser;
let organizationId: string;
let home: GrantPlace & { boardId: string; itemId: string };
/** Another space of the organization, out of reach of everything scoped to `home`. */
let elsewhere: { spaceId: string; boardId: string; itemId: string };
let fixtureTokenId: string;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Owner');
  victim = await signUp(t, 'Victim');
  organizationId = await createOrganization(t, owner.token, 'Acme');
  const spaceId = await createSpace(t, owner.token, organizationId, 'Home');
  const boardId = await createBoard(t, owner.token, spaceId, 'Home board');
  const itemId = await createItem(t, owner.token, boardId, 'Home item', 'todo');
  dataOf(await t.gql(`mutation($id: ID!) { postItemUpdate(input: { itemId: $id, body: "first" }) { id } }`, { id: itemId }, owner.token));
  home = { organizationId, spaceId, boardIds: [boardId], boardId, itemId };
  const otherSpace = await createSpace(t, owner.token, organizationId, 'Elsewhere');
  const otherBoard = await createBoard(t, owner.token, otherSpace, 'Elsewhere board');
  elsewhere = { spaceId: otherSpace, boardId: otherBoard, itemId: await createItem(t, owner.token, otherBoard, 'Elsewhere item') };
  fixtureTokenId = (await mintToken(t, owner.token, { name: 'fixture', kind: 'SERVICE', role: 'VIEWER', organizationId })).id;
});

afterAll(async () => {
  await t?.close();
});

const app = () => t;
const ways = credentials(() => ({ t, owner }));
const ALL = [...ways.service, ...ways.memberships, ...ways.personal];

let counter = 0;
const unique = (what: string) => `${what} ${++counter}`;

const gql = (query: string, variables: Record<string, unknown>, token: string) => t.gql(query, variables, token);

// ---- the table itself is the spec's ------------------------------------------------------

test('the roles table says what roles-and-tokens.md says', () => {
  const spec: Record<string, [Role, 'resource' | 'organization']> = {
    read: ['VIEWER', 'resource'],
    createItem: ['AGENT', 'resource'],
    postItemUpdate: ['AGENT', 'resource'],
    updateItem: ['EDITOR', 'resource'],
    deleteItem: ['EDITOR', 'resource'],
    createBoard: ['EDITOR', 'resource'],
    updateBoard: ['EDITOR', 'resource'],
    deleteBoard: ['EDITOR', 'resource'],
    updateSpace: ['EDITOR', 'resource'],
    createSpace: ['EDITOR', 'organization'],
    deleteSpace: ['OWNER', 'resource'],
    addMember: ['OWNER', 'resource'],
    removeMember: ['OWNER', 'resource'],
    readMembers: ['OWNER', 'organization'],
    readOrganizationApiTokens: ['OWNER', 'organization'],
    readAuditEvents: ['OWNER', 'organization'],
    manageOthersTokens: ['OWNER', 'organization'],
    manageTokenPolicy: ['OWNER', 'organization'],
    manageWebhooks: ['OWNER', 'organization'],
    mintServiceToken: ['EDITOR', 'resource'],
    manageFederationPolicies: ['OWNER', 'resource'],
    readFederationPolicies: ['OWNER', 'organization'],
  };
  const table = Object.fromEntries(Object.entries(OPERATIONS).map(([op, { role, level }]) => [op, [role, level]]));
  expect(table).toEqual(spec);
});

// ---- reads: VIEWER ---------------------------------------------------------------------------

requiresRole(app, ALL, {
  operation: 'read',
  at: 'board',
  target: async () => ({ place: home }),
  run: (_t, { place }, token) =>
    gql(
      `query($item: ID!, $board: ID!, $space: ID!, $org: ID!) {
        item(id: $item) { id board { id space { id organization { id } } } updates { edges { node { body } } } }
        board(id: $board) { id items { edges { node { id } } } }
        space(id: $space) { id boards { edges { node { id } } } }
        organization(id: $org) { id spaces { edges { node { id } } } }
      }`,
      { item: home.itemId, board: home.boardId, space: place.spaceId, org: place.organizationId },
      token,
    ),
  succeeded: (_t, { place }, { body }) => {
    expect(body.data).toEqual({
      item: {
        id: home.itemId,
        board: { id: home.boardId, space: { id: place.spaceId, organization: { id: place.organizationId } } },
        updates: { edges: [{ node: { body: 'first' } }] },
      },
      board: { id: home.boardId, items: { edges: expect.arrayContaining([{ node: { id: home.itemId } }]) } },
      space: { id: place.spaceId, boards: { edges: expect.arrayContaining([{ node: { id: home.boardId } }]) } },
      organization: { id: place.organizationId, spaces: { edges: expect.arrayContaining([{ node: { id: place.spaceId } }]) } },
    });
  },
});

// ---- items: AGENT, EDITOR -------------------------------------------------------------------

/** A fresh item on the home board. */
const freshItem = async () => ({ place: home, itemId: await createItem(t, owner.token, home.boardId, unique('Item'), 'todo') });

requiresRole(app, ALL, {
  operation: 'createItem',
  at: 'board',
  target: async () => ({ place: home, name: unique('New item') }),
  run: (_t, { name }, token) =>
    gql(`mutation($input: CreateItemInput!) { createItem(input: $input) { id name } }`, { input: { boardId: home.boardId, name } }, token),
  succeeded: async (_t, { name }, { body }) => {
    expect(body.data.createItem.name).toBe(name);
    const row = await t.prisma.item.findUnique({ where: { id: body.data.createItem.id } });
    expect(row).toMatchObject({ name, boardId: home.boardId });
  },
});

requiresRole(app, ALL, {
  operation: 'postItemUpdate',
  at: 'board',
  target: freshItem,
  run: (_t, { itemId }, token) =>
    gql(`mutation($input: PostItemUpdateInput!) { postItemUpdate(input: $input) { id body } }`, { input: { itemId, body: 'CI: green' } }, token),
  succeeded: async (_t, { itemId }, { body }) => {
    const rows = await t.prisma.itemUpdate.findMany({ where: { itemId } });
    expect(rows).toEqual([expect.objectContaining({ id: body.data.postItemUpdate.id, body: 'CI: green' })]);
  },
});

requiresRole(app, ALL, {
  operation: 'updateItem',
  at: 'board',
  target: freshItem,
  run: (_t, { itemId }, token) =>
    gql(`mutation($input: UpdateItemInput!) { updateItem(input: $input) { id } }`, { input: { id: itemId, name: 'Renamed', status: 'done' } }, token),
  succeeded: async (_t, { itemId }) => {
    expect(await t.prisma.item.findUnique({ where: { id: itemId } })).toMatchObject({ name: 'Renamed', status: 'done' });
  },
});

requiresRole(app, ALL, {
  operation: 'deleteItem',
  at: 'board',
  target: freshItem,
  run: (_t, { itemId }, token) => gql(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: itemId }, token),
  succeeded: async (_t, { itemId }, { body }) => {
    expect(body.data.deleteItem).toBe(itemId);
    expect(await t.prisma.item.findUnique({ where: { id: itemId } })).toBeNull();
  },
});

// ---- boards and spaces: EDITOR ---------------------------------------------------------------

requiresRole(app, ALL, {
  operation: 'createBoard',
  at: 'space',
  target: async () => ({ place: home, name: unique('New board') }),
  run: (_t, { name }, token) =>
    gql(`mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`, { input: { spaceId: home.spaceId, name } }, token),
  succeeded: async (_t, { name }, { body }) => {
    const row = await t.prisma.board.findUnique({ where: { id: body.data.createBoard.id } });
    expect(row).toMatchObject({ name, spaceId: home.spaceId, organizationId });
  },
});

requiresRole(app, ALL, {
  operation: 'updateBoard',
  at: 'board',
  target: async () => ({ place: home, name: unique('Home board') }),
  run: (_t, { name }, token) =>
    gql(`mutation($input: UpdateBoardInput!) { updateBoard(input: $input) { id name } }`, { input: { id: home.boardId, name } }, token),
  succeeded: async (_t, { name }) => {
    expect(await t.prisma.board.findUnique({ where: { id: home.boardId } })).toMatchObject({ name });
  },
});

requiresRole(app, ALL, {
  operation: 'deleteBoard',
  at: 'board',
  // A fresh board in the home space, with an item; BOARDS credentials are granted on it.
  target: async () => {
    const boardId = await createBoard(t, owner.token, home.spaceId, unique('Doomed board'));
    const itemId = await createItem(t, owner.token, boardId, 'Doomed item');
    return { place: { ...home, boardIds: [boardId] }, boardId, itemId };
  },
  run: (_t, { boardId }, token) => gql(`mutation($id: ID!) { deleteBoard(id: $id) }`, { id: boardId }, token),
  succeeded: async (_t, { boardId, itemId }, { body }) => {
    expect(body.data.deleteBoard).toBe(boardId);
    expect(await t.prisma.board.findUnique({ where: { id: boardId } })).toBeNull();
    expect(await t.prisma.item.findUnique({ where: { id: itemId } })).toBeNull();
  },
});

requiresRole(app, ALL, {
  operation: 'updateSpace',
  at: 'space',
  target: async () => ({ place: home, name: unique('Home') }),
  run: (_t, { name }, token) =>
    gql(`mutation($input: UpdateSpaceInput!) { updateSpace(input: $input) { id name } }`, { input: { id: home.spaceId, name } }, token),
  succeeded: async (_t, { name }) => {
    expect(await t.prisma.space.findUnique({ where: { id: home.spaceId } })).toMatchObject({ name });
  },
});

requiresRole(app, ALL, {
  operation: 'createSpace',
  at: 'organization',
  target: async () => ({ place: home, name: unique('New space') }),
  run: (_t, { name }, token) =>
    gql(`mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id } }`, { input: { organizationId, name } }, token),
  succeeded: async (_t, { name }, { body }) => {
    expect(await t.prisma.space.findUnique({ where: { id: body.data.createSpace.id } })).toMatchObject({ name, organizationId });
  },
});

requiresRole(app, ALL, {
  operation: 'manageTokenPolicy',
  at: 'organization',
  target: async () => ({ place: home }),
  // A policy with no rules (each run writes it again): one that blocked tokens would change what
  // the other credentials of this file may do.
  run: (_t, _target, token) =>
    gql(
      `mutation($input: UpdateOrganizationTokenPolicyInput!) { updateOrganizationTokenPolicy(input: $input) { maxLifetimeSeconds requireExpiry allowPersonalTokens } }`,
      { input: { organizationId, maxLifetimeSeconds: null, requireExpiry: false, allowPersonalTokens: true } },
      token,
    ),
  succeeded: async (_t, _target, { body }) => {
    expect(body.data.updateOrganizationTokenPolicy).toEqual({ maxLifetimeSeconds: null, requireExpiry: false, allowPersonalTokens: true });
    const newest = await t.prisma.auditEvent.findFirst({ where: { organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
    expect(newest?.action).toBe('organization.token_policy_updated');
  },
});

// ---- OWNER: deleteSpace, members -------------------------------------------------------------

/** A fresh space with a board and an item: the place every credential is granted on. */
async function freshSpace() {
  const spaceId = await createSpace(t, owner.token, organizationId, unique('Doomed space'));
  const boardId = await createBoard(t, owner.token, spaceId, 'Doomed board');
  const itemId = await createItem(t, owner.token, boardId, 'Doomed item');
  return { place: { organizationId, spaceId, boardIds: [boardId] }, spaceId, boardId, itemId };
}

requiresRole(app, ALL, {
  operation: 'deleteSpace',
  at: 'space',
  target: freshSpace,
  run: (_t, { spaceId }, token) => gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: spaceId }, token),
  succeeded: async (_t, { spaceId, boardId, itemId }, { body }) => {
    expect(body.data.deleteSpace).toBe(spaceId);
    expect(await t.prisma.space.findUnique({ where: { id: spaceId } })).toBeNull();
    expect(await t.prisma.board.findUnique({ where: { id: boardId } })).toBeNull();
    expect(await t.prisma.item.findUnique({ where: { id: itemId } })).toBeNull();
  },
});

const membershipOf = (userId: string, spaceId: string | null) =>
  t.prisma.membership.findFirst({ where: { userId, organizationId, spaceId } });

/** Makes sure the victim has no membership at that level (through the API, as the owner). */
async function withoutVictim(spaceId: string | null) {
  const membership = await membershipOf(victim.id, spaceId);
  if (membership) {
    // A pending membership is named by its invitation's id, as the organization sees it.
    const userId = membership.acceptedAt ? victim.id : membership.inviteeRef;
    dataOf(
      await t.gql(
        `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`,
        { input: { organizationId, userId, ...(spaceId && { spaceId }) } },
        owner.token,
      ),
    );
  }
}

for (const level of ['organization', 'space'] as const) {
  const spaceId = () => (level === 'space' ? home.spaceId : null);
  const label = level === 'organization' ? 'organization-wide membership' : 'membership of a space';

  requiresRole(app, ALL, {
    operation: 'addMember',
    at: level,
    label,
    target: async () => {
      await withoutVictim(spaceId());
      return { place: home };
    },
    run: (_t, _target, token) =>
      gql(
        `mutation($input: AddMemberInput!) { addMember(input: $input) { role pending user { id } space { id } } }`,
        { input: { organizationId, email: victim.email, role: 'AGENT', ...(spaceId() && { spaceId: spaceId() }) } },
        token,
      ),
    succeeded: async (_t, _target, { body }) => {
      // New to the organization (no accepted membership at another level): an invitation, shown
      // by its own id; else in effect at once.
      const membership = (await membershipOf(victim.id, spaceId()))!;
      const pending = membership.acceptedAt === null;
      const accepted = await t.prisma.membership.count({ where: { userId: victim.id, organizationId, acceptedAt: { not: null } } });
      expect(pending).toBe(accepted === 0);
      expect(body.data.addMember).toEqual({
        role: 'AGENT',
        pending,
        user: { id: pending ? membership.inviteeRef : victim.id },
        space: spaceId() && { id: spaceId() },
      });
      expect(membership).toMatchObject({ role: 'AGENT' });
    },
  });

  requiresRole(app, ALL, {
    operation: 'removeMember',
    at: level,
    label,
    target: async () => {
      await addMember(t, owner.token, { organizationId, email: victim.email, role: 'VIEWER', ...(spaceId() && { spaceId: spaceId()! }) });
      return { place: home };
    },
    run: (_t, _target, token) =>
      gql(
        `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`,
        { input: { organizationId, userId: victim.id, ...(spaceId() && { spaceId: spaceId() }) } },
        token,
      ),
    succeeded: async (_t, _target, { body }) => {
      expect(body.data.removeMember).toBe(victim.id);
      expect(await membershipOf(victim.id, spaceId())).toBeNull();
    },
  });
}

// ---- webhooks: OWNER of the organization ------------------------------------------------------

/** A public address literal: accepted without DNS, and never called (test apps run no delivery worker on a timer). */
const WEBHOOK_URL = 'https://93.184.215.14/hook';

requiresRole(app, ALL, {
  operation: 'manageWebhooks',
  at: 'organization',
  label: 'createWebhook',
  target: async () => ({ place: home }),
  run: (_t, _target, token) =>
    gql(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id url } } }`, { input: { organizationId, url: WEBHOOK_URL } }, token),
  succeeded: async (_t, _target, { body }) => {
    const { id, url } = body.data.createWebhook.webhook;
    expect(url).toBe(WEBHOOK_URL);
    expect(await t.prisma.webhook.findUnique({ where: { id } })).toMatchObject({ organizationId, url: WEBHOOK_URL });
    await t.prisma.webhook.delete({ where: { id } }); // (an organization has at most 20)
  },
});

requiresRole(app, ALL, {
  operation: 'manageWebhooks',
  at: 'organization',
  label: 'deleteWebhook',
  target: async () => {
    const id = dataOf(
      await t.gql(`mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`, { input: { organizationId, url: WEBHOOK_URL } }, owner.token),
    ).createWebhook.webhook.id as string;
    return { place: home, id };
  },
  run: (_t, { id }, token) => gql(`mutation($id: ID!) { deleteWebhook(id: $id) }`, { id }, token),
  succeeded: async (_t, { id }, { body }) => {
    expect(body.data.deleteWebhook).toBe(id);
    expect(await t.prisma.webhook.findUnique({ where: { id } })).toBeNull();
  },
});

// ---- OWNER-only fields of an organization ----------------------------------------------------

const ownerOnlyFields: {
  operation: Operation;
  field: string;
  selection: string;
  check: (edges: any[]) => Promise<void> | void;
}[] = [
  {
    operation: 'readMembers',
    field: 'members',
    selection: '{ edges { node { role user { id } space { id } } } }',
    // Oldest first: the founder's membership leads.
    check: (edges) => expect(edges[0]).toEqual({ node: { role: 'OWNER', user: { id: owner.id }, space: null } }),
  },
  {
    operation: 'readOrganizationApiTokens',
    field: 'apiTokens',
    selection: '(filter: { nameContains: "FIXTURE" }) { edges { node { id } } }',
    check: (edges) => expect(edges).toEqual([{ node: { id: fixtureTokenId } }]),
  },
  {
    operation: 'manageWebhooks',
    field: 'webhooks',
    selection: '{ edges { node { id url } } }',
    check: async (edges) => {
      const webhooks = await t.prisma.webhook.findMany({ where: { organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      expect(edges).toEqual(webhooks.map((w) => ({ node: { id: w.id, url: w.url } })));
    },
  },
  {
    operation: 'readAuditEvents',
    field: 'auditEvents',
    selection: '(first: 1) { edges { node { id action } } }',
    check: async (edges) => {
      const newest = await t.prisma.auditEvent.findFirst({ where: { organizationId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      expect(edges).toEqual([{ node: { id: newest!.id, action: newest!.action } }]);
    },
  },
];

for (const { operation, field, selection, check } of ownerOnlyFields) {
  requiresRole(app, ALL, {
    operation,
    at: 'organization',
    label: `Organization.${field}`,
    target: async () => ({ place: home }),
    run: (_t, _target, token) => gql(`query($id: ID!) { organization(id: $id) { id ${field}${selection} } }`, { id: organizationId }, token),
    succeeded: async (_t, _target, { body }) => {
      expect(body.data.organization.id).toBe(organizationId);
      await check(body.data.organization[field].edges);
    },
    // The field fails FORBIDDEN; by null propagation the organization reads null.
    refused: (_t, _target, { body }) => {
      expect(body.data).toEqual({ organization: null });
      expect(body.errors![0].path).toEqual(['organization', field]);
    },
  });
}

// ---- scope types that cannot hold a role where it counts -------------------------------------

describe('a BOARDS-scoped token', () => {
  let secret: string;
  beforeAll(async () => {
    // OWNER, and covering every board of the space: still not the space.
    const boards = await t.prisma.board.findMany({ where: { spaceId: home.spaceId }, select: { id: true } });
    secret = (await mintToken(t, owner.token, { kind: 'SERVICE', role: 'OWNER', boardIds: boards.map((b) => b.id) })).secret;
  });

  test.each([
    ['createBoard', `mutation($s: ID!) { createBoard(input: { spaceId: $s, name: "Sneaky" }) { id } }`],
    ['updateSpace', `mutation($s: ID!) { updateSpace(input: { id: $s, name: "Sneaky" }) { id } }`],
    ['deleteSpace', `mutation($s: ID!) { deleteSpace(id: $s) }`],
    ['addMember', `mutation($s: ID!, $o: ID!) { addMember(input: { organizationId: $o, spaceId: $s, email: "x@example.com", role: VIEWER }) { role } }`],
  ])('cannot %s even as OWNER of every board of the space (FORBIDDEN)', async (_name, mutation) => {
    const before = await dbFingerprint(t);
    expectRefused(await gql(mutation, { s: home.spaceId, ...(mutation.includes('$o') && { o: organizationId }) }, secret), 'FORBIDDEN');
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test('can still change its boards', async () => {
    const response = await gql(`mutation($b: ID!) { updateBoard(input: { id: $b, name: "Mine" }) { name } }`, { b: home.boardId }, secret);
    expect(dataOf(response).updateBoard.name).toBe('Mine');
  });
});

describe('a SPACE-scoped OWNER token', () => {
  let secret: string;
  beforeAll(async () => {
    secret = (await mintToken(t, owner.token, { kind: 'SERVICE', role: 'OWNER', spaceId: home.spaceId })).secret;
  });

  test('cannot createSpace in its organization (FORBIDDEN)', async () => {
    const before = await dbFingerprint(t);
    expectRefused(
      await gql(`mutation($o: ID!) { createSpace(input: { organizationId: $o, name: "Sneaky" }) { id } }`, { o: organizationId }, secret),
      'FORBIDDEN',
    );
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test.each([
    ['updateSpace', `mutation($id: ID!) { updateSpace(input: { id: $id, name: "Sneaky" }) { id } }`, 'spaceId'],
    ['deleteSpace', `mutation($id: ID!) { deleteSpace(id: $id) }`, 'spaceId'],
    ['createBoard', `mutation($id: ID!) { createBoard(input: { spaceId: $id, name: "Sneaky" }) { id } }`, 'spaceId'],
    ['updateBoard', `mutation($id: ID!) { updateBoard(input: { id: $id, name: "Sneaky" }) { id } }`, 'boardId'],
    ['deleteBoard', `mutation($id: ID!) { deleteBoard(id: $id) }`, 'boardId'],
    ['createItem', `mutation($id: ID!) { createItem(input: { boardId: $id, name: "Sneaky" }) { id } }`, 'boardId'],
    ['updateItem', `mutation($id: ID!) { updateItem(input: { id: $id, name: "Sneaky" }) { id } }`, 'itemId'],
    ['deleteItem', `mutation($id: ID!) { deleteItem(id: $id) }`, 'itemId'],
    ['postItemUpdate', `mutation($id: ID!) { postItemUpdate(input: { itemId: $id, body: "Sneaky" }) { id } }`, 'itemId'],
  ] as const)('cannot %s in another space of its organization (NOT_FOUND)', async (_name, mutation, which) => {
    const before = await dbFingerprint(t);
    expectRefused(await gql(mutation, { id: elsewhere[which] }, secret), 'NOT_FOUND');
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test.each([
    ['addMember', `mutation($o: ID!, $s: ID!, $e: String!) { addMember(input: { organizationId: $o, spaceId: $s, email: $e, role: VIEWER }) { role } }`],
    ['removeMember', `mutation($o: ID!, $s: ID!, $u: ID!) { removeMember(input: { organizationId: $o, spaceId: $s, userId: $u }) }`],
  ])('cannot %s for another space of its organization (NOT_FOUND)', async (_name, mutation) => {
    await addMember(t, owner.token, { organizationId, email: victim.email, role: 'VIEWER', spaceId: elsewhere.spaceId });
    const before = await dbFingerprint(t);
    const variables = { o: organizationId, s: elsewhere.spaceId, e: victim.email, u: victim.id };
    const used = Object.fromEntries(Object.entries(variables).filter(([k]) => mutation.includes(`$${k}:`)));
    expectRefused(await gql(mutation, used, secret), 'NOT_FOUND');
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test.each([
    ['addMember', `mutation($o: ID!, $e: String!) { addMember(input: { organizationId: $o, email: $e, role: VIEWER }) { role } }`],
    ['removeMember', `mutation($o: ID!, $u: ID!) { removeMember(input: { organizationId: $o, userId: $u }) }`],
  ])('cannot %s organization-wide (FORBIDDEN)', async (_name, mutation) => {
    await addMember(t, owner.token, { organizationId, email: victim.email, role: 'VIEWER' });
    const before = await dbFingerprint(t);
    const variables = { o: organizationId, e: victim.email, u: victim.id };
    const used = Object.fromEntries(Object.entries(variables).filter(([k]) => mutation.includes(`$${k}:`)));
    expectRefused(await gql(mutation, used, secret), 'FORBIDDEN');
    expect(await dbFingerprint(t)).toEqual(before);
  });
});

// ---- deleteSpace below the organization ------------------------------------------------------

describe('deleteSpace', () => {
  test('works for an OWNER of that space who is only a VIEWER of the organization', async () => {
    const { spaceId } = await freshSpace();
    const spaceOwner = await signUp(t, 'Space owner');
    await addMember(t, owner.token, { organizationId, email: spaceOwner.email, role: 'VIEWER' });
    await addMember(t, owner.token, { organizationId, email: spaceOwner.email, role: 'OWNER', spaceId });
    expect(dataOf(await gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: spaceId }, spaceOwner.token)).deleteSpace).toBe(spaceId);
    expect(await t.prisma.space.findUnique({ where: { id: spaceId } })).toBeNull();
  });

  test('works for an OWNER token scoped to that space, which goes with it', async () => {
    const { spaceId, place } = await freshSpace();
    const minted = await mintToken(t, owner.token, { kind: 'SERVICE', role: 'OWNER', ...scopeInput('SPACE', place) });
    expect(dataOf(await gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: spaceId }, minted.secret)).deleteSpace).toBe(spaceId);
    expect(await t.prisma.space.findUnique({ where: { id: spaceId } })).toBeNull();
    expect(await t.prisma.apiToken.findUnique({ where: { id: minted.id } })).toBeNull();
  });

  test('is refused to an OWNER token scoped to another space (NOT_FOUND)', async () => {
    const { spaceId } = await freshSpace();
    const minted = await mintToken(t, owner.token, { kind: 'SERVICE', role: 'OWNER', spaceId: home.spaceId });
    const before = await dbFingerprint(t);
    expectRefused(await gql(`mutation($id: ID!) { deleteSpace(id: $id) }`, { id: spaceId }, minted.secret), 'NOT_FOUND');
    expect(await dbFingerprint(t)).toEqual(before);
  });
});

// ---- createOrganization: users only -----------------------------------------------------------

describe('createOrganization', () => {
  const create = (token: string) => gql(`mutation { createOrganization(input: { name: "Spinoff" }) { id name viewerRole } }`, {}, token);

  test('is allowed for a session, whose user becomes its OWNER', async () => {
    const founder = await signUp(t, 'Founder');
    const { createOrganization: org } = dataOf(await create(founder.token));
    expect(org).toMatchObject({ name: 'Spinoff', viewerRole: 'OWNER' });
    expect(await t.prisma.membership.findMany({ where: { organizationId: org.id } })).toEqual([
      expect.objectContaining({ userId: founder.id, role: 'OWNER', spaceId: null }),
    ]);
  });

  test('is allowed for an uncapped, unscoped PERSONAL token', async () => {
    const minted = await mintToken(t, owner.token, { kind: 'PERSONAL' });
    const { createOrganization: org } = dataOf(await create(minted.secret));
    expect(await t.prisma.membership.findFirst({ where: { organizationId: org.id } })).toMatchObject({ userId: owner.id, role: 'OWNER' });
  });

  test.each(['VIEWER', 'AGENT', 'EDITOR', 'OWNER'] as const)('is refused for a SERVICE token (%s, whole organization): FORBIDDEN', async (role) => {
    const minted = await mintToken(t, owner.token, { kind: 'SERVICE', role, organizationId });
    const before = await dbFingerprint(t);
    expectRefused(await create(minted.secret), 'FORBIDDEN');
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test.each([
    ['capped at EDITOR', () => ({ role: 'EDITOR' })],
    ['scoped to its organization', () => ({ organizationId })],
  ])('is refused for a PERSONAL token %s: FORBIDDEN', async (_name, input) => {
    const minted = await mintToken(t, owner.token, { kind: 'PERSONAL', ...input() });
    const before = await dbFingerprint(t);
    expectRefused(await create(minted.secret), 'FORBIDDEN');
    expect(await dbFingerprint(t)).toEqual(before);
  });
});
