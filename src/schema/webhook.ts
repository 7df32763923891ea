// Webhooks (tokens-v2.md, "Webhooks"): OWNERs register URLs that receive their organization's
// audit events, signed. The URL rules are in src/webhooks/addressSafety.ts, the outbox and the
// delivery worker in src/webhooks/.
import { requiredRole } from '../auth/roles';
import { AUDIT_ACTIONS, recordAudit } from '../audit';
import type { Context } from '../context';
import { badInput, notFound } from '../errors';
import type { Webhook as WebhookRow } from '../generated/prisma/client';
import { checkNewWebhookUrl } from '../webhooks/addressSafety';
import { newSigningSecret, sealSecret } from '../webhooks/signing';
import { locate, requireRoleOn } from './authorize';
import { builder } from './builder';
import { Organization } from './organization';
import { connectionOf, newestFirst, relationPageQuery, withSortKey } from './pagination';
import { idSchema, isWellFormedId, textSchema } from './validation';

/** Bounds each audit event's fan-out (one outbox row per matching webhook). */
export const MAX_WEBHOOKS_PER_ORGANIZATION = 20;
export const MAX_WEBHOOK_EVENTS = 50;
/** An audit action's shape: "token.created", "member.added", "organization.token_policy_updated". */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(AUDIT_ACTIONS);

const WEBHOOKS = newestFirst('Organization.webhooks');
const DELIVERIES = newestFirst('Webhook.deliveries');

builder.prismaObject('WebhookDeliveryAttempt', {
  description: 'One attempt to deliver an event.',
  fields: (t) => ({
    number: t.exposeInt('number', { description: '1 for the first attempt.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The receiver's HTTP status; null when there was no response." }),
    error: t.exposeString('error', { nullable: true, description: 'Why there was no response (timeout, connection refused, address refused, ...).' }),
    durationMs: t.exposeInt('durationMs'),
    attemptedAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const WebhookDelivery = builder.prismaObject('WebhookDelivery', {
  description: 'One audit event for one webhook: delivered at least once, retried with exponential backoff.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Sent as Portcullis-Delivery, the same on every attempt.' }),
    event: t.exposeString('event'),
    status: t.exposeString('status', { description: '"pending", "delivered" or "failed" (no attempts left).' }),
    attempts: t.exposeInt('attempts'),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The last attempt's HTTP status." }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveredAt: t.expose('deliveredAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due (null unless pending).',
      select: { status: true, nextAttemptAt: true },
      resolve: (d) => (d.status === 'pending' ? d.nextAttemptAt : null),
    }),
    lastError: t.exposeString('lastError', { nullable: true }),
    attemptLog: t.relation('attemptLog', { description: 'Every attempt, first first.', query: { orderBy: [{ number: 'asc' }] } }),
  }),
});

const WebhookDeliveryConnection = builder.connectionObject({ type: WebhookDelivery, name: 'WebhookDeliveryConnection' });

export const Webhook = builder.prismaObject('Webhook', {
  description: "Signed deliveries of the organization's audit events to a URL of the OWNER's choosing.",
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    events: t.exposeStringList('events', { description: 'Audit actions delivered, e.g. "token.created"; empty: all.' }),
    active: t.exposeBoolean('active'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    deliveries: t.connection(
      {
        type: WebhookDelivery,
        description: 'Newest first.',
        select: (args, _ctx, nestedSelection) => ({ deliveries: withSortKey(nestedSelection(relationPageQuery(DELIVERIES, args), ['edges', 'node'])) }),
        resolve: (webhook, args) => connectionOf<typeof WebhookDelivery.$inferType>(DELIVERIES, args, webhook.deliveries),
      },
      WebhookDeliveryConnection,
    ),
  }),
});

const WebhookConnection = builder.connectionObject({ type: Webhook, name: 'WebhookConnection' });

builder.prismaObjectField(Organization, 'webhooks', (t) =>
  t.connection(
    {
      type: Webhook,
      description: 'Newest first (OWNER only).',
      authScopes: (org) => ({ role: { place: { organizationId: org.id }, role: requiredRole('manageWebhooks') } }),
      select: (args, _ctx, nestedSelection) => ({ webhooks: withSortKey(nestedSelection(relationPageQuery(WEBHOOKS, args), ['edges', 'node'])) }),
      // The selection above loaded them (a field added to Organization from here is not typed with it).
      resolve: (org, args) => connectionOf<typeof Webhook.$inferType>(WEBHOOKS, args, (org as typeof org & { webhooks: WebhookRow[] }).webhooks),
    },
    WebhookConnection,
  ),
);

