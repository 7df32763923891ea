// Structured logs (pino, one JSON object per line). Every request gets an id (a well-formed
// incoming X-Request-Id, or a new UUID), returned as the X-Request-Id response header, and one
// line when it completes:
//
//   {"level":30,"time":"…","pid":1,"hostname":"…","requestId":"…","method":"POST","path":"/graphql",
//    "status":200,"durationMs":12.4,"caller":"personal","tokenPublicId":"…","userId":"…","msg":"request completed"}
//
// Never logged: secrets, passwords, hashes, Authorization headers, request bodies, variables or
// query strings. The original of every masked error is logged with its stack and the request id
// of the request it happened in; yoga's other log calls go through the same logger. As a
// last line of defence every line is scrubbed of anything that looks like a token (`pcl_`/`pcs_`
// + base62), a webhook signing secret (`whsec_`), a bearer credential, an argon2 hash or a JWT before it is written.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import type { GraphQLError } from 'graphql';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { Plugin, YogaLogger, YogaServerOptions } from 'graphql-yoga';
import type { Config } from '../env';
import type { Principal } from '../auth/principal';
import { parseToken } from '../auth/tokenFormat';

export type { Logger } from 'pino';

/** Where log lines go: anything with `write(line)` (stdout by default). */
export type LogStream = DestinationStream;

const REDACTED = '[REDACTED]';
const SCRUBBERS: [RegExp, string][] = [
  [/\b(pc[ls]_)[0-9A-Za-z]+/g, `$1${REDACTED}`],
  // Webhook signing secrets (src/webhooks/signing.ts).
  [/\b(whsec_)[0-9A-Za-z_-]+/g, `$1${REDACTED}`],
  [/\b(Bearer)\s+[^\s"'\\,;]+/gi, `$1 ${REDACTED}`],
  [/\$argon2(?:id|i|d)\$[A-Za-z0-9+/=$,.-]*/g, REDACTED],
  // A JWT (a CI job's OIDC ID token, exchangeFederatedToken): whoever reads it first can exchange it.
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
];

/** Removes anything that looks like a token, a bearer credential, an argon2 hash or a JWT. */
export function scrub(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SCRUBBERS) out = out.replace(pattern, replacement);
  return out;
}

/** A stream that scrubs every line before handing it on. */
function scrubbing(stream: LogStream): LogStream {
  return { write: (line: string) => stream.write(scrub(line)) };
}

/** The app's logger, at config.logLevel ('silent': nothing at all), writing to `stream` or stdout. */
export function createLogger(config: Pick<Config, 'logLevel'>, stream?: LogStream): Logger {
  if (config.logLevel === 'silent') return pino({ level: 'silent' });
  return pino(
    {
      level: config.logLevel,
      // Our own error serializer (scrubbed, with the cause chain) instead of pino's.
      serializers: { err: (error: unknown) => serializeError(error) },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Defence in depth: such fields are never logged, and would be censored if they were.
      redact: {
        paths: ['password', 'secret', 'token', 'authorization', 'passwordHash', 'secretHash', 'previousSecretHash', 'signingSecret', 'sealedSecret', 'headers.authorization'].flatMap(
          (key) => [key, `*.${key}`],
        ),
        censor: REDACTED,
      },
    },
    scrubbing(stream ?? pino.destination({ dest: 1, sync: true })),
  );
}

/** What the request line says about a request, filled in as it is handled. */
interface RequestState {
  requestId: string;
  start: number;
  method: string;
  path: string;
  hasAuthorization: boolean;
  caller?: Principal['kind'];
  userId?: string;
  tokenPublicId?: string;
  sessionPublicId?: string;
  errorCodes?: string[];
}

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9.:-]{0,63}$/;

/** An incoming X-Request-Id when it is well formed (no `_`, so never a token), else a new UUID. */
export function requestIdOf(header: string | null): string {
  return header && REQUEST_ID.test(header) ? header : randomUUID();
}

