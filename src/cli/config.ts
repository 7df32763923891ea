// Where the CLI talks to and with which credential, and the session file of `portcullis login`.
// Precedence for both the URL and the token: flag > environment > session file.
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { usageError } from './errors';

export const DEFAULT_URL = 'http://127.0.0.1:4000';

export interface GlobalOptions {
  url?: string;
  token?: string;
}

export interface Session {
  /** The GraphQL endpoint the session belongs to: it is never sent anywhere else. */
  url: string;
  token: string;
  expiresAt: string;
  email: string;
}

export interface Connection {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  url: string;
  token: string | undefined;
  /** Where the token came from, for messages (never the token itself). */
  tokenSource: 'flag' | 'environment' | 'session' | 'none';
}

/** The GraphQL endpoint for a URL given as the gateway's base or as its /graphql endpoint. */
export function graphqlEndpoint(given: string): string {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw usageError(`Not a URL: ${JSON.stringify(given)} (expected e.g. ${DEFAULT_URL}).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`The gateway URL must start with http:// or https:// (got ${url.protocol}).`);
  }
  if (!url.pathname.endsWith('/graphql')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/graphql`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

export function configDirectory(env: NodeJS.ProcessEnv = process.env): string {
  return env.PORTCULLIS_CONFIG_DIR || path.join(os.homedir(), '.config', 'portcullis');
}

export const sessionFile = (env: NodeJS.ProcessEnv = process.env) => path.join(configDirectory(env), 'session.json');

export function readSession(env: NodeJS.ProcessEnv = process.env): Session | null {
  let text: string;
  try {
    text = readFileSync(sessionFile(env), 'utf8');
  } catch {
    return null;
  }
  try {
    const session = JSON.parse(text) as Partial<Session>;
    if (typeof session.url === 'string' && typeof session.token === 'string') return session as Session;
  } catch {
    // A damaged file is no session; `portcullis login` replaces it.
  }
  return null;
}

/** Writes the session readable by the user only: the directory 0700, the file 0600, replaced atomically. */
export function writeSession(session: Session, env: NodeJS.ProcessEnv = process.env): string {
  const directory = configDirectory(env);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  const file = sessionFile(env);
  const temporary = `${file}.${process.pid}.tmp`;
  // mode applies when the file is created; the temporary file is always new.
  writeFileSync(temporary, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
  return file;
}

export function deleteSession(env: NodeJS.ProcessEnv = process.env): boolean {
  const file = sessionFile(env);
  try {
    rmSync(file);
    return true;
  } catch {
    return false;
  }
}

/** The endpoint and credential of a command, by the precedence flag > environment > session file. */
export function resolveConnection(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  const session = readSession(env);
  const url = graphqlEndpoint(options.url ?? (env.PORTCULLIS_URL || undefined) ?? session?.url ?? DEFAULT_URL);
  if (options.token) return { url, token: options.token, tokenSource: 'flag' };
  if (env.PORTCULLIS_TOKEN) return { url, token: env.PORTCULLIS_TOKEN, tokenSource: 'environment' };
  // A session belongs to the gateway it was made on: never send it to another URL.
  if (session && session.url === url) return { url, token: session.token, tokenSource: 'session' };
  return { url, token: undefined, tokenSource: 'none' };
}
