// Hostile input, property-based (fast-check): the token parser on its own, then random
// Authorization headers and random, malformed, oversized, batched and deeply nested GraphQL
// requests through the real app on a real socket. Whatever comes in, the answer is a
// well-formed GraphQL JSON refusal with the spec's status and codes (never a 500, never
// internals), and the app keeps answering.
//
// Runs are reproducible: every property uses the seed below (FC_SEED=<n> to try another);
// a failure prints the seed and the path of the shrunk counterexample.
import { createServer, request as httpRequest, validateHeaderValue, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { getNamedType, isLeafType, isNonNullType, isObjectType, type GraphQLObjectType } from 'graphql';
import { createApp, type App } from '../src/app';
import { formatToken, parseToken, type TokenPrefix } from '../src/auth/tokenFormat';
import { schema } from '../src/schema';
import { buildWorld, mintToken, type World } from './helpers/factories';
import { startTestApp, testConfig, type TestApp } from './helpers/testApp';

const SEED = Number(process.env.FC_SEED ?? 20_250_605);
const runs = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns });

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SPEC_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_USER_INPUT', 'RATE_LIMITED', 'SERVICE_UNAVAILABLE', 'INTERNAL_SERVER_ERROR'];
const SMALL_LIMIT = 16_384; // the smallest MAX_BODY_BYTES allowed
const DEFAULT_LIMIT = 1_048_576;

// ---- arbitraries -----------------------------------------------------------------------

const base62 = (length: number) => fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: length, maxLength: length });
const prefix = fc.constantFrom<TokenPrefix>('pcl_', 'pcs_');
/** A well-formed token with a valid checksum, and its parts. */
const wellFormed = fc.record({ prefix, publicId: base62(16), secret: base62(43) });
/** Any single character: base62, ASCII, control characters (NUL included), any code point. */
const anyChar = fc.oneof(
  fc.constantFrom(...ALPHABET),
  fc.constantFrom('\u0000', ' ', '\t', '\n', '\r', '_', '-', '=', '/', '+', '\u00e9', '\u0660', '\u200b', '\ufeff', '\ud83d', '\ud83d\ude00'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);
/** One character changed, added or removed. */
const nearMiss = (token: string) =>
  fc.tuple(fc.constantFrom('replace', 'insert', 'delete'), fc.nat({ max: token.length - 1 }), anyChar).map(([kind, i, c]) => {
    if (kind === 'delete') return token.slice(0, i) + token.slice(i + 1);
    if (kind === 'insert') return token.slice(0, i) + c + token.slice(i);
    const replacement = c === token[i] ? ALPHABET[(ALPHABET.indexOf(c) + 1) % 62] : c;
    return token.slice(0, i) + replacement + token.slice(i + 1);
  });

/** Characters Node's HTTP client sends in a header value. */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constant('\t') },
);
const headerString = (maxLength: number) => fc.string({ unit: headerChar, maxLength });
const sendable = (value: string) => {
  try {
    validateHeaderValue('x', value);
    return true;
  } catch {
    return false;
  }
};

// ---- the app on a real socket ----------------------------------------------------------

interface Raw {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

interface Live {
  app: App;
  server: Server;
  port: number;
}

async function listen(app: App): Promise<Live> {
  const server = createServer(app.yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { app, server, port: (server.address() as AddressInfo).port };
}

async function unlisten(live: Live | undefined) {
  if (!live) return;
  live.server.closeAllConnections();
  await new Promise((resolve) => live.server.close(resolve));
}

interface Send {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
}

/** One HTTP request, bytes exactly as given (supertest would re-encode some bodies). */
function send(live: Live, options: Send): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;
    const headers = { ...options.headers };
    if (body && !options.chunked) headers['content-length'] = String(body.length);
    const req = httpRequest(
      { host: '127.0.0.1', port: live.port, path: options.path ?? '/graphql', method: options.method ?? 'POST', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body && options.chunked) {
      for (let i = 0; i < body.length; i += 4096) req.write(body.subarray(i, i + 4096));
      req.end();
    } else {
      req.end(body);
    }
  });
}

const json = (headers: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...headers });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

// ---- what every answer must look like --------------------------------------------------

/** Nothing a client should never see: stack frames, file paths, SQL, driver or ORM internals. */
function expectNoInternals(text: string) {
  expect(text).not.toMatch(/"stack"|"originalError"/i);
  expect(text).not.toMatch(/\bat (\S+ \()?(\/|file:|node:)[^\s)]*:\d+:\d+/); // a stack frame
  expect(text).not.toMatch(/node_modules|prisma|pglite|postgres/i);
  expect(text).not.toMatch(/\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET|WHERE)\b/);
  expect(text).not.toContain('Unexpected error.');
}

