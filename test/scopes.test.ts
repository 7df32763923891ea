// Reach, per roles-and-tokens.md "What a request may do": outside what a request may read,
// things do not exist for it (null from top-level fields, absent from connections, NOT_FOUND
// as mutation targets, nothing changed); BOARDS-scoped tokens see their space and
// organization as parents only; SERVICE tokens keep their rights whatever happens to their
// creator, PERSONAL tokens and sessions follow the user's memberships on the next request.
import { addMember, buildWorld, mintToken, signUp, type TestUser, type World } from './helpers/factories';
import { dbFingerprint, expectRefused } from './helpers/requiresRole';
import { dataOf, type GraphQLResponse, type TestApp, startTestApp } from './helpers/testApp';

let t: TestApp;
let w: World;
/** OWNER of space A only. */
let spaceMember: TestUser;
/** A VIEWER of space B and of the other organization's space: someone to try to remove. */
let bystander: TestUser;

const CALLERS = [
  'SERVICE token, scope ORGANIZATION',
  'SERVICE token, scope SPACE A',
  'SERVICE token, scope BOARDS [A1]',
  'PERSONAL token of the owner, scope SPACE A',
  'PERSONAL token of the owner, scope BOARDS [A1]',
  'PERSONAL token of the owner, scope BOARDS [A1], capped at VIEWER',
  'user with an OWNER membership of space A only',
  'owner of the other organization',
] as const;
type Caller = (typeof CALLERS)[number];

/** Bearer tokens of the callers. */
const callers = {} as Record<Caller, string>;

beforeAll(async () => {
  t = await startTestApp();
  w = await buildWorld(t);
  spaceMember = await signUp(t, 'Space member');
  bystander = await signUp(t, 'Bystander');
  await addMember(t, w.owner.token, { organizationId: w.organizationId, email: spaceMember.email, role: 'OWNER', spaceId: w.spaceA });
  await addMember(t, w.owner.token, { organizationId: w.organizationId, email: bystander.email, role: 'VIEWER', spaceId: w.spaceB });
  await addMember(t, w.stranger.token, { organizationId: w.otherOrganizationId, email: bystander.email, role: 'VIEWER', spaceId: w.otherSpace });
  // OWNER wherever they reach, so that every refusal below is about reach, never about role.
  const service = (scope: Record<string, unknown>) => mintToken(t, w.owner.token, { kind: 'SERVICE', role: 'OWNER', ...scope });
  const personal = (scope: Record<string, unknown>) => mintToken(t, w.owner.token, { kind: 'PERSONAL', ...scope });
  Object.assign(callers, {
    'SERVICE token, scope ORGANIZATION': (await service({ organizationId: w.organizationId })).secret,
    'SERVICE token, scope SPACE A': (await service({ spaceId: w.spaceA })).secret,
    'SERVICE token, scope BOARDS [A1]': (await service({ boardIds: [w.boardA1] })).secret,
    'PERSONAL token of the owner, scope SPACE A': (await personal({ spaceId: w.spaceA })).secret,
    'PERSONAL token of the owner, scope BOARDS [A1]': (await personal({ boardIds: [w.boardA1] })).secret,
    'PERSONAL token of the owner, scope BOARDS [A1], capped at VIEWER': (await personal({ boardIds: [w.boardA1], role: 'VIEWER' })).secret,
    'user with an OWNER membership of space A only': spaceMember.token,
    'owner of the other organization': w.stranger.token,
  } satisfies Record<Caller, string>);
});

afterAll(async () => {
  await t?.close();
});

// ---- the world and what each caller reaches --------------------------------------------------

const THINGS = ['organization', 'spaceA', 'spaceB', 'boardA1', 'boardA2', 'boardB1', 'itemA1', 'itemA2', 'itemB1',
  'otherOrganization', 'otherSpace', 'otherBoard', 'otherItem'] as const;
type Thing = (typeof THINGS)[number];
type Kind = 'organization' | 'space' | 'board' | 'item';

const kindOf = (thing: Thing): Kind =>
  /item/i.test(thing) ? 'item' : /board/i.test(thing) ? 'board' : /space/i.test(thing) ? 'space' : 'organization';