function serializeError(error: unknown, depth = 0): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: scrub(String(error)) };
  const e = error as Error & { code?: unknown; path?: unknown; originalError?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.constructor?.name ?? e.name, message: scrub(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (Array.isArray(e.path)) out.path = e.path.join('.');
  if (e.stack) out.stack = scrub(e.stack);
  const inner = e.originalError ?? e.cause;
  if (inner && inner !== error && depth < 4) out.cause = serializeError(inner, depth + 1);
  return out;
}

type MaskError = NonNullable<Exclude<YogaServerOptions<object, object>['maskedErrors'], boolean | undefined>['maskError']>;

export interface RequestLogging {
  /** Yoga's `logging` option: its log calls. */
  yogaLogger: YogaLogger;
  /** Yoga's `maskedErrors.maskError`: `mask`, remembering each original for its request's log. */
  maskError(mask: MaskError): MaskError;
  /** The yoga plugin: request id, X-Request-Id header, masked errors' originals and the request line. */
  plugin: Plugin;
}

// Each request's state is kept by its Request object, which every hook is given. (Not an
// AsyncLocalStorage: on Node 20 that puts a hook on every promise the process makes.)
export function requestLogging(logger: Logger): RequestLogging {
  const requests = new WeakMap<Request, RequestState>();
  // Masked errors -> their originals, logged once the request they belong to is known (onResultProcess).
  const originals = new WeakMap<object, unknown>();
  const held = new WeakSet<object>();
  const logged = new WeakSet<object>();

  const logUnexpected = (error: Error, requestId?: string, level: 'debug' | 'info' | 'warn' | 'error' = 'error') => {
    // Yoga may hand over the same error more than once: once is enough.
    if (logged.has(error)) return;
    logged.add(error);
    logger[level]({ ...(requestId && { requestId }), err: error }, scrub(`Unexpected error: ${error.message}`));
  };

  const forward = (level: 'debug' | 'info' | 'warn' | 'error') => (...args: unknown[]) => {
    if (!logger.isLevelEnabled(level)) return;
    const error = args.find((a): a is Error => a instanceof Error);
    if (error) {
      // A masked error's original is logged with its request id when the result is processed.
      if (!held.has(error)) logUnexpected(error, undefined, level);
      return;
    }
    logger[level](scrub(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 3, breakLength: Infinity }))).join(' ')));
  };
  const yogaLogger: YogaLogger = { debug: forward('debug'), info: forward('info'), warn: forward('warn'), error: forward('error') };

  const maskError = (mask: MaskError): MaskError => (error, message, isDev) => {
    const masked = mask(error, message, isDev);
    if (masked !== error && error instanceof Error) {
      originals.set(masked, error);
      held.add(error);
    }
    return masked;
  };

  const plugin: Plugin = {
    instrumentation: {
      // Around everything else, so that requests answered by any plugin get their line too.
      request({ request }, wrapped) {
        const url = new URL(request.url, 'http://localhost');
        requests.set(request, {
          requestId: requestIdOf(request.headers.get('x-request-id')),
          start: performance.now(),
          method: request.method,
          // The path only: a GET's query string can hold variables.
          path: url.pathname,
          hasAuthorization: request.headers.has('authorization'),
        });
        return wrapped();
      },
    },
    onContextBuilding() {
      return ({ context }) => {
        const state = requests.get((context as { request: Request }).request);
        const principal = (context as { principal?: Principal }).principal;
        if (!state || !principal) return;
        state.caller = principal.kind;
        if (principal.kind === 'session' || principal.kind === 'personal') state.userId = principal.user.id;
        if (principal.kind === 'personal' || principal.kind === 'service') state.tokenPublicId = principal.token.publicId;
      };
    },
    onResultProcess({ request, result }) {
      const state = requests.get(request);
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: readonly GraphQLError[] } | null)?.errors;
        if (!Array.isArray(errors)) continue;
        for (const error of errors) {
          if (state) (state.errorCodes ??= []).push(String(error.extensions?.code ?? 'UNKNOWN'));
          const original = originals.get(error) ?? (error.originalError ? originals.get(error.originalError) : undefined);
          if (original instanceof Error) logUnexpected(original, state?.requestId);
        }
      }
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      const state = requests.get(request);
      if (!state) return;
      try {
        response.headers.set('X-Request-Id', state.requestId);
      } catch {
        // Immutable headers: answer with a copy that carries the id.
        const headers = new fetchAPI.Headers(response.headers);
        headers.set('X-Request-Id', state.requestId);
        setResponse(new fetchAPI.Response(response.body, { status: response.status, statusText: response.statusText, headers }));
      }
      // The line is built only when it is written (at LOG_LEVEL=error, only for 5xx answers).
      const level = response.status >= 500 ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      // Read from the header itself when authentication named nothing, so that a refused token's line names it too.
      if (state.hasAuthorization && !state.tokenPublicId && !state.sessionPublicId) {
        const bearer = /^Bearer[ ]+(\S+)[ ]*$/i.exec(request.headers.get('authorization') ?? '');
        const parsed = bearer ? parseToken(bearer[1]) : null;
        if (parsed) state[parsed.prefix === 'pcs_' ? 'sessionPublicId' : 'tokenPublicId'] = parsed.publicId;
      }
      const caller = state.caller ?? (!state.hasAuthorization ? 'anonymous' : response.status === 401 ? 'invalid' : 'unchecked');
      const line = {
        requestId: state.requestId,
        method: state.method,
        path: state.path,
        status: response.status,
        durationMs: Math.round((performance.now() - state.start) * 10) / 10,
        caller,
        ...(state.tokenPublicId && { tokenPublicId: state.tokenPublicId }),
        ...(state.sessionPublicId && { sessionPublicId: state.sessionPublicId }),
        ...(state.userId && { userId: state.userId }),
        ...(state.errorCodes && { errorCodes: state.errorCodes }),
      };
      if (level === 'error') logger.error(line, 'request failed');
      else logger.info(line, 'request completed');
    },
  };

  return { yogaLogger, maskError, plugin };
}