const CreateWebhookInput = builder.inputType('CreateWebhookInput', {
  fields: (t) => ({
    organizationId: t.id({ required: true, validate: idSchema }),
    url: t.string({ required: true, description: 'https, on public addresses only.', validate: textSchema('The URL') }),
    events: t.stringList({ description: 'Audit actions to deliver, e.g. ["token.created"]; omitted or empty: all.' }),
  }),
});

const CreateWebhookPayload = builder.objectRef<{ webhook: WebhookRow; signingSecret: string }>('CreateWebhookPayload').implement({
  fields: (t) => ({
    webhook: t.field({ type: Webhook, resolve: (p) => p.webhook }),
    signingSecret: t.exposeString('signingSecret', {
      description: "Returned here once: the key (its UTF-8 bytes) of the deliveries' HMAC-SHA256 signature.",
    }),
  }),
});

/** The events list as stored: each an audit action (a typo would never fire), each once, in the order given. */
function normalizeEvents(events: readonly string[]): string[] {
  if (events.length > MAX_WEBHOOK_EVENTS) throw badInput(`events: at most ${MAX_WEBHOOK_EVENTS} actions (got ${events.length}).`);
  for (const event of events) {
    if (!KNOWN_ACTIONS.has(event)) {
      throw badInput(`events: ${JSON.stringify(event.slice(0, 100))} is not an audit action; the actions are ${AUDIT_ACTIONS.join(', ')}.`);
    }
  }
  return [...new Set(events)];
}

/** Where a webhook is (for deleteWebhook's role check), or null when there is no such webhook. */
async function webhookPlace(ctx: Context, id: string) {
  if (!isWellFormedId(id)) return null;
  const webhook = await ctx.prisma.webhook.findUnique({ where: { id }, select: { organizationId: true } });
  return webhook ? { organizationId: webhook.organizationId } : null;
}

builder.mutationFields((t) => ({
  createWebhook: t.field({
    type: CreateWebhookPayload,
    description: "Registers a URL for the organization's audit events (OWNER). The signing secret is returned once.",
    args: { input: t.arg({ type: CreateWebhookInput, required: true }) },
    authScopes: requireRoleOn('manageWebhooks', 'Organization', ({ input }, ctx) => locate.organization(ctx, String(input.organizationId))),
    resolve: async (_root, { input }, ctx) => {
      const organizationId = String(input.organizationId);
      const events = normalizeEvents(input.events ?? []);
      const url = await checkNewWebhookUrl(input.url, ctx.config.webhooks);
      const signingSecret = newSigningSecret();
      const webhook = await ctx.prisma.$transaction(async (tx) => {
        const existing = await tx.webhook.count({ where: { organizationId } });
        if (existing >= MAX_WEBHOOKS_PER_ORGANIZATION) {
          throw badInput(`An organization has at most ${MAX_WEBHOOKS_PER_ORGANIZATION} webhooks: delete one first.`);
        }
        const created = await tx.webhook.create({ data: { organizationId, url, events, sealedSecret: sealSecret(signingSecret, ctx.config.webhooks.secretKey) } });
        // After the create: the new webhook receives its own webhook.created (when its events include it).
        await recordAudit(tx, ctx.principal, { action: 'webhook.created', organizationId, targetId: created.id, data: { url, events } });
        return created;
      });
      return { webhook, signingSecret };
    },
  }),
  deleteWebhook: t.id({
    description: 'Deletes the webhook with its pending deliveries: nothing more is sent to it.',
    args: { id: t.arg.id({ required: true, validate: idSchema }) },
    authScopes: requireRoleOn('manageWebhooks', 'Webhook', ({ id }, ctx) => webhookPlace(ctx, String(id))),
    resolve: async (_root, { id }, ctx) => {
      const webhookId = String(id);
      await ctx.prisma.$transaction(async (tx) => {
        const webhook = await tx.webhook.findUnique({ where: { id: webhookId }, select: { organizationId: true, url: true } });
        const { count } = await tx.webhook.deleteMany({ where: { id: webhookId } });
        if (!webhook || count === 0) throw notFound('Webhook');
        await recordAudit(tx, ctx.principal, { action: 'webhook.deleted', organizationId: webhook.organizationId, targetId: webhookId, data: { url: webhook.url } });
      });
      return webhookId;
    },
  }),
}));
