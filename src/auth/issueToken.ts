// A new bearer token: its public id, the full token string (shown once), the argon2id hash of
// its secret (what a secret is verified against) and the secret's SHA-256 digest (kept for API
// tokens only to recognise the secret once it is replaced: auth/reuseDetection.ts).
import { createHash } from 'node:crypto';
import { hashSecret } from './password';
import { formatToken, newPublicId, newSecret, type TokenPrefix } from './tokenFormat';

export interface IssuedToken {
  publicId: string;
  /** The whole token string. Return it to the caller once; never store or log it. */
  token: string;
  secretHash: string;
  /** The secret's SHA-256, kept to recognise it once replaced (auth/reuseDetection.ts). */
  secretDigest: string;
}

/** SHA-256 of a token's secret part (hex): how a replaced secret is recognised without argon2id. */
export const secretDigest = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * Pass the existing public id to regenerate: the id stays, so during a grace period the
 * old and the new secret are both checked against the same row.
 */
export async function issueToken(prefix: TokenPrefix, publicId = newPublicId()): Promise<IssuedToken> {
  const secret = newSecret();
  return { publicId, token: formatToken(prefix, publicId, secret), secretHash: await hashSecret(secret), secretDigest: secretDigest(secret) };
}
