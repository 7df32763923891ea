// Audit events: who did what to which token or membership. Never holds a secret.
import type { Prisma } from './generated/prisma/client';
import { type Principal, actorName, principalToken, principalUser } from './auth/principal';

export type AuditAction =
  | 'token.created'
  | 'token.updated'
  | 'token.regenerated'
  | 'token.revoked'
  | 'token.deleted'
  | 'token.expiring'
  | 'token.leaked'
  | 'token.reuse_detected'
  | 'organization.token_policy_updated'
  | 'member.invited'
  | 'member.added'
  | 'member.updated'
  | 'member.removed'
  | 'member.declined'
  | 'federation.policy_created'
  | 'federation.policy_deleted'
  | 'token.federated';

type AuditWriter = { auditEvent: { create(args: { data: Prisma.AuditEventUncheckedCreateInput }): Promise<unknown> } };

/** Work the gateway does on its own (background jobs): named, with no user or token behind it. */
export interface SystemActor {
  kind: 'system';
  name: string;
}

export function recordAudit(
  db: AuditWriter,
  actor: Principal | SystemActor,
  event: { action: AuditAction; organizationId: string | null; targetId: string },
) {
  return db.auditEvent.create({
    data: {
      action: event.action,
      organizationId: event.organizationId,
      targetId: event.targetId,
      ...(actor.kind === 'system'
        ? { actorName: actor.name, actorUserId: null, actorTokenId: null }
        : { actorName: actorName(actor), actorUserId: principalUser(actor)?.id ?? null, actorTokenId: principalToken(actor)?.id ?? null }),
    },
  });
}
