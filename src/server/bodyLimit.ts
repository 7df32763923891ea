// Request body size limit (MAX_BODY_BYTES): HTTP 413 and one BAD_USER_INPUT error naming the
// limit (the spec's shape). A Content-Length over the limit is refused before any byte of the
// body is read; a body without one (chunked) is counted as it streams in and refused as soon as
// it passes the limit, so an oversized body is never buffered whole.
//
// Why not yoga's own maxRequestBodySize: it pipes every body through a counting stream, also
// when a Content-Length already bounds it (Node's HTTP parser hands over exactly that many bytes),
// and that stream, its pipeline and the abort that ends it were 7% of a board request's CPU
// (issue 10). Here only a body without a Content-Length is counted.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export const bodyTooLarge = (maxBytes: number) =>
  new GraphQLError(`Request body too large: at most ${maxBytes} bytes are accepted.`, {
    // The rest of the body is never read, so the connection cannot carry another request.
    extensions: { code: 'BAD_USER_INPUT', http: { status: 413, headers: { Connection: 'close' } } },
  });

const invalidContentLength = () =>
  new GraphQLError('Content-Length header is invalid.', { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

// One non-negative integer; anything else (a list, a sign) is refused rather than skipped.
const CONTENT_LENGTH = /^\d+$/;

/** The createYoga options and plugin that enforce the limit; spread the options into createYoga. */
export function bodyLimit(maxBytes: number): { options: { maxRequestBodySize: false }; plugin: Plugin } {
  return {
    options: { maxRequestBodySize: false },
    plugin: {
      onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
        const contentLength = request.headers.get('content-length');
        if (contentLength != null) {
          if (!CONTENT_LENGTH.test(contentLength)) throw invalidContentLength();
          if (Number(contentLength) > maxBytes) throw bodyTooLarge(maxBytes);
          return;
        }
        if (requestParser == null || request.body == null) return;
        setRequestParser((unbounded) => requestParser(withCountedBody(unbounded, maxBytes, fetchAPI)));
      },
    },
  };
}

/** The request with its body counted as it is read: an error once it passes `maxBytes`. */
function withCountedBody(request: Request, maxBytes: number, fetchAPI: { Request: typeof Request; TransformStream: typeof TransformStream }): Request {
  let bytes = 0;
  // A native stream needs the native TransformStream, the ponyfill's its own (as in yoga).
  const Transform = request.body instanceof ReadableStream ? globalThis.TransformStream : fetchAPI.TransformStream;
  const body = request.body!.pipeThrough(
    new Transform<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        if (bytes > maxBytes) controller.error(bodyTooLarge(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
  return new fetchAPI.Request(request.url, { method: request.method, headers: request.headers, signal: request.signal, body, duplex: 'half' } as RequestInit);
}