interface Body {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** A JSON GraphQL response with the spec's codes and nothing internal. */
function graphqlBody(res: Raw): Body {
  expect(res.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json\b/);
  expectNoInternals(res.text);
  const body = JSON.parse(res.text) as Body;
  for (const error of body.errors ?? []) {
    expect(typeof error.message).toBe('string');
    expect(SPEC_CODES).toContain(error.extensions?.code);
    // An INTERNAL_SERVER_ERROR (even masked) would be a bug: something threw unexpectedly.
    expect(error.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
  }
  return body;
}

/** The request itself refused: this status, BAD_USER_INPUT only, no data. */
function expectRefused(res: Raw, status: number, message?: RegExp): Body {
  expect({ status: res.status, text: res.text.slice(0, 300) }).toMatchObject({ status });
  const body = graphqlBody(res);
  expect(body.data).toBeUndefined();
  expect(body.errors?.length).toBeGreaterThan(0);
  for (const error of body.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  if (message) expect(body.errors?.[0].message).toMatch(message);
  return body;
}

/** Any answer the spec allows for a request that got through: 200 with data, or a 400 refusal. */
function expectAnswered(res: Raw): Body {
  if (res.status === 200) {
    const body = graphqlBody(res);
    expect(body).toHaveProperty('data');
    return body;
  }
  return expectRefused(res, 400);
}

/** A 401 for a bad credential, exactly as the spec says. */
/** Two credentials in one header (a list, or a third part): refused as such (src/auth/authorizationHeader.ts). */
const holdsSeveralCredentials = (value: string) => value.includes(',') || value.replace(/^[ \t]+|[ \t]+$/g, '').split(/[ \t]+/).length > 2;

function expectSeveralCredentials(res: Raw) {
  expect({ status: res.status, text: res.text.slice(0, 300) }).toMatchObject({ status: 400 });
  const body = graphqlBody(res);
  expect(body.data ?? null).toBeNull();
  expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
}

function expectInvalidToken(res: Raw) {
  expect({ status: res.status, text: res.text.slice(0, 300) }).toMatchObject({ status: 401 });
  expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  const body = graphqlBody(res);
  expect(body.data ?? null).toBeNull();
  expect(body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
}

// ---- setup -----------------------------------------------------------------------------

let t: TestApp;
let world: World;
let live: Live;
/** A second app on the same database with the smallest body limit allowed. */
let small: Live;
/** Credentials that work: none of the random headers may be one of them. */
let realTokens: string[];
let serviceToken: string;

const VIEWER_QUERY = '{ viewer { user { email } apiToken { name } } }';

beforeAll(async () => {
  t = await startTestApp();
  world = await buildWorld(t);
  serviceToken = (await mintToken(t, world.owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId })).secret;
  realTokens = [world.owner.token, world.stranger.token, serviceToken];
  live = await listen(t.app);
  small = await listen(createApp(testConfig({ maxBodyBytes: SMALL_LIMIT }), t.database));
});

afterAll(async () => {
  await unlisten(live);
  await unlisten(small);
  await small?.app.stop();
  await t?.close();
});

/** The app still answers a normal, authenticated query. */
async function expectStillAnswering(target: Live = live) {
  const res = await send(target, { headers: json(bearer(world.owner.token)), body: JSON.stringify({ query: VIEWER_QUERY }) });
  expect(res.status).toBe(200);
  expect({ ...JSON.parse(res.text), extensions: undefined }).toEqual({ data: { viewer: { user: { email: world.owner.email }, apiToken: null } } });
}

// ---- the token parser ------------------------------------------------------------------

describe('parseToken', () => {
  test('never throws, and accepts a string only if it is exactly a formatted token', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 120 }),
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...ALPHABET, '_'), maxLength: 80 }).map((s) => `pcl_${s}`),
      fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 65, maxLength: 65 }).map((s) => `pcs_${s}`),
    );
    fc.assert(
      fc.property(anyString, (s) => {
        const parsed = parseToken(s);
        if (parsed) expect(formatToken(parsed.prefix, parsed.publicId, parsed.secret)).toBe(s);
      }),
      runs(3000),
    );
  });

  test('formatToken and parseToken round-trip', () => {
    fc.assert(
      fc.property(wellFormed, ({ prefix, publicId, secret }) => {
        const token = formatToken(prefix, publicId, secret);
        expect(token).toMatch(/^pc[ls]_[0-9A-Za-z]{65}$/);
        expect(parseToken(token)).toEqual({ prefix, publicId, secret });
      }),
      runs(1000),
    );
  });

  test('a token with one character changed, added or removed is refused', () => {
    const mutated = wellFormed.chain((parts) => nearMiss(formatToken(parts.prefix, parts.publicId, parts.secret)));
    fc.assert(
      fc.property(mutated, (s) => {
        expect(parseToken(s)).toBeNull();
      }),
      runs(3000),
    );
  });

  test('a wrong checksum is refused', () => {
    fc.assert(
      fc.property(wellFormed, base62(6), ({ prefix, publicId, secret }, sum) => {
        const token = formatToken(prefix, publicId, secret);
        fc.pre(token.slice(-6) !== sum);
        expect(parseToken(token.slice(0, -6) + sum)).toBeNull();
      }),
      runs(1000),
    );
  });

  test('surrounding whitespace, NUL bytes, unicode and very long strings are refused quickly', () => {
    const padding = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u0000', '\u00a0', '\u2028', '\ufeff', 'x', '\ud83d\ude00'), minLength: 1, maxLength: 4 });
    const padded = fc.tuple(wellFormed, padding, fc.constantFrom('before', 'after', 'both')).map(([p, pad, where]) => {
      const token = formatToken(p.prefix, p.publicId, p.secret);
      return where === 'before' ? pad + token : where === 'after' ? token + pad : pad + token + pad;
    });
    const long = fc.tuple(wellFormed, fc.integer({ min: 1_000, max: 200_000 }), anyChar).map(
      ([p, n, c]) => formatToken(p.prefix, p.publicId, p.secret) + c.repeat(Math.ceil(n / c.length)),
    );
    fc.assert(
      fc.property(fc.oneof(padded, long), (s) => {
        const start = performance.now();
        expect(parseToken(s)).toBeNull();
        // Linear, not backtracking: well under a second even for 200,000 characters on a busy machine.
        expect(performance.now() - start).toBeLessThan(1_000);
      }),
      runs(500),
    );
  });
});

