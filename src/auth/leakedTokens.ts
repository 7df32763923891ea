// revokeLeakedTokens (tokens-v2.md, "Leaked tokens"; GitHub's credential revocation API):
// whoever finds our tokens somewhere public reports them without a credential, and every one
// that still works is revoked.
//
// The mutation only enqueues: it drops malformed strings and session (pcs_) strings at once
// (no lookup, no argon2), deduplicates the rest, writes them to the LeakReport table and answers
// the same whatever was sent. The table is the durable queue: a worker on every instance claims
// rows with FOR UPDATE SKIP LOCKED, verifies each string against its token's current (and
// grace-period previous) argon2id hash, and revokes a match (token.leaked, actor "leak report")
// and deletes the row in the same transaction. A process that stops mid-way leaves its rows,
// which the next run of any instance picks up. A revoked token leaves every instance's
// credential cache through the credential-change triggers (revokedAt is in their WHEN list).
//
// A row holds the reported string in clear until it is processed (the worker needs the secret
// to check it against the hash); it is deleted as soon as it is, and never logged (the log
// scrubber masks pcl_ strings anyway).
import { recordAudit } from '../audit';
import type { PrismaClient } from '../generated/prisma/client';
import { candidateHashes } from './authenticate';
import { PeriodicJob } from '../jobs/periodicJob';
import type { Logger } from '../server/logging';
import { verifySecret } from './password';
import { API_TOKEN_PREFIX, parseToken } from './tokenFormat';

/** The most strings one revokeLeakedTokens call may send. */
export const MAX_LEAK_REPORT_TOKENS = 1_000;
export const LEAK_REPORT_ACTOR = 'leak report';
/** Rows checked per run at most; a backlog is worked through over several runs. */
const BATCH = 1_000;

/** The well-formed API token strings of a report, each once: what the queue will check. */
export function tokensToCheck(strings: readonly string[]): string[] {
  const wellFormed = strings.filter((s) => parseToken(s)?.prefix === API_TOKEN_PREFIX);
  return [...new Set(wellFormed)];
}

/** Queues a report's strings (one statement, whatever they are); a string already queued is not queued twice. */
export async function enqueueLeakReport(prisma: PrismaClient, strings: readonly string[]): Promise<void> {
  const tokens = tokensToCheck(strings);
  if (tokens.length === 0) return;
  await prisma.leakReport.createMany({ data: tokens.map((token) => ({ token })), skipDuplicates: true });
}

type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

/**
 * Claims one queued row (skipping rows another instance holds), checks it, revokes its token if
 * the secret is live, and deletes the row, all in one transaction. Returns false when the
 * queue has nothing left to claim.
 */
async function processOne(prisma: PrismaClient, now: () => Date): Promise<boolean> {
  return prisma.$transaction(async (tx) => {
    const rows = await tx.$queryRaw<{ id: string; token: string }[]>`
      SELECT "id", "token" FROM "LeakReport" ORDER BY "createdAt", "id" LIMIT 1 FOR UPDATE SKIP LOCKED`;
    const row = rows[0];
    if (!row) return false;
    await revokeIfLive(tx, row.token, now());
    await tx.leakReport.delete({ where: { id: row.id } });
    return true;
  });
}

async function revokeIfLive(tx: Transaction, tokenString: string, now: Date): Promise<void> {
  const parsed = parseToken(tokenString);
  if (!parsed || parsed.prefix !== API_TOKEN_PREFIX) return;
  const token = await tx.apiToken.findUnique({
    where: { publicId: parsed.publicId },
    select: { id: true, organizationId: true, secretHash: true, previousSecretHash: true, previousSecretExpiresAt: true, revokedAt: true, expiresAt: true },
  });
  if (!token || token.revokedAt || (token.expiresAt && token.expiresAt <= now)) return;
  let live = false;
  for (const hash of candidateHashes(token, now)) if (!live) live = await verifySecret(hash, parsed.secret);
  if (!live) return;
  const { count } = await tx.apiToken.updateMany({ where: { id: token.id, revokedAt: null }, data: { revokedAt: now } });
  if (count === 0) return;
  await recordAudit(tx, { kind: 'system', name: LEAK_REPORT_ACTOR }, { action: 'token.leaked', organizationId: token.organizationId, targetId: token.id });
}

/** Works through the queue: every LEAK_REPORTS_CHECK_SECONDS on each instance, or when asked (runOnce). */
export class LeakReportWorker extends PeriodicJob {
  constructor(
    private readonly prisma: PrismaClient,
    intervalMs: number,
    logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    super(intervalMs, logger, 'Leaked-token check failed: the queued reports are checked again at the next interval.');
  }

  /** Processes what is queued (up to a batch); stop() ends it after the row in progress (the rest stays queued). */
  protected async work() {
    for (let done = 0; done < BATCH && !this.stopping; done++) {
      if (!(await processOne(this.prisma, this.now))) break;
    }
  }
}
