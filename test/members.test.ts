// Memberships: addMember (organization-wide and per space, changing an existing one's role),
// removeMember, the OWNER-only members connection, effective roles, and the last-OWNER rule.
import { dataOf, errorCodes, startTestApp, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { createBoard, createOrganization, createSpace, mintToken, signUp, type RoleName, type TestUser } from './helpers/factories';

const ADD = `mutation($input: AddMemberInput!) { addMember(input: $input) { role user { id email name } space { id } } }`;
const REMOVE = `mutation($input: RemoveMemberInput!) { removeMember(input: $input) }`;
const MEMBERS = `query($id: ID!) { organization(id: $id) { members(first: 100) { edges { node { role user { id } space { id } } } } } }`;
const ROLES = `query($org: ID!, $a: ID!, $b: ID!) {
  organization(id: $org) { viewerRole spaces { edges { node { id } } } }
  a: space(id: $a) { viewerRole }
  b: space(id: $b) { viewerRole }
}`;

let t: TestApp;
let owner: TestUser;
let organizationId: string;
let spaceA: string;
let spaceB: string;
let otherOrganizationId: string;
let otherSpace: string;
let stranger: TestUser;

beforeAll(async () => {
  t = await startTestApp();
  [owner, stranger] = await Promise.all([signUp(t, 'Olive Owner'), signUp(t, 'Stranger')]);
  organizationId = await createOrganization(t, owner.token, 'Members Inc');
  spaceA = await createSpace(t, owner.token, organizationId, 'Space A');
  spaceB = await createSpace(t, owner.token, organizationId, 'Space B');
  otherOrganizationId = await createOrganization(t, stranger.token, 'Elsewhere');
  otherSpace = await createSpace(t, stranger.token, otherOrganizationId, 'Elsewhere space');
});

afterAll(async () => {
  await t?.close();
});

const add = (token: string, input: { email: string; role: RoleName; spaceId?: string; organizationId?: string }) =>
  t.gql(ADD, { input: { organizationId, ...input } }, token);
const remove = (token: string, input: { userId: string; spaceId?: string; organizationId?: string }) =>
  t.gql(REMOVE, { input: { organizationId, ...input } }, token);

async function addOk(input: { email: string; role: RoleName; spaceId?: string }, token = owner.token) {
  return dataOf(await add(token, input)).addMember;
}

async function roles(user: TestUser | string) {
  const token = typeof user === 'string' ? user : user.token;
  const res = await t.gql(ROLES, { org: organizationId, a: spaceA, b: spaceB }, token);
  expect(res.body.errors).toBeUndefined();
  const d = res.body.data;
  return {
    organization: d.organization && { role: d.organization.viewerRole, spaces: d.organization.spaces.edges.map((e: any) => e.node.id) },
    a: d.a?.viewerRole ?? (d.a ? null : 'invisible'),
    b: d.b?.viewerRole ?? (d.b ? null : 'invisible'),
  };
}

async function members(token = owner.token) {
  return dataOf(await t.gql(MEMBERS, { id: organizationId }, token)).organization.members.edges.map((e: any) => ({
    userId: e.node.user.id,
    role: e.node.role,
    spaceId: e.node.space?.id ?? null,
  }));
}

const membershipsOf = (userId: string) =>
  t.prisma.membership.findMany({ where: { userId, organizationId }, select: { spaceId: true, role: true }, orderBy: { createdAt: 'asc' } });

function expectRefused(res: GraphQLResponse, code: string, message?: RegExp) {
  expect(errorCodes(res)).toEqual([code]);
  if (message) expect(res.body.errors![0].message).toMatch(message);
  expect(res.body.data ?? null).toBeNull();
}

describe('addMember', () => {
  it('adds an organization-wide membership, effective on the user’s next request', async () => {
    const alice = await signUp(t, 'Alice');
    expect(await roles(alice)).toEqual({ organization: null, a: 'invisible', b: 'invisible' });
    const added = await addOk({ email: alice.email, role: 'VIEWER' });
    expect(added).toEqual({ role: 'VIEWER', user: { id: alice.id, email: alice.email, name: 'Alice' }, space: null });
    // The same session, next request: the new rights apply.
    expect(await roles(alice)).toEqual({ organization: { role: 'VIEWER', spaces: [spaceA, spaceB] }, a: 'VIEWER', b: 'VIEWER' });
  });

  it('for someone who already has a membership at that level, changes its role', async () => {
    const ann = await signUp(t, 'Ann');
    await addOk({ email: ann.email, role: 'VIEWER' });
    const changed = await addOk({ email: ann.email, role: 'EDITOR' });
    expect(changed).toMatchObject({ role: 'EDITOR', space: null });
    // Emails compare case-insensitively.
    const again = await addOk({ email: `  ${ann.email.toUpperCase()} `, role: 'AGENT' });
    expect(again).toMatchObject({ role: 'AGENT', user: { id: ann.id } });
    expect(await membershipsOf(ann.id)).toEqual([{ spaceId: null, role: 'AGENT' }]);
    expect((await members()).filter((m: any) => m.userId === ann.id)).toEqual([{ userId: ann.id, role: 'AGENT', spaceId: null }]);
    expect((await roles(ann)).organization.role).toBe('AGENT');
  });

  it('adds a membership of one space: the user reaches that space only', async () => {
    const bob = await signUp(t, 'Bob');
    const added = await addOk({ email: bob.email, role: 'EDITOR', spaceId: spaceA });
    expect(added).toMatchObject({ role: 'EDITOR', user: { id: bob.id }, space: { id: spaceA } });
    // The organization shows as the parent (no role over all of it), with only space A in it.
    expect(await roles(bob)).toEqual({ organization: { role: null, spaces: [spaceA] }, a: 'EDITOR', b: 'invisible' });
    await createBoard(t, bob.token, spaceA, 'Bob’s board');
    expectRefused(await t.gql(`mutation { createBoard(input: { spaceId: "${spaceB}", name: "x" }) { id } }`, {}, bob.token), 'NOT_FOUND');
    // A space membership is changed like an organization-wide one.
    expect(await addOk({ email: bob.email, role: 'VIEWER', spaceId: spaceA })).toMatchObject({ role: 'VIEWER', space: { id: spaceA } });
    expect(await membershipsOf(bob.id)).toEqual([{ spaceId: spaceA, role: 'VIEWER' }]);
  });

  it('the effective role in a space is the higher of the organization-wide and the space membership', async () => {
    const carol = await signUp(t, 'Carol');
    await addOk({ email: carol.email, role: 'VIEWER' });
    await addOk({ email: carol.email, role: 'EDITOR', spaceId: spaceA });
    expect(await roles(carol)).toEqual({ organization: { role: 'VIEWER', spaces: [spaceA, spaceB] }, a: 'EDITOR', b: 'VIEWER' });
    // What the role allows follows: EDITOR work in space A, not in space B.
    await createBoard(t, carol.token, spaceA, 'Carol’s board');
    expectRefused(await t.gql(`mutation { createBoard(input: { spaceId: "${spaceB}", name: "x" }) { id } }`, {}, carol.token), 'FORBIDDEN');
    expect(await membershipsOf(carol.id)).toEqual([
      { spaceId: null, role: 'VIEWER' },
      { spaceId: spaceA, role: 'EDITOR' },
    ]);

    // The other way round: a lower space membership does not lower the organization-wide role.
    await addOk({ email: carol.email, role: 'EDITOR' });
    await addOk({ email: carol.email, role: 'VIEWER', spaceId: spaceA });
    expect(await roles(carol)).toEqual({ organization: { role: 'EDITOR', spaces: [spaceA, spaceB] }, a: 'EDITOR', b: 'EDITOR' });
  });

  it('refuses an unknown email with NOT_FOUND and creates nothing', async () => {
    const count = await t.prisma.membership.count();
    expectRefused(await add(owner.token, { email: 'nobody-here@example.com', role: 'VIEWER' }), 'NOT_FOUND', /user/i);
    expectRefused(await add(owner.token, { email: 'nobody-here@example.com', role: 'VIEWER', spaceId: spaceA }), 'NOT_FOUND');
    expect(await t.prisma.membership.count()).toBe(count);
  });

  it('refuses a space of another organization, and an organization out of reach, with NOT_FOUND', async () => {
    const dan = await signUp(t, 'Dan');
    const count = await t.prisma.membership.count();
    expectRefused(await add(owner.token, { email: dan.email, role: 'VIEWER', spaceId: otherSpace }), 'NOT_FOUND');
    expectRefused(await add(owner.token, { email: dan.email, role: 'VIEWER', organizationId: otherOrganizationId }), 'NOT_FOUND');
    expectRefused(await add(owner.token, { email: dan.email, role: 'VIEWER', spaceId: 'cnosuchspace0000000000000' }), 'NOT_FOUND');
    expect(await t.prisma.membership.count()).toBe(count);
  });

  it('needs OWNER: EDITORs and VIEWERs get FORBIDDEN, strangers NOT_FOUND, and nothing changes', async () => {
    const [editor, viewer, target] = await Promise.all([signUp(t, 'Ed'), signUp(t, 'Vi'), signUp(t, 'Target')]);
    await addOk({ email: editor.email, role: 'EDITOR' });
    await addOk({ email: viewer.email, role: 'VIEWER' });
    const editorToken = (await mintToken(t, owner.token, { role: 'EDITOR', organizationId })).secret;
    const count = await t.prisma.membership.count();
    for (const token of [editor.token, viewer.token, editorToken]) {
      expectRefused(await add(token, { email: target.email, role: 'VIEWER' }), 'FORBIDDEN', /needs the OWNER role/);
      expectRefused(await add(token, { email: target.email, role: 'VIEWER', spaceId: spaceA }), 'FORBIDDEN');
      // Nor may an EDITOR raise themselves.
      expectRefused(await add(token, { email: editor.email, role: 'OWNER' }), 'FORBIDDEN');
    }
    expectRefused(await add(stranger.token, { email: target.email, role: 'VIEWER' }), 'NOT_FOUND');
    expect(await t.prisma.membership.count()).toBe(count);
    expect(await membershipsOf(editor.id)).toEqual([{ spaceId: null, role: 'EDITOR' }]);
  });

  it('a space OWNER manages that space’s members only', async () => {
    const [spaceOwner, newcomer] = await Promise.all([signUp(t, 'Sally Space-Owner'), signUp(t, 'Newcomer')]);
    await addOk({ email: spaceOwner.email, role: 'OWNER', spaceId: spaceA });
    expect(await addOk({ email: newcomer.email, role: 'EDITOR', spaceId: spaceA }, spaceOwner.token)).toMatchObject({ space: { id: spaceA } });
    expectRefused(await add(spaceOwner.token, { email: newcomer.email, role: 'VIEWER' }), 'FORBIDDEN');
    expectRefused(await add(spaceOwner.token, { email: newcomer.email, role: 'VIEWER', spaceId: spaceB }), 'NOT_FOUND');
    expect(dataOf(await remove(spaceOwner.token, { userId: newcomer.id, spaceId: spaceA })).removeMember).toBe(newcomer.id);
    expect(await membershipsOf(newcomer.id)).toEqual([]);
    // members is for organization OWNERs.
    const res = await t.gql(MEMBERS, { id: organizationId }, spaceOwner.token);
    expect(errorCodes(res)).toEqual(['FORBIDDEN']);
  });

  it('an organization-wide OWNER token may manage members', async () => {
    const hire = await signUp(t, 'Hire');
    const ownerToken = (await mintToken(t, owner.token, { name: 'HR', role: 'OWNER', organizationId })).secret;
    expect(await addOk({ email: hire.email, role: 'AGENT' }, ownerToken)).toMatchObject({ role: 'AGENT', user: { id: hire.id } });
    expect(dataOf(await remove(ownerToken, { userId: hire.id })).removeMember).toBe(hire.id);
  });
});

describe('removeMember', () => {
  it('returns the user id; the user loses access on their next request', async () => {
    const erin = await signUp(t, 'Erin');
    await addOk({ email: erin.email, role: 'EDITOR' });
    expect((await roles(erin)).organization.role).toBe('EDITOR');
    const res = await remove(owner.token, { userId: erin.id });
    expect(dataOf(res).removeMember).toBe(erin.id);
    expect(await roles(erin)).toEqual({ organization: null, a: 'invisible', b: 'invisible' });
    expect(await membershipsOf(erin.id)).toEqual([]);
    expect((await members()).map((m: any) => m.userId)).not.toContain(erin.id);
  });

  it('removes the membership at the level named, and leaves the other', async () => {
    const finn = await signUp(t, 'Finn');
    await addOk({ email: finn.email, role: 'VIEWER' });
    await addOk({ email: finn.email, role: 'EDITOR', spaceId: spaceA });
    expect(dataOf(await remove(owner.token, { userId: finn.id, spaceId: spaceA })).removeMember).toBe(finn.id);
    expect(await membershipsOf(finn.id)).toEqual([{ spaceId: null, role: 'VIEWER' }]);
    expect(await roles(finn)).toEqual({ organization: { role: 'VIEWER', spaces: [spaceA, spaceB] }, a: 'VIEWER', b: 'VIEWER' });
  });

  it('refuses an unknown membership with NOT_FOUND and changes nothing', async () => {
    const gail = await signUp(t, 'Gail');
    await addOk({ email: gail.email, role: 'VIEWER', spaceId: spaceA });
    const count = await t.prisma.membership.count();
    expectRefused(await remove(owner.token, { userId: gail.id }), 'NOT_FOUND', /Membership/); // no organization-wide one
    expectRefused(await remove(owner.token, { userId: gail.id, spaceId: spaceB }), 'NOT_FOUND');
    expectRefused(await remove(owner.token, { userId: 'cnosuchuser00000000000000' }), 'NOT_FOUND');
    expectRefused(await remove(owner.token, { userId: stranger.id, organizationId: otherOrganizationId }), 'NOT_FOUND');
    expect(await t.prisma.membership.count()).toBe(count);
  });

  it('needs OWNER, and refuses others without changing anything', async () => {
    const [hank, editor] = await Promise.all([signUp(t, 'Hank'), signUp(t, 'Editor Ivy')]);
    await addOk({ email: hank.email, role: 'VIEWER' });
    await addOk({ email: editor.email, role: 'EDITOR' });
    expectRefused(await remove(editor.token, { userId: hank.id }), 'FORBIDDEN');
    expectRefused(await remove(hank.token, { userId: hank.id }), 'FORBIDDEN');
    expectRefused(await remove(stranger.token, { userId: hank.id }), 'NOT_FOUND');
    expect(await membershipsOf(hank.id)).toEqual([{ spaceId: null, role: 'VIEWER' }]);
  });

  it('a PERSONAL token loses the removed rights; a SERVICE token it minted keeps its own', async () => {
    const jo = await signUp(t, 'Jo');
    await addOk({ email: jo.email, role: 'EDITOR' });
    const personal = await mintToken(t, jo.token, { kind: 'PERSONAL' });
    const service = await mintToken(t, jo.token, { role: 'VIEWER', spaceId: spaceA });
    expect((await roles(personal.secret)).organization.role).toBe('EDITOR');
    dataOf(await remove(owner.token, { userId: jo.id }));
    expect(await roles(personal.secret)).toEqual({ organization: null, a: 'invisible', b: 'invisible' });
    expect(await roles(service.secret)).toEqual({ organization: { role: null, spaces: [spaceA] }, a: 'VIEWER', b: 'invisible' });
  });
});

describe('members', () => {
  it('lists every membership of the organization to an OWNER, with user, role and space', async () => {
    const kim = await signUp(t, 'Kim');
    await addOk({ email: kim.email, role: 'AGENT' });
    await addOk({ email: kim.email, role: 'OWNER', spaceId: spaceB });
    const listed = await members();
    expect(listed[0]).toEqual({ userId: owner.id, role: 'OWNER', spaceId: null }); // oldest first: the creator
    expect(listed).toEqual(expect.arrayContaining([
      { userId: kim.id, role: 'AGENT', spaceId: null },
      { userId: kim.id, role: 'OWNER', spaceId: spaceB },
    ]));
    const rows = await t.prisma.membership.findMany({ where: { organizationId } });
    expect(listed).toHaveLength(rows.length);
    // Nothing of the other organization.
    expect(listed.map((m: any) => m.userId)).not.toContain(stranger.id);
  });

  it('is FORBIDDEN below OWNER (the organization then reads null) and absent outside the organization', async () => {
    const [viewer, editor] = await Promise.all([signUp(t, 'Lee'), signUp(t, 'Max')]);
    await addOk({ email: viewer.email, role: 'VIEWER' });
    await addOk({ email: editor.email, role: 'EDITOR' });
    for (const token of [viewer.token, editor.token]) {
      const res = await t.gql(MEMBERS, { id: organizationId }, token);
      expect(errorCodes(res)).toEqual(['FORBIDDEN']);
      expect(res.body.errors![0].message).toMatch(/needs the OWNER role/); // the error says why
      expect(res.body.data).toEqual({ organization: null });
    }
    const outside = await t.gql(MEMBERS, { id: organizationId }, stranger.token);
    expect({ ...outside.body, extensions: undefined }).toEqual({ data: { organization: null } });
  });
});

describe('the last organization-wide OWNER', () => {
  let org: string;
  let founder: TestUser;

  beforeAll(async () => {
    founder = await signUp(t, 'Founder');
    org = await createOrganization(t, founder.token, 'One owner');
  });

  it('cannot be removed or demoted (BAD_USER_INPUT), and nothing changes', async () => {
    expectRefused(await remove(founder.token, { userId: founder.id, organizationId: org }), 'BAD_USER_INPUT', /at least one organization-wide OWNER/);
    expectRefused(await add(founder.token, { email: founder.email, role: 'EDITOR', organizationId: org }), 'BAD_USER_INPUT', /OWNER/);
    expect(await t.prisma.membership.findMany({ where: { organizationId: org }, select: { userId: true, role: true, spaceId: true } })).toEqual([
      { userId: founder.id, role: 'OWNER', spaceId: null },
    ]);
    // Re-stating OWNER is no demotion.
    expect(dataOf(await add(founder.token, { email: founder.email, role: 'OWNER', organizationId: org })).addMember.role).toBe('OWNER');
  });

  it('a space OWNER does not count, and may itself be removed', async () => {
    const spaceId = await createSpace(t, founder.token, org, 'S');
    const spaceOwner = await signUp(t, 'Space Only');
    dataOf(await add(founder.token, { email: spaceOwner.email, role: 'OWNER', spaceId, organizationId: org }));
    expectRefused(await remove(founder.token, { userId: founder.id, organizationId: org }), 'BAD_USER_INPUT');
    expect(dataOf(await remove(founder.token, { userId: spaceOwner.id, spaceId, organizationId: org })).removeMember).toBe(spaceOwner.id);
  });

  it('with a second OWNER, one of them may step down; then the other is the last', async () => {
    const second = await signUp(t, 'Second');
    dataOf(await add(founder.token, { email: second.email, role: 'OWNER', organizationId: org }));
    expect(dataOf(await add(founder.token, { email: founder.email, role: 'EDITOR', organizationId: org })).addMember.role).toBe('EDITOR');
    expectRefused(await remove(second.token, { userId: second.id, organizationId: org }), 'BAD_USER_INPUT');
    // The founder is an EDITOR now: no longer allowed to manage members.
    expectRefused(await add(founder.token, { email: founder.email, role: 'OWNER', organizationId: org }), 'FORBIDDEN');
    dataOf(await add(second.token, { email: founder.email, role: 'OWNER', organizationId: org }));
    expect(dataOf(await remove(founder.token, { userId: second.id, organizationId: org })).removeMember).toBe(second.id);
  });

  it('two OWNERs removing each other at the same time leave one OWNER', async () => {
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([signUp(t, `Race A${round}`), signUp(t, `Race B${round}`)]);
      const raceOrg = await createOrganization(t, a.token, `Race ${round}`);
      dataOf(await add(a.token, { email: b.email, role: 'OWNER', organizationId: raceOrg }));
      const results = await Promise.all([
        remove(a.token, { userId: b.id, organizationId: raceOrg }),
        remove(b.token, { userId: a.id, organizationId: raceOrg }),
      ]);
      const owners = await t.prisma.membership.count({ where: { organizationId: raceOrg, spaceId: null, role: 'OWNER' } });
      expect(owners).toBe(1);
      // The loser is refused as the last OWNER, or (if it was already removed when its request
      // began) finds the organization out of its reach.
      const outcomes = results.map((r) => errorCodes(r)[0] ?? 'ok');
      expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
      expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(outcomes.find((o) => o !== 'ok'));
    }
  });
});
