// Background work each instance does on a timer (leak reports, expiry notices, webhook
// deliveries): never two runs at once on this instance, a failed run logged and left for the
// next one, and stop() waiting for the run under way. What a run does is the subclass's work().
import type { Logger } from '../server/logging';

export abstract class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** Set by stop(): a run in progress checks it to end after the work under way. */
  protected stopping = false;

  /** `intervalMs` <= 0: no timer (runOnce only). `failure`: the warning logged when a run fails. */
  constructor(
    private readonly intervalMs: number,
    protected readonly logger: Logger,
    private readonly failure: string,
  ) {}

  protected abstract work(): Promise<unknown>;

  start() {
    if (this.intervalMs <= 0) return;
    this.timer ??= setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One run after the one under way, if any; resolves when it is done (it never rejects). */
  runOnce(): Promise<unknown> {
    this.running = this.running.then(() => this.work().catch((error: unknown) => this.logger.warn({ err: error }, this.failure)));
    return this.running;
  }

  async stop() {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
