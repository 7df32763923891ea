// argon2id is slow on purpose, so a client sending the same token on every request must
// not pay it every time. This remembers only a *proof*: "this exact token string matched
// that stored hash". Each request still loads the token row, and the proof counts only
// while the row still holds that very hash: revocation, deletion, expiry, regeneration and
// membership changes are all seen on the next request, on every instance.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { verifySecret } from './password';
import { noCacheStats, type CacheStats } from '../metrics/registry';

export class SecretProofCache {
  private readonly proofs: LRUCache<string, string> | null;

  constructor(
    maxEntries: number,
    private readonly stats: CacheStats = noCacheStats,
  ) {
    this.proofs = maxEntries > 0 ? new LRUCache({ max: maxEntries }) : null;
  }

  /**
   * Does `secret` match one of `candidateHashes` (the current hash, and the previous one
   * during a regeneration's grace period)? Runs argon2id only when no proof is remembered.
   */
  async matches(token: string, secret: string, candidateHashes: readonly string[]): Promise<boolean> {
    // Keyed by a digest so that the cache never holds a secret.
    const key = createHash('sha256').update(token).digest('base64url');
    const proven = this.proofs?.get(key);
    if (proven !== undefined && candidateHashes.includes(proven)) {
      this.stats.hit();
      return true;
    }
    this.stats.miss();
    for (const candidate of candidateHashes) {
      if (await verifySecret(candidate, secret)) {
        this.proofs?.set(key, candidate);
        return true;
      }
    }
    return false;
  }
}
