// A real OIDC issuer for tests, on loopback: keys generated with jose, the discovery document
// and the JWKS served by node:http, ID tokens signed like a CI platform's. It counts the
// requests it gets and can make its JWKS endpoint fail (down, slow, oversized).
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type CryptoKey, type JWK, type JWTPayload, SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';

export type JwksMode = 'ok' | 'down' | 'slow' | 'huge';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

export interface TestIssuer {
  /** The issuer URL, the `iss` of its tokens: http://127.0.0.1:<port> */
  url: string;
  requests: { discovery: number; jwks: number };
  /** How the JWKS endpoint answers from now on. */
  jwksMode: JwksMode;
  /**
   * Signs `claims` (nothing added) with a published key (RS256 by default), the one published
   * last by rotate(), or one not published (yet).
   */
  sign(claims: JWTPayload, options?: { alg?: 'RS256' | 'ES256'; key?: 'published' | 'rotated' | 'unpublished'; kid?: string }): Promise<string>;
  /** Publishes the key that was unpublished (a key rotation) and makes a new unpublished one. */
  rotate(): Promise<void>;
  /** The PEM of the published RS256 key: what an attacker has to forge HS256 with. */
  publicKeyPem(): string;
  /** The kid of the published RS256 key. */
  publishedKid(): string;
  close(): Promise<void>;
}

async function newKey(alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

export async function startIssuer(): Promise<TestIssuer> {
  const published: SigningKey[] = [await newKey('RS256'), await newKey('ES256')];
  let unpublished = await newKey('RS256');
  const sockets = new Set<Socket>();
  let url = '';

  const json = (res: ServerResponse, body: unknown) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/openid-configuration') {
      issuer.requests.discovery++;
      return json(res, { issuer: url, jwks_uri: `${url}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    }
    if (req.url === '/.well-known/jwks') {
      issuer.requests.jwks++;
      switch (issuer.jwksMode) {
        case 'down':
          return req.socket.destroy();
        case 'slow':
          return; // never answers; close() ends the connection
        case 'huge':
          return json(res, { keys: published.map((k) => k.publicJwk), padding: 'x'.repeat(2 * 1024 * 1024) });
        default:
          return json(res, { keys: published.map((k) => k.publicJwk) });
      }
    }
    res.writeHead(404).end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const issuer: TestIssuer = {
    url,
    requests: { discovery: 0, jwks: 0 },
    jwksMode: 'ok',
    async sign(claims, options = {}) {
      const key =
        options.key === 'unpublished'
          ? unpublished
          : options.key === 'rotated'
            ? published[published.length - 1]
            : published.find((k) => k.alg === (options.alg ?? 'RS256'))!;
      return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' }).sign(key.privateKey);
    },
    async rotate() {
      published.push(unpublished);
      unpublished = await newKey('RS256');
    },
    publicKeyPem: () => published[0].publicPem,
    publishedKid: () => published[0].kid,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return issuer;
}

/** Claims shaped like a GitHub Actions job's ID token, valid for 5 minutes from now. */
export function githubClaims(issuerUrl: string, overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuerUrl,
    aud: 'portcullis',
    sub: 'repo:acme/app:environment:production',
    repository: 'acme/app',
    repository_id: '4242',
    repository_owner: 'acme',
    repository_owner_id: '1001',
    ref: 'refs/heads/main',
    environment: 'production',
    job_workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    jti: randomUUID(),
    iat: now,
    nbf: now,
    exp: now + 300,
    ...overrides,
  };
}
