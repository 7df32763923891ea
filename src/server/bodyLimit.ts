// Request body size limit (MAX_BODY_BYTES). Yoga enforces it itself (its maxRequestBodySize
// option): a Content-Length over the limit is refused before any byte of the body is read, and
// a body without one (chunked) is counted as it streams in and refused as soon as it passes the
// limit, so an oversized body is never buffered whole. This plugin gives yoga's refusal the
// spec's shape: HTTP 413 and one BAD_USER_INPUT error naming the limit (yoga says only
// "Request body too large" with a code outside the spec's list).
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** The code yoga 5 gives its own body-size refusal. */
const YOGA_TOO_LARGE = 'REQUEST_ENTITY_TOO_LARGE';

export const bodyTooLarge = (maxBytes: number) =>
  new GraphQLError(`Request body too large: at most ${maxBytes} bytes are accepted.`, {
    // The rest of the body is never read, so the connection cannot carry another request.
    extensions: { code: 'BAD_USER_INPUT', http: { status: 413, headers: { Connection: 'close' } } },
  });

/** The createYoga options and plugin that enforce the limit; spread the options into createYoga. */
export function bodyLimit(maxBytes: number): { options: { maxRequestBodySize: number }; plugin: Plugin } {
  return {
    options: { maxRequestBodySize: maxBytes },
    plugin: {
      onResultProcess({ result, setResult }) {
        if (Array.isArray(result)) return;
        const errors = (result as { errors?: readonly GraphQLError[] }).errors;
        if (errors?.some((e) => e.extensions?.code === YOGA_TOO_LARGE)) setResult({ errors: [bodyTooLarge(maxBytes)] });
      },
    },
  };
}
