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
  | 'member.invited'
  | 'member.added'
  | 'member.updated'
  | 'member.removed'
  | 'member.declined';

type AuditWriter = { auditEvent: { create(args: { data: Prisma.AuditEventUncheckedCreateInput }): Promise<unknown> } };

export function recordAudit(
  db: AuditWriter,
  principal: Principal,
  event: { action: AuditAction; organizationId: string | null; targetId: string },
) {
  return db.auditEvent.create({
    data: {
      action: event.action,
      organizationId: event.organizationId,
      targetId: event.targetId,
      actorName: actorName(principal),
      actorUserId: principalUser(principal)?.id ?? null,
      actorTokenId: principalToken(principal)?.id ?? null,
    },
  });
}