// ---- random Authorization headers through the app ---------------------------------------

describe('random Authorization headers', () => {
  /** A real token's secret changed, the checksum recomputed: passes the parser, fails argon2. */
  const wrongSecret = (token: string) =>
    base62(43).map((secret) => {
      const parsed = parseToken(token)!;
      return formatToken(parsed.prefix, parsed.publicId, secret === parsed.secret ? secret.replace(/./, (c) => (c === 'a' ? 'b' : 'a')) : secret);
    });
  const aRealToken = () => fc.constantFrom(...realTokens);
  const isRealCredential = (value: string) => {
    // Node trims the spaces and tabs around a header value.
    const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(value.replace(/^[ \t]+|[ \t]+$/g, ''));
    return !!match && realTokens.includes(match[1]);
  };

  test('always 401 + WWW-Authenticate: Bearer error="invalid_token", one UNAUTHENTICATED error, no data (400 BAD_USER_INPUT for two credentials)', async () => {
    const header = fc
      .oneof(
        headerString(120),
        headerString(120).map((s) => `Bearer ${s}`),
        aRealToken().chain(nearMiss).map((s) => `Bearer ${s}`),
        aRealToken().chain(wrongSecret).map((s) => `Bearer ${s}`),
        wellFormed.map((p) => `Bearer ${formatToken(p.prefix, p.publicId, p.secret)}`), // unknown public id
        fc
          .tuple(
            fc.constantFrom('Basic ', 'Token ', 'Bearer', 'Bearer\t', 'Bearer:', 'Bearer=', '', 'Bearer Bearer ', 'Bearer "'),
            aRealToken(),
            fc.constantFrom('', ' x', ',', '"', ';', '\t2'),
          )
          .map(([scheme, token, tail]) => scheme + token + tail),
        aRealToken().map((token) => `Bearer ${token} ${token}`),
      )
      .filter((value) => sendable(value) && !isRealCredential(value));
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const res = await send(live, { headers: json({ authorization }), body: JSON.stringify({ query: VIEWER_QUERY }) });
        if (holdsSeveralCredentials(authorization)) expectSeveralCredentials(res);
        else expectInvalidToken(res);
      }),
      runs(150),
    );
    await expectStillAnswering();
  });

  test("header values Node's HTTP client refuses to send never leave the client", () => {
    const unsendable = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).filter((value) => !sendable(value));
    fc.assert(
      fc.property(unsendable, (authorization) => {
        expect(() => httpRequest({ host: '127.0.0.1', port: live.port, path: '/graphql', method: 'POST', headers: { authorization } })).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_CHAR' }),
        );
      }),
      runs(300),
    );
  });

  test("control bytes sent raw on the socket: Node's parser answers 400 before the app, which keeps answering", async () => {
    const control = fc.constantFrom(...[...Array(32).keys(), 0x7f].filter((c) => c !== 0x09 && c !== 0x0a && c !== 0x0d));
    const raw = fc.tuple(headerString(20), control, headerString(20));
    await fc.assert(
      fc.asyncProperty(raw, async ([before, byte, after]) => {
        const value = Buffer.concat([Buffer.from(`Bearer ${before}`, 'latin1'), Buffer.from([byte]), Buffer.from(after, 'latin1')]);
        const body = JSON.stringify({ query: VIEWER_QUERY });
        const head = `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\nAuthorization: `;
        const answer = await new Promise<string>((resolve, reject) => {
          const socket = connect(live.port, '127.0.0.1');
          const chunks: Buffer[] = [];
          socket.on('data', (chunk) => chunks.push(chunk));
          socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
          socket.on('error', reject);
          socket.end(Buffer.concat([Buffer.from(head, 'latin1'), value, Buffer.from(`\r\n\r\n${body}`, 'latin1')]));
        });
        expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      }),
      runs(40),
    );
    await expectStillAnswering();
  });
});

// ---- hostile GraphQL requests ----------------------------------------------------------

