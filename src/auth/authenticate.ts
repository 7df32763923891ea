// Turns an Authorization header into a Principal, or refuses it. Malformed, unknown and
// wrong-secret tokens are refused alike (same error, and an argon2id verification's time
// in every case); only a caller holding the right secret learns that it expired or was revoked.
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

      if (parsed.prefix === 'pcs_') {
        const session = await prisma.session.findUnique({ where: { publicId: parsed.publicId }, include: { user: true } });
        if (!session) return refuse(parsed.secret);
        if (!(await proofs.matches(token, parsed.secret, [session.secretHash]))) throw invalidToken();
        if (session.expiresAt <= now) throw invalidToken('This session has expired: log in again.');
        return { kind: 'session', user: session.user, sessionId: session.id, expiresAt: session.expiresAt };
      }

      const row = await prisma.apiToken.findUnique({
        where: { publicId: parsed.publicId },
        include: { boards: { select: { boardId: true } }, user: true },
      });
      if (!row) return refuse(parsed.secret);
      const candidates = [row.secretHash];
      if (row.previousSecretHash && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now) {
        candidates.push(row.previousSecretHash);
      }
      if (!(await proofs.matches(token, parsed.secret, candidates))) throw invalidToken();
      if (row.revokedAt) throw invalidToken('This token has been revoked.');
      if (row.expiresAt && row.expiresAt <= now) throw invalidToken('This token has expired.');
      await lastUsed.record(row.id, row.lastUsedAt, now);
      const { user, ...token_ } = row;
      if (row.kind === 'PERSONAL') {
        if (!user) throw invalidToken();
        return { kind: 'personal', user, token: token_ };
      }
      return { kind: 'service', token: token_ };
    },
  };
}
