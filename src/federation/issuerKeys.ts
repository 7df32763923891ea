// The signing keys of the trusted OIDC issuers: each issuer's discovery document
// (<iss>/.well-known/openid-configuration) names its JWKS, which jose's createRemoteJWKSet
// fetches, caches and fetches again for an unknown `kid` (at most once per cooldown). Every
// request to an issuer is bounded: FederationConfig.fetchTimeoutMs for the whole answer (body
// included), 1 MiB, no redirects. A failure is an error for this exchange only: nothing is
// cached from it, nothing crashes, nothing waits longer than the timeout.
import { createRemoteJWKSet, customFetch } from 'jose';
import type { FederationConfig } from '../env';
import { isLoopbackHost } from '../env';
import { issuerUnavailable } from '../errors';

/** The most a discovery document or key set may weigh. */
export const MAX_ISSUER_RESPONSE_BYTES = 1024 * 1024;
/** Discovery documents change rarely (the key set has its own cache): read again after this. */
const DISCOVERY_CACHE_MS = 60 * 60_000;
/** How long jose keeps a key set before fetching it again (the spec asks for at least 5 minutes). */
const JWKS_CACHE_MS = 10 * 60_000;

export type KeySet = ReturnType<typeof createRemoteJWKSet>;

class IssuerFetchError extends Error {}

/** fetch, refusing redirects and answers over MAX_ISSUER_RESPONSE_BYTES; the signal bounds the body too. */
async function fetchCapped(url: string | URL, init: RequestInit): Promise<Response> {
  const response = await fetch(url, { ...init, redirect: 'manual' });
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new IssuerFetchError(`${url} answered with a redirect (HTTP ${response.status}), which is not followed`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_ISSUER_RESPONSE_BYTES) {
        await reader.cancel();
        throw new IssuerFetchError(`${url} answered with more than ${MAX_ISSUER_RESPONSE_BYTES} bytes`);
      }
      chunks.push(value);
    }
  }
  return new Response(Buffer.concat(chunks), { status: response.status, headers: response.headers });
}

/** An https:// URL, or http:// on loopback when allowed: where an issuer's documents may be fetched from. */
export function fetchableUrl(text: string, config: FederationConfig): URL | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.username || url.password) return null;
  if (url.protocol === 'https:') return url;
  return url.protocol === 'http:' && config.allowInsecureLoopback && isLoopbackHost(url.hostname) ? url : null;
}

/** Why a request to an issuer failed, in words (the innermost cause says most: ECONNREFUSED, timeout). */
export function describeFetchFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof IssuerFetchError) return error.message;
  // Errors are read by their fields, not instanceof: fetch's come from Node's own realm under Jest.
  const chain: { name?: string; code?: unknown; message?: string; cause?: unknown }[] = [];
  for (let cause = error; typeof cause === 'object' && cause !== null && chain.length < 10; cause = (cause as { cause?: unknown }).cause) {
    chain.push(cause as (typeof chain)[number]);
  }
  if (chain.some((e) => e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'ERR_JWKS_TIMEOUT')) return `no answer within ${timeoutMs / 1000} s`;
  const innermost = chain[chain.length - 1];
  if (!innermost) return String(error);
  const message = String(innermost.message ?? innermost);
  return typeof innermost.code === 'string' && !message.includes(innermost.code) ? `${innermost.code}: ${message}` : message;
}

interface Discovered {
  keys: KeySet;
  until: number;
}

export class IssuerKeys {
  private readonly discovered = new Map<string, Discovered>();
  private readonly pending = new Map<string, Promise<Discovered>>();

  constructor(private readonly config: FederationConfig) {}

  /** The issuer's key set (discovered once, then cached); throws issuerUnavailable when it cannot be had. */
  async keySetOf(issuer: string): Promise<KeySet> {
    const cached = this.discovered.get(issuer);
    if (cached && cached.until > Date.now()) return cached.keys;
    let pending = this.pending.get(issuer);
    if (!pending) {
      // Concurrent exchanges share one discovery request.
      pending = this.discover(issuer).finally(() => this.pending.delete(issuer));
      this.pending.set(issuer, pending);
    }
    return (await pending).keys;
  }

  private async discover(issuer: string): Promise<Discovered> {
    const { fetchTimeoutMs } = this.config;
    const address = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let document: unknown;
    try {
      const response = await fetchCapped(address, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(fetchTimeoutMs) });
      if (response.status !== 200) throw new IssuerFetchError(`${address} answered HTTP ${response.status}`);
      document = await response.json().catch(() => {
        throw new IssuerFetchError(`${address} did not answer with JSON`);
      });
    } catch (error) {
      throw issuerUnavailable(issuer, describeFetchFailure(error, fetchTimeoutMs));
    }
    const { issuer: named, jwks_uri: jwksUri } = (document ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
    // OpenID Connect Discovery: the document must name the issuer it was fetched for.
    if (named !== issuer) throw issuerUnavailable(issuer, `its discovery document names another issuer (${JSON.stringify(String(named).slice(0, 200))})`);
    const jwksUrl = typeof jwksUri === 'string' ? fetchableUrl(jwksUri, this.config) : null;
    if (!jwksUrl) throw issuerUnavailable(issuer, 'its discovery document has no https:// jwks_uri');
    const keys = createRemoteJWKSet(jwksUrl, {
      timeoutDuration: fetchTimeoutMs,
      cooldownDuration: this.config.jwksRefetchCooldownMs,
      cacheMaxAge: JWKS_CACHE_MS,
      [customFetch]: fetchCapped,
    });
    const discovered = { keys, until: Date.now() + DISCOVERY_CACHE_MS };
    this.discovered.set(issuer, discovered);
    return discovered;
  }
}

/** One IssuerKeys per configuration (so per app): its caches live as long as the app. */
const byConfig = new WeakMap<FederationConfig, IssuerKeys>();

export function issuerKeysFor(config: FederationConfig): IssuerKeys {
  let keys = byConfig.get(config);
  if (!keys) {
    keys = new IssuerKeys(config);
    byConfig.set(config, keys);
  }
  return keys;
}