describe('hostile GraphQL requests', () => {
  const VALID_BODY = JSON.stringify({ query: 'query($id: ID!) { board(id: $id) { id name } }', variables: { id: 'x' } });

  test('malformed JSON: 400, BAD_USER_INPUT, no data', async () => {
    const isJson = (s: string) => {
      try {
        JSON.parse(s);
        return true;
      } catch {
        return false;
      }
    };
    const truncated = fc.integer({ min: 0, max: VALID_BODY.length - 1 }).map((n) => Buffer.from(VALID_BODY.slice(0, n)));
    const inserted = fc
      .tuple(fc.nat({ max: VALID_BODY.length }), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }))
      .map(([i, s]) => VALID_BODY.slice(0, i) + s + VALID_BODY.slice(i))
      .filter((s) => !isJson(s))
      .map((s) => Buffer.from(s));
    const bytes = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)).filter((b) => !isJson(b.toString('utf8')));
    const notARequest = fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)); // valid JSON, but no query
    await fc.assert(
      fc.asyncProperty(fc.oneof(truncated, inserted, bytes, notARequest), async (body) => {
        expectRefused(await send(live, { headers: json(), body }), 400);
      }),
      runs(200),
    );
    await expectStillAnswering();
  });

  test('content types: 415 for a type nothing reads, otherwise parsed (200 or 400), always JSON', async () => {
    const SUPPORTED = ['application/json', 'application/graphql+json', 'application/graphql', 'application/x-www-form-urlencoded'];
    const contentType = fc.oneof(
      fc.constantFrom(
        ...SUPPORTED,
        'application/json; charset=utf-8',
        'application/json;charset=latin1',
        'application/json, text/plain',
        'APPLICATION/JSON',
        'Application/Json',
        ' application/json',
        'application/jsonx',
        'application/json-patch+json',
        'application/graphql-response+json',
        'text/plain',
        'text/html',
        'application/xml',
        'multipart/form-data',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        '*/*',
        '',
      ),
      headerString(40),
      fc.constant(undefined), // no Content-Type at all
    );
    const bodies = {
      json: JSON.stringify({ query: '{ __typename }' }),
      graphql: '{ __typename }',
      form: 'query=%7B%20__typename%20%7D',
      multipart: '--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ __typename }"}\r\n--xyz--\r\n',
    };
    /** Which parser yoga picks: the first value of the header, exactly or followed by parameters. */
    const parserFor = (type: string | undefined) => {
      const first = type?.replace(/^[ \t]+|[ \t]+$/g, '').split(',')[0];
      return SUPPORTED.find((s) => first === s || !!first?.startsWith(`${s};`));
    };
    const matches: Record<string, keyof typeof bodies> = {
      'application/json': 'json',
      'application/graphql+json': 'json',
      'application/graphql': 'graphql',
      'application/x-www-form-urlencoded': 'form',
    };
    await fc.assert(
      fc.asyncProperty(contentType.filter((ct) => ct === undefined || sendable(ct)), fc.constantFrom(...(Object.keys(bodies) as (keyof typeof bodies)[])), async (type, kind) => {
        const res = await send(live, { headers: type === undefined ? {} : { 'content-type': type }, body: bodies[kind] });
        const parser = parserFor(type);
        if (!parser) return void expectRefused(res, 415, /Content-Type/);
        const body = expectAnswered(res);
        if (matches[parser] === kind) expect({ ...body, extensions: undefined }).toEqual({ data: { __typename: 'Query' } });
      }),
      runs(150),
    );
    await expectStillAnswering();
  });

  test('GET and form requests whose variables or extensions are not JSON: 400, not 500', async () => {
    const notJson = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    await fc.assert(
      fc.asyncProperty(notJson, fc.constantFrom('variables', 'extensions'), fc.boolean(), async (value, param, viaGet) => {
        const params = new URLSearchParams({ query: '{ __typename }', [param]: value }).toString();
        const res = viaGet
          ? await send(live, { method: 'GET', path: `/graphql?${params}`, headers: { accept: 'application/json' } })
          : await send(live, { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: params });
        expectRefused(res, 400, /not valid JSON/);
      }),
      runs(60),
    );
    await expectStillAnswering();
  });

  test('wrong HTTP methods: 405 with a GraphQL-shaped BAD_USER_INPUT', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH']) {
      const res = await send(live, { method, headers: json(), body: JSON.stringify({ query: '{ __typename }' }) });
      expectRefused(res, 405);
      expect(res.headers.allow).toBe('GET, POST');
    }
  });

  describe('body size', () => {
    /** A valid request of exactly `size` bytes (padded with JSON whitespace). */
    const requestOfSize = (size: number, type: 'json' | 'graphql') => {
      const core = type === 'json' ? '{"query":"{ __typename }"' : '{ __typename }';
      return type === 'json' ? core + ' '.repeat(size - core.length - 1) + '}' : core + ' '.repeat(size - core.length);
    };

    test(`around and above the limit, with Content-Length or chunked: 413 exactly above it (limit ${SMALL_LIMIT})`, async () => {
      const size = fc.oneof(fc.integer({ min: SMALL_LIMIT - 64, max: SMALL_LIMIT + 64 }), fc.integer({ min: 100, max: 4 * SMALL_LIMIT }));
      await fc.assert(
        fc.asyncProperty(size, fc.boolean(), fc.constantFrom<'json' | 'graphql'>('json', 'graphql'), async (n, chunked, type) => {
          const body = requestOfSize(n, type);
          expect(Buffer.byteLength(body)).toBe(n);
          const res = await send(small, {
            headers: { 'content-type': type === 'json' ? 'application/json' : 'application/graphql' },
            body,
            chunked,
          });
          if (n > SMALL_LIMIT) {
            const refused = expectRefused(res, 413);
            // The rest of the body stays unread: the connection is closed, never reused (a keep-alive
            // client's next request on it used to hang 5 s and then fail with ECONNRESET).
            expect(res.headers.connection).toBe('close');
            expect(refused.errors).toEqual([
              { message: `Request body too large: at most ${SMALL_LIMIT} bytes are accepted.`, extensions: { code: 'BAD_USER_INPUT' } },
            ]);
          } else {
            expect(res.status).toBe(200);
            expect({ ...JSON.parse(res.text), extensions: undefined }).toEqual({ data: { __typename: 'Query' } });
          }
        }),
        runs(80),
      );
      await expectStillAnswering(small);
    });

    test('the default limit is 1 MiB: exactly 1 MiB is read, one byte more is 413', async () => {
      const ok = await send(live, { headers: json(), body: requestOfSize(DEFAULT_LIMIT, 'json') });
      expect(ok.status).toBe(200);
      const res = await send(live, { headers: json(), body: requestOfSize(DEFAULT_LIMIT + 1, 'json') });
      expectRefused(res, 413, /at most 1048576 bytes/);
    });

    test.each([
      ['small', () => small, SMALL_LIMIT],
      ['default', () => live, DEFAULT_LIMIT],
    ])('an endless chunked body is refused once past the limit (%s), never read whole', async (_name, target, limit) => {
      const TOTAL = 256 * 1024 * 1024;
      const { status, text, sent } = await new Promise<{ status: number; text: string; sent: number }>((resolve, reject) => {
        let sent = 0;
        let done = false;
        const req = httpRequest({ host: '127.0.0.1', port: target().port, path: '/graphql', method: 'POST', headers: json() }, (res) => {
          done = true;
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, text, sent });
            req.destroy();
          });
        });
        req.on('error', (error) => (done ? undefined : reject(error)));
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        req.write('{"query":"{ __typename }"');
        const pump = () => {
          while (!done && sent < TOTAL) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          if (!done) req.end('}');
        };
        pump();
      });
      expect(status).toBe(413);
      expect(JSON.parse(text).errors[0]).toEqual({ message: `Request body too large: at most ${limit} bytes are accepted.`, extensions: { code: 'BAD_USER_INPUT' } });
      // What was written before the answer came: the limit plus socket buffers, far from all of it.
      expect(sent).toBeLessThan(limit + 32 * 1024 * 1024);
      await expectStillAnswering(target());
    });
  });

  test('batched requests (a JSON array): 400 "Batching is not supported.", nothing runs', async () => {
    const organizations = await t.prisma.organization.count();
    const operation = fc.oneof(
      fc.constant({ query: '{ __typename }' }),
      fc.constant({ query: 'mutation { createOrganization(input: { name: "Batched" }) { id } }' }),
      fc.constant({ query: VIEWER_QUERY, variables: {} }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { maxLength: 12 }), async (batch) => {
        const res = await send(live, { headers: json(bearer(world.owner.token)), body: JSON.stringify(batch) });
        const body = expectRefused(res, 400);
        expect(body.errors).toEqual([{ message: 'Batching is not supported.', extensions: { code: 'BAD_USER_INPUT' } }]);
      }),
      runs(40),
    );
    expect(await t.prisma.organization.count()).toBe(organizations);
    await expectStillAnswering();
  });

  test('variables of the wrong type: 400 naming the variable; of the right type: 200', async () => {
    const INT32 = 2 ** 31 - 1;
    const cases = [
      {
        query: 'query($v: Int) { organizations(first: $v) { edges { node { id } } } }',
        accepts: (v: unknown) => v === null || (Number.isInteger(v) && Math.abs(v as number) <= INT32),
      },
      { query: 'query($v: ID!) { board(id: $v) { id } }', accepts: (v: unknown) => typeof v === 'string' || Number.isInteger(v) },
      { query: 'query($v: Boolean!) { __typename @include(if: $v) }', accepts: (v: unknown) => typeof v === 'boolean' },
      { query: 'query($v: String) { apiTokens(filter: { nameContains: $v }) { edges { node { id } } } }', accepts: (v: unknown) => v === null || typeof v === 'string' },
      {
        query: 'mutation($v: LogInInput!) { logIn(input: $v) { token } }',
        accepts: (v: unknown) =>
          typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).every((k) => k === 'email' || k === 'password') &&
          typeof (v as Record<string, unknown>).email === 'string' && typeof (v as Record<string, unknown>).password === 'string',
      },
    ];
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 1.5, -0, 1e21, '1', 'true', '', '\u0000', [], {}, [1], { email: 'a@b.c', password: 'x' }, { email: 1, password: 'x' }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cases.length - 1 }), value, async (i, v) => {
        const { query, accepts } = cases[i];
        const res = await send(live, { headers: json(bearer(world.owner.token)), body: JSON.stringify({ query, variables: { v } }) });
        if (accepts(v)) {
          expect({ status: res.status, text: res.text.slice(0, 300) }).toMatchObject({ status: 200 });
          const body = graphqlBody(res);
          for (const error of body.errors ?? []) expect(['BAD_USER_INPUT', 'UNAUTHENTICATED']).toContain(error.extensions?.code);
        } else {
          const body = expectRefused(res, 400);
          expect(body.errors?.[0].message).toMatch(/\$v\b/);
        }
      }),
      runs(200),
    );
    await expectStillAnswering();
  });

  test('variables that are not an object: 400', async () => {
    const notAnObject = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 1 })));
    await fc.assert(
      fc.asyncProperty(notAnObject, async (variables) => {
        const res = await send(live, { headers: json(), body: JSON.stringify({ query: '{ __typename }', variables }) });
        expectRefused(res, 400, /variables/);
      }),
      runs(40),
    );
  });

  test('deeply nested input objects and lists (up to 120,000 levels): 400 or, in extensions, ignored', async () => {
    const nested = (depth: number, shape: 'object' | 'array') =>
      shape === 'object' ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth) : '['.repeat(depth) + '1' + ']'.repeat(depth);
    const places = {
      id: (deep: string) => `{"query":"query($v: ID!) { board(id: $v) { id } }","variables":{"v":${deep}}}`,
      input: (deep: string) => `{"query":"mutation($v: CreateBoardInput!) { createBoard(input: $v) { id } }","variables":{"v":${deep}}}`,
      inputField: (deep: string) => `{"query":"mutation($v: CreateBoardInput!) { createBoard(input: $v) { id } }","variables":{"v":{"spaceId":${deep},"name":"x"}}}`,
      list: (deep: string) => `{"query":"query($v: ApiTokenFilter) { apiTokens(filter: $v) { edges { node { id } } } }","variables":{"v":{"nameContains":${deep}}}}`,
      extensions: (deep: string) => `{"query":"{ __typename }","extensions":{"x":${deep}}}`,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 120_000 })),
        fc.constantFrom<'object' | 'array'>('object', 'array'),
        fc.constantFrom(...(Object.keys(places) as (keyof typeof places)[])),
        async (depth, shape, place) => {
          const res = await send(live, { headers: json(bearer(world.owner.token)), body: places[place](nested(depth, shape)) });
          if (place === 'extensions') {
            expect(res.status).toBe(200);
            expect({ ...JSON.parse(res.text), extensions: undefined }).toEqual({ data: { __typename: 'Query' } });
          } else {
            expectRefused(res, 400, /\$v\b/);
          }
        },
      ),
      runs(40),
    );
    await expectStillAnswering();
  });

  test('deeply nested documents (object literals and selections): 400 before anything runs', async () => {
    const doc = fc.oneof(
      fc.integer({ min: 2, max: 2_000 }).map((d) => `{ board(id: ${'{ a: '.repeat(d)}1${' }'.repeat(d)}) { id } }`),
      fc.integer({ min: 2, max: 2_000 }).map((d) => `{ board(id: ${'['.repeat(d)}1${']'.repeat(d)}) { id } }`),
      fc.integer({ min: 21, max: 2_000 }).map((d) => `{ ${'viewer { user { '.repeat(d)}id${' } }'.repeat(d)} }`),
    );
    await fc.assert(
      fc.asyncProperty(doc, async (query) => {
        expectRefused(await send(live, { headers: json(bearer(world.owner.token)), body: JSON.stringify({ query }) }), 400);
      }),
      runs(30),
    );
    await expectStillAnswering();
  });

  test('very long strings (up to the body limit and beyond)', async () => {
    const organizations = await t.prisma.organization.count();
    const places = {
      name: (s: string) => ({ query: 'mutation($v: String!) { createOrganization(input: { name: $v }) { id } }', variables: { v: s } }),
      password: (s: string) => ({ query: 'mutation($v: String!) { logIn(input: { email: "owner@example.com", password: $v }) { token } }', variables: { v: s } }),
      id: (s: string) => ({ query: 'query($v: ID!) { board(id: $v) { id } }', variables: { v: s } }),
      literal: (s: string) => ({ query: `{ board(id: ${JSON.stringify(s)}) { id } }` }),
      comment: (s: string) => ({ query: `{ __typename } # ${s.replace(/[\r\n]/g, ' ')}` }),
      operationName: (s: string) => ({ query: '{ __typename }', operationName: s }),
    };
    const longString = fc
      .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.integer({ min: 5_000, max: 1_200_000 }))
      .map(([unit, length]) => unit.repeat(Math.ceil(length / unit.length)));
    await fc.assert(
      fc.asyncProperty(longString, fc.constantFrom(...(Object.keys(places) as (keyof typeof places)[])), async (s, place) => {
        const body = JSON.stringify(places[place](s));
        const start = performance.now();
        const res = await send(live, { headers: json(bearer(world.owner.token)), body });
        if (Buffer.byteLength(body) > DEFAULT_LIMIT) return void expectRefused(res, 413);
        const answer = expectAnswered(res);
        if (place === 'name' || place === 'password') {
          // Refused by input validation (before argon2 ever sees a long password).
          expect(res.status).toBe(200);
          expect(answer.errors?.map((e) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
          expect(performance.now() - start).toBeLessThan(5_000);
        }
        if (place === 'id' || (place === 'literal' && res.status === 200)) expect({ ...answer, extensions: undefined }).toEqual({ data: { board: null } });
        if (place === 'operationName') expect(res.status).toBe(400);
      }),
      runs(40),
    );
    expect(await t.prisma.organization.count()).toBe(organizations);
    await expectStillAnswering();
  });

  test('random documents: 200 or 400 with the spec codes, never a 500', async () => {
    // Well-formed documents drawn from the schema itself (so most of them run, as the owner, a
    // SERVICE token or anonymously), with literal arguments good and bad; then the same with a
    // field renamed, token soup, and random strings.
    const idValues = [world.organizationId, world.spaceA, world.boardA1, world.itemA1, world.otherBoard, 'x', '', '\u0000'];
    const argValue = (name: string, type: string): string[] => {
      if (type.startsWith('ID')) return [...idValues.map((v) => JSON.stringify(v)), '1', 'null'];
      if (type.startsWith('Int')) return ['1', '2', '0', '101', '-1', '$f', 'null', '2147483648'];
      if (type.startsWith('ApiTokenFilter')) return ['{}', '{ nameContains: "t" }', '{ status: ACTIVE }', '{ status: NOPE }', '{ nameContains: 1 }'];
      if (name === 'after' || name === 'before') return ['"x"', '""', '"YXJyYXljb25uZWN0aW9uOjA="', 'null'];
      return ['"todo"', '""', 'null', '1'];
    };
    const selectionOf = (type: GraphQLObjectType, depth: number): fc.Arbitrary<string> => {
      const fields = Object.values(type.getFields()).filter((f) => depth < 5 || isLeafType(getNamedType(f.type)));
      if (fields.length === 0) return fc.constant('{ __typename }');
      return fc
        .uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: 3, selector: (f) => f.name })
        .chain((chosen) =>
          fc.tuple(
            ...chosen.map((field) => {
              const required = field.args.filter((a) => isNonNullType(a.type));
              const args = fc
                .subarray(field.args.filter((a) => !isNonNullType(a.type)))
                .map((optional) => [...required, ...optional])
                .chain((picked) => fc.tuple(...picked.map((a) => fc.constantFrom(...argValue(a.name, String(a.type))).map((v) => `${a.name}: ${v}`))));
              const named = getNamedType(field.type);
              const sub = isObjectType(named) ? selectionOf(named, depth + 1) : fc.constant('');
              return fc.tuple(args, sub).map(([a, sel]) => `${field.name}${a.length ? `(${a.join(', ')})` : ''} ${sel}`);
            }),
          ),
        )
        .map((parts) => `{ ${parts.join(' ')} }`);
    };
    const selection = selectionOf(schema.getQueryType()!, 0);
    const renamed = fc.tuple(selection, fc.nat(), fc.constantFrom('nope', '__typename', 'id', 'edges', 'node', '__schema')).map(([doc, n, name]) => {
      const names = [...doc.matchAll(/\b[a-z_]\w*/g)];
      const m = names[n % names.length];
      return doc.slice(0, m.index) + name + doc.slice(m.index! + m[0].length);
    });
    const withVariable = (doc: string) => (doc.includes('$f') ? `query($f: Int) ${doc}` : doc);
    const TOKENS = ['{', '}', '(', ')', ':', '$f', '!', '@include(if: true)', '@skip', '...', '... on Query', 'fragment F on Query', '...F', '[', ']', '=', ',', 'query', 'mutation', 'subscription', 'viewer', 'user', 'id', 'board', 'organizations', 'edges', 'node', 'first: 1', 'Int', '"""block"""', '"\\u0000"', '1e309', '#c\n', '\u0000', '\ufeff'];
    const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }).map((tokens) => tokens.join(' '));
    const document = fc.oneof(
      { weight: 4, arbitrary: selection.map(withVariable) },
      { weight: 2, arbitrary: renamed.map(withVariable) },
      { weight: 1, arbitrary: selection.map((s) => `mutation ${s}`) },
      { weight: 1, arbitrary: soup },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
    );
    await fc.assert(
      fc.asyncProperty(document, fc.option(fc.constantFrom(world.owner.token, serviceToken)), async (query, token) => {
        const res = await send(live, { headers: json(token ? bearer(token) : {}), body: JSON.stringify({ query, ...(query.includes('$f') && { variables: { f: 1 } }) }) });
        expectAnswered(res);
      }),
      runs(200),
    );
    await expectStillAnswering();
  });
});

