// Small factories that build test data through the real API.
import { randomUUID } from 'node:crypto';
import { dataOf, type TestApp } from './testApp';

export type RoleName = 'VIEWER' | 'AGENT' | 'EDITOR' | 'OWNER';
export const ROLE_NAMES: RoleName[] = ['VIEWER', 'AGENT', 'EDITOR', 'OWNER'];

export interface TestUser {
  id: string;
  email: string;
  name: string;
  password: string;
  token: string;
}

/**
 * Each test user's id and session, by email: addMember below accepts the invitation as the
 * invitee when it knows them (an addMember for someone new to the organization is pending).
 */
const signedUp = new Map<string, { id: string; email: string; name: string; token: string }>();

export async function signUp(t: TestApp, name = 'User'): Promise<TestUser> {
  const email = `${name.toLowerCase().replace(/\W+/g, '-')}-${randomUUID().slice(0, 8)}@example.com`;
  const password = `pw-${randomUUID()}`;
  const data = dataOf(
    await t.gql(
      `mutation($input: SignUpInput!) { signUp(input: $input) { token user { id email name } } }`,
      { input: { email, password, name } },
    ),
  );
  signedUp.set(email.toLowerCase(), { ...data.signUp.user, token: data.signUp.token });
  return { ...data.signUp.user, password, token: data.signUp.token };
}

export async function createOrganization(t: TestApp, token: string, name = 'Org'): Promise<string> {
  const data = dataOf(
    await t.gql(`mutation($name: String!) { createOrganization(input: { name: $name }) { id } }`, { name }, token),
  );
  return data.createOrganization.id;
}

export async function createSpace(t: TestApp, token: string, organizationId: string, name = 'Space'): Promise<string> {
  const data = dataOf(
    await t.gql(
      `mutation($input: CreateSpaceInput!) { createSpace(input: $input) { id } }`,
      { input: { organizationId, name } },
      token,
    ),
  );
  return data.createSpace.id;
}

export async function createBoard(t: TestApp, token: string, spaceId: string, name = 'Board'): Promise<string> {
  const data = dataOf(
    await t.gql(`mutation($input: CreateBoardInput!) { createBoard(input: $input) { id } }`, { input: { spaceId, name } }, token),
  );
  return data.createBoard.id;
}

export async function createItem(t: TestApp, token: string, boardId: string, name = 'Item', status?: string): Promise<string> {
  const data = dataOf(
    await t.gql(
      `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`,
      { input: { boardId, name, status } },
      token,
    ),
  );
  return data.createItem.id;
}

export const ACCEPT_INVITATION = `mutation($id: ID!) { acceptInvitation(organizationId: $id) { id } }`;

/**
 * The invitee (a user signed up above, by email) accepts their invitations to the
 * organization; returns the user, or null when the email is not one of theirs.
 */
export async function acceptInvitationAs(t: TestApp, email: string, organizationId: string) {
  const invitee = signedUp.get(email.trim().toLowerCase());
  if (!invitee) return null;
  dataOf(await t.gql(ACCEPT_INVITATION, { id: organizationId }, invitee.token));
  return { id: invitee.id, email: invitee.email, name: invitee.name };
}

/**
 * addMember as an OWNER; when the membership is pending (the invitee is new to the
 * organization) and the invitee is a user signed up above, they accept it at once, so the
 * membership is in effect as the test expects. Returns the membership as then seen.
 */
export async function addMember(
  t: TestApp,
  token: string,
  input: { organizationId: string; email: string; role: RoleName; spaceId?: string },
) {
  const added = dataOf(
    await t.gql(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { role pending user { id } space { id } } }`,
      { input },
      token,
    ),
  ).addMember;
  const invitee = added.pending ? await acceptInvitationAs(t, input.email, input.organizationId) : null;
  return invitee ? { ...added, pending: false, user: { id: invitee.id } } : added;
}

export interface MintedToken {
  id: string;
  secret: string;
}

export async function mintToken(t: TestApp, callerToken: string, input: Record<string, unknown>): Promise<MintedToken> {
  const data = dataOf(
    await t.gql(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id } } }`,
      { input: { name: `token-${randomUUID().slice(0, 6)}`, ...input } },
      callerToken,
    ),
  );
  return { id: data.createApiToken.apiToken.id, secret: data.createApiToken.secret };
}

/**
 * An organization with two spaces (A with boards A1, A2; B with board B1), one item on each
 * board, its owner, and a second organization of someone else.
 */
export async function buildWorld(t: TestApp) {
  const owner = await signUp(t, 'Owner');
  const organizationId = await createOrganization(t, owner.token, 'Acme');
  const spaceA = await createSpace(t, owner.token, organizationId, 'Space A');
  const spaceB = await createSpace(t, owner.token, organizationId, 'Space B');
  const boardA1 = await createBoard(t, owner.token, spaceA, 'Board A1');
  const boardA2 = await createBoard(t, owner.token, spaceA, 'Board A2');
  const boardB1 = await createBoard(t, owner.token, spaceB, 'Board B1');
  const itemA1 = await createItem(t, owner.token, boardA1, 'Item A1', 'todo');
  const itemA2 = await createItem(t, owner.token, boardA2, 'Item A2', 'todo');
  const itemB1 = await createItem(t, owner.token, boardB1, 'Item B1', 'todo');
  const stranger = await signUp(t, 'Stranger');
  const otherOrganizationId = await createOrganization(t, stranger.token, 'Other');
  const otherSpace = await createSpace(t, stranger.token, otherOrganizationId, 'Other space');
  const otherBoard = await createBoard(t, stranger.token, otherSpace, 'Other board');
  const otherItem = await createItem(t, stranger.token, otherBoard, 'Other item');
  return {
    owner,
    organizationId,
    spaceA,
    spaceB,
    boardA1,
    boardA2,
    boardB1,
    itemA1,
    itemA2,
    itemB1,
    stranger,
    otherOrganizationId,
    otherSpace,
    otherBoard,
    otherItem,
  };
}
export type World = Awaited<ReturnType<typeof buildWorld>>;
