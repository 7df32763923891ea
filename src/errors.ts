// The error codes of the spec, as GraphQLError factories. Anything thrown that is
// not a GraphQLError is masked by yoga ("Unexpected error.").
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR';

function error(code: ErrorCode, message: string, http?: { status: number; headers?: Record<string, string> }) {
  return new GraphQLError(message, { extensions: http ? { code, http } : { code } });
}

/** No credential where one is needed. */
export const unauthenticated = (message = 'Authentication required: send Authorization: Bearer <token>.') =>
  error('UNAUTHENTICATED', message);

/**
 * A credential that cannot be used. Malformed, unknown and wrong-secret tokens all get
 * exactly this, so the response is no oracle.
 */
export const invalidToken = (message = 'The bearer token is invalid.') =>
  error('UNAUTHENTICATED', message, {
    status: 401,
    headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
  });

export const forbidden = (message = 'Your role does not allow this.') => error('FORBIDDEN', message);
/** The right secret from outside the token's allowedIps (HTTP 403): only its holder learns the address counts. */
export const addressNotAllowed = (clientAddress: string) =>
  error('FORBIDDEN', `This token cannot be used from ${clientAddress}.`, { status: 403 });
export const notFound = (what: string) => error('NOT_FOUND', `${what} not found.`);
export const badInput = (message: string) => error('BAD_USER_INPUT', message);
/** A request that cannot be read as meant (HTTP 400): nothing of it runs. */
export const badRequest = (message: string) => error('BAD_USER_INPUT', message, { status: 400 });
/** An OIDC issuer's discovery document or keys could not be had (HTTP 503): retrying may help. */
export const issuerUnavailable = (issuer: string, reason: string) =>
  error('SERVICE_UNAVAILABLE', `The keys of the issuer ${issuer} could not be fetched: ${reason}. Try again shortly.`, { status: 503 });
export const serviceUnavailable = () =>
  error('SERVICE_UNAVAILABLE', 'The database cannot be reached. Try again shortly.', { status: 503 });

/** A limit was reached: HTTP 429, and Retry-After says when the window starts again. */
export const rateLimited = (message: string, retryAfterSeconds: number, headers: Record<string, string> = {}) =>
  error('RATE_LIMITED', message, {
    status: 429,
    headers: { ...headers, 'Retry-After': String(Math.max(1, Math.ceil(retryAfterSeconds))) },
  });
