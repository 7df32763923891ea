// Webhooks (tokens-v2.md, "Webhooks"): OWNERs register URLs for their organization's audit
// events; deliveries come from an outbox written in the audit event's transaction, are signed
// (HMAC-SHA256 of "<t>.<body>"), retried with backoff (after a 5xx and after a timeout), listed
// with each attempt, survive a restart, and go to public addresses only (checked at creation
// and again at delivery, after DNS). A real receiver on loopback (node:http), a tiny DNS server
// on loopback for public-looking names; PGlite, or PostgreSQL with TEST_DATABASE_URL.
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import request from 'supertest';
import { createApp, type App } from '../src/app';
import { recordAudit } from '../src/audit';
import { loadConfig, type WebhookConfig } from '../src/env';
import { nonPublicReason } from '../src/webhooks/addressSafety';
import { DELIVERY_RETENTION_MS, retryDelayMs } from '../src/webhooks/worker';
import { MAX_WEBHOOKS_PER_ORGANIZATION } from '../src/schema/webhook';
import { startDnsResponder, type DnsResponder } from './helpers/dnsResponder';
import { killLeftoverServers, migratedDatabase, postGraphQL, startServer, stopServer } from './helpers/serverProcess';
import { addMember, buildWorld, mintToken, signUp, type World } from './helpers/factories';
import { dataOf, errorCodes, startTestApp, testConfig, type TestApp } from './helpers/testApp';

const SEED = Number(process.env.FC_SEED ?? 20_250_605);

const CREATE = `mutation($input: CreateWebhookInput!) {
  createWebhook(input: $input) { signingSecret webhook { id url events active createdAt } }
}`;
const DELETE = `mutation($id: ID!) { deleteWebhook(id: $id) }`;
const WEBHOOKS = `query($id: ID!) { organization(id: $id) { webhooks(first: 20) { edges { node {
  id url events
  deliveries(first: 10) { edges { node { id event status attempts responseStatus createdAt deliveredAt nextAttemptAt lastError
    attemptLog { number responseStatus error durationMs } } } }
} } } } }`;
const AUDIT = `query($id: ID!) { organization(id: $id) { auditEvents(first: 100) { edges { node { id action targetId } } } } }`;

/** What the receiver got: one entry per request. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on loopback. Each path answers as its script says, request by request (then 200). */
class Receiver {
  received: Received[] = [];
  private scripts = new Map<string, ('ok' | 'fail' | 'hang')[]>();
  private server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      this.received.push({ path, headers: req.headers, body });
      const step = this.scripts.get(path)?.shift() ?? 'ok';
      if (step === 'hang') return; // never answers: the gateway's timeout ends it
      res.writeHead(step === 'ok' ? 200 : 500).end(step === 'ok' ? 'thanks' : 'oops');
    });
  });
  port = 0;

  async start() {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }
  script(path: string, steps: ('ok' | 'fail' | 'hang')[]) {
    this.scripts.set(path, steps);
  }
  url(path: string, host = '127.0.0.1') {
    return `http://${host}:${this.port}${path}`;
  }
  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }
  close() {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Test timings: quick retries and timeout; the production defaults are checked in their own test. */
const FAST: Partial<WebhookConfig> = { pollSeconds: 0, timeoutMs: 400, retryBaseMs: 50, maxAttempts: 3 };

let t: TestApp;
let w: World;
let receiver: Receiver;
let dns: DnsResponder;
let secretKey: Buffer;
let paths = 0;
const newPath = () => `/hook-${++paths}`;

const webhookConfig = (overrides: Partial<WebhookConfig> = {}): WebhookConfig => ({
  ...testConfig().webhooks,
  ...FAST,
  allowLoopback: true,
  secretKey,
  dnsServers: [dns.server],
  ...overrides,
});

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  dns = await startDnsResponder();
  secretKey = randomBytes(32);
  t = await startTestApp({ webhooks: webhookConfig() });
  w = await buildWorld(t);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await dns?.close();
});

async function createWebhook(url: string, events?: string[], token = w.owner.token, organizationId = w.organizationId) {
  return dataOf(await t.gql(CREATE, { input: { organizationId, url, ...(events && { events }) } }, token)).createWebhook as {
    signingSecret: string;
    webhook: { id: string; url: string; events: string[]; active: boolean };
  };
}

/** Runs the worker until `done()` holds (retries are due after a few tens of ms), at most ~10 s. */
async function deliverUntil(done: () => boolean | Promise<boolean>, app: App = t.app) {
  for (let round = 0; round < 200; round++) {
    await app.webhooks.runOnce();
    if (await done()) return;
    await sleep(50);
  }
  throw new Error('the deliveries did not arrive in time');
}

async function webhookNode(id: string) {
  const edges = dataOf(await t.gql(WEBHOOKS, { id: w.organizationId }, w.owner.token)).organization.webhooks.edges;
  return edges.map((e: any) => e.node).find((node: any) => node.id === id);
}