function idOf(thing: Thing): string {
  const ids: Record<Thing, string> = {
    organization: w.organizationId, spaceA: w.spaceA, spaceB: w.spaceB,
    boardA1: w.boardA1, boardA2: w.boardA2, boardB1: w.boardB1, itemA1: w.itemA1, itemA2: w.itemA2, itemB1: w.itemB1,
    otherOrganization: w.otherOrganizationId, otherSpace: w.otherSpace, otherBoard: w.otherBoard, otherItem: w.otherItem,
  };
  return ids[thing];
}

/** The organization a thing belongs to. */
const organizationOf = (thing: Thing) => (thing.startsWith('other') ? w.otherOrganizationId : w.organizationId);

/** What a caller may read (its own things and their parents), as the nested tree its connections show. */
type Tree = Record<string, Record<string, Record<string, string[]>>>;

function reachOf(caller: Caller): { things: Thing[]; tree: () => Tree } {
  const spaceAWhole = () => ({ [w.boardA1]: [w.itemA1], [w.boardA2]: [w.itemA2] });
  switch (caller) {
    case 'SERVICE token, scope ORGANIZATION':
      return {
        things: ['organization', 'spaceA', 'spaceB', 'boardA1', 'boardA2', 'boardB1', 'itemA1', 'itemA2', 'itemB1'],
        tree: () => ({ [w.organizationId]: { [w.spaceA]: spaceAWhole(), [w.spaceB]: { [w.boardB1]: [w.itemB1] } } }),
      };
    case 'SERVICE token, scope SPACE A':
    case 'PERSONAL token of the owner, scope SPACE A':
    case 'user with an OWNER membership of space A only':
      return {
        things: ['organization', 'spaceA', 'boardA1', 'boardA2', 'itemA1', 'itemA2'],
        tree: () => ({ [w.organizationId]: { [w.spaceA]: spaceAWhole() } }),
      };
    case 'SERVICE token, scope BOARDS [A1]':
    case 'PERSONAL token of the owner, scope BOARDS [A1]':
    case 'PERSONAL token of the owner, scope BOARDS [A1], capped at VIEWER':
      return {
        things: ['organization', 'spaceA', 'boardA1', 'itemA1'],
        tree: () => ({ [w.organizationId]: { [w.spaceA]: { [w.boardA1]: [w.itemA1] } } }),
      };
    case 'owner of the other organization':
      return {
        things: ['otherOrganization', 'otherSpace', 'otherBoard', 'otherItem'],
        tree: () => ({ [w.otherOrganizationId]: { [w.otherSpace]: { [w.otherBoard]: [w.otherItem] } } }),
      };
  }
}

const ITEMS = 'items { edges { node { id } } }';
const BOARDS = `boards { edges { node { id ${ITEMS} } } }`;
const SPACES = `spaces { edges { node { id ${BOARDS} } } }`;

/** The { organization: { space: { board: [items] } } } tree of an organization connection. */
function treeOf(organizations: { edges: { node: any }[] }): Tree {
  const byId = (connection: any, inner: (node: any) => any) =>
    Object.fromEntries(connection.edges.map((edge: any) => [edge.node.id, inner(edge.node)]));
  return byId(organizations, (o) => byId(o.spaces, (s) => byId(s.boards, (b) => b.items.edges.map((e: any) => e.node.id))));
}

const one = (organization: any) => treeOf({ edges: [{ node: organization }] });

function expectNoErrors(response: GraphQLResponse) {
  expect({ status: response.status, errors: response.body.errors ?? [] }).toEqual({ status: 200, errors: [] });
}

// ---- reads: top-level fields, connections, nested fields --------------------------------------

