// Turns an Authorization header into a Principal, or refuses it. Malformed, unknown and
// wrong-secret tokens are refused alike (same error, and an argon2id verification's time
// in every case); only a caller holding the right secret learns that it expired, was revoked
// or is not valid yet (notBefore), that the client address is outside its allowedIps, or that an
// organization's token policy blocks it.
import { findApiToken, findSession, type ApiTokenRecord, type SessionRecord } from './credentialLookup';
import type { PrismaClient } from '../generated/prisma/client';
import { addressNotAllowed, invalidToken } from '../errors';
import type { CredentialCache } from './credentialCache';
import { addressAllowed } from './ipRanges';
import { type LastUsedRecorder, withNewestAddress } from './lastUsedRecorder';
import { verifyAgainstDummy } from './password';
import type { Principal } from './principal';
import type { SecretProofCache } from './secretProofCache';
import { checksumMatches, tokenParts, type TokenParts } from './tokenFormat';
import { secretDigest } from './issueToken';
import { replacedSecretPresented } from './reuseDetection';
import { blockedByPolicy, blockingPolicies } from './tokenPolicy';
import { then, type MaybePromise } from '../maybePromise';

export interface Authenticator {
  /**
   * `clientAddress`: the address the rate limits see (limits/clientAddress.ts), for allowedIps.
   * A credential already proven and cached in this process is answered at once, without a
   * promise; the others (a database read, argon2id) asynchronously. Refusals are thrown or rejected.
   */
  authenticate(authorization: string | null, clientAddress: string): MaybePromise<Principal>;
}

/** The hashes a secret may match now: the current one, and the replaced one during a grace period. */
export function candidateHashes(
  token: Pick<ApiTokenRecord['token'], 'secretHash' | 'previousSecretHash' | 'previousSecretExpiresAt'>,
  now: Date,
): string[] {
  const candidates = [token.secretHash];
  if (token.previousSecretHash && token.previousSecretExpiresAt && token.previousSecretExpiresAt > now) {
    candidates.push(token.previousSecretHash);
  }
  return candidates;
}

