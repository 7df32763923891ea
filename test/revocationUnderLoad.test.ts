// Revocation under load, across instances: two gateway instances (two apps, two pools) on
// one PostgreSQL database, each on its own port; four clients send requests with one token
// to both as fast as they can while another client revokes it (or regenerates it, or removes
// its user from the organization). Every request records when it started; not one request
// started after the mutation returned may succeed, on either instance. (The proof cache of
// each instance must not outlive the row it proved.)
import { performance } from 'node:perf_hooks';
import { addMember, createBoard, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { serve, serveSecondInstance, timedPost, type LiveServer, type TimedResponse } from './helpers/liveServer';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';

const onPostgres = Boolean(testDatabaseUrl());
const suite = onPostgres ? describe : describe.skip;
const title = onPostgres
  ? 'revocation under load, two instances on one PostgreSQL database'
  : 'revocation under load (skipped: needs TEST_DATABASE_URL; embedded PGlite is one process, there is no second instance)';

const LOOPS = 4;
/** Each run ends at most this long after it began, or this long after the mutation returned. */
const MAX_RUN_MS = 3_000;
const CHANGE_AFTER_MS = 700;
const KEEP_GOING_AFTER_CHANGE_MS = 1_000;
const MAX_REQUESTS_PER_LOOP = 3_000;

const BOARD_QUERY = 'query($id: ID!) { board(id: $id) { id } }';

interface Sample extends TimedResponse {
  instance: number;
}

interface RunResult {
  samples: Sample[];
  changeStarted: number;
  changeReturned: number;
}

suite(title, () => {
  let t: TestApp;
  const servers: LiveServer[] = [];
  let owner: TestUser;
  let organizationId: string;
  let boardId: string;

  beforeAll(async () => {
    t = await startTestApp();
    // The second instance: its own Database (pool) and app on the same test database.
    servers.push(await serve(t.app), await serveSecondInstance(t));
    owner = await signUp(t, 'Owner');
    organizationId = await createOrganization(t, owner.token, 'Load');
    const spaceId = await createSpace(t, owner.token, organizationId, 'Space');
    boardId = await createBoard(t, owner.token, spaceId, 'Board');
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await t?.close();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Runs the clients against both instances and, CHANGE_AFTER_MS in, `change`. */
  async function underLoad(token: string, change: () => Promise<void>): Promise<RunResult> {
    const began = performance.now();
    let changeStarted = Infinity;
    let changeReturned = Infinity;
    const samples: Sample[] = [];
    const done = () => {
      const now = performance.now();
      return now - began > MAX_RUN_MS || now - changeReturned > KEEP_GOING_AFTER_CHANGE_MS;
    };
    const client = async (loop: number) => {
      for (let n = 0; n < MAX_REQUESTS_PER_LOOP && !done(); n++) {
        const instance = (loop + n) % servers.length;
        const response = await timedPost(servers[instance].origin, BOARD_QUERY, { id: boardId }, token, 5_000);
        samples.push({ ...response, instance });
      }
    };
    const changer = async () => {
      await sleep(CHANGE_AFTER_MS);
      changeStarted = performance.now();
      await change();
      changeReturned = performance.now();
    };
    await Promise.all([...Array.from({ length: LOOPS }, (_, loop) => client(loop)), changer()]);
    return { samples, changeStarted, changeReturned };
  }

  const succeeded = (s: TimedResponse) => s.status === 200 && !s.body?.errors?.length && s.body?.data?.board?.id === boardId;

  /** Checks the run and logs one line: how many requests started before and after the mutation returned. */
  function checkRun(name: string, run: RunResult, refusedAsExpected: (s: Sample) => boolean) {
    const before = run.samples.filter((s) => s.start < run.changeReturned);
    const after = run.samples.filter((s) => s.start >= run.changeReturned);
    const perInstance = (list: Sample[]) => servers.map((_, i) => list.filter((s) => s.instance === i).length).join('/');
    const okBefore = before.filter(succeeded).length;
    const violations = after.filter(succeeded);
    console.log(
      `${name}: ${run.samples.length} requests; started before the mutation returned: ${before.length} ` +
        `(instance A/B ${perInstance(before)}, ${okBefore} ok); started after: ${after.length} ` +
        `(A/B ${perInstance(after)}, ${violations.length} ok); mutation took ${(run.changeReturned - run.changeStarted).toFixed(0)} ms`,
    );
    // The load was real: the token worked on both instances before, and both were asked after.
    for (let i = 0; i < servers.length; i++) {
      expect(before.filter((s) => s.instance === i && succeeded(s)).length).toBeGreaterThan(0);
      expect(after.filter((s) => s.instance === i).length).toBeGreaterThan(0);
    }
    expect(violations.map((s) => ({ instance: s.instance, startedMsAfterReturn: s.start - run.changeReturned }))).toEqual([]);
    const unexpected = after.filter((s) => !refusedAsExpected(s));
    expect(unexpected.map((s) => ({ status: s.status, body: s.body }))).toEqual([]);
  }

  const refusedWith401 = (s: TimedResponse) =>
    s.status === 401 && s.body?.errors?.length === 1 && s.body.errors[0].extensions?.code === 'UNAUTHENTICATED';

  async function mutate(instance: number, query: string, variables: Record<string, unknown>) {
    const response = await timedPost(servers[instance].origin, query, variables, owner.token);
    if (response.status !== 200 || response.body?.errors?.length) {
      throw new Error(`mutation failed: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    }
    return response.body!.data;
  }

  test('revoke: no request started after revokeApiToken returned succeeds, on either instance', async () => {
    const token = await mintToken(t, owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId });
    const run = await underLoad(token.secret, async () => {
      const data = await mutate(0, 'mutation($id: ID!) { revokeApiToken(id: $id) { status } }', { id: token.id });
      expect(data.revokeApiToken.status).toBe('REVOKED');
    });
    checkRun('revoke', run, refusedWith401);
  });

  test('regenerate: the old secret is refused from the moment regenerateApiToken returns; the new one works on both', async () => {
    const token = await mintToken(t, owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId });
    let newSecret = '';
    // Through the second instance this time: the first one learns of it from the database only.
    const run = await underLoad(token.secret, async () => {
      const data = await mutate(1, 'mutation($id: ID!) { regenerateApiToken(id: $id) { secret } }', { id: token.id });
      newSecret = data.regenerateApiToken.secret;
    });
    checkRun('regenerate', run, refusedWith401);
    for (const server of servers) {
      expect(succeeded(await timedPost(server.origin, BOARD_QUERY, { id: boardId }, newSecret))).toBe(true);
      expect(refusedWith401(await timedPost(server.origin, BOARD_QUERY, { id: boardId }, token.secret))).toBe(true);
    }
  });

  test("remove member: a PERSONAL token gets no data of the organization once removeMember returned", async () => {
    const member = await signUp(t, 'Member');
    await addMember(t, owner.token, { organizationId, email: member.email, role: 'EDITOR' });
    const personal = await mintToken(t, member.token, { kind: 'PERSONAL' });
    const run = await underLoad(personal.secret, async () => {
      const data = await mutate(0, 'mutation($input: RemoveMemberInput!) { removeMember(input: $input) }', {
        input: { organizationId, userId: member.id },
      });
      expect(data.removeMember).toBe(member.id);
    });
    // The token itself stays valid: the board simply does not exist for it any more.
    checkRun('remove member', run, (s) => s.status === 200 && !s.body?.errors?.length && s.body?.data?.board === null);
  });
});
