// Audit events: who did what to which token or membership. Never holds a secret.
// The one writer of audit events; it also writes the webhook outbox (src/webhooks/outbox.ts)
// in the same transaction, so every committed event reaches the organization's webhooks.
import type { Prisma, PrismaClient } from './generated/prisma/client';
import { type Principal, actorName, principalToken, principalUser } from './auth/principal';
import { enqueueWebhookDeliveries } from './webhooks/outbox';

/** Every action an audit event can record (what webhooks may subscribe to). */
export const AUDIT_ACTIONS = [
  'token.created',
  'token.updated',
  'token.regenerated',
  'token.revoked',
  'token.deleted',
  'token.expiring',
  'token.leaked',
  'token.reuse_detected',
  'organization.token_policy_updated',
  'member.invited',
  'member.added',
  'member.updated',
  'member.removed',
  'member.declined',
  'federation.policy_created',
  'federation.policy_deleted',
  'token.federated',
  'webhook.created',
  'webhook.deleted',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** The caller's transaction, or the client itself (then the event and its deliveries get a transaction of their own). */
type AuditWriter = Prisma.TransactionClient | PrismaClient;

/** The client itself: a transaction's client has no $connect (it has $transaction, for nested ones). */
const isClient = (db: AuditWriter): db is PrismaClient => typeof (db as Partial<PrismaClient>).$connect === 'function';

/** Work the gateway does on its own (background jobs): named, with no user or token behind it. */
export interface SystemActor {
  kind: 'system';
  name: string;
}

export async function recordAudit(
  db: AuditWriter,
  actor: Principal | SystemActor,
  event: { action: AuditAction; organizationId: string | null; targetId: string; data?: Record<string, unknown> },
): Promise<void> {
  // The event and its outbox rows commit together: inside the caller's transaction when given
  // one, else in one of their own.
  if (isClient(db)) return db.$transaction((tx) => recordAudit(tx, actor, event));
  const created = await db.auditEvent.create({
    data: {
      action: event.action,
      organizationId: event.organizationId,
      targetId: event.targetId,
      ...(actor.kind === 'system'
        ? { actorName: actor.name, actorUserId: null, actorTokenId: null }
        : { actorName: actorName(actor), actorUserId: principalUser(actor)?.id ?? null, actorTokenId: principalToken(actor)?.id ?? null }),
    },
  });
  if (created.organizationId === null) return;
  await enqueueWebhookDeliveries(db, {
    id: created.id,
    action: created.action,
    actorName: created.actorName,
    targetId: created.targetId,
    organizationId: created.organizationId,
    createdAt: created.createdAt.toISOString(),
    data: event.data ?? {},
  });
}
