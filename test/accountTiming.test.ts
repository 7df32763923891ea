// Account enumeration through timing: signUp with an email that already has an account and
// with a new one, and addMember with a known and an unknown email, must take statistically
// indistinguishable times. Like test/timing.test.ts, on a real port, in a seeded random order,
// timed from the client, compared with the two-sample Kolmogorov-Smirnov statistic D and by
// medians; fewer samples (150 a kind), so the bounds are wider. Before the fix, signUp refused
// an existing email before any argon2id hash (about 2 ms against 40 ms or more: D near 1), and
// addMember refused an unknown email before its transaction.
import { randomUUID } from 'node:crypto';
import { hashSecret } from '../src/auth/password';
import { createOrganization, signUp } from './helpers/factories';
import { serve, timedPost, type LiveServer } from './helpers/liveServer';
import { startTestApp, type TestApp } from './helpers/testApp';
import { testDatabaseUrl } from './helpers/testDatabase';
import { ksStatistic, ratio, seededRandom, shuffle, summarize } from './helpers/timingStats';

const SAMPLES = 150;
const WARM_UP = 10;
const CONCURRENCY = 2;
const SEED = 0xacc0_0e11;
/** 150 against 150: sampling noise alone is about 0.22 at p = 0.001. */
const MAX_D = 0.3;
const MAX_RATIO = 1.25;

const SIGN_UP = `mutation($input: SignUpInput!) { signUp(input: $input) { token } }`;
const ADD = `mutation($input: AddMemberInput!) { addMember(input: $input) { role pending user { id email name } } }`;
const newEmail = () => `timing-${randomUUID()}@example.com`;

let t: TestApp;
let live: LiveServer;

beforeAll(async () => {
  t = await startTestApp();
  live = await serve(t.app);
});

afterAll(async () => {
  await live?.close();
  await t?.close();
});

/**
 * Sends WARM_UP untimed then SAMPLES timed requests of each of the two kinds, in a seeded
 * random order, CONCURRENCY at a time; checks each answer; returns the times and compares them.
 */
async function compare(
  label: string,
  kinds: Record<'a' | 'b', { name: string; send: () => Promise<{ start: number; end: number; body: unknown }>; check: (body: any) => void }>,
) {
  const random = seededRandom(SEED);
  const order = (n: number) => shuffle([...Array<'a'>(n).fill('a'), ...Array<'b'>(n).fill('b')], random);
  const times = { a: [] as number[], b: [] as number[] };
  async function run(list: ('a' | 'b')[], record: boolean) {
    let next = 0;
    const client = async () => {
      while (next < list.length) {
        const kind = list[next++];
        const response = await kinds[kind].send();
        kinds[kind].check(response.body);
        if (record) times[kind].push(response.end - response.start);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, client));
  }
  await run(order(WARM_UP), false);
  await run(order(SAMPLES), true);

  const d = ksStatistic(times.a, times.b);
  const a = summarize(times.a);
  const b = summarize(times.b);
  const ms = (x: number) => x.toFixed(1).padStart(6);
  console.log(
    [
      `${label} on ${testDatabaseUrl() ? 'PostgreSQL' : 'PGlite'} (concurrency ${CONCURRENCY}), times in ms`,
      `  kind                 n    p10 median    p90 trimmed mean`,
      ...[kinds.a.name, kinds.b.name].map((name, i) => {
        const s = i === 0 ? a : b;
        return `  ${name.padEnd(18)}${String(s.n).padStart(4)} ${ms(s.p10)} ${ms(s.median)} ${ms(s.p90)} ${ms(s.trimmedMean)}`;
      }),
      `  KS D ${d.toFixed(3)} (bound ${MAX_D})`,
    ].join('\n'),
  );
  expect(d).toBeLessThan(MAX_D);
  const medians = ratio(a.median, b.median);
  const trimmedMeans = ratio(a.trimmedMean, b.trimmedMean);
  expect({ medians, trimmedMeans, within: medians < MAX_RATIO && trimmedMeans < MAX_RATIO }).toMatchObject({ within: true });
}

test('signUp: an existing email is refused in the time a new account takes', async () => {
  const existing = await signUp(t, 'Existing');
  const input = (email: string) => ({ input: { email, password: `pw-${randomUUID()}`, name: 'Timing' } });
  await compare('signUp', {
    a: {
      name: 'existing email',
      send: () => timedPost(live.origin, SIGN_UP, input(existing.email)),
      check: (body) => expect(body.errors?.[0]?.message).toMatch(/already exists/),
    },
    b: {
      name: 'new email',
      send: () => timedPost(live.origin, SIGN_UP, input(newEmail())),
      check: (body) => expect(body.data?.signUp?.token).toEqual(expect.any(String)),
    },
  });
}, 120_000);

test('addMember: a known and an unknown email take the same time (and get the same answer)', async () => {
  const owner = await signUp(t, 'Timing owner');
  const organizationId = await createOrganization(t, owner.token, 'Timing org');
  // Accounts to invite, written directly (signing each up would spend two hashes apiece).
  const passwordHash = await hashSecret('timing-password');
  const known = Array.from({ length: WARM_UP + SAMPLES }, () => newEmail());
  await t.prisma.user.createMany({ data: known.map((email) => ({ email, emailKey: email, name: 'Known', passwordHash })) });
  const invite = (email: string) => timedPost(live.origin, ADD, { input: { organizationId, email, role: 'VIEWER' } }, owner.token);
  const pending = (body: any) => expect(body.data?.addMember).toMatchObject({ role: 'VIEWER', pending: true });
  await compare('addMember', {
    a: { name: 'known email', send: () => invite(known.pop()!), check: pending },
    b: { name: 'unknown email', send: () => invite(newEmail()), check: pending },
  });
}, 120_000);
