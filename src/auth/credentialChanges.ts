// How every gateway instance learns that cached credentials (src/auth/credentialCache.ts) are
// stale, and how a mutation waits until all of them have.
//
// - Triggers (migration 20261127134500_credential_change_notices) NOTIFY `portcullis_credentials`
//   when a change to a token, its boards, a user, a membership or a session commits. Each
//   instance LISTENs on a connection of its own and empties its cache on every notice.
// - After a mutation, before its response is sent, `barrier()` NOTIFYs `portcullis_barrier`
//   with a fresh nonce and waits until every instance listening on the database has answered
//   on `portcullis_ack`. PostgreSQL delivers the notices of one connection in commit order, so
//   an instance that saw the barrier has already seen, and applied, every change committed
//   before it: once the barrier returns, no instance answers from a stale entry. That is what
//   keeps "revoked means refused on the very next request, on every instance"
//   (test/revocationUnderLoad.test.ts).
// - An instance that cannot listen (its connection lost) answers nothing from its cache until
//   it listens again. One that does not answer a barrier in time has its listening connection
//   ended by the waiting instance (pg_terminate_backend), which turns its cache off.
import { randomUUID } from 'node:crypto';
import type { Database, Listener } from '../db/database';
import type { Logger } from '../server/logging';
import type { CredentialCache } from './credentialCache';

const CHANGES = 'portcullis_credentials';
const BARRIER = 'portcullis_barrier';
const ACK = 'portcullis_ack';
/** Listening connections are named so that instances can find each other in pg_stat_activity. */
export const LISTENER_NAME_PREFIX = 'portcullis-credentials:';
const RECONNECT_MS = 1_000;

interface Barrier {
  waitingFor: Set<string>;
  done: () => void;
}

export class CredentialChanges {
  readonly instanceId = randomUUID();
  private listener: Listener | null = null;
  private readonly barriers = new Map<string, Barrier>();
  private reconnect: NodeJS.Timeout | undefined;
  private stopped = false;
  private starting: Promise<void> = Promise.resolve();

  constructor(
    private readonly database: Database,
    private readonly cache: CredentialCache,
    private readonly logger: Logger,
    private readonly barrierTimeoutMs: number,
  ) {}

  /** Listens, then lets the cache answer. Never throws: without a listener the cache stays off. */
  start(): Promise<void> {
    this.starting = this.listen();
    return this.starting;
  }

  /** Resolves once the latest attempt to listen has succeeded or failed. */
  whenStarted(): Promise<void> {
    return this.starting;
  }

  private async listen(): Promise<void> {
    if (this.stopped || this.listener) return;
    try {
      this.listener = await this.database.listen(
        [CHANGES, BARRIER, ACK],
        `${LISTENER_NAME_PREFIX}${this.instanceId}`,
        (channel, payload) => this.onNotice(channel, payload),
        () => this.onLost(),
      );
      this.cache.setEnabled(true);
    } catch (error) {
      this.logger.warn({ err: error }, 'Cannot listen for credential changes: every request reads its credential from the database.');
      this.onLost();
    }
  }

  private onNotice(channel: string, payload: string) {
    if (channel === CHANGES) {
      this.cache.clear();
    } else if (channel === BARRIER) {
      // Every change committed before this barrier has been applied above: say so.
      if (this.barriers.has(payload)) this.acknowledged(payload, this.instanceId);
      else void this.listener?.query('SELECT pg_notify($1, $2)', [ACK, `${payload} ${this.instanceId}`]).catch(() => undefined);
    } else if (channel === ACK) {
      const [nonce, instanceId] = payload.split(' ');
      this.acknowledged(nonce, instanceId);
    }
  }

  private acknowledged(nonce: string, instanceId: string) {
    const barrier = this.barriers.get(nonce);
    if (!barrier) return;
    barrier.waitingFor.delete(instanceId);
    if (barrier.waitingFor.size === 0) barrier.done();
  }

  private onLost() {
    this.cache.setEnabled(false);
    this.listener = null;
    for (const barrier of this.barriers.values()) barrier.done();
    if (this.stopped) return;
    this.logger.warn('Not listening for credential changes: the credential cache is off until listening resumes.');
    clearTimeout(this.reconnect);
    this.reconnect = setTimeout(() => void this.start(), RECONNECT_MS);
    this.reconnect.unref();
  }

  /**
   * Resolves once every instance listening on this database has applied every credential
   * change committed before the call.
   */
  async barrier(): Promise<void> {
    await this.starting;
    const listener = this.listener;
    if (!listener) {
      // This instance cannot hear the answers: end the peers' listening connections, which turns
      // their caches off until they listen again (and so empties them).
      await this.endListeners().catch((error: unknown) => this.logger.warn({ err: error }, 'Could not reach the other instances after a change.'));
      return;
    }
    const nonce = randomUUID();
    const peers = await this.listeningInstances(listener);
    let done!: () => void;
    const answered = new Promise<void>((resolve) => (done = resolve));
    this.barriers.set(nonce, { waitingFor: new Set([...peers.keys(), this.instanceId]), done });
    const timer = setTimeout(done, this.barrierTimeoutMs);
    try {
      await listener.query('SELECT pg_notify($1, $2)', [BARRIER, nonce]);
      await answered;
      const silent = [...this.barriers.get(nonce)!.waitingFor].filter((id) => id !== this.instanceId);
      if (silent.length) {
        this.logger.warn({ instances: silent.length }, 'Instances did not confirm a credential change in time: ending their listening connections.');
        await this.endListeners(silent.map((id) => peers.get(id)!));
      }
    } finally {
      clearTimeout(timer);
      this.barriers.delete(nonce);
    }
  }

  /** The other instances listening on this database (instance id → backend pid). PGlite: none. */
  private async listeningInstances(listener: Listener): Promise<Map<string, number>> {
    if (this.database.kind === 'pglite') return new Map();
    const rows = await listener.query<{ name: string; pid: number }>(
      `SELECT application_name AS name, pid FROM pg_stat_activity
       WHERE datname = current_database() AND application_name LIKE $1 AND pid <> pg_backend_pid()`,
      [`${LISTENER_NAME_PREFIX}%`],
    );
    return new Map(rows.map((row) => [row.name.slice(LISTENER_NAME_PREFIX.length), row.pid]));
  }

  /** Ends the given listening connections (all of the other instances' when none are given). */
  private async endListeners(pids?: number[]): Promise<void> {
    if (this.database.kind === 'pglite') return;
    if (pids) {
      await this.database.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM unnest(${pids}::int[]) AS pid`;
      return;
    }
    await this.database.prisma.$queryRaw`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE ${`${LISTENER_NAME_PREFIX}%`} AND pid <> pg_backend_pid()`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    this.cache.setEnabled(false);
    const listener = this.listener;
    this.listener = null;
    await listener?.close();
  }
}