/** Verifies a delivery the way the README tells receivers to; returns the parsed body. */
function verified(received: Received, secret: string) {
  const header = String(received.headers['portcullis-signature']);
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  expect(match).not.toBeNull();
  const [, timestamp, mac] = match!;
  expect(Math.abs(Date.now() / 1000 - Number(timestamp))).toBeLessThan(300);
  const expected = createHmac('sha256', secret).update(`${timestamp}.${received.body}`).digest('hex');
  expect(mac).toBe(expected);
  return JSON.parse(received.body);
}

describe('createWebhook', () => {
  test('returns the signing secret once; the webhook is listed without it, sealed in the database, and webhook.created is audited', async () => {
    const path = newPath();
    const created = await createWebhook(receiver.url(path), ['token.created', 'token.deleted', 'token.created']);
    expect(created.signingSecret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.webhook).toMatchObject({ url: receiver.url(path), events: ['token.created', 'token.deleted'], active: true });
    const listed = await webhookNode(created.webhook.id);
    expect(listed).toMatchObject({ id: created.webhook.id, url: receiver.url(path), deliveries: { edges: [] } });
    expect(JSON.stringify(listed)).not.toContain(created.signingSecret);
    const row = await t.prisma.webhook.findUniqueOrThrow({ where: { id: created.webhook.id } });
    expect(row.sealedSecret).toMatch(/^aes256gcm:/);
    expect(row.sealedSecret).not.toContain(created.signingSecret.slice(6));
    const audit = dataOf(await t.gql(AUDIT, { id: w.organizationId }, w.owner.token)).organization.auditEvents.edges.map((e: any) => e.node);
    expect(audit).toContainEqual({ id: expect.any(String), action: 'webhook.created', targetId: created.webhook.id });
  });

  test('bad event names and too many events: BAD_USER_INPUT, nothing created', async () => {
    const before = await t.prisma.webhook.count();
    // A well-shaped name that is no action ('token.create') is refused too: it would never fire.
    for (const events of [['token created'], ['TOKEN.CREATED'], [''], ['token.create'], ['token.created', 'member.joined'], Array.from({ length: 51 }, (_, i) => `token.a${'x'.repeat(i % 5)}`)]) {
      const res = await t.gql(CREATE, { input: { organizationId: w.organizationId, url: receiver.url('/x'), events } }, w.owner.token);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      expect(res.body.errors![0].message).toMatch(/^events: /);
    }
    expect(await t.prisma.webhook.count()).toBe(before);
  });

  test('below OWNER: FORBIDDEN for createWebhook, deleteWebhook and Organization.webhooks, nothing changes; another organization: NOT_FOUND', async () => {
    const existing = await createWebhook(receiver.url(newPath()));
    const editor = await signUp(t, 'Editor');
    await addMember(t, w.owner.token, { organizationId: w.organizationId, email: editor.email, role: 'EDITOR' });
    const editorToken = await mintToken(t, w.owner.token, { role: 'EDITOR', organizationId: w.organizationId });
    const before = await t.prisma.webhook.count();
    for (const token of [editor.token, editorToken.secret]) {
      const create = await t.gql(CREATE, { input: { organizationId: w.organizationId, url: receiver.url('/x') } }, token);
      expect(errorCodes(create)).toEqual(['FORBIDDEN']);
      expect(errorCodes(await t.gql(DELETE, { id: existing.webhook.id }, token))).toEqual(['FORBIDDEN']);
      const list = await t.gql(WEBHOOKS, { id: w.organizationId }, token);
      expect(errorCodes(list)).toEqual(['FORBIDDEN']);
      expect(list.body.data).toEqual({ organization: null });
    }
    // The OWNER of another organization does not see this one's webhooks at all.
    expect(errorCodes(await t.gql(CREATE, { input: { organizationId: w.organizationId, url: receiver.url('/x') } }, w.stranger.token))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await t.gql(DELETE, { id: existing.webhook.id }, w.stranger.token))).toEqual(['NOT_FOUND']);
    expect(await t.prisma.webhook.count()).toBe(before);
  });
});

