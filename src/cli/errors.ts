// Exit codes a script can rely on, and the errors that carry them. Every failure of the CLI
// is one of these; index.ts prints its message on stderr and exits with its code.

export const EXIT = {
  ok: 0,
  /** Bad command line: unknown command or option, a bad option value, a missing --yes. */
  usage: 2,
  /** The gateway answered and refused (UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, BAD_USER_INPUT, RATE_LIMITED…). */
  refused: 3,
  /** The gateway could not be reached or could not answer (connection, DNS, timeout, 5xx, SERVICE_UNAVAILABLE). */
  unreachable: 4,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export const usageError = (message: string) => new CliError(message, EXIT.usage);
export const refusedError = (message: string) => new CliError(message, EXIT.refused);
export const unreachableError = (message: string) => new CliError(message, EXIT.unreachable);

// Bearer tokens of the gateway (API tokens pcl_, sessions pcs_): an error message that somehow
// quoted one (a proxy echoing a header, a server bug) must not print it.
const BEARER_TOKEN = /\bpc[ls]_[0-9A-Za-z]{8,}/g;
// A JWT: a CI job's ID token (`portcullis ci token`), which whoever reads it first can exchange.
const JWT = /\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/** The message with anything shaped like a Portcullis token or a JWT replaced. */
export const redactSecrets = (message: string) =>
  message.replace(BEARER_TOKEN, (token) => `${token.slice(0, 4)}[redacted]`).replace(JWT, '[redacted JWT]');
