// Audit events, listed newest first on their organization (OWNER only).
import { builder } from './builder';

export const AuditEvent = builder.prismaObject('AuditEvent', {
  fields: (t) => ({
    id: t.exposeID('id'),
    action: t.exposeString('action'),
    actorName: t.exposeString('actorName'),
    targetId: t.exposeID('targetId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const AuditEventConnection = builder.connectionObject({ type: AuditEvent, name: 'AuditEventConnection' });