describe('hostile token-safety inputs (allowedIps, token policy, rotation)', () => {
  /** POST /graphql with variables, as `token`: the raw answer. */
  const call = (query: string, variables: Record<string, unknown>, token?: string) =>
    send(live, { headers: json(token ? bearer(token) : {}), body: JSON.stringify({ query, variables }) });
  const codesOf = (body: Body) => (body.errors ?? []).map((e) => e.extensions?.code);

  test('allowedIps lists: stored in normal form (at most 100) or BAD_USER_INPUT with nothing created', async () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const ipv4 = fc.tuple(octet, octet, octet, octet).map((parts) => parts.join('.'));
    const ipv6 = fc.array(fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)), { minLength: 8, maxLength: 8 }).map((parts) => parts.join(':'));
    const cidr = fc.oneof(
      fc.tuple(ipv4, fc.integer({ min: -1, max: 40 })).map(([ip, bits]) => `${ip}/${bits}`),
      fc.tuple(ipv6, fc.integer({ min: -1, max: 140 })).map(([ip, bits]) => `${ip}/${bits}`),
      ipv4,
      ipv6,
      fc.constantFrom('::', '::/0', '0.0.0.0/0', '::ffff:10.0.0.0/104', '010.0.0.1/8', '10.0.0.0/8 ', ' 10.0.0.0/8', '10.0.0.0//8', '10.0.0/8', 'fe80::1%eth0/64', '1.2.3.4/08', ''),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef:./x '), maxLength: 45 }),
    );
    const lists = fc.oneof({ weight: 5, arbitrary: fc.array(cidr, { maxLength: 12 }) }, { weight: 1, arbitrary: fc.array(ipv4, { minLength: 95, maxLength: 120 }) });
    const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { apiToken { allowedIps } } }`;
    await fc.assert(
      fc.asyncProperty(lists, async (allowedIps) => {
        const before = await t.prisma.apiToken.count({ where: { name: 'hostile-ranges' } });
        const input = { name: 'hostile-ranges', role: 'VIEWER', organizationId: world.organizationId, allowedIps };
        const res = await call(CREATE, { input }, world.owner.token);
        const body = expectAnswered(res);
        if (res.status === 200 && !body.errors) {
          const stored: string[] = (body.data as any).createApiToken.apiToken.allowedIps;
          expect(stored.length).toBeLessThanOrEqual(100);
          expect(stored.length).toBeLessThanOrEqual(allowedIps.length);
          for (const range of stored) expect(range).toMatch(/^[0-9a-f.:]+\/\d{1,3}$/);
          expect(await t.prisma.apiToken.count({ where: { name: 'hostile-ranges' } })).toBe(before + 1);
        } else {
          expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
          expect(await t.prisma.apiToken.count({ where: { name: 'hostile-ranges' } })).toBe(before);
        }
      }),
      runs(80),
    );
    await t.prisma.apiToken.deleteMany({ where: { name: 'hostile-ranges' } });
  });

  test('token policy inputs: stored as given or BAD_USER_INPUT / NOT_FOUND / 400 with the policy unchanged', async () => {
    const SET = `mutation($input: UpdateOrganizationTokenPolicyInput!) { updateOrganizationTokenPolicy(input: $input) { maxLifetimeSeconds requireExpiry allowPersonalTokens } }`;
    const stored = async () =>
      (await t.prisma.organizationTokenPolicy.findUnique({ where: { organizationId: world.organizationId } })) ?? { maxLifetimeSeconds: null, requireExpiry: false, allowPersonalTokens: true };
    const field = (good: fc.Arbitrary<unknown>) => fc.option(fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom('1', 'true', 1.5, [], {}, null) }), { nil: undefined });
    const input = fc.record(
      {
        organizationId: fc.oneof({ weight: 4, arbitrary: fc.constant(world.organizationId) }, { weight: 1, arbitrary: fc.constantFrom(world.otherOrganizationId, '', 'x', '\u0000', 'a'.repeat(201)) }),
        maxLifetimeSeconds: field(fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(59, 60, 86_400, 315_360_000, 315_360_001))),
        requireExpiry: field(fc.boolean()),
        allowPersonalTokens: field(fc.boolean()),
      },
      { requiredKeys: ['organizationId'] },
    );
    try {
      await fc.assert(
        fc.asyncProperty(input, async (given) => {
          const before = await stored();
          const res = await call(SET, { input: given }, world.owner.token);
          const body = expectAnswered(res);
          const after = await stored();
          if (res.status === 200 && !body.errors) {
            const policy = (body.data as any).updateOrganizationTokenPolicy;
            expect(after).toMatchObject(policy);
            for (const key of ['maxLifetimeSeconds', 'requireExpiry', 'allowPersonalTokens'] as const) {
              if (given[key] !== undefined) expect(policy[key]).toBe(given[key]);
              else expect(policy[key]).toBe(before[key]);
            }
          } else {
            expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(codesOf(body)[0]);
            expect(after).toEqual(before);
          }
          expect(await t.prisma.organizationTokenPolicy.count({ where: { organizationId: world.otherOrganizationId } })).toBe(0);
        }),
        runs(80),
      );
    } finally {
      await t.prisma.organizationTokenPolicy.deleteMany({ where: { organizationId: world.organizationId } });
      await t.app.credentialChanges.barrier();
    }
  });

  test('rotateCurrentToken with a grace period out of range or of the wrong type: refused, the token keeps its secret', async () => {
    const token = await mintToken(t, world.owner.token, { kind: 'SERVICE', role: 'VIEWER', organizationId: world.organizationId });
    const ROTATE = `mutation($grace: Int) { rotateCurrentToken(gracePeriodSeconds: $grace) { secret } }`;
    const grace = fc.oneof(fc.integer({ min: -(2 ** 31), max: -1 }), fc.integer({ min: 86_401, max: 2 ** 31 - 1 }), fc.constantFrom('10', 1.5, 2 ** 31, true, [1], { s: 1 }));
    await fc.assert(
      fc.asyncProperty(grace, async (value) => {
        const body = expectAnswered(await call(ROTATE, { grace: value }, token.secret));
        expect(codesOf(body)).toEqual(['BAD_USER_INPUT']);
        expect(graphqlBody(await call(VIEWER_QUERY, {}, token.secret)).errors).toBeUndefined();
      }),
      runs(40),
    );
  });
});
