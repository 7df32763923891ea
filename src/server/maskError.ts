// Error masking: known GraphQLErrors pass through; a lost database becomes
// SERVICE_UNAVAILABLE (HTTP 503); anything else becomes yoga's generic masked error,
// so no stack trace, SQL or secret reaches a client.
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { serviceUnavailable } from '../errors';

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'P1001', 'P1002', 'P1017', 'P2024']);
const UNREACHABLE_MESSAGES = /connection terminated|timeout exceeded when trying to connect|can't reach database|database is not reachable|connection (is )?closed|pglite is closed|cannot use a pool after calling end|query read timeout/i;
// Prisma's driver adapters turn socket errors into a DriverAdapterError whose cause is only
// `{ kind }` (ECONNRESET -> ConnectionClosed: no code, no message left), e.g. when the
// connection drops while COMMIT is on the wire (test/databaseFaults.test.ts); a raw query's
// P2010 carries it in `meta.driverAdapterError`.
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout']);

/** Walks an error's cause chain looking for a lost or unreachable database. */
export function isDatabaseUnreachable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e != null && depth < 8; depth++) {
    const candidate = e as { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; originalError?: unknown; meta?: { driverAdapterError?: unknown } };
    if (typeof candidate.code === 'string' && UNREACHABLE_CODES.has(candidate.code)) return true;
    if (typeof candidate.kind === 'string' && UNREACHABLE_KINDS.has(candidate.kind)) return true;
    if (typeof candidate.message === 'string' && UNREACHABLE_MESSAGES.test(candidate.message)) return true;
    // A raw query's failure (P2010) keeps the driver adapter's error in its meta.
    e = candidate.originalError ?? candidate.cause ?? candidate.meta?.driverAdapterError;
  }
  return false;
}

export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  if (isDatabaseUnreachable(original)) return serviceUnavailable();
  // Pothos' own argument checks carry no code (cursors are ours: see schema/pagination.ts).
  if (error instanceof GraphQLError && original instanceof PothosValidationError && !error.extensions?.code) {
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { ...error.extensions, code: 'BAD_USER_INPUT' },
    });
  }
  return yogaMaskError(error, message, isDev);
}
