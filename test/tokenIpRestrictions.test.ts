// Token restrictions by client address (tokens-v2.md, "Token restrictions"): allowedIps
// (CIDR, IPv4 and IPv6; 403 naming the address only for the right secret; minting only inside
// one's own ranges) and lastUsedIps (the last 5 distinct addresses, newest first, batched).
// Real sockets on loopback: the peer is 127.0.0.1; other client addresses come from
// X-Forwarded-For, which counts only behind a trusted proxy (TRUST_PROXY, here one hop).
import fc from 'fast-check';
import { normalizeAllowedIps } from '../src/auth/ipRanges';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { serve, type LiveServer } from './helpers/liveServer';
import { startTestApp, testConfig, type TestApp } from './helpers/testApp';

interface Reply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(origin: string, query: string, variables: Record<string, unknown>, token: string, forwardedFor?: string): Promise<Reply> {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(forwardedFor && { 'x-forwarded-for': forwardedFor }),
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: await response.json() };
}

const ME = `{ viewer { __typename } }`;
const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { secret apiToken { id allowedIps } } }`;
const UPDATE = `mutation($input: UpdateApiTokenInput!) { updateApiToken(input: $input) { id allowedIps } }`;
const TOKENS = `{ apiTokens(first: 100) { edges { node { id allowedIps lastUsedIps } } } }`;

/** The same token string with its secret's first character changed: right id, wrong secret. */
function wrongSecret(token: string): string {
  const at = 4 + 16;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

const errorOf = (reply: Reply) => reply.body.errors?.[0];

describe('allowedIps behind a trusted proxy (TRUST_PROXY=1)', () => {
  let t: TestApp;
  let live: LiveServer;
  let world: World;
  const call = (query: string, token: string, forwardedFor?: string, variables: Record<string, unknown> = {}) =>
    post(live.origin, query, variables, token, forwardedFor);
  /** The token as the owner's list of tokens they created shows it. */
  const listed = async (id: string) => {
    const edges: { node: { id: string; allowedIps: string[]; lastUsedIps: string[] } }[] = (await call(TOKENS, world.owner.token)).body.data.apiTokens.edges;
    return edges.find((edge) => edge.node.id === id)!.node;
  };
  const mint = (allowedIps: string[] | undefined, extra: Record<string, unknown> = {}) =>
    mintToken(t, world.owner.token, { kind: 'SERVICE', role: 'OWNER', organizationId: world.organizationId, ...(allowedIps && { allowedIps }), ...extra });

  beforeAll(async () => {
    t = await startTestApp({ limits: { ...testConfig().limits, trustProxy: { hops: 1 } }, lastUsedFlushSeconds: 3600 });
    live = await serve(t.app);
    world = await buildWorld(t);
  });
  afterAll(async () => {
    await live.close();
    await t.close();
  });

  test('a token restricted to 10.0.0.0/8 is refused from 127.0.0.1 with 403 naming the address', async () => {
    const token = await mint(['10.0.0.0/8']);
    const reply = await call(ME, token.secret);
    expect(reply.status).toBe(403);
    expect(errorOf(reply)).toMatchObject({ message: 'This token cannot be used from 127.0.0.1.', extensions: { code: 'FORBIDDEN' } });
    expect(reply.body.data ?? null).toBeNull();
  });

  test('it is accepted from 10.1.2.3 as X-Forwarded-For names it', async () => {
    const token = await mint(['10.0.0.0/8']);
    const reply = await call(ME, token.secret, '10.1.2.3');
    expect(reply.status).toBe(200);
    expect(reply.body.errors).toBeUndefined();
    // Only the entry the trusted proxy wrote counts: one the client put further left does not.
    expect((await call(ME, token.secret, '10.1.2.3, 192.0.2.1')).status).toBe(403);
  });

  test('IPv6: ::1/128 and 2001:db8::/32', async () => {
    const token = await mint(['::1/128', '2001:DB8:0:0::1/32']);
    expect((await listed(token.id)).allowedIps).toEqual(['::1/128', '2001:db8::/32']);
    expect((await call(ME, token.secret, '::1')).status).toBe(200);
    expect((await call(ME, token.secret, '2001:db8:ffff::42')).status).toBe(200);
    const outside = await call(ME, token.secret, '2001:db9::1');
    expect(outside.status).toBe(403);
    expect(errorOf(outside)?.message).toBe('This token cannot be used from 2001:db9::1.');
    expect((await call(ME, token.secret)).status).toBe(403);
  });

  test('a wrong secret from outside the ranges gets the usual 401, without the address', async () => {
    const token = await mint(['10.0.0.0/8']);
    const reply = await call(ME, wrongSecret(token.secret));
    expect(reply.status).toBe(401);
    expect(errorOf(reply)).toMatchObject({ message: 'The bearer token is invalid.', extensions: { code: 'UNAUTHENTICATED' } });
    expect(JSON.stringify(reply.body)).not.toContain('127.0.0.1');
  });

  test('ranges are stored in normal form, duplicates removed', async () => {
    const reply = await call(CREATE, world.owner.token, undefined, {
      input: { name: 'normal', kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId, allowedIps: ['10.1.2.3/8', '10.0.0.0/8', '192.168.1.7', '::ffff:172.16.0.0/108'] },
    });
    expect(reply.body.data.createApiToken.apiToken.allowedIps).toEqual(['10.0.0.0/8', '192.168.1.7/32', '172.16.0.0/12']);
  });

  test.each([
    [['10.1'], 'is not a CIDR range'],
    [['10.0.0.0/33'], 'is not a CIDR range'],
    [['2001:db8::/129'], 'is not a CIDR range'],
    [['fe80::1%eth0/64'], 'is not a CIDR range'],
    [['10.0.0.0/8', 'not an address'], 'is not a CIDR range'],
    [Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`), 'at most 100 ranges'],
  ])('invalid allowedIps %# → BAD_USER_INPUT, nothing created or changed', async (allowedIps, message) => {
    const before = await t.prisma.apiToken.count();
    const reply = await call(CREATE, world.owner.token, undefined, {
      input: { name: 'bad', kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId, allowedIps },
    });
    expect(errorOf(reply)?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errorOf(reply)?.message).toContain(message);
    expect(await t.prisma.apiToken.count()).toBe(before);

    const token = await mint(['10.0.0.0/8']);
    const update = await call(UPDATE, world.owner.token, undefined, { input: { id: token.id, allowedIps } });
    expect(errorOf(update)?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).allowedIps).toEqual(['10.0.0.0/8']);
  });

  describe('minting only inside one\'s own ranges', () => {
    const input = (allowedIps?: string[]) => ({
      input: { name: 'child', kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId, ...(allowedIps && { allowedIps }) },
    });

    test('a restricted token cannot mint an unrestricted token, nor a wider one; it can mint a narrower one', async () => {
      const minter = await mint(['10.0.0.0/8', '2001:db8::/32']);
      const before = await t.prisma.apiToken.count();
      const unrestricted = await call(CREATE, minter.secret, '10.1.2.3', input());
      expect(errorOf(unrestricted)?.extensions?.code).toBe('FORBIDDEN');
      expect(errorOf(unrestricted)?.message).toBe('Your token can only be used from 10.0.0.0/8, 2001:db8::/32: give the new token allowedIps inside those ranges.');
      for (const wider of [['10.0.0.0/7'], ['0.0.0.0/0'], ['10.1.0.0/16', '192.168.0.0/16'], ['2001::/16']]) {
        const reply = await call(CREATE, minter.secret, '10.1.2.3', input(wider));
        expect(errorOf(reply)?.extensions?.code).toBe('FORBIDDEN');
        expect(errorOf(reply)?.message).toContain('not inside your token\'s ranges (10.0.0.0/8, 2001:db8::/32)');
      }
      expect(await t.prisma.apiToken.count()).toBe(before);

      const narrower = await call(CREATE, minter.secret, '10.1.2.3', input(['10.1.2.3/16', '2001:db8:1::/48', '10.0.0.0/8']));
      expect(narrower.body.errors).toBeUndefined();
      expect(narrower.body.data.createApiToken.apiToken.allowedIps).toEqual(['10.1.0.0/16', '2001:db8:1::/48', '10.0.0.0/8']);
    });

    test('nor update a token it minted to wider ranges or to none', async () => {
      const minter = await mint(['10.0.0.0/8']);
      const child = (await call(CREATE, minter.secret, '10.1.2.3', input(['10.1.0.0/16']))).body.data.createApiToken.apiToken;
      for (const allowedIps of [[], null, ['11.0.0.0/8']]) {
        const reply = await call(UPDATE, minter.secret, '10.1.2.3', { input: { id: child.id, allowedIps } });
        expect(errorOf(reply)?.extensions?.code).toBe('FORBIDDEN');
      }
      const narrowed = await call(UPDATE, minter.secret, '10.1.2.3', { input: { id: child.id, allowedIps: ['10.1.1.0/24'] } });
      expect(narrowed.body.data.updateApiToken.allowedIps).toEqual(['10.1.1.0/24']);
    });

    test('a session or an unrestricted token may give any ranges', async () => {
      const unrestricted = await mint(undefined);
      const reply = await call(CREATE, unrestricted.secret, undefined, input(['0.0.0.0/0']));
      expect(reply.body.data.createApiToken.apiToken.allowedIps).toEqual(['0.0.0.0/0']);
    });
  });

  test('updateApiToken changing allowedIps takes effect on the next request (the credential cache is emptied)', async () => {
    const token = await mint(['10.0.0.0/8']);
    expect((await call(ME, token.secret, '10.1.2.3')).status).toBe(200); // cached now
    await call(UPDATE, world.owner.token, undefined, { input: { id: token.id, allowedIps: ['192.168.0.0/16'] } });
    const refused = await call(ME, token.secret, '10.1.2.3');
    expect(refused.status).toBe(403);
    expect((await call(ME, token.secret, '192.168.4.4')).status).toBe(200);
    // And lifting the restriction lets it in from anywhere.
    await call(UPDATE, world.owner.token, undefined, { input: { id: token.id, allowedIps: [] } });
    expect((await call(ME, token.secret)).status).toBe(200);
  });

  test('lastUsedIps: the last 5 distinct addresses, newest first, written in batches', async () => {
    const token = await mint(undefined);
    const read = async () => (await listed(token.id)).lastUsedIps;
    const stored = async () => (await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedIps;
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await call(ME, token.secret, address);
    // Nothing written per request; reads already show what is pending.
    expect(await stored()).toEqual([]);
    expect(await read()).toEqual(['10.0.0.3', '10.0.0.2', '10.0.0.1']);
    await t.app.lastUsed.flush();
    expect(await stored()).toEqual(['10.0.0.3', '10.0.0.2', '10.0.0.1']);

    for (const address of ['10.0.0.4', '2001:db8::5', '10.0.0.6', '10.0.0.2', '10.0.0.2']) await call(ME, token.secret, address);
    await call(ME, token.secret); // 127.0.0.1, the peer
    await t.app.lastUsed.flush();
    expect(await stored()).toEqual(['127.0.0.1', '10.0.0.2', '10.0.0.6', '2001:db8::5', '10.0.0.4']);
    expect(await read()).toEqual(['127.0.0.1', '10.0.0.2', '10.0.0.6', '2001:db8::5', '10.0.0.4']);
  });

  test('lastUsedIps holds addresses only, not whatever text the trusted header carried', async () => {
    const token = await mint(undefined);
    expect((await call(ME, token.secret, 'not-an-address')).status).toBe(200);
    await call(ME, token.secret, '10.0.0.1');
    await t.app.lastUsed.flush();
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedIps).toEqual(['10.0.0.1']);
  });

  test('a refused request is no use: its address is not recorded', async () => {
    const token = await mint(['10.0.0.0/8']);
    await call(ME, token.secret, '10.9.9.9');
    await call(ME, token.secret, '192.0.2.7');
    await t.app.lastUsed.flush();
    expect((await t.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedIps).toEqual(['10.9.9.9']);
  });
});

