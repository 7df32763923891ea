// The webhook outbox: recordAudit (src/audit.ts) calls this in the audit event's own
// transaction, so an event is committed with its deliveries or not at all (at-least-once, and
// never a delivery of an event that was rolled back). The delivery worker sends them later.
import type { Prisma } from '../generated/prisma/client';

/** What a delivery's body says about its event (tokens-v2.md): written once, sent on every attempt. */
export interface WebhookEventBody {
  id: string;
  action: string;
  actorName: string;
  targetId: string | null;
  organizationId: string;
  createdAt: string;
  data: Record<string, unknown>;
}

/** One pending delivery per active webhook of the event's organization whose events include it (none listed: all). */
export async function enqueueWebhookDeliveries(tx: Prisma.TransactionClient, event: WebhookEventBody): Promise<void> {
  const webhooks = await tx.webhook.findMany({
    where: { organizationId: event.organizationId, active: true, OR: [{ events: { isEmpty: true } }, { events: { has: event.action } }] },
    select: { id: true },
  });
  if (webhooks.length === 0) return;
  const payload = JSON.stringify(event);
  await tx.webhookDelivery.createMany({
    data: webhooks.map((webhook) => ({ webhookId: webhook.id, auditEventId: event.id, event: event.action, payload })),
  });
}
