// token.expiring audit events, 7 days and 1 day before a token expires (tokens-v2.md, "Expiry";
// GitLab's expiry notices). Every instance runs the check every TOKEN_EXPIRY_CHECK_SECONDS; a
// PostgreSQL advisory lock, held for the check's transaction, lets one instance at a time do it.
// Each notice is recorded once per token and threshold even without the lock: the token's
// expiringNotice…At column is set only where it is still null, in the transaction that writes
// the event, and a second writer waits for the row and then finds it set.
// A notice whose time came before the token was created is skipped (a 1-hour token gets none);
// revoked and expired tokens get none; a check that was down for a while catches up.
import { recordAudit } from '../audit';
import type { PrismaClient } from '../generated/prisma/client';
import { PeriodicJob } from '../jobs/periodicJob';
import type { Logger } from '../server/logging';

const DAY_MS = 86_400_000;
/** Any fixed number, the same on every instance: the advisory lock's key. */
export const EXPIRY_CHECK_LOCK = 7_431_000_013;
/** Notices per threshold per run: a backlog is worked through over several runs. */
const BATCH = 500;
/** Writing a full batch takes a few statements per notice; the default 5 s would be short. */
const TRANSACTION_TIMEOUT_MS = 60_000;

export const EXPIRY_NOTICES = [
  { column: 'expiringNotice7dAt', aheadMs: 7 * DAY_MS },
  { column: 'expiringNotice1dAt', aheadMs: DAY_MS },
] as const;

export const EXPIRY_NOTICE_ACTOR = 'expiry notices';

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Records the notices that are due. Returns how many were written, or null when another
 * instance holds the lock (it is doing the same work).
 */
export async function recordExpiryNotices(prisma: PrismaClient, now = new Date()): Promise<number | null> {
  return prisma.$transaction(
    async (tx) => {
      const [{ locked }] = await tx.$queryRawUnsafe<{ locked: boolean }[]>(`SELECT pg_try_advisory_xact_lock(${EXPIRY_CHECK_LOCK}) AS "locked"`);
      if (!locked) return null;
      return writeDueNotices(tx, now);
    },
    { timeout: TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_TIMEOUT_MS },
  );
}

/** The notices due at `now`, each written once (see the top of this file); exported for the tests. */
export async function writeDueNotices(tx: Transaction, now: Date): Promise<number> {
  let written = 0;
  for (const { column, aheadMs } of EXPIRY_NOTICES) {
    // Due: the notice's time (expiresAt - ahead) has come, but not the expiry, and it came after creation.
    const latestExpiry = new Date(now.getTime() + aheadMs);
    const due = await tx.apiToken.findMany({
      where: { [column]: null, revokedAt: null, expiresAt: { gt: now, lte: latestExpiry } },
      select: { id: true, organizationId: true, createdAt: true, expiresAt: true },
      orderBy: { expiresAt: 'asc' },
      take: BATCH,
    });
    for (const token of due) {
      if (token.expiresAt!.getTime() - aheadMs < token.createdAt.getTime()) continue;
      const { count } = await tx.apiToken.updateMany({ where: { id: token.id, [column]: null }, data: { [column]: now } });
      if (count === 0) continue; // another writer recorded it
      await recordAudit(tx, { kind: 'system', name: EXPIRY_NOTICE_ACTOR }, { action: 'token.expiring', organizationId: token.organizationId, targetId: token.id });
      written++;
    }
  }
  return written;
}

/** Runs the check every `intervalMs` on this instance (the lock keeps it to one at a time). */
export class ExpiryNoticeJob extends PeriodicJob {
  constructor(
    private readonly prisma: PrismaClient,
    intervalMs: number,
    logger: Logger,
  ) {
    super(intervalMs, logger, 'Token expiry check failed: it runs again at the next interval.');
  }

  protected work() {
    return recordExpiryNotices(this.prisma);
  }
}
