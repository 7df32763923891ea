// A TCP proxy (node:net) between the app and a server (PostgreSQL, Redis), to cut, stall and
// restore the connection for real.
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * Forwards 127.0.0.1:<port> to `target`; `cut()` and `restore()` it. With `replyDelayMs`, every
 * answer from the target reaches the client that much later (a slow link, in order).
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private stalled = false;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly replyDelayMs = 0,
  ) {}

  async listen(): Promise<void> {
    this.stalled = false;
    const server = createServer((downstream) => {
      if (this.stalled) {
        this.sockets.add(downstream.on('close', () => this.sockets.delete(downstream)).on('error', () => undefined));
        return;
      }
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [downstream, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        // A cut socket errors on the other side; that is the point, not a failure.
        socket.on('error', () => undefined);
      }
      downstream.pipe(upstream);
      if (this.replyDelayMs > 0) upstream.on('data', (chunk) => setTimeout(() => downstream.write(chunk), this.replyDelayMs));
      else upstream.pipe(downstream);
      downstream.on('close', () => upstream.destroy());
      upstream.on('close', () => downstream.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops accepting (connections are refused) and destroys every open socket. */
  async cut(): Promise<number> {
    const server = this.server;
    this.server = null;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    const destroyed = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    await closed;
    return destroyed;
  }

  /**
   * A network partition rather than a refusal: every open connection stops forwarding (its
   * sockets stay open) and new connections are accepted but never answered.
   */
  stall(): void {
    this.stalled = true;
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** New connections are forwarded again; the stalled ones stay stuck until cut. */
  unstall(): void {
    this.stalled = false;
  }

  /** Listens again on the same port. */
  restore(): Promise<void> {
    return this.listen();
  }
}
