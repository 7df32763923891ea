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
import type { WebhookConfig } from '../src/env';
import { nonPublicReason } from '../src/webhooks/addressSafety';
import { retryDelayMs } from '../src/webhooks/worker';
import { startDnsResponder, type DnsResponder } from './helpers/dnsResponder';
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
    for (const events of [['token created'], ['TOKEN.CREATED'], [''], Array.from({ length: 51 }, (_, i) => `token.a${'x'.repeat(i % 5)}`)]) {
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
    const got = receiver.at(path);
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
    expect(listed.map((d: any) => d.id)).toEqual([...deliveryIds].reverse());
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
    const path = newPath();
    receiver.script(path, ['fail', 'fail', 'fail', 'fail']);
    const { webhook } = await createWebhook(receiver.url(path), ['webhook.created']);
    // The delay the worker set after each failed attempt: nextAttemptAt minus the attempt's end.
    const delays = new Map<number, number>();
    await deliverUntil(async () => {
      const row = await t.prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId: webhook.id }, include: { attemptLog: { orderBy: { number: 'desc' }, take: 1 } } });
      const last = row.attemptLog[0];
      if (row.status === 'pending' && last) delays.set(row.attempts, row.nextAttemptAt.getTime() - last.createdAt.getTime());
      return row.status === 'failed';
    });
    expect([...delays.keys()]).toEqual([1, 2]);
    expect(delays.get(1)).toBeGreaterThanOrEqual(FAST.retryBaseMs! - 20);
    expect(delays.get(1)).toBeLessThan(FAST.retryBaseMs! + 20);
    expect(delays.get(2)).toBeGreaterThanOrEqual(2 * FAST.retryBaseMs! - 20);
    expect(delays.get(2)).toBeLessThan(2 * FAST.retryBaseMs! + 20);
    const row = await t.prisma.webhookDelivery.findFirstOrThrow({ where: { webhookId: webhook.id }, include: { attemptLog: { orderBy: { number: 'asc' } } } });
    expect(row).toMatchObject({ status: 'failed', attempts: FAST.maxAttempts, responseStatus: 500, lastError: 'HTTP 500' });
    expect(row.attemptLog.map((a) => a.responseStatus)).toEqual([500, 500, 500]);
    await sleep(300);
    await t.app.webhooks.runOnce();
    expect(receiver.at(path)).toHaveLength(3);
  });

  test('the production defaults: 5 s timeout, at least 6 attempts spread over about an hour', () => {
    const defaults = testConfig().webhooks;
    expect(defaults.timeoutMs).toBe(5_000);
    expect(defaults.maxAttempts).toBeGreaterThanOrEqual(6);
    let total = 0;
    for (let attempts = 1; attempts < defaults.maxAttempts; attempts++) total += retryDelayMs(defaults.retryBaseMs, attempts);
    expect(total).toBeGreaterThanOrEqual(45 * 60_000);
    expect(total).toBeLessThanOrEqual(90 * 60_000);
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