describe('deliveries', () => {
  test('each event arrives once, signed, with the body and headers of the spec; every attempt is listed', async () => {
    const path = newPath();
    const { webhook, signingSecret } = await createWebhook(receiver.url(path));
    const token = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    dataOf(await t.gql(DELETE_TOKEN, { id: token.id }, w.owner.token));
    await deliverUntil(() => receiver.at(path).length >= 3);
    await t.app.webhooks.runOnce(); // nothing is due any more: no second copy
    await sleep(100);
    // One batch is sent concurrently: in the order of the events, not necessarily of arrival.
    const got = [...receiver.at(path)].sort((a, b) => JSON.parse(a.body).createdAt.localeCompare(JSON.parse(b.body).createdAt));
    expect(got.map((r) => r.headers['portcullis-event'])).toEqual(['webhook.created', 'token.created', 'token.deleted']);
    const deliveryIds = got.map((r) => r.headers['portcullis-delivery']);
    expect(new Set(deliveryIds).size).toBe(3);
    for (const r of got) {
      const body = verified(r, signingSecret);
      expect(Object.keys(body)).toEqual(['id', 'action', 'actorName', 'targetId', 'organizationId', 'createdAt', 'data']);
      expect(body.action).toBe(r.headers['portcullis-event']);
      expect(body.organizationId).toBe(w.organizationId);
      expect(r.headers['content-type']).toBe('application/json');
      const event = await t.prisma.auditEvent.findUniqueOrThrow({ where: { id: body.id } });
      expect(body).toMatchObject({ action: event.action, actorName: event.actorName, targetId: event.targetId, createdAt: event.createdAt.toISOString() });
    }
    expect(JSON.parse(got[0]!.body).data).toEqual({ url: receiver.url(path), events: [] });
    expect(JSON.parse(got[1]!.body).targetId).toBe(token.id);
    // Listed newest first, each with its one attempt.
    const listed = (await webhookNode(webhook.id)).deliveries.edges.map((e: any) => e.node);
    expect(listed.map((d: any) => d.event)).toEqual(['token.deleted', 'token.created', 'webhook.created']);
    expect(listed.map((d: any) => d.id).sort()).toEqual([...deliveryIds].sort());
    for (const d of listed) {
      expect(d).toMatchObject({ status: 'delivered', attempts: 1, responseStatus: 200, nextAttemptAt: null, lastError: null });
      expect(d.deliveredAt).not.toBeNull();
      expect(d.attemptLog).toEqual([{ number: 1, responseStatus: 200, error: null, durationMs: expect.any(Number) }]);
    }
  });

  test('the events filter: only the listed actions are sent', async () => {
    const path = newPath();
    const { webhook } = await createWebhook(receiver.url(path), ['token.deleted']);
    const token = await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    dataOf(await t.gql(DELETE_TOKEN, { id: token.id }, w.owner.token));
    await deliverUntil(() => receiver.at(path).length >= 1);
    await t.app.webhooks.runOnce();
    expect(receiver.at(path).map((r) => r.headers['portcullis-event'])).toEqual(['token.deleted']);
    expect(await t.prisma.webhookDelivery.count({ where: { webhookId: webhook.id } })).toBe(1);
  });

  test('events of other organizations are not sent', async () => {
    const path = newPath();
    await createWebhook(receiver.url(path), ['token.created']);
    await mintToken(t, w.stranger.token, { role: 'VIEWER', organizationId: w.otherOrganizationId });
    await t.app.webhooks.runOnce();
    expect(receiver.at(path)).toEqual([]);
  });

  test('a 500 is retried with the same delivery id and body, and both attempts are listed', async () => {
    const path = newPath();
    receiver.script(path, ['fail', 'ok']);
    const { webhook, signingSecret } = await createWebhook(receiver.url(path), ['webhook.created']);
    await deliverUntil(() => receiver.at(path).length >= 2);
    const [first, second] = receiver.at(path);
    expect(second!.headers['portcullis-delivery']).toBe(first!.headers['portcullis-delivery']);
    expect(second!.body).toBe(first!.body);
    verified(second!, signingSecret);
    const [delivery] = (await webhookNode(webhook.id)).deliveries.edges.map((e: any) => e.node);
    expect(delivery).toMatchObject({ id: first!.headers['portcullis-delivery'], status: 'delivered', attempts: 2, responseStatus: 200 });
    expect(delivery.attemptLog.map((a: any) => [a.number, a.responseStatus])).toEqual([
      [1, 500],
      [2, 200],
    ]);
  });

  test('a receiver that does not answer within the timeout is retried', async () => {
    const path = newPath();
    receiver.script(path, ['hang', 'ok']);
    const { webhook } = await createWebhook(receiver.url(path), ['webhook.created']);
    await deliverUntil(async () => (await t.prisma.webhookDelivery.findFirst({ where: { webhookId: webhook.id } }))?.status === 'delivered');
    expect(receiver.at(path)).toHaveLength(2);
    const [delivery] = (await webhookNode(webhook.id)).deliveries.edges.map((e: any) => e.node);
    expect(delivery.attemptLog).toEqual([
      { number: 1, responseStatus: null, error: `Timed out after ${FAST.timeoutMs} ms.`, durationMs: expect.any(Number) },
      { number: 2, responseStatus: 200, error: null, durationMs: expect.any(Number) },
    ]);
    expect(delivery.attemptLog[0].durationMs).toBeGreaterThanOrEqual(FAST.timeoutMs! - 5);
  });

  test('after the last attempt the delivery is failed and no longer tried; the delay doubles after each failure', async () => {
    // Its own worker with a longer first delay, so that the doubling stands out from polling jitter.
    const base = 200;
    const slow = createApp(testConfig({ webhooks: webhookConfig({ retryBaseMs: base }) }), t.database);
    try {
      const path = newPath();
      receiver.script(path, ['fail', 'fail', 'fail', 'fail']);
      const { webhook } = await createWebhook(receiver.url(path), ['webhook.created']);
      await deliverUntil(async () => (await t.prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId: webhook.id } })).status === 'failed', slow);
      const row = await t.prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId: webhook.id }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
      expect(row).toMatchObject({ status: 'failed', attempts: FAST.maxAttempts, responseStatus: 500, lastError: 'HTTP 500' });
      expect(row.attemptLog.map((a) => a.responseStatus)).toEqual([500, 500, 500]);
      // The wait between one attempt's end and the next one's start: at least 200 ms, then 400 ms.
      // An attempt's row is written a little after the moment its delay counts from (the
      // transaction that writes it starts first: a few ms, more on a loaded machine; CI once
      // measured 194 ms for 200), hence the margin. Without the doubling the second gap would
      // be about 200 ms, far below 2 * base - SLACK.
      const SLACK = 25;
      const [first, second, third] = row.attemptLog;
      const gap = (before: typeof first, after: typeof first) => after!.createdAt.getTime() - after!.durationMs - before!.createdAt.getTime();
      expect(gap(first, second)).toBeGreaterThanOrEqual(base - SLACK);
      expect(gap(second, third)).toBeGreaterThanOrEqual(2 * base - SLACK);
      expect(gap(second, third)).toBeGreaterThan(gap(first, second));
      await sleep(300);
      await slow.webhooks.runOnce();
      await t.app.webhooks.runOnce();
      expect(receiver.at(path)).toHaveLength(3);
    } finally {
      await slow.stop();
    }
  });

  test('the production defaults: 5 s timeout, at least 6 attempts spread over about an hour', () => {
    const defaults = loadConfig({}).webhooks;
    expect(defaults.timeoutMs).toBe(5_000);
    expect(defaults.maxAttempts).toBeGreaterThanOrEqual(6);
    let total = 0;
    for (let attempts = 1; attempts < defaults.maxAttempts; attempts++) total += retryDelayMs(defaults.retryBaseMs, attempts);
    expect(total).toBeGreaterThanOrEqual(45 * 60_000);
    expect(total).toBeLessThanOrEqual(90 * 60_000);
  });

  test('finished deliveries are deleted after 30 days; pending ones stay', async () => {
    const { webhook } = await createWebhook(receiver.url(newPath()), ['token.created']);
    await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    const [old, recent, pending] = await t.prisma.webhookDelivery.findMany({ where: { webhookId: webhook.id }, orderBy: { createdAt: 'asc' } });
    const longAgo = new Date(Date.now() - DELIVERY_RETENTION_MS - 60_000);
    await t.prisma.webhookDelivery.update({ where: { id: old!.id }, data: { status: 'delivered', createdAt: longAgo } });
    await t.prisma.webhookDelivery.update({ where: { id: recent!.id }, data: { status: 'failed', createdAt: new Date(Date.now() - DELIVERY_RETENTION_MS + 60_000) } });
    await t.prisma.webhookDelivery.update({ where: { id: pending!.id }, data: { createdAt: longAgo, nextAttemptAt: new Date(Date.now() + 60_000) } });
    await t.app.webhooks.runOnce();
    const left = await t.prisma.webhookDelivery.findMany({ where: { webhookId: webhook.id } });
    expect(left.map((d) => d.id).sort()).toEqual([recent!.id, pending!.id].sort());
    await t.gql(DELETE, { id: webhook.id }, w.owner.token);
  });

  test('an organization has at most 20 webhooks', async () => {
    const organizationId = w.otherOrganizationId;
    for (let i = 0; i < MAX_WEBHOOKS_PER_ORGANIZATION; i++) await createWebhook(receiver.url('/never'), ['token.leaked'], w.stranger.token, organizationId);
    const res = await t.gql(CREATE, { input: { organizationId, url: receiver.url('/never') } }, w.stranger.token);
    expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors![0].message).toBe('An organization has at most 20 webhooks: delete one first.');
    expect(await t.prisma.webhook.count({ where: { organizationId } })).toBe(MAX_WEBHOOKS_PER_ORGANIZATION);
    await t.prisma.webhook.deleteMany({ where: { organizationId } });
  });

  test('deleting a webhook stops its deliveries (pending ones go with it) and is audited', async () => {
    const path = newPath();
    const { webhook } = await createWebhook(receiver.url(path));
    await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    expect(await t.prisma.webhookDelivery.count({ where: { webhookId: webhook.id, status: 'pending' } })).toBe(2);
    expect(dataOf(await t.gql(DELETE, { id: webhook.id }, w.owner.token))).toEqual({ deleteWebhook: webhook.id });
    await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    await t.app.webhooks.runOnce();
    await sleep(100);
    expect(receiver.at(path)).toEqual([]);
    expect(await t.prisma.webhookDelivery.count({ where: { webhookId: webhook.id } })).toBe(0);
    const audit = dataOf(await t.gql(AUDIT, { id: w.organizationId }, w.owner.token)).organization.auditEvents.edges.map((e: any) => e.node);
    expect(audit).toContainEqual({ id: expect.any(String), action: 'webhook.deleted', targetId: webhook.id });
    expect(errorCodes(await t.gql(DELETE, { id: webhook.id }, w.owner.token))).toEqual(['NOT_FOUND']);
  });
});

