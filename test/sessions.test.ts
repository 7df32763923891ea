// Sessions: logOut ends the calling session and logOutEverywhere every session of the user.
// Every request reads its Session row in the one statement that authenticates it
// (src/auth/credentialLookup.ts), so an ended session is refused (401) from the very next
// request, on every gateway instance: shown with two instances on one PostgreSQL database (on
// embedded PGlite there is one process, so that part is skipped there).
import { formatToken, newPublicId, newSecret } from '../src/auth/tokenFormat';
import { createOrganization, mintToken, signUp, type TestUser } from './helpers/factories';
import { serve, serveSecondInstance, timedPost, type LiveServer } from './helpers/liveServer';
import { dataOf, errorCodes, startTestApp, type GraphQLResponse, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';

const VIEWER = '{ viewer { user { id } } }';
const LOG_OUT = 'mutation { logOut }';
const LOG_OUT_EVERYWHERE = 'mutation { logOutEverywhere }';
const LOG_IN = `mutation($input: LogInInput!) { logIn(input: $input) { token } }`;

let t: TestApp;
/** The answer to a session token that never existed: an ended session must get exactly this. */
let unknownSessionAnswer: GraphQLResponse['body'];

beforeAll(async () => {
  t = await startTestApp();
  const unknown = await t.gql(VIEWER, {}, formatToken('pcs_', newPublicId(), newSecret()));
  expect(unknown.status).toBe(401);
  unknownSessionAnswer = unknown.body;
});

afterAll(async () => {
  await t?.close();
});

/** Another session of the same user. */
async function logIn(user: TestUser): Promise<string> {
  return dataOf(await t.gql(LOG_IN, { input: { email: user.email, password: user.password } })).logIn.token;
}

const viewerId = async (token: string) => dataOf(await t.gql(VIEWER, {}, token)).viewer.user.id;

async function expectEnded(token: string) {
  const response = await t.gql(VIEWER, {}, token);
  expect(response.status).toBe(401);
  expect(response.body).toEqual(unknownSessionAnswer);
}

describe('logOut', () => {
  it('ends the calling session at once; another session of the same user goes on', async () => {
    const user = await signUp(t, 'Leaving');
    const other = await logIn(user);
    expect(await viewerId(user.token)).toBe(user.id);
    expect(dataOf(await t.gql(LOG_OUT, {}, user.token)).logOut).toBe(true);
    await expectEnded(user.token);
    expect((await t.gql(LOG_OUT, {}, user.token)).status).toBe(401);
    expect(await viewerId(other)).toBe(user.id);
  });

  it('with an API token is BAD_USER_INPUT (revoke the token instead), and ends nothing', async () => {
    const user = await signUp(t, 'Token holder');
    const organizationId = await createOrganization(t, user.token, 'Tokens');
    const personal = await mintToken(t, user.token, { kind: 'PERSONAL' });
    const service = await mintToken(t, user.token, { kind: 'SERVICE', role: 'VIEWER', organizationId });
    for (const token of [personal.secret, service.secret]) {
      const response = await t.gql(LOG_OUT, {}, token);
      expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.body.errors![0].message).toMatch(/revoke/);
      dataOf(await t.gql('{ viewer { apiToken { id } } }', {}, token)); // still works
    }
    expect(await viewerId(user.token)).toBe(user.id);
    expect(errorCodes(await t.gql(LOG_OUT))).toEqual(['UNAUTHENTICATED']);
  });
});

describe('logOutEverywhere', () => {
  it('ends every session of the user and says how many; other users and API tokens are untouched', async () => {
    const user = await signUp(t, 'Everywhere');
    const sessions = [user.token, await logIn(user), await logIn(user)];
    const bystander = await signUp(t, 'Bystander');
    const personal = await mintToken(t, user.token, { kind: 'PERSONAL' });
    expect(dataOf(await t.gql(LOG_OUT_EVERYWHERE, {}, sessions[1])).logOutEverywhere).toBe(3);
    for (const token of sessions) await expectEnded(token);
    expect(await viewerId(bystander.token)).toBe(bystander.id);
    expect(await viewerId(personal.secret)).toBe(user.id);
    // A new log-in works as before.
    expect(await viewerId(await logIn(user))).toBe(user.id);
  });

  it('needs the user’s full rights: a session or an unrestricted PERSONAL token', async () => {
    const user = await signUp(t, 'Restricted');
    const organizationId = await createOrganization(t, user.token, 'Restricted org');
    const refused = [
      await mintToken(t, user.token, { kind: 'PERSONAL', role: 'EDITOR' }),
      await mintToken(t, user.token, { kind: 'PERSONAL', organizationId }),
      await mintToken(t, user.token, { kind: 'SERVICE', role: 'OWNER', organizationId }),
    ];
    for (const token of refused) expect(errorCodes(await t.gql(LOG_OUT_EVERYWHERE, {}, token.secret))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await t.gql(LOG_OUT_EVERYWHERE))).toEqual(['UNAUTHENTICATED']);
    expect(await viewerId(user.token)).toBe(user.id);

    const unrestricted = await mintToken(t, user.token, { kind: 'PERSONAL', role: 'OWNER' });
    expect(dataOf(await t.gql(LOG_OUT_EVERYWHERE, {}, unrestricted.secret)).logOutEverywhere).toBe(1);
    await expectEnded(user.token);
  });
});

const onPostgres = Boolean(testDatabaseUrl());
(onPostgres ? describe : describe.skip)(
  onPostgres
    ? 'across two instances on one database'
    : 'across two instances (skipped: needs TEST_DATABASE_URL; embedded PGlite is one process, there is no second instance)',
  () => {
    let a: LiveServer;
    let b: LiveServer;
    beforeAll(async () => {
      a = await serve(t.app);
      b = await serveSecondInstance(t);
    });
    afterAll(async () => {
      await a?.close();
      await b?.close();
    });

    const viewerOn = (server: LiveServer, token: string) => timedPost(server.origin, VIEWER, {}, token);

    it('a session ended on one instance is refused by the other on the next request', async () => {
      const user = await signUp(t, 'Two instances');
      const other = await logIn(user);
      // Both instances have seen (and verified) both sessions.
      for (const server of [a, b]) for (const token of [user.token, other]) expect((await viewerOn(server, token)).status).toBe(200);

      expect((await timedPost(a.origin, LOG_OUT, {}, user.token)).body?.data).toEqual({ logOut: true });
      const refused = await viewerOn(b, user.token);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual(unknownSessionAnswer);
      expect((await viewerOn(b, other)).body?.data?.viewer.user.id).toBe(user.id);
    });

    it('logOutEverywhere on one instance ends the user’s sessions on the other; other users go on', async () => {
      const user = await signUp(t, 'Everywhere twice');
      const sessions = [user.token, await logIn(user)];
      const bystander = await signUp(t, 'Bystander twice');
      for (const server of [a, b]) for (const token of [...sessions, bystander.token]) expect((await viewerOn(server, token)).status).toBe(200);

      expect((await timedPost(b.origin, LOG_OUT_EVERYWHERE, {}, sessions[1])).body?.data).toEqual({ logOutEverywhere: 2 });
      for (const server of [a, b]) {
        for (const token of sessions) expect((await viewerOn(server, token)).status).toBe(401);
        expect((await viewerOn(server, bystander.token)).status).toBe(200);
      }
    });
  },
);
