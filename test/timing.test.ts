// Timing: a refused token tells nothing about which tokens exist. Requests with an unknown
// token id and with a known id but a wrong secret must take statistically indistinguishable
// times (and malformed tokens about the same). A few thousand refusals are sent through the
// real app on a real port (HTTP, keep-alive, two at a time), in a seeded random order so that
// both kinds see the same load, JIT state, caches and background work; each is timed from the
// client. The two distributions are compared with the two-sample Kolmogorov-Smirnov statistic
// D (the largest gap between their empirical CDFs: 0 for identical samples, 1 when every
// request of one kind is faster than every request of the other), and by medians and trimmed
// means. Bounds are generous: skipping the argon2id verification on one path gives D near 1.
import { formatToken, newPublicId, newSecret, parseToken } from '../src/auth/tokenFormat';
import { loadConfig } from '../src/env';
import { createBoard, createOrganization, createSpace, mintToken, signUp } from './helpers/factories';
import { serve, timedPost, type LiveServer } from './helpers/liveServer';
import { dataOf, startTestApp, type TestApp } from './helpers/testApp';
import { ksStatistic, ratio, seededRandom, shuffle, summarize, type Summary } from './helpers/timingStats';
import { testDatabaseUrl } from './helpers/testDatabase';

/** Requests per kind, timed (after WARM_UP untimed ones of every kind). */
const COUNTS = {
  unknown: 1_000, // pcl_ token, well-formed, valid checksum, public id that does not exist
  wrongSecret: 1_000, // pcl_ token of an existing id (a SERVICE, a PERSONAL BOARDS and a many times regenerated token, in turn) with another secret
  unknownSession: 200, // the same pair for session tokens (pcs_)
  wrongSession: 200,
  malformed: 200, // pcl_ + 43 characters: refused by the parser, no database lookup
} as const;
type Kind = keyof typeof COUNTS;
const WARM_UP = 10;
/** Requests in flight at once (the machine may have only 2 cores; argon2id runs on libuv's pool). */
const CONCURRENCY = 2;
const SEED = 0x5eed_7a11;

/**
 * The bounds, from measurements (see SECURITY.md, "Timing"). Equal paths measure D ≈ 0.02 to
 * 0.07 (1,000 against 1,000; sampling noise alone is ≈ 0.04 on average and 0.087 at p = 0.001);
 * the known-id path loading the token's boards and user in two more statements before the
 * verification measured D ≈ 0.1 to 0.26; skipping argon2id on the unknown path D > 0.9.
 */
const MAX_D = 0.15;
/** 200 against 200: sampling noise alone is 0.195 at p = 0.001. */
const MAX_D_SESSION = 0.25;
/** Malformed tokens skip the database lookup by design (they reveal nothing about tokens). */
const MAX_D_MALFORMED = 0.5;
/** Medians and 10 % trimmed means within this factor of each other (malformed: of unknown's). */
const MAX_RATIO = 1.25;
const MAX_RATIO_MALFORMED = 1.6;

const VIEWER = '{ viewer { user { id } apiToken { id } } }';

/** The same token's prefix and public id with another (well-formed, checksummed) secret. */
function withOtherSecret(token: string): string {
  const parsed = parseToken(token);
  if (!parsed) throw new Error(`not a well-formed token: ${token}`);
  return formatToken(parsed.prefix, parsed.publicId, newSecret());
}

