// Reuse detection (tokens-v2.md, "Rotation"; GitLab's rotation with reuse detection): a secret
// replaced by a regeneration should be gone. Whoever presents one after its grace period holds
// a secret they should not have, or kept one they should have thrown away.
//
// - Every secret issued for an API token is remembered as a SHA-256 digest (ApiTokenSecretDigest);
//   a regeneration marks the replaced one retired (at the end of its grace period), and retired
//   digests are deleted 30 days after retirement.
// - The credential statement (credentialLookup.ts) asks whether the presented secret's digest is
//   a retired one of that token: no extra statement, and no argon2id verification, so an unknown
//   id, a wrong secret and a replaced secret are refused in the same time before this runs.
// - Presenting one gets the usual 401; `token.reuse_detected` is recorded at most once per token
//   per hour (a conditional update of reuseDetectedAt: one instance wins); with revokeOnReuse the
//   token is revoked (token.revoked, actor "reuse detection") and every instance is told before
//   the 401 is sent, so the next request anywhere is refused.
import { recordAudit } from '../audit';
import type { PrismaClient, Prisma } from '../generated/prisma/client';
import { REPLACED_SECRET_DAYS } from './credentialLookup';

export const REUSE_DETECTION_ACTOR = 'reuse detection';
/** At most one token.reuse_detected per token in this time. */
const REUSE_EVENT_INTERVAL_MS = 3_600_000;

type Db = Prisma.TransactionClient | PrismaClient;

/** A newly issued secret of the token (createApiToken, regeneration, rotation). */
export function rememberSecret(db: Db, tokenId: string, digest: string) {
  return db.apiTokenSecretDigest.create({ data: { tokenId, digest } });
}

/**
 * A regeneration replaced the token's current secret: it is retired as of `retiredAt` (the end of
 * its grace period, or now). Digests retired over 30 days ago, of any token, are deleted here.
 */
export async function retireSecrets(db: Db, tokenId: string, retiredAt: Date, now: Date): Promise<void> {
  await db.apiTokenSecretDigest.updateMany({ where: { tokenId, retiredAt: null }, data: { retiredAt } });
  await db.apiTokenSecretDigest.deleteMany({ where: { retiredAt: { lt: new Date(now.getTime() - REPLACED_SECRET_DAYS * 86_400_000) } } });
}

/**
 * A replaced secret of this token was presented: record it (at most once an hour) and, with
 * revokeOnReuse, revoke the token. `changed` is awaited after a revocation: it returns once every
 * instance has dropped its cached credentials (CredentialChanges.barrier).
 */
export async function replacedSecretPresented(
  prisma: PrismaClient,
  token: { id: string; organizationId: string | null },
  changed: () => Promise<void>,
): Promise<void> {
  const actor = { kind: 'system', name: REUSE_DETECTION_ACTOR } as const;
  const revoked = await prisma.$transaction(async (tx) => {
    const now = new Date();
    const { count: due } = await tx.apiToken.updateMany({
      where: { id: token.id, OR: [{ reuseDetectedAt: null }, { reuseDetectedAt: { lte: new Date(now.getTime() - REUSE_EVENT_INTERVAL_MS) } }] },
      data: { reuseDetectedAt: now },
    });
    if (due > 0) await recordAudit(tx, actor, { action: 'token.reuse_detected', organizationId: token.organizationId, targetId: token.id });
    const { count: revoked } = await tx.apiToken.updateMany({
      where: { id: token.id, revokeOnReuse: true, revokedAt: null },
      data: { revokedAt: now, previousSecretHash: null, previousSecretExpiresAt: null },
    });
    if (revoked > 0) await recordAudit(tx, actor, { action: 'token.revoked', organizationId: token.organizationId, targetId: token.id });
    return revoked > 0;
  });
  if (revoked) await changed();
}