export function createAuthenticator(deps: {
  prisma: PrismaClient;
  proofs: SecretProofCache;
  credentials: CredentialCache;
  lastUsed: LastUsedRecorder;
  /** Resolves once every instance has dropped changed credentials (after a revocation by reuse detection). */
  credentialsChanged?: () => Promise<void>;
}): Authenticator {
  const { prisma, proofs, credentials, lastUsed } = deps;
  const credentialsChanged = deps.credentialsChanged ?? (() => Promise.resolve());

  async function refuse(secretLike: string): Promise<never> {
    await verifyAgainstDummy(secretLike);
    throw invalidToken();
  }

  // A token string proven before had a valid checksum (it is checked before any proof is
  // made), so the checksum is computed only when the cache cannot answer: a malformed token is
  // still refused without touching the database.

  /**
   * The session's record: from the cache when this very token string was proven against it
   * before, else from the database (one statement) and verified.
   */
  function session(token: string, parts: TokenParts): MaybePromise<SessionRecord> {
    const cached = credentials.get(parts.publicId);
    if (cached?.kind === 'session' && proofs.proven(token, [cached.record.session.secretHash])) return cached.record;
    if (!checksumMatches(parts)) return refuse(token.slice(0, 200));
    return loadSession(token, parts.publicId, parts.secret);
  }

  async function loadSession(token: string, publicId: string, secret: string): Promise<SessionRecord> {
    const generation = credentials.begin();
    // Timing: an unknown id and a known id with a wrong secret must cost the same, so both
    // send exactly one statement before the argon2id verification and nothing after a
    // refusal. That statement brings the related rows too (credentialLookup.ts).
    const found = await findSession(prisma, publicId);
    if (!found) return refuse(secret);
    if (!(await proofs.matches(token, secret, [found.session.secretHash]))) throw invalidToken();
    credentials.store(publicId, { kind: 'session', record: found }, generation);
    return found;
  }

  function apiToken(token: string, parts: TokenParts, now: Date): MaybePromise<ApiTokenRecord> {
    const cached = credentials.get(parts.publicId);
    if (cached?.kind === 'token' && proofs.proven(token, candidateHashes(cached.record.token, now))) return cached.record;
    if (!checksumMatches(parts)) return refuse(token.slice(0, 200));
    return loadApiToken(token, parts.publicId, parts.secret, now);
  }

  async function loadApiToken(token: string, publicId: string, secret: string, now: Date): Promise<ApiTokenRecord> {
    const generation = credentials.begin();
    const found = await findApiToken(prisma, publicId, secretDigest(secret));
    if (!found) return refuse(secret);
    if (!(await proofs.matches(token, secret, candidateHashes(found.token, now)))) {
      // Only a secret this token really had gets here with the flag set (auth/reuseDetection.ts).
      if (found.replacedSecretPresented) await replacedSecretPresented(prisma, found.token, credentialsChanged);
      throw invalidToken();
    }
    credentials.store(publicId, { kind: 'token', record: found }, generation);
    return found;
  }

  /** The principal of an API token whose secret is proven, or its refusal. */
  function tokenPrincipal(record: ApiTokenRecord, clientAddress: string, now: Date): MaybePromise<Principal> {
    const { token: row, minters, user, memberships, policies } = record;
    if (row.revokedAt) throw invalidToken('This token has been revoked.');
    if (row.expiresAt && row.expiresAt <= now) throw invalidToken('This token has expired.');
    if (row.notBefore && row.notBefore > now) throw invalidToken('This token is not valid yet.');
    // After the secret check: a wrong secret from anywhere gets the generic 401 above.
    if (!addressAllowed(row.allowedIps, clientAddress)) throw addressNotAllowed(clientAddress);
    // Organization token policies: a token scoped to an organization whose policy it breaks is
    // refused outright (everything it can do is inside it); an unscoped PERSONAL token only
    // inside those organizations (context.ts drops them from its reach).
    const blocked = policies.length ? blockingPolicies(policies, row, now) : undefined;
    if (blocked && row.organizationId && blocked.has(row.organizationId)) throw blockedByPolicy(blocked.get(row.organizationId)!);
    let principal: Principal;
    if (row.kind === 'PERSONAL') {
      if (!user) throw invalidToken();
      principal = { kind: 'personal', user, memberships, token: row, minters, ...(blocked?.size && { blockedOrganizations: blocked }) };
    } else {
      principal = { kind: 'service', token: row, minters };
    }
    // The first use is written at once (a promise to wait for); a cached row must then not ask
    // to write it again, nor record the same address again at every request.
    const recorded = () => {
      row.lastUsedAt ??= now;
      row.lastUsedIps = withNewestAddress(row.lastUsedIps, clientAddress);
      return principal;
    };
    const firstUseWritten = lastUsed.record(row, clientAddress, now);
    return firstUseWritten ? firstUseWritten.then(recorded) : recorded();
  }

  return {
    authenticate(authorization, clientAddress) {
      if (authorization == null) return { kind: 'anonymous' };
      const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
      if (!match) return refuse(authorization.slice(0, 200));
      const token = match[1];
      const parts = tokenParts(token);
      if (!parts) return refuse(token.slice(0, 200));
      const now = new Date();

      if (parts.prefix === 'pcs_') {
        return then(session(token, parts), ({ session: row, user, memberships }): Principal => {
          if (row.expiresAt <= now) throw invalidToken('This session has expired: log in again.');
          return { kind: 'session', user, memberships, sessionId: row.id, expiresAt: row.expiresAt };
        });
      }
      return then(apiToken(token, parts, now), (record) => tokenPrincipal(record, clientAddress, now));
    },
  };
}