const DELETE_TOKEN = `mutation($id: ID!) { deleteApiToken(id: $id) }`;

describe('the signing secret', () => {
  test('never in a log line, even at debug level with deliveries failing', async () => {
    const lines: string[] = [];
    const logged = createApp(testConfig({ logLevel: 'debug', webhooks: webhookConfig() }), t.database, { logStream: { write: (line: string) => void lines.push(line) } });
    try {
      const path = newPath();
      receiver.script(path, ['fail', 'ok']);
      const res = await request(logged.yoga)
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .set('Authorization', `Bearer ${w.owner.token}`)
        .send({ query: CREATE, variables: { input: { organizationId: w.organizationId, url: receiver.url(path), events: ['webhook.created'] } } });
      const { signingSecret, webhook } = res.body.data.createWebhook;
      await deliverUntil(() => receiver.at(path).length >= 2, logged);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(line).not.toContain(signingSecret.slice(6));
      await t.gql(DELETE, { id: webhook.id }, w.owner.token);
    } finally {
      await logged.stop();
    }
  });

  test('without WEBHOOK_SECRET_KEY it is stored unsealed; with another key it cannot be used, and the attempt says so without sending', async () => {
    const unkeyed = createApp(testConfig({ webhooks: webhookConfig({ secretKey: undefined }) }), t.database);
    const otherKey = createApp(testConfig({ webhooks: webhookConfig({ secretKey: randomBytes(32) }) }), t.database);
    try {
      const path = newPath();
      const res = await request(unkeyed.yoga)
        .post('/graphql')
        .set('Content-Type', 'application/json')
        .set('Authorization', `Bearer ${w.owner.token}`)
        .send({ query: CREATE, variables: { input: { organizationId: w.organizationId, url: receiver.url(path), events: ['webhook.created'] } } });
      const { signingSecret, webhook } = res.body.data.createWebhook;
      expect((await t.prisma.webhook.findUniqueOrThrow({ where: { id: webhook.id } })).sealedSecret).toBe(`plain:${signingSecret}`);
      await deliverUntil(() => receiver.at(path).length >= 1, unkeyed);
      verified(receiver.at(path)[0]!, signingSecret);

      const sealedPath = newPath();
      const sealed = await createWebhook(receiver.url(sealedPath), ['webhook.created']); // sealed with the test app's key
      await otherKey.webhooks.runOnce();
      expect(receiver.at(sealedPath)).toEqual([]);
      const row = await t.prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId: sealed.webhook.id } });
      expect(row).toMatchObject({ status: 'pending', attempts: 1, lastError: 'Not sent: The signing secret cannot be unsealed with this WEBHOOK_SECRET_KEY.' });
      for (const id of [webhook.id, sealed.webhook.id]) await t.gql(DELETE, { id }, w.owner.token);
    } finally {
      await unkeyed.stop();
      await otherKey.stop();
    }
  });
});

