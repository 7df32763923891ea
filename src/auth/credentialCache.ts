// Credentials read once and kept in this process, so that a token (or session) used again
// costs no statement. Correctness rests on two rules:
// - Only a request whose exact token string was already proven against the cached row's hash
//   (SecretProofCache) is answered from here. Any other (a new secret, a wrong one, an unknown
//   id) reads the database as before, so refusals cost the same whatever the id
//   (test/timing.test.ts).
// - Any change to what authenticating reads (token, its boards, user, memberships, session)
//   empties the cache on every instance before the change's mutation returns
//   (src/auth/credentialChanges.ts). A read that started before an emptying is not stored.
import { LRUCache } from 'lru-cache';
import { noCacheStats, type CacheStats } from '../metrics/registry';
import type { ApiTokenRecord, SessionRecord } from './credentialLookup';

export type CredentialRecord = { kind: 'token'; record: ApiTokenRecord } | { kind: 'session'; record: SessionRecord };

export interface CredentialCacheStats {
  hits: number;
  misses: number;
  /** False while changes cannot be heard (no listening connection): every request reads the database. */
  enabled: boolean;
}

export class CredentialCache {
  private readonly entries: LRUCache<string, CredentialRecord> | null;
  /** Bumped by every emptying: a read begun before one must not be stored after it. */
  private generation = 0;
  private enabled = false;
  readonly stats = { hits: 0, misses: 0 };

  constructor(
    maxEntries: number,
    ttlMs: number,
    private readonly metrics: CacheStats = noCacheStats,
  ) {
    // ttlResolution 0: the clock is read at each lookup. By default lru-cache keeps the time it
    // read for 1 ms and sets a timer to forget it: a timer created, and later fired, on nearly
    // every request (issue 10).
    this.entries = maxEntries > 0 ? new LRUCache({ max: maxEntries, ttl: ttlMs, ttlResolution: 0 }) : null;
  }

  /** The generation a read starts in (pass it to `store`). */
  begin(): number {
    return this.generation;
  }

  get(publicId: string): CredentialRecord | undefined {
    const found = this.enabled ? this.entries?.get(publicId) : undefined;
    if (found) {
      this.stats.hits++;
      this.metrics.hit();
    } else {
      this.stats.misses++;
      this.metrics.miss();
    }
    return found;
  }

  store(publicId: string, value: CredentialRecord, generation: number): void {
    if (this.enabled && generation === this.generation) this.entries?.set(publicId, value);
  }

  /** Something changed: forget everything. */
  clear(): void {
    this.generation++;
    this.entries?.clear();
  }

  /** Changes can be heard (or no longer): start (or stop) answering from the cache. */
  setEnabled(enabled: boolean): void {
    this.clear();
    this.enabled = enabled && this.entries != null;
  }

  state(): CredentialCacheStats {
    return { ...this.stats, enabled: this.enabled };
  }
}
