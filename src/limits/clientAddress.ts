// The address a request comes from, for the per-address limits: the TCP peer, or behind
// trusted proxies (TRUST_PROXY) the address the outermost trusted proxy saw. Each proxy appends
// the address it saw to X-Forwarded-For, so the header is read from the right: proxy-addr walks
// it from the peer leftwards while the entry it stands on is trusted and stops at the first
// address that is not. Entries further left were written by the client and are never used.
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import type { TrustProxy } from '../env';

export type ClientAddressOf = (serverContext: object) => string;

export function clientAddressResolver(trustProxy: TrustProxy): ClientAddressOf {
  const trust = trustOf(trustProxy);
  return (serverContext) => {
    // Node's http server puts its IncomingMessage in yoga's server context as `req`.
    const req = (serverContext as { req?: IncomingMessage }).req;
    if (!req?.socket?.remoteAddress) return 'unknown';
    const address = trust ? proxyAddr(req, trust) : req.socket.remoteAddress;
    // IPv4 clients of a dual-stack socket appear as ::ffff:a.b.c.d: one client, one key.
    return address.replace(/^::ffff:/, '').slice(0, 100);
  };
}

function trustOf(trustProxy: TrustProxy): ((address: string, index: number) => boolean) | null {
  if (trustProxy === false) return null;
  // Index 0 is the peer, 1 the rightmost X-Forwarded-For entry, ...: trust the nearest `hops`.
  if ('hops' in trustProxy) return (_address, index) => index < trustProxy.hops;
  return proxyAddr.compile(trustProxy.addresses);
}
