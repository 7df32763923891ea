// The address a request comes from, for the per-address limits: the TCP peer, or with
// TRUST_PROXY the first address of X-Forwarded-For (set it only behind a proxy that writes
// that header, or clients could choose their own address).
import type { IncomingMessage } from 'node:http';

export function clientAddressOf(serverContext: object, request: Request, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded.slice(0, 100);
  }
  // Node's http server puts its IncomingMessage in yoga's server context as `req`.
  const peer = (serverContext as { req?: IncomingMessage }).req?.socket?.remoteAddress;
  // IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d: one client, one key.
  return peer ? peer.replace(/^::ffff:/, '') : 'unknown';
}
