// The delivery worker: every instance runs one. Each run claims due deliveries from the outbox
// (FOR UPDATE SKIP LOCKED, so two instances never claim the same row at once) by setting a
// lease on them, sends them outside any transaction, and writes each attempt's outcome. A
// crashed instance's claims expire with their lease and any instance takes them over; an
// instance whose lease ran out meanwhile cannot overwrite the new holder's outcome (claimId).
//
// Retries: after a failed attempt the next is due retryBaseMs × 2^(attempts − 1) later (30 s,
// 1 min, 2 min ... with the defaults: 8 attempts over about an hour), then the delivery is
// "failed". Every attempt is a WebhookDeliveryAttempt row, listed in Webhook.deliveries; finished
// deliveries are deleted 30 days after their event.
import { randomUUID } from 'node:crypto';
import type { WebhookConfig } from '../env';
import type { PrismaClient } from '../generated/prisma/client';
import { PeriodicJob } from '../jobs/periodicJob';
import type { Logger } from '../server/logging';
import { type AttemptOutcome, attemptDelivery } from './delivery';
import { UnreadableSecret, unsealSecret } from './signing';

/** Deliveries claimed per round; a backlog is worked through round after round. */
const BATCH = 10;
/** A claim lasts this much longer than an attempt may take. */
const LEASE_MARGIN_MS = 30_000;
/** Delivered and failed deliveries (with their attempts) are listed this long, then deleted. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600 * 1000;

/** How long after its `attempts`-th failed attempt a delivery is tried again. */
export const retryDelayMs = (retryBaseMs: number, attempts: number): number => retryBaseMs * 2 ** (attempts - 1);

interface ClaimedDelivery {
  id: string;
  webhookId: string;
  event: string;
  payload: string;
  attempts: number;
}

export class WebhookDeliveryWorker extends PeriodicJob {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly config: WebhookConfig,
    logger: Logger,
  ) {
    super(config.pollSeconds * 1000, logger, 'Webhook delivery run failed: due deliveries are tried again at the next interval.');
  }

  /** Sends what is due; stop() ends it after the attempts under way (the rest stays in the outbox for any instance). */
  protected async work() {
    // Only what was due when the run began: a retry that falls due meanwhile waits for the next run.
    const dueBy = new Date();
    while (!this.stopping) {
      const { claimId, deliveries } = await this.claim(dueBy);
      if (deliveries.length === 0) break;
      await Promise.all(deliveries.map((delivery) => this.deliver(delivery, claimId)));
    }
    await this.prisma.webhookDelivery.deleteMany({
      where: { status: { in: ['delivered', 'failed'] }, createdAt: { lt: new Date(dueBy.getTime() - DELIVERY_RETENTION_MS) } },
    });
  }

  /** Due deliveries no one holds, now held by this run until the lease ends. */
  private async claim(dueBy: Date): Promise<{ claimId: string; deliveries: ClaimedDelivery[] }> {
    const now = new Date();
    const leaseUntil = new Date(now.getTime() + this.config.timeoutMs + LEASE_MARGIN_MS);
    const claimId = randomUUID();
    const deliveries = await this.prisma.$queryRaw<ClaimedDelivery[]>`
      UPDATE "WebhookDelivery" SET "lockedUntil" = ${leaseUntil}, "claimId" = ${claimId}
      WHERE "id" IN (
        SELECT "id" FROM "WebhookDelivery"
        WHERE "status" = 'pending' AND "nextAttemptAt" <= ${dueBy} AND ("lockedUntil" IS NULL OR "lockedUntil" <= ${now})
        ORDER BY "nextAttemptAt", "id" LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED)
      RETURNING "id", "webhookId", "event", "payload", "attempts"`;
    return { claimId, deliveries };
  }

  private async deliver(delivery: ClaimedDelivery, claimId: string): Promise<void> {
    const webhook = await this.prisma.webhook.findUnique({ where: { id: delivery.webhookId }, select: { url: true, sealedSecret: true } });
    if (!webhook) return; // deleted meanwhile: its deliveries went with it
    let outcome: AttemptOutcome;
    try {
      const secret = unsealSecret(webhook.sealedSecret, this.config.secretKey);
      outcome = await attemptDelivery(
        { url: webhook.url, secret, deliveryId: delivery.id, event: delivery.event, body: delivery.payload },
        this.config,
        this.config.timeoutMs,
      );
    } catch (error) {
      if (!(error instanceof UnreadableSecret)) throw error;
      outcome = { responseStatus: null, error: `Not sent: ${error.message}`, durationMs: 0 };
    }
    await this.record(delivery, claimId, outcome);
  }

  /** Writes the attempt and the delivery's new state, unless the claim was lost (lease expired and taken over). */
  private async record(delivery: ClaimedDelivery, claimId: string, outcome: AttemptOutcome): Promise<void> {
    const attempts = delivery.attempts + 1;
    const delivered = outcome.responseStatus !== null && outcome.responseStatus >= 200 && outcome.responseStatus < 300;
    const now = new Date();
    const status = delivered ? 'delivered' : attempts >= this.config.maxAttempts ? 'failed' : 'pending';
    const nextAttemptAt = new Date(now.getTime() + retryDelayMs(this.config.retryBaseMs, attempts));
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.webhookDelivery.updateMany({
        where: { id: delivery.id, claimId },
        data: {
          attempts,
          status,
          responseStatus: outcome.responseStatus,
          lastError: outcome.error ?? (delivered ? null : `HTTP ${outcome.responseStatus}`),
          deliveredAt: delivered ? now : null,
          nextAttemptAt: status === 'pending' ? nextAttemptAt : now,
          lockedUntil: null,
          claimId: null,
        },
      });
      if (count === 0) return;
      await tx.webhookDeliveryAttempt.create({
        data: { deliveryId: delivery.id, number: attempts, responseStatus: outcome.responseStatus, error: outcome.error, durationMs: outcome.durationMs },
      });
    });
  }
}
