// lastUsedAt and lastUsedIps without a database write per request: the first use's time is
// written at once, later uses are collected in memory and written every few seconds (the spec
// allows 60 seconds of staleness), one statement for the times and one for the addresses.
// Reads merge in what is pending in this process.
import { isIP } from 'node:net';
import type { PrismaClient } from '../generated/prisma/client';

/** A stored time this fresh is good enough: no need to write it again yet. */
const FRESH_ENOUGH_MS = 30_000;

/** lastUsedIps keeps this many distinct addresses. */
export const LAST_USED_IPS = 5;

/** `addresses` with `address` moved (or added) to the front, at most LAST_USED_IPS long. */
export function withNewestAddress(addresses: readonly string[], address: string): string[] {
  if (addresses[0] === address) return addresses as string[];
  return [address, ...addresses.filter((a) => a !== address)].slice(0, LAST_USED_IPS);
}

interface Pending {
  /** A use whose time is to be written (null: the stored time is fresh enough). */
  at: Date | null;
  /** Addresses to put in front of the stored ones, newest first. */
  addresses: string[];
}

export class LastUsedRecorder {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly flushIntervalMs: number,
  ) {}

  start() {
    this.timer ??= setInterval(() => void this.flush().catch(() => undefined), this.flushIntervalMs);
    this.timer.unref();
  }

  async stop() {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush().catch(() => undefined);
  }

  /**
   * A use of `token` from `clientAddress`. The row may be a cached one whose lastUsedIps this
   * process keeps up to date (authenticate.ts): an address already in front is recorded again
   * only when the time is due too, so that other instances' writes cannot hide it for long.
   * Waits only for the first use's write (a promise then, nothing otherwise).
   */
  record(token: { id: string; lastUsedAt: Date | null; lastUsedIps: string[] }, clientAddress: string, now = new Date()): Promise<void> | undefined {
    const { id, lastUsedAt } = token;
    const timeDue = lastUsedAt != null && now.getTime() - lastUsedAt.getTime() >= FRESH_ENOUGH_MS;
    // Only addresses: not 'unknown', nor whatever text a trusted proxy's header carried.
    // isIP last: the cheap tests settle most requests (an address already in front, time not due).
    if ((timeDue || token.lastUsedIps[0] !== clientAddress) && isIP(clientAddress) !== 0) {
      const entry = this.entry(id);
      entry.addresses = withNewestAddress(entry.addresses, clientAddress);
    }
    if (timeDue) this.entry(id).at = now;
    if (lastUsedAt == null) {
      return this.prisma.apiToken.updateMany({ where: { id, lastUsedAt: null }, data: { lastUsedAt: now } }).then(() => undefined);
    }
  }

  private entry(tokenId: string): Pending {
    let entry = this.pending.get(tokenId);
    if (!entry) this.pending.set(tokenId, (entry = { at: null, addresses: [] }));
    return entry;
  }

  /** The latest known use: stored, or pending in this process. */
  lastUsedAt(tokenId: string, stored: Date | null): Date | null {
    const pending = this.pending.get(tokenId)?.at;
    return pending && (!stored || pending > stored) ? pending : stored;
  }

  /** The latest known addresses: stored, with those pending in this process in front. */
  lastUsedIps(tokenId: string, stored: readonly string[]): string[] {
    const pending = this.pending.get(tokenId)?.addresses ?? [];
    return pending.reduceRight((addresses, address) => withNewestAddress(addresses, address), [...stored]);
  }

  async flush() {
    if (this.pending.size === 0) return;
    const entries = [...this.pending];
    this.pending.clear();
    const timed = entries.filter(([, entry]) => entry.at).map(([id]) => id);
    if (timed.length > 0) await this.prisma.apiToken.updateMany({ where: { id: { in: timed } }, data: { lastUsedAt: new Date() } });
    const addresses = Object.fromEntries(entries.filter(([, entry]) => entry.addresses.length > 0).map(([id, entry]) => [id, entry.addresses]));
    if (Object.keys(addresses).length === 0) return;
    // One statement for every token: the pending addresses in front of the stored ones, each
    // once, the first LAST_USED_IPS. Merged in the database, so concurrent instances lose nothing.
    await this.prisma.$executeRawUnsafe(
      `UPDATE "ApiToken" t SET "lastUsedIps" = (
         SELECT coalesce(array_agg(merged.address ORDER BY merged.position), '{}')
         FROM (
           SELECT address, min(position) AS position
           FROM unnest(ARRAY(SELECT jsonb_array_elements_text(p.value)) || coalesce(t."lastUsedIps", '{}'))
             WITH ORDINALITY AS all_addresses(address, position)
           GROUP BY address ORDER BY min(position) LIMIT ${LAST_USED_IPS}
         ) merged)
       FROM jsonb_each($1::jsonb) p
       WHERE t."id" = p.key`,
      JSON.stringify(addresses),
    );
  }
}
