// Federation policies in the roles table (src/auth/roles.ts): manageFederationPolicies (create,
// delete: OWNER of the whole scope) and readFederationPolicies (Organization.federationPolicies:
// OWNER of the organization), for every way of holding a role, at every role. Below the
// required role: FORBIDDEN and nothing changed in the database; at or above: done.
import { randomUUID } from 'node:crypto';
import { credentials } from './helpers/credentials';
import { createBoard, createOrganization, createSpace, signUp, type TestUser } from './helpers/factories';
import { type GrantPlace, requiresRole } from './helpers/requiresRole';
import { dataOf, type TestApp, startTestApp } from './helpers/testApp';

let t: TestApp;
let owner: TestUser;
let home: GrantPlace;
let fixturePolicyId: string;

/** A GitLab.com policy (a default issuer: creating one fetches nothing). */
const policyInput = (spaceId: string) => ({
  name: `policy ${randomUUID().slice(0, 8)}`,
  issuer: 'https://gitlab.com',
  audience: 'portcullis',
  subject: 'project_path:acme/app:ref_type:branch:ref:main',
  claims: [{ claim: 'namespace_id', equals: '77' }],
  role: 'VIEWER',
  spaceId,
});
const CREATE = `mutation($input: CreateFederationPolicyInput!) { createFederationPolicy(input: $input) { id name role space { id } } }`;

beforeAll(async () => {
  t = await startTestApp();
  owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token, 'Acme');
  const spaceId = await createSpace(t, owner.token, organizationId, 'Home');
  const boardId = await createBoard(t, owner.token, spaceId, 'Home board');
  home = { organizationId, spaceId, boardIds: [boardId] };
  fixturePolicyId = dataOf(await t.gql(CREATE, { input: policyInput(spaceId) }, owner.token)).createFederationPolicy.id;
});

afterAll(async () => {
  await t?.close();
});

const app = () => t;
const ways = credentials(() => ({ t, owner }));
const ALL = [...ways.service, ...ways.memberships, ...ways.personal];

// Policies are created by users: SERVICE tokens are refused at every role (test/federation.test.ts).
requiresRole(app, [...ways.memberships, ...ways.personal], {
  operation: 'manageFederationPolicies',
  at: 'space',
  label: 'createFederationPolicy',
  target: async () => ({ place: home }),
  run: (_t, { place }, token) => t.gql(CREATE, { input: policyInput(place.spaceId) }, token),
  succeeded: async (_t, { place }, { body }) => {
    const created = body.data.createFederationPolicy;
    expect(created).toMatchObject({ role: 'VIEWER', space: { id: place.spaceId } });
    expect(await t.prisma.federationPolicy.findUnique({ where: { id: created.id } })).toMatchObject({ name: created.name });
  },
});

requiresRole(app, ALL, {
  operation: 'manageFederationPolicies',
  at: 'space',
  label: 'deleteFederationPolicy',
  target: async () => ({ place: home, id: dataOf(await t.gql(CREATE, { input: policyInput(home.spaceId) }, owner.token)).createFederationPolicy.id as string }),
  run: (_t, { id }, token) => t.gql(`mutation($id: ID!) { deleteFederationPolicy(id: $id) }`, { id }, token),
  succeeded: async (_t, { id }, { body }) => {
    expect(body.data.deleteFederationPolicy).toBe(id);
    expect(await t.prisma.federationPolicy.findUnique({ where: { id } })).toBeNull();
  },
});

requiresRole(app, ALL, {
  operation: 'readFederationPolicies',
  at: 'organization',
  label: 'Organization.federationPolicies',
  target: async () => ({ place: home }),
  run: (_t, { place }, token) =>
    t.gql(`query($id: ID!) { organization(id: $id) { id federationPolicies { edges { node { id } } } } }`, { id: place.organizationId }, token),
  succeeded: (_t, _target, { body }) => {
    expect(body.data.organization.federationPolicies.edges).toContainEqual({ node: { id: fixturePolicyId } });
  },
  // The field fails FORBIDDEN; by null propagation the organization reads null.
  refused: (_t, _target, { body }) => {
    expect(body.data).toEqual({ organization: null });
    expect(body.errors![0].path).toEqual(['organization', 'federationPolicies']);
  },
});