describe('the outbox is written in the audit event transaction', () => {
  test('an event rolled back leaves no delivery; one committed (inside a transaction or not) leaves one per matching webhook', async () => {
    const { webhook } = await createWebhook(receiver.url(newPath()), ['token.leaked']);
    const actor = { kind: 'system', name: 'test' } as const;
    const event = { action: 'token.leaked', organizationId: w.organizationId, targetId: 'some-token' } as const;
    await expect(
      t.prisma.$transaction(async (tx) => {
        await recordAudit(tx, actor, event);
        expect(await tx.webhookDelivery.count({ where: { webhookId: webhook.id } })).toBe(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await t.prisma.webhookDelivery.count({ where: { webhookId: webhook.id } })).toBe(0);
    await t.prisma.$transaction((tx) => recordAudit(tx, actor, event));
    await recordAudit(t.prisma, actor, event);
    const rows = await t.prisma.webhookDelivery.findMany({ where: { webhookId: webhook.id } });
    expect(rows).toHaveLength(2);
    const events = await t.prisma.auditEvent.findMany({ where: { id: { in: rows.map((r) => r.auditEventId) } } });
    expect(events.map((e) => e.action)).toEqual(['token.leaked', 'token.leaked']);
    await t.gql(DELETE, { id: webhook.id }, w.owner.token);
  });
});

describe('any instance delivers, each delivery once', () => {
  test('two workers on one database running at once send each event once (FOR UPDATE SKIP LOCKED)', async () => {
    const path = newPath();
    const { webhook } = await createWebhook(receiver.url(path), ['token.created']);
    for (let i = 0; i < 12; i++) await mintToken(t, w.owner.token, { role: 'VIEWER', organizationId: w.organizationId });
    // Two instances whose attempts never time out here: on a loaded machine a 400 ms attempt
    // could (rightly) be retried, and a retry is a second copy this test would count.
    const patient = testConfig({ webhooks: webhookConfig({ timeoutMs: 15_000 }) });
    const first = createApp(patient, t.database);
    const second = createApp(patient, t.database);
    try {
      await Promise.all([first.webhooks.runOnce(), second.webhooks.runOnce(), first.webhooks.runOnce(), second.webhooks.runOnce()]);
      await deliverUntil(() => receiver.at(path).length >= 12, first);
      await Promise.all([first.webhooks.runOnce(), second.webhooks.runOnce()]);
    } finally {
      await first.stop();
      await second.stop();
    }
    const ids = receiver.at(path).map((r) => r.headers['portcullis-delivery']);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(await t.prisma.webhookDelivery.count({ where: { webhookId: webhook.id, status: 'delivered', attempts: 1 } })).toBe(12);
    await t.gql(DELETE, { id: webhook.id }, w.owner.token);
  });

  test("a claim is held until its lease ends: a crashed instance's claim is taken over after that", async () => {
    const path = newPath();
    const { webhook } = await createWebhook(receiver.url(path), ['webhook.created']);
    // As if an instance had claimed it and died: a lease still running, then one that ran out.
    await t.prisma.webhookDelivery.updateMany({ where: { webhookId: webhook.id }, data: { lockedUntil: new Date(Date.now() + 60_000), claimId: 'crashed' } });
    await t.app.webhooks.runOnce();
    expect(receiver.at(path)).toEqual([]);
    await t.prisma.webhookDelivery.updateMany({ where: { webhookId: webhook.id }, data: { lockedUntil: new Date(Date.now() - 1) } });
    await deliverUntil(() => receiver.at(path).length >= 1);
    expect(await t.prisma.webhookDelivery.findFirst({ where: { webhookId: webhook.id } })).toMatchObject({ status: 'delivered', attempts: 1, claimId: null });
  });
});

describe('the outbox survives a restart', () => {
  test('a delivery pending when the gateway stops is sent by the next one on the same database', async () => {
    const s = await startTestApp({ webhooks: webhookConfig() });
    try {
      const world = await buildWorld(s);
      const path = newPath();
      const created = dataOf(await s.gql(CREATE, { input: { organizationId: world.organizationId, url: receiver.url(path), events: ['token.created'] } }, world.owner.token));
      const token = await mintToken(s, world.owner.token, { role: 'VIEWER', organizationId: world.organizationId });
      expect(await s.prisma.webhookDelivery.count({ where: { status: 'pending' } })).toBe(1);
      await s.app.stop(); // goes away before its worker ran
      expect(receiver.at(path)).toEqual([]);
      // A new gateway on the same database, its worker on a timer as in production.
      const next = createApp(testConfig({ webhooks: webhookConfig({ pollSeconds: 1 }) }), s.database);
      try {
        const deadline = Date.now() + 15_000;
        while (receiver.at(path).length === 0 && Date.now() < deadline) await sleep(100);
        await sleep(1_500); // one more round: still once
      } finally {
        await next.stop();
      }
      const got = receiver.at(path);
      expect(got).toHaveLength(1);
      expect(verified(got[0]!, created.createWebhook.signingSecret).targetId).toBe(token.id);
    } finally {
      await s.database.drop();
    }
  });
});

describe('the outbox survives a restart of the server process', () => {
  afterEach(() => killLeftoverServers());

  test('npm start, an event, SIGTERM before the worker polls; the next server on the same database delivers it', async () => {
    const database = await migratedDatabase();
    const env = { ...database.env, SEED_DEMO_DATA: 'false', WEBHOOK_ALLOW_LOOPBACK: 'true', WEBHOOK_SECRET_KEY: secretKey.toString('base64') };
    try {
      // The first server's worker would first poll an hour after it started.
      const first = await startServer({ ...env, WEBHOOK_POLL_SECONDS: '3600' });
      const signUpResponse = await postGraphQL(first.url, `mutation { signUp(input: { email: "hooks@example.com", password: "correct horse battery", name: "Hooks" }) { token } }`);
      const session = signUpResponse.body.data.signUp.token as string;
      const organizationId = (await postGraphQL(first.url, `mutation { createOrganization(input: { name: "Hooked" }) { id } }`, session)).body.data.createOrganization.id;
      const path = newPath();
      const created = await postGraphQL(
        first.url,
        `mutation { createWebhook(input: { organizationId: "${organizationId}", url: "${receiver.url(path)}", events: ["webhook.created"] }) { signingSecret } }`,
        session,
      );
      const signingSecret = created.body.data.createWebhook.signingSecret as string;
      // (Its exit code is test/shutdown.test.ts's business.)
      await stopServer(first);
      expect(receiver.at(path)).toEqual([]);

      const second = await startServer({ ...env, WEBHOOK_POLL_SECONDS: '1' });
      const deadline = Date.now() + 20_000;
      while (receiver.at(path).length === 0 && Date.now() < deadline) await sleep(100);
      await sleep(1_500); // another poll: still once
      await stopServer(second);
      const got = receiver.at(path);
      expect(got).toHaveLength(1);
      expect(verified(got[0]!, signingSecret)).toMatchObject({ action: 'webhook.created', organizationId });
    } finally {
      await database.drop();
    }
  }, 120_000);
});

describe('no SSRF: public addresses only', () => {
  /** An app on the same database with production's address rules (no loopback), asking the test DNS server. */
  let strict: App;
  /** The same, with the system's resolver (for `localhost`). */
  let strictSystemDns: App;
  beforeAll(() => {
    strict = createApp(testConfig({ webhooks: webhookConfig({ allowLoopback: false }) }), t.database);
    strictSystemDns = createApp(testConfig({ webhooks: webhookConfig({ allowLoopback: false, dnsServers: [] }) }), t.database);
    dns.set('hooks.example.test', ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);
    dns.set('internal.example.test', ['10.1.2.3']);
    dns.set('metadata.example.test', ['169.254.169.254']);
    dns.set('ula.example.test', ['fd12:3456::1']);
    dns.set('mixed.example.test', ['93.184.215.14', '192.168.1.10']);
    dns.set('mapped.example.test', ['::ffff:127.0.0.1']);
    dns.set('loop.example.test', ['127.0.0.1']);
  });
  afterAll(async () => {
    await strict?.stop();
    await strictSystemDns?.stop();
  });

  const createOn = (app: App, url: string) =>
    request(app.yoga)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .set('Authorization', `Bearer ${w.owner.token}`)
      .send({ query: CREATE, variables: { input: { organizationId: w.organizationId, url } } });

  const refused: [string, RegExp][] = [
    ['http://93.184.215.14/hook', /must use https/],
    ['ftp://93.184.215.14/hook', /must use https/],
    ['https://127.0.0.1/hook', /127\.0\.0\.1 \(loopback\)/],
    ['https://127.1.2.3:8443/hook', /loopback/],
    ['https://0x7f000001/hook', /127\.0\.0\.1 \(loopback\)/],
    ['https://2130706433/hook', /127\.0\.0\.1 \(loopback\)/],
    ['https://[::1]/hook', /::1 \(loopback\)/],
    ['https://10.0.0.1/hook', /10\.0\.0\.1 \(private\)/],
    ['https://172.16.5.4/hook', /private/],
    ['https://192.168.0.1/hook', /private/],
    ['https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254 \(link-local/],
    ['https://[::ffff:169.254.169.254]/latest/meta-data/', /link-local/],
    ['https://[::ffff:10.0.0.1]/hook', /private/],
    ['https://[fe80::1]/hook', /link-local/],
    ['https://[fd00::1]/hook', /unique-local/],
    ['https://100.64.0.1/hook', /carrier-grade NAT/],
    ['https://0.0.0.0/hook', /unspecified/],
    ['https://[::]/hook', /unspecified/],
    ['https://224.0.0.1/hook', /multicast/],
    ['https://[ff02::1]/hook', /multicast/],
    ['https://192.0.2.10/hook', /documentation/],
    ['https://[2001:db8::1]/hook', /documentation/],
    ['https://255.255.255.255/hook', /broadcast/],
    ['https://internal.example.test/hook', /internal\.example\.test resolves to 10\.1\.2\.3 \(private\)/],
    ['https://metadata.example.test/hook', /resolves to 169\.254\.169\.254 \(link-local/],
    ['https://ula.example.test/hook', /resolves to fd12:3456::1 \(unique-local\)/],
    ['https://mixed.example.test/hook', /resolves to 192\.168\.1\.10 \(private\)/],
    ['https://mapped.example.test/hook', /loopback/],
    ['https://unknown.example.test/hook', /cannot be resolved/],
    ['https://user:pass@hooks.example.test/hook', /user name or password/],
    ['not a url', /Not a valid URL/],
  ];

  test.each(refused)('%s: BAD_USER_INPUT naming the reason, nothing created', async (url, reason) => {
    const before = await t.prisma.webhook.count();
    const res = await createOn(strict, url);
    expect(res.body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors[0].message).toMatch(/^url: /);
    expect(res.body.errors[0].message).toMatch(reason);
    expect(res.body.data).toBeNull();
    expect(await t.prisma.webhook.count()).toBe(before);
  });

  test('localhost resolves to loopback: refused without WEBHOOK_ALLOW_LOOPBACK', async () => {
    const res = await createOn(strictSystemDns, 'https://localhost/hook');
    expect(res.body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(res.body.errors[0].message).toMatch(/localhost resolves to (127\.0\.0\.1|::1) \(loopback\)/);
  });

  test('public names and addresses are accepted (nothing is sent at creation)', async () => {
    for (const url of ['https://hooks.example.test/hook', 'https://93.184.215.14/hook', 'https://[2606:4700::1111]:8443/hook?x=1']) {
      const res = await createOn(strict, url);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.createWebhook.webhook.url).toBe(new URL(url).href);
      await t.gql(DELETE, { id: res.body.data.createWebhook.webhook.id }, w.owner.token);
    }
  });

  test('with WEBHOOK_ALLOW_LOOPBACK, plain http is still refused to anything but loopback', async () => {
    for (const url of ['http://hooks.example.test/hook', 'http://10.0.0.1/hook', 'http://internal.example.test/hook']) {
      const res = await t.gql(CREATE, { input: { organizationId: w.organizationId, url } }, w.owner.token);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
    }
  });

  test('checked again at delivery: a name that now resolves to a private address is not sent to, and the attempt says why', async () => {
    dns.set('rebind.example.test', ['93.184.215.14']);
    const created = (await createOn(strict, 'https://rebind.example.test/hook')).body.data.createWebhook;
    dns.set('rebind.example.test', ['10.20.30.40']);
    await strict.webhooks.runOnce();
    const [delivery] = (await webhookNode(created.webhook.id)).deliveries.edges.map((e: any) => e.node);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1, responseStatus: null });
    expect(delivery.attemptLog).toEqual([
      { number: 1, responseStatus: null, error: 'Not sent: rebind.example.test resolves to 10.20.30.40 (private): webhooks are delivered to public addresses only.', durationMs: expect.any(Number) },
    ]);
    await t.gql(DELETE, { id: created.webhook.id }, w.owner.token);
  });

  test('the connection goes to the address that was checked (pinned), not to a second DNS answer', async () => {
    // Only the test DNS server knows this name: the system resolver would fail. The delivery
    // arriving shows the connection used the checked answer; the server was asked once per family.
    const path = newPath();
    dns.set('pinned.example.test', ['127.0.0.1']);
    const { webhook } = await createWebhook(receiver.url(path, 'pinned.example.test'), ['webhook.created']);
    const asked = dns.asked('pinned.example.test');
    await deliverUntil(() => receiver.at(path).length >= 1);
    expect(receiver.at(path)[0]!.headers.host).toBe(`pinned.example.test:${receiver.port}`);
    expect(dns.asked('pinned.example.test') - asked).toBe(2); // A and AAAA, for the delivery's check
    await t.gql(DELETE, { id: webhook.id }, w.owner.token);
  });

  test('redirects are not followed', async () => {
    const path = newPath();
    const redirector = createServer((_req, res) => res.writeHead(302, { Location: receiver.url(path) }).end());
    await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
    try {
      const { webhook } = await createWebhook(`http://127.0.0.1:${(redirector.address() as AddressInfo).port}/hook`, ['webhook.created']);
      await t.app.webhooks.runOnce();
      const [delivery] = (await webhookNode(webhook.id)).deliveries.edges.map((e: any) => e.node);
      expect(delivery).toMatchObject({ status: 'pending', attempts: 1, responseStatus: 302, lastError: 'HTTP 302', deliveredAt: null });
      expect(receiver.at(path)).toEqual([]);
      await t.gql(DELETE, { id: webhook.id }, w.owner.token);
    } finally {
      redirector.closeAllConnections();
      await new Promise((resolve) => redirector.close(resolve));
    }
  });
});

describe('hostile input (fast-check)', () => {
  let strict: App;
  beforeAll(() => {
    strict = createApp(testConfig({ webhooks: webhookConfig({ allowLoopback: false }) }), t.database);
  });
  afterAll(() => strict?.stop());

  test('an IPv4 address and its IPv4-mapped IPv6 form are judged alike; every address in a refused range is refused', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(nonPublicReason(`::ffff:${ip}`)).toBe(nonPublicReason(ip));
      }),
      { seed: SEED, numRuns: 500 },
    );
    const inRange = (first: number, bits: number) => fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((n) => {
      const value = first + n;
      return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
    });
    const octets = (text: string) => text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
    const ranges: [string, number][] = [['10.0.0.0', 8], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['100.64.0.0', 10], ['224.0.0.0', 4]];
    fc.assert(
      fc.property(fc.oneof(...ranges.map(([first, bits]) => inRange(octets(first), bits))), (ip) => {
        expect(nonPublicReason(ip)).not.toBeNull();
      }),
      { seed: SEED, numRuns: 500 },
    );
  });

  test('any URL and events list: created with a public https URL, or BAD_USER_INPUT and nothing created', async () => {
    dns.set('hooks.example.test', ['93.184.215.14']);
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6().map((ip) => `[${ip}]`),
      fc.constantFrom('hooks.example.test', 'internal.example.test', 'metadata.example.test', 'localhost', '0x7f.1', '017700000001', '[::ffff:7f00:1]'),
      fc.domain(),
    );
    const url = fc.oneof(
      fc.tuple(fc.constantFrom('https://', 'http://', 'HTTPS://', 'ftp://', 'https:/', '//', 'javascript:'), host, fc.webPath()).map(([scheme, h, p]) => `${scheme}${h}${p}`),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 100 }),
      fc.constant(`https://hooks.example.test/${'a'.repeat(2_100)}`),
    );
    const events = fc.option(fc.array(fc.oneof(fc.constantFrom('token.created', 'member.added'), fc.string({ maxLength: 60 })), { maxLength: 60 }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(url, events, async (text, list) => {
        const before = await t.prisma.webhook.count();
        const res = await request(strict.yoga)
          .post('/graphql')
          .set('Content-Type', 'application/json')
          .set('Authorization', `Bearer ${w.owner.token}`)
          .send({ query: CREATE, variables: { input: { organizationId: w.organizationId, url: text, ...(list && { events: list }) } } });
        expect(res.status).toBe(200);
        if (res.body.errors) {
          expect(res.body.errors.map((e: any) => e.extensions.code)).toEqual(['BAD_USER_INPUT']);
          expect(await t.prisma.webhook.count()).toBe(before);
          return;
        }
        const webhook = res.body.data.createWebhook.webhook;
        const parsed = new URL(webhook.url);
        expect(parsed.protocol).toBe('https:');
        const hostname = parsed.hostname.replace(/^\[|\]$/g, '');
        const addresses = hostname === 'hooks.example.test' ? ['93.184.215.14'] : [hostname];
        for (const address of addresses) expect(nonPublicReason(address)).toBeNull();
        for (const event of webhook.events) expect(event).toMatch(/^[a-z][a-z_]*\.[a-z][a-z_]*$/);
        expect(await t.prisma.webhook.count()).toBe(before + 1);
        await t.gql(DELETE, { id: webhook.id }, w.owner.token);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });
});
