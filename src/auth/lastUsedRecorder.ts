// lastUsedAt without a database write per request: the first use is written at once,
// later uses are collected in memory and written in one statement every few seconds
// (the spec allows 60 seconds of staleness). Reads merge in the pending times.
import type { PrismaClient } from '../generated/prisma/client';

/** A stored time this fresh is good enough: no need to write it again yet. */
const FRESH_ENOUGH_MS = 30_000;

export class LastUsedRecorder {
  private readonly pending = new Map<string, Date>();
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

  async record(tokenId: string, storedLastUsedAt: Date | null, now = new Date()) {
    if (storedLastUsedAt == null) {
      await this.prisma.apiToken.updateMany({ where: { id: tokenId, lastUsedAt: null }, data: { lastUsedAt: now } });
      return;
    }
    if (now.getTime() - storedLastUsedAt.getTime() >= FRESH_ENOUGH_MS) this.pending.set(tokenId, now);
  }

  /** The latest known use: stored, or pending in this process. */
  lastUsedAt(tokenId: string, stored: Date | null): Date | null {
    const pending = this.pending.get(tokenId);
    return pending && (!stored || pending > stored) ? pending : stored;
  }

  async flush() {
    if (this.pending.size === 0) return;
    const ids = [...this.pending.keys()];
    this.pending.clear();
    await this.prisma.apiToken.updateMany({ where: { id: { in: ids } }, data: { lastUsedAt: new Date() } });
  }
}