describe('timing of refused tokens', () => {
  let t: TestApp;
  let live: LiveServer;
  const makeHeader = {} as Record<Kind, () => string>;

  beforeAll(async () => {
    // A few thousand refusals from one address: far above the per-address limit on refused
    // credentials (which would answer 429), so it is raised for this file.
    t = await startTestApp(loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', SEED_DEMO_DATA: 'false', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '100000000' }));
    live = await serve(t.app);
    const owner = await signUp(t, 'Timing');
    const organizationId = await createOrganization(t, owner.token, 'Timing org');
    const spaceId = await createSpace(t, owner.token, organizationId);
    const boardIds = [await createBoard(t, owner.token, spaceId, 'A'), await createBoard(t, owner.token, spaceId, 'B')];
    // The third has many replaced secrets (reuse detection) and its organization a token policy:
    // neither may make a wrong secret cost more than an unknown id.
    const rotated = await mintToken(t, owner.token, { role: 'VIEWER', organizationId, revokeOnReuse: true });
    let rotatedSecret = rotated.secret;
    for (let i = 0; i < 20; i++) {
      rotatedSecret = dataOf(await t.gql('mutation($id: ID!) { regenerateApiToken(id: $id) { secret } }', { id: rotated.id }, owner.token)).regenerateApiToken.secret;
    }
    dataOf(
      await t.gql(
        'mutation($input: UpdateOrganizationTokenPolicyInput!) { updateOrganizationTokenPolicy(input: $input) { requireExpiry } }',
        { input: { organizationId, allowPersonalTokens: true } },
        owner.token,
      ),
    );
    const known = [
      (await mintToken(t, owner.token, { role: 'VIEWER', organizationId })).secret,
      (await mintToken(t, owner.token, { kind: 'PERSONAL', role: 'VIEWER', boardIds })).secret,
      rotatedSecret,
    ];
    // Both really work, so the refusals below are about the secret only.
    for (const token of [...known, owner.token]) dataOf(await t.gql(VIEWER, undefined, token));
    let turn = 0;
    makeHeader.unknown = () => `Bearer ${formatToken('pcl_', newPublicId(), newSecret())}`;
    makeHeader.wrongSecret = () => `Bearer ${withOtherSecret(known[turn++ % known.length])}`;
    makeHeader.unknownSession = () => `Bearer ${formatToken('pcs_', newPublicId(), newSecret())}`;
    makeHeader.wrongSession = () => `Bearer ${withOtherSecret(owner.token)}`;
    makeHeader.malformed = () => `Bearer pcl_${newSecret()}`;
  });

  afterAll(async () => {
    await live?.close();
    await t?.close();
  });

  test('unknown id and wrong secret: indistinguishable over a few thousand requests (KS statistic, generous bound)', async () => {
    const random = seededRandom(SEED);
    const kinds = Object.keys(COUNTS) as Kind[];
    const warmUp = shuffle(kinds.flatMap((kind) => Array<Kind>(WARM_UP).fill(kind)), random);
    const schedule = shuffle(kinds.flatMap((kind) => Array<Kind>(COUNTS[kind]).fill(kind)), random);
    const times = Object.fromEntries(kinds.map((kind) => [kind, [] as number[]])) as Record<Kind, number[]>;
    const bodies = new Set<string>();

    /** Sends `list` with CONCURRENCY clients pulling the next request in order. */
    async function run(list: Kind[], record: boolean) {
      let next = 0;
      const client = async () => {
        while (next < list.length) {
          const kind = list[next++];
          const response = await timedPost(live.origin, VIEWER, {}, makeHeader[kind]().slice('Bearer '.length));
          if (response.status !== 401) throw new Error(`${kind}: expected HTTP 401, got ${response.status} ${JSON.stringify(response.body)}`);
          bodies.add(JSON.stringify(response.body));
          if (record) times[kind].push(response.end - response.start);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, client));
    }

    await run(warmUp, false);
    const started = performance.now();
    await run(schedule, true);
    const wallSeconds = (performance.now() - started) / 1000;

    const stats = Object.fromEntries(kinds.map((kind) => [kind, summarize(times[kind])])) as Record<Kind, Summary>;
    const d = {
      unknownVsWrongSecret: ksStatistic(times.unknown, times.wrongSecret),
      unknownVsWrongSession: ksStatistic(times.unknownSession, times.wrongSession),
      malformedVsUnknown: ksStatistic(times.malformed, times.unknown),
    };
    const ms = (x: number) => x.toFixed(1).padStart(6);
    console.log(
      [
        `Refusal timing on ${testDatabaseUrl() ? 'PostgreSQL' : 'PGlite'}: ${schedule.length} requests in ${wallSeconds.toFixed(1)} s ` +
          `(concurrency ${CONCURRENCY}, seed ${SEED.toString(16)}), times in ms`,
        `  kind              n    p10 median    p90 trimmed mean`,
        ...kinds.map((kind) => {
          const s = stats[kind];
          return `  ${kind.padEnd(15)}${String(s.n).padStart(4)} ${ms(s.p10)} ${ms(s.median)} ${ms(s.p90)} ${ms(s.trimmedMean)}`;
        }),
        `  KS D: unknown vs wrong secret ${d.unknownVsWrongSecret.toFixed(3)} (bound ${MAX_D}), ` +
          `unknown vs wrong secret, sessions ${d.unknownVsWrongSession.toFixed(3)} (bound ${MAX_D_SESSION}), ` +
          `malformed vs unknown ${d.malformedVsUnknown.toFixed(3)} (bound ${MAX_D_MALFORMED})`,
      ].join('\n'),
    );

    // Every refusal is the very same response.
    expect(bodies.size).toBe(1);
    expect(Object.fromEntries(kinds.map((kind) => [kind, times[kind].length]))).toEqual(COUNTS);
    // The distributions …
    expect(d.unknownVsWrongSecret).toBeLessThan(MAX_D);
    expect(d.unknownVsWrongSession).toBeLessThan(MAX_D_SESSION);
    expect(d.malformedVsUnknown).toBeLessThan(MAX_D_MALFORMED);
    // … and their centres.
    for (const [a, b, bound] of [
      ['unknown', 'wrongSecret', MAX_RATIO],
      ['unknownSession', 'wrongSession', MAX_RATIO],
      ['malformed', 'unknown', MAX_RATIO_MALFORMED],
    ] as [Kind, Kind, number][]) {
      const medians = ratio(stats[a].median, stats[b].median);
      const trimmedMeans = ratio(stats[a].trimmedMean, stats[b].trimmedMean);
      // (The ratios are in the object so that a failure shows them.)
      expect({ pair: `${a}/${b}`, bound, medians, trimmedMeans, within: medians < bound && trimmedMeans < bound }).toMatchObject({ within: true });
    }
  }, 300_000);
});
