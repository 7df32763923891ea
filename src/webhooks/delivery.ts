// One delivery attempt: check the URL's addresses again (after DNS, now), connect to the one that
// was checked (the socket's `lookup` is pinned to it, so a DNS answer that changes in between
// cannot redirect the connection), send the signed body, and wait for the status within the
// timeout. Redirects are not followed: a 3xx is a failed attempt like any other non-2xx.
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, UnsafeWebhookUrl, checkedAddresses, parseWebhookUrl } from './addressSafety';
import { signatureHeader } from './signing';

export interface AttemptRequest {
  url: string;
  secret: string;
  deliveryId: string;
  event: string;
  body: string;
}

/** What an attempt came to: a response status (2xx: delivered), or an error that says why there was none. */
export interface AttemptOutcome {
  responseStatus: number | null;
  error: string | null;
  durationMs: number;
}

/** At most this much of a response body is read (and then dropped): receivers answer with a status. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** A lookup that answers every name with the one checked address. */
function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address);
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

export async function attemptDelivery(request: AttemptRequest, policy: AddressPolicy, timeoutMs: number): Promise<AttemptOutcome> {
  const started = Date.now();
  const outcome = (responseStatus: number | null, error: string | null): AttemptOutcome => ({ responseStatus, error, durationMs: Date.now() - started });
  let address: string;
  let target;
  try {
    target = parseWebhookUrl(request.url, policy);
    [address] = (await checkedAddresses(target, policy)) as [string];
  } catch (error) {
    if (error instanceof UnsafeWebhookUrl) return outcome(null, `Not sent: ${error.message}`);
    throw error;
  }
  const unixSeconds = Math.floor(Date.now() / 1000);
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    const finish = (status: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome(status, error));
    };
    const req = client.request(target.url, {
      method: 'POST',
      lookup: pinnedLookup(address),
      // TLS checks the certificate against the URL's host name, not the pinned address.
      ...(target.url.protocol === 'https:' && !isIP(target.host) ? { servername: target.host } : {}),
      agent: false,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'Portcullis-Webhooks/1',
        'Portcullis-Event': request.event,
        'Portcullis-Delivery': request.deliveryId,
        'Portcullis-Signature': signatureHeader(request.secret, request.body, unixSeconds),
        'Content-Length': Buffer.byteLength(request.body),
      },
    });
    const timer = setTimeout(() => finish(null, `Timed out after ${timeoutMs} ms.`), timeoutMs);
    req.on('response', (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > MAX_RESPONSE_BYTES) finish(res.statusCode ?? null, null);
      });
      res.on('end', () => finish(res.statusCode ?? null, null));
      res.on('error', () => finish(res.statusCode ?? null, null));
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish(null, `Connection failed (${error.code ?? 'error'}).`));
    req.end(request.body);
  });
}
