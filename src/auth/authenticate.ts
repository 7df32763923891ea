// Turns an Authorization header into a Principal, or refuses it. Malformed, unknown and
// wrong-secret tokens are refused alike (same error, and an argon2id verification's time
// in every case); only a caller holding the right secret learns that it expired or was revoked.
import { findApiToken, findSession } from './credentialLookup';
import type { PrismaClient } from '../generated/prisma/client';
import { invalidToken } from '../errors';
import type { LastUsedRecorder } from './lastUsedRecorder';
import { verifyAgainstDummy } from './password';
import type { Principal } from './principal';
import type { SecretProofCache } from './secretProofCache';
import { parseToken } from './tokenFormat';

export interface Authenticator {
  authenticate(authorization: string | null): Promise<Principal>;
}

export function createAuthenticator(deps: {
  prisma: PrismaClient;
  proofs: SecretProofCache;
  lastUsed: LastUsedRecorder;
}): Authenticator {
  const { prisma, proofs, lastUsed } = deps;

  async function refuse(secretLike: string): Promise<never> {
    await verifyAgainstDummy(secretLike);
    throw invalidToken();
  }

  return {
    async authenticate(authorization) {
      if (authorization == null) return { kind: 'anonymous' };
      const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(authorization);
      if (!match) return refuse(authorization.slice(0, 200));
      const token = match[1];
      const parsed = parseToken(token);
      if (!parsed) return refuse(token.slice(0, 200));
      const now = new Date();

      // Timing: an unknown id and a known id with a wrong secret must cost the same, so both
      // send exactly one statement before the argon2id verification and nothing after a
      // refusal. That statement brings the related rows too (credentialLookup.ts): loading
      // them separately, the wrong-secret path alone paid for them (measured: about +3.5 ms at
      // the median on PGlite, a KS distance of about 0.2; see test/timing.test.ts).
      if (parsed.prefix === 'pcs_') {
        const found = await findSession(prisma, parsed.publicId);
        if (!found) return refuse(parsed.secret);
        const { session, user, memberships } = found;
        if (!(await proofs.matches(token, parsed.secret, [session.secretHash]))) throw invalidToken();
        if (session.expiresAt <= now) throw invalidToken('This session has expired: log in again.');
        return { kind: 'session', user, memberships, sessionId: session.id, expiresAt: session.expiresAt };
      }

      const found = await findApiToken(prisma, parsed.publicId);
      if (!found) return refuse(parsed.secret);
      const { token: row, minters, user, memberships } = found;
      const candidates = [row.secretHash];
      if (row.previousSecretHash && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) {
        candidates.push(row.previousSecretHash);
      }
      if (!(await proofs.matches(token, parsed.secret, candidates))) throw invalidToken();
      if (row.revokedAt) throw invalidToken('This token has been revoked.');
      if (row.expiresAt && row.expiresAt <= now) throw invalidToken('This token has expired.');
      await lastUsed.record(row.id, row.lastUsedAt, now);
      if (row.kind === 'PERSONAL') {
        if (!user) throw invalidToken();
        return { kind: 'personal', user, memberships, token: row, minters };
      }
      return { kind: 'service', token: row, minters };
    },
  };
}