describe('allowedIps without TRUST_PROXY', () => {
  let t: TestApp;
  let live: LiveServer;

  beforeAll(async () => {
    t = await startTestApp();
    live = await serve(t.app);
  });
  afterAll(async () => {
    await live.close();
    await t.close();
  });

  test('X-Forwarded-For does not count: the address is the peer', async () => {
    const world = await buildWorld(t);
    const token = await mintToken(t, world.owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId, allowedIps: ['10.0.0.0/8'] });
    const reply = await post(live.origin, ME, {}, token.secret, '10.1.2.3');
    expect(reply.status).toBe(403);
    expect(reply.body.errors?.[0]?.message).toBe('This token cannot be used from 127.0.0.1.');
    const loopback = await mintToken(t, world.owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId, allowedIps: ['127.0.0.0/8'] });
    expect((await post(live.origin, ME, {}, loopback.secret, '10.1.2.3')).status).toBe(200);
  });
});

describe('CIDR list input (fast-check)', () => {
  const SEED = Number(process.env.FC_SEED ?? 20_250_605);
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
  const v6 = fc.ipV6();
  const range = fc.oneof(
    fc.tuple(v4, fc.nat(32)).map(([a, p]) => `${a}/${p}`),
    fc.tuple(v6, fc.nat(128)).map(([a, p]) => `${a}/${p}`),
    v4,
    v6,
  );

  test('valid ranges normalise to a fixed point', () => {
    fc.assert(
      fc.property(fc.array(range, { maxLength: 20 }), (ranges) => {
        const normal = normalizeAllowedIps(ranges);
        expect(normalizeAllowedIps(normal)).toEqual(normal);
        expect(new Set(normal).size).toBe(normal.length);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test('anything else is refused with BAD_USER_INPUT, never another error', () => {
    const anyText = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.tuple(range, fc.string({ maxLength: 4 })).map(([r, s]) => r + s));
    fc.assert(
      fc.property(fc.array(anyText, { maxLength: 120 }), (texts) => {
        try {
          const normal = normalizeAllowedIps(texts);
          expect(normal.length).toBeLessThanOrEqual(100);
        } catch (error) {
          expect((error as { extensions?: { code?: string } }).extensions?.code).toBe('BAD_USER_INPUT');
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
