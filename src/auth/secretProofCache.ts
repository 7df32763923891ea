// argon2id is slow on purpose, so a client sending the same token on every request must
// not pay it every time. This remembers only a *proof*: "this exact token string matched
// that stored hash". A proof counts only while the token's row (read from the database, or
// from the credential cache that every change empties) still holds that very hash.
import { hash } from 'node:crypto';
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
    if (this.proven(token, candidateHashes)) return true;
    this.stats.miss();
    const key = keyOf(token);
    for (const candidate of candidateHashes) {
      if (await verifySecret(candidate, secret)) {
        this.proofs?.set(key, candidate);
        return true;
      }
    }
    return false;
  }

  /** Was this exact token string proven against one of these hashes before? (No argon2id.) */
  proven(token: string, candidateHashes: readonly string[]): boolean {
    const proven = this.proofs?.get(keyOf(token));
    if (proven === undefined || !candidateHashes.includes(proven)) return false;
    this.stats.hit();
    return true;
  }
}

// Keyed by a digest so that the cache never holds a secret. The one-shot `hash` (Node >= 20.12)
// costs less than half of a Hash object on every request.
const keyOf = (token: string) => hash('sha256', token, 'base64url');
