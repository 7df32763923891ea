// The request's Authorization header, or a refusal when it holds more than one credential.
// Node keeps only the first of repeated Authorization headers in `req.headers` (and the fetch
// Request yoga builds from it), so a second one would be dropped silently; one header may
// also carry two (`Bearer a, Bearer b`, `Bearer a b`). Either way the client meant something
// we cannot tell, so it gets HTTP 400 before any credential is looked up or verified.
import type { IncomingMessage } from 'node:http';
import { badRequest } from '../errors';

/**
 * Two runs of spaces or tabs with something between them: a third part. A test rather than a
 * split, which built an array of parts on every request (that line: 192 ticks of the CPU
 * profile, then 79; issue 10).
 */
const MORE_THAN_TWO_PARTS = /[ \t][^ \t]+[ \t]/;

const oneCredential = 'Send one credential: a single Authorization header holding "Bearer <token>".';

export function authorizationOf(serverContext: object, request: Request): string | null {
  const req = (serverContext as { req?: IncomingMessage }).req;
  if (req?.rawHeaders && authorizationLines(req.rawHeaders) > 1) throw badRequest(`Several Authorization headers were sent. ${oneCredential}`);
  const authorization = request.headers.get('authorization');
  if (authorization == null) return null;
  // A scheme and one token: a comma (a list of credentials) or a third part is a second credential.
  if (authorization.includes(',') || MORE_THAN_TWO_PARTS.test(authorization.trim())) {
    throw badRequest(`The Authorization header holds more than one credential. ${oneCredential}`);
  }
  return authorization;
}

/**
 * How many Authorization lines the request had. Read from `rawHeaders` (names as sent, then
 * values, alternately), which Node fills anyway: `headersDistinct` would build an object of
 * every header on each request just to count these.
 */
function authorizationLines(rawHeaders: readonly string[]): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  return count;
}