describe.each(CALLERS)('%s', (caller) => {
  test('top-level organization/space/board/item: its things (and their parents); null for all others', async () => {
    const fields = THINGS.map((thing) => `${thing}: ${kindOf(thing)}(id: "${idOf(thing)}") { id }`).join('\n');
    const response = await t.gql(`{ ${fields} }`, {}, callers[caller]);
    expectNoErrors(response);
    const { things } = reachOf(caller);
    expect(response.body.data).toEqual(Object.fromEntries(THINGS.map((thing) => [thing, things.includes(thing) ? { id: idOf(thing) } : null])));
  });

  test('connections, from organizations down to items, list exactly what it reaches', async () => {
    const response = await t.gql(`{ organizations { edges { node { id ${SPACES} } } } }`, {}, callers[caller]);
    expectNoErrors(response);
    expect(treeOf(response.body.data.organizations)).toEqual(reachOf(caller).tree());
  });

  test('every way up and down again (item.board.space.organization.spaces...) lists only what it reaches', async () => {
    const tree = reachOf(caller).tree();
    const [organizationId] = Object.keys(tree);
    const [spaceId] = Object.keys(tree[organizationId]);
    const [boardId] = Object.keys(tree[organizationId][spaceId]);
    const [itemId] = tree[organizationId][spaceId][boardId];
    const response = await t.gql(
      `query($o: ID!, $s: ID!, $b: ID!, $i: ID!) {
        organization(id: $o) { id ${SPACES} }
        space(id: $s) { organization { id ${SPACES} } }
        board(id: $b) { space { organization { id ${SPACES} } } }
        item(id: $i) { board { space { organization { id ${SPACES} } } } }
      }`,
      { o: organizationId, s: spaceId, b: boardId, i: itemId },
      callers[caller],
    );
    expectNoErrors(response);
    const { data } = response.body;
    const expected = { [organizationId]: tree[organizationId] };
    expect(one(data.organization)).toEqual(expected);
    expect(one(data.space.organization)).toEqual(expected);
    expect(one(data.board.space.organization)).toEqual(expected);
    expect(one(data.item.board.space.organization)).toEqual(expected);
  });
});

// ---- BOARDS-scoped tokens: parents only ------------------------------------------------------

describe.each([
  'SERVICE token, scope BOARDS [A1]',
  'PERSONAL token of the owner, scope BOARDS [A1]',
] as const)('%s', (caller) => {
  test('sees its space and organization as parents, with viewerRole null there', async () => {
    const response = await t.gql(
      `query($o: ID!, $s: ID!, $b: ID!) {
        organization(id: $o) { id name viewerRole }
        space(id: $s) { id name viewerRole organization { id viewerRole } }
        board(id: $b) { id space { id viewerRole organization { id viewerRole } } }
        organizations { edges { node { id viewerRole } } }
      }`,
      { o: w.organizationId, s: w.spaceA, b: w.boardA1 },
      callers[caller],
    );
    expectNoErrors(response);
    expect(response.body.data).toEqual({
      organization: { id: w.organizationId, name: 'Acme', viewerRole: null },
      space: { id: w.spaceA, name: 'Space A', viewerRole: null, organization: { id: w.organizationId, viewerRole: null } },
      board: { id: w.boardA1, space: { id: w.spaceA, viewerRole: null, organization: { id: w.organizationId, viewerRole: null } } },
      organizations: { edges: [{ node: { id: w.organizationId, viewerRole: null } }] },
    });
  });

  test('viewer.apiToken shows only the boards, space and organization it reaches', async () => {
    const response = await t.gql(
      `{ viewer { apiToken { scopeType boards { id } space { id ${BOARDS} } organization { id ${SPACES} } } } }`,
      {},
      callers[caller],
    );
    expectNoErrors(response);
    const token = response.body.data.viewer.apiToken;
    expect(token.scopeType).toBe('BOARDS');
    expect(token.boards).toEqual([{ id: w.boardA1 }]);
    expect(one({ id: w.organizationId, spaces: { edges: [{ node: token.space }] } })).toEqual(reachOf(caller).tree());
    expect(one(token.organization)).toEqual(reachOf(caller).tree());
  });
});

test('viewerRole is the role over the whole space or organization, else null', async () => {
  const roles = async (caller: Caller) => {
    const { data } = (await t.gql(
      `query($o: ID!, $s: ID!) { organization(id: $o) { viewerRole } space(id: $s) { viewerRole } }`,
      { o: w.organizationId, s: w.spaceA },
      callers[caller],
    )).body;
    return [data.organization.viewerRole, data.space.viewerRole];
  };
  expect(await roles('SERVICE token, scope ORGANIZATION')).toEqual(['OWNER', 'OWNER']);
  expect(await roles('SERVICE token, scope SPACE A')).toEqual([null, 'OWNER']);
  expect(await roles('user with an OWNER membership of space A only')).toEqual([null, 'OWNER']);
});

// ---- mutations on things out of reach: NOT_FOUND, nothing changed ----------------------------

/** Every mutation whose target is an organization, a space, a board or an item, by the target's kind. */
const MUTATIONS: Record<Kind, { name: string; query: string; variables: (thing: Thing) => Record<string, unknown> }[]> = {
  item: [
    { name: 'updateItem', query: `mutation($id: ID!) { updateItem(input: { id: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'deleteItem', query: `mutation($id: ID!) { deleteItem(id: $id) }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'postItemUpdate', query: `mutation($id: ID!) { postItemUpdate(input: { itemId: $id, body: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
  ],
  board: [
    { name: 'createItem', query: `mutation($id: ID!) { createItem(input: { boardId: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'updateBoard', query: `mutation($id: ID!) { updateBoard(input: { id: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'deleteBoard', query: `mutation($id: ID!) { deleteBoard(id: $id) }`, variables: (x) => ({ id: idOf(x) }) },
  ],
  space: [
    { name: 'createBoard', query: `mutation($id: ID!) { createBoard(input: { spaceId: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'updateSpace', query: `mutation($id: ID!) { updateSpace(input: { id: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    { name: 'deleteSpace', query: `mutation($id: ID!) { deleteSpace(id: $id) }`, variables: (x) => ({ id: idOf(x) }) },
    {
      name: 'addMember (space)',
      query: `mutation($o: ID!, $id: ID!, $e: String!) { addMember(input: { organizationId: $o, spaceId: $id, email: $e, role: OWNER }) { role } }`,
      variables: (x) => ({ o: organizationOf(x), id: idOf(x), e: spaceMember.email }),
    },
    {
      name: 'removeMember (space)',
      query: `mutation($o: ID!, $id: ID!, $u: ID!) { removeMember(input: { organizationId: $o, spaceId: $id, userId: $u }) }`,
      // Someone who really is a member there: spaceMember of A, bystander of B and of the other space.
      variables: (x) => ({ o: organizationOf(x), id: idOf(x), u: x === 'spaceA' ? spaceMember.id : bystander.id }),
    },
  ],
  organization: [
    { name: 'createSpace', query: `mutation($id: ID!) { createSpace(input: { organizationId: $id, name: "Mine" }) { id } }`, variables: (x) => ({ id: idOf(x) }) },
    {
      name: 'addMember (organization)',
      query: `mutation($id: ID!, $e: String!) { addMember(input: { organizationId: $id, email: $e, role: OWNER }) { role } }`,
      variables: (x) => ({ id: idOf(x), e: bystander.email }),
    },
    {
      name: 'removeMember (organization)',
      query: `mutation($id: ID!, $u: ID!) { removeMember(input: { organizationId: $id, userId: $u }) }`,
      variables: (x) => ({ id: idOf(x), u: x === 'organization' ? w.owner.id : w.stranger.id }),
    },
  ],
};

const outOfReach = CALLERS.flatMap((caller) =>
  THINGS.filter((thing) => !reachOf(caller).things.includes(thing)).flatMap((thing) =>
    MUTATIONS[kindOf(thing)].map((mutation) => ({ caller, thing, mutation })),
  ),
);

test.each(outOfReach.map((c) => [c.caller, c.mutation.name, c.thing, c] as const))(
  '%s: %s on %s (out of reach) is NOT_FOUND and changes nothing',
  async (caller, _name, thing, { mutation }) => {
    const before = await dbFingerprint(t);
    expectRefused(await t.gql(mutation.query, mutation.variables(thing), callers[caller]), 'NOT_FOUND');
    expect(await dbFingerprint(t)).toEqual(before);
  },
);

// ---- malformed and unknown ids ------------------------------------------------------------------

describe('malformed and unknown ids', () => {
  const odd = ['', 'nope', 'x'.repeat(5000), "' OR '1'='1", '%', '../..', 'ünïcödé', '\u0000', '   '];

  test.each(odd.map((id) => [JSON.stringify(id.length > 20 ? `${id.slice(0, 20)}…` : id), id]))(
    'read as null from every top-level field: %s',
    async (_shown, id) => {
      const response = await t.gql(
        `query($id: ID!) { organization(id: $id) { id } space(id: $id) { id } board(id: $id) { id } item(id: $id) { id name board { id } } }`,
        { id },
        w.owner.token,
      );
      expectNoErrors(response);
      expect(response.body.data).toEqual({ organization: null, space: null, board: null, item: null });
    },
  );

  test('an id of another kind of thing reads as null', async () => {
    const response = await t.gql(
      `query($o: ID!, $s: ID!, $b: ID!, $i: ID!) { organization(id: $i) { id } space(id: $o) { id } board(id: $s) { id } item(id: $b) { id } }`,
      { o: w.organizationId, s: w.spaceA, b: w.boardA1, i: w.itemA1 },
      w.owner.token,
    );
    expectNoErrors(response);
    expect(response.body.data).toEqual({ organization: null, space: null, board: null, item: null });
  });

  test('an integer id literal reads as null', async () => {
    const response = await t.gql(`{ organization(id: 42) { id } space(id: 42) { id } board(id: 42) { id } item(id: 42) { id } }`, {}, w.owner.token);
    expectNoErrors(response);
    expect(response.body.data).toEqual({ organization: null, space: null, board: null, item: null });
  });

  const everyMutation = (['item', 'board', 'space', 'organization'] as const).flatMap((kind) =>
    MUTATIONS[kind].map((m) => [m.name, kind, m] as const),
  );
  const known: Record<Kind, Thing> = { item: 'itemA1', board: 'boardA1', space: 'spaceA', organization: 'organization' };

  test.each(everyMutation)('%s on an unknown %s id is NOT_FOUND and changes nothing', async (_name, kind, mutation) => {
    const variables = { ...mutation.variables(known[kind]), id: `unknown-${kind}` };
    const before = await dbFingerprint(t);
    expectRefused(await t.gql(mutation.query, variables, w.owner.token), 'NOT_FOUND');
    expect(await dbFingerprint(t)).toEqual(before);
  });

  test.each(everyMutation.flatMap(([name, kind, m]) => [
    [name, kind, '""', '', m],
    [name, kind, 'NUL', '\u0000', m],
  ] as const))('%s on an invalid %s id (%s) is BAD_USER_INPUT and changes nothing', async (_name, kind, _shown, id, mutation) => {
    const variables = { ...mutation.variables(known[kind]), id };
    const before = await dbFingerprint(t);
    expectRefused(await t.gql(mutation.query, variables, w.owner.token), 'BAD_USER_INPUT');
    expect(await dbFingerprint(t)).toEqual(before);
  });
});

// ---- who a token acts for, over time ---------------------------------------------------------

const CREATE_ITEM = `mutation($b: ID!) { createItem(input: { boardId: $b, name: "Probe" }) { id } }`;
const UPDATE_ITEM = `mutation($i: ID!) { updateItem(input: { id: $i, status: "probed" }) { id } }`;
const CREATE_BOARD = `mutation($s: ID!) { createBoard(input: { spaceId: $s, name: "Probe" }) { id } }`;
const READ = `query($o: ID!, $i: ID!) { organization(id: $o) { id viewerRole } item(id: $i) { id } organizations { edges { node { id } } } }`;

async function membersRole(user: TestUser, role: 'VIEWER' | 'AGENT' | 'EDITOR' | 'OWNER', spaceId?: string) {
  await addMember(t, w.owner.token, { organizationId: w.organizationId, email: user.email, role, ...(spaceId && { spaceId }) });
}

async function removeMembership(user: TestUser, spaceId?: string) {
  dataOf(
    await t.gql(
      `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`,
      { input: { organizationId: w.organizationId, userId: user.id, ...(spaceId && { spaceId }) } },
      w.owner.token,
    ),
  );
}

const read = async (token: string) => dataOf(await t.gql(READ, { o: w.organizationId, i: w.itemA1 }, token));
const act = (token: string, mutation: string, variables: Record<string, unknown>) => t.gql(mutation, variables, token);

describe('a SERVICE token keeps exactly its role whatever happens to its creator', () => {
  test('creator demoted, then removed from the organization', async () => {
    const creator = await signUp(t, 'Creator');
    await membersRole(creator, 'EDITOR');
    const minted = await mintToken(t, creator.token, { kind: 'SERVICE', role: 'EDITOR', organizationId: w.organizationId });
    const stillEditor = async () => {
      expect((await read(minted.secret)).organization).toEqual({ id: w.organizationId, viewerRole: 'EDITOR' });
      expectNoErrors(await act(minted.secret, CREATE_ITEM, { b: w.boardA1 }));
      expectNoErrors(await act(minted.secret, UPDATE_ITEM, { i: w.itemA1 }));
      expectRefused(await act(minted.secret, `mutation($s: ID!) { deleteSpace(id: $s) }`, { s: w.spaceB }), 'FORBIDDEN');
    };
    await stillEditor();

    await membersRole(creator, 'VIEWER');
    expectRefused(await act(creator.token, CREATE_ITEM, { b: w.boardA1 }), 'FORBIDDEN');
    await stillEditor();

    await removeMembership(creator);
    expect(await read(creator.token)).toEqual({ organization: null, item: null, organizations: { edges: [] } });
    expectRefused(await act(creator.token, CREATE_ITEM, { b: w.boardA1 }), 'NOT_FOUND');
    await stillEditor();
  });
});

describe('a PERSONAL token follows its user’s current memberships, from the very next request', () => {
  test('promote, demote, space membership, remove', async () => {
    const user = await signUp(t, 'Member');
    await membersRole(user, 'VIEWER');
    const uncapped = (await mintToken(t, user.token, { kind: 'PERSONAL' })).secret;
    const cappedAgent = (await mintToken(t, user.token, { kind: 'PERSONAL', role: 'AGENT' })).secret;
    const tokens = [uncapped, user.token];

    // VIEWER: reads, but cannot report.
    for (const token of [...tokens, cappedAgent]) {
      expect((await read(token)).organization).toEqual({ id: w.organizationId, viewerRole: 'VIEWER' });
      expectRefused(await act(token, CREATE_ITEM, { b: w.boardA1 }), 'FORBIDDEN');
    }

    // Promoted to EDITOR: the next request may edit; the AGENT cap still holds.
    await membersRole(user, 'EDITOR');
    for (const token of tokens) {
      expect((await read(token)).organization.viewerRole).toBe('EDITOR');
      expectNoErrors(await act(token, UPDATE_ITEM, { i: w.itemA1 }));
      expectNoErrors(await act(token, CREATE_BOARD, { s: w.spaceA }));
    }
    expect((await read(cappedAgent)).organization.viewerRole).toBe('AGENT');
    expectNoErrors(await act(cappedAgent, CREATE_ITEM, { b: w.boardA1 }));
    expectRefused(await act(cappedAgent, UPDATE_ITEM, { i: w.itemA1 }), 'FORBIDDEN');

    // Promoted to OWNER: the cap still holds.
    await membersRole(user, 'OWNER');
    expect((await read(cappedAgent)).organization.viewerRole).toBe('AGENT');
    expectRefused(await act(cappedAgent, CREATE_BOARD, { s: w.spaceA }), 'FORBIDDEN');

    // Demoted to VIEWER again: refused at once.
    await membersRole(user, 'VIEWER');
    for (const token of [...tokens, cappedAgent]) {
      expect((await read(token)).organization.viewerRole).toBe('VIEWER');
      expectRefused(await act(token, CREATE_ITEM, { b: w.boardA1 }), 'FORBIDDEN');
    }

    // EDITOR of space A (and still VIEWER of the organization): the higher role counts there only.
    await membersRole(user, 'EDITOR', w.spaceA);
    for (const token of tokens) {
      expectNoErrors(await act(token, UPDATE_ITEM, { i: w.itemA1 }));
      expectRefused(await act(token, UPDATE_ITEM, { i: w.itemB1 }), 'FORBIDDEN');
    }

    // Removed from the space, then from the organization: nothing exists for it any more.
    await removeMembership(user, w.spaceA);
    expectRefused(await act(uncapped, UPDATE_ITEM, { i: w.itemA1 }), 'FORBIDDEN');
    await removeMembership(user);
    for (const token of [...tokens, cappedAgent]) {
      expect(await read(token)).toEqual({ organization: null, item: null, organizations: { edges: [] } });
      const before = await dbFingerprint(t);
      expectRefused(await act(token, CREATE_ITEM, { b: w.boardA1 }), 'NOT_FOUND');
      expect(await dbFingerprint(t)).toEqual(before);
    }
    // The token itself still authenticates as its user.
    expect(dataOf(await t.gql(`{ viewer { user { id } } }`, {}, uncapped)).viewer.user).toEqual({ id: user.id });
  });
});
