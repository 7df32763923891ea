// Bearer token strings: prefix + public id + secret + checksum, e.g.
//   pcl_ 2Xk9vQm3Lr8TnY4a <43 chars of secret> <6 chars of CRC32>
// The secret has 256 bits from the CSPRNG. The CRC32 checksum lets a malformed token be
// refused without touching the database and lets secret scanners recognise leaked tokens.
import { randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PUBLIC_ID_LENGTH = 16;
const SECRET_LENGTH = 43; // 43 base62 characters carry 256.0 bits
const CHECKSUM_LENGTH = 6; // 62^6 > 2^32

export type TokenPrefix = 'pcl_' | 'pcs_';
/** API tokens (PERSONAL and SERVICE). */
export const API_TOKEN_PREFIX: TokenPrefix = 'pcl_';
/** Session tokens from signUp/logIn. */
export const SESSION_TOKEN_PREFIX: TokenPrefix = 'pcs_';

export interface ParsedToken {
  prefix: TokenPrefix;
  publicId: string;
  secret: string;
}

/** Uniformly random base62 (randomInt draws from the CSPRNG without modulo bias). */
function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(62)];
  return out;
}

function checksum(body: string): string {
  let value = crc32(body);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export const newPublicId = () => randomBase62(PUBLIC_ID_LENGTH);
export const newSecret = () => randomBase62(SECRET_LENGTH);

export function formatToken(prefix: TokenPrefix, publicId: string, secret: string): string {
  const body = prefix + publicId + secret;
  return body + checksum(body);
}

const TOKEN_PATTERN = new RegExp(
  `^(pcl_|pcs_)([0-9A-Za-z]{${PUBLIC_ID_LENGTH}})([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`,
);

export interface TokenParts extends ParsedToken {
  checksum: string;
}

/** The token's parts when it has a token's shape, its checksum not yet checked (checksumMatches). */
export function tokenParts(token: string): TokenParts | null {
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return null;
  const [, prefix, publicId, secret, sum] = match;
  return { prefix: prefix as TokenPrefix, publicId, secret, checksum: sum };
}

export const checksumMatches = (parts: TokenParts) => checksum(parts.prefix + parts.publicId + parts.secret) === parts.checksum;

/** The token's parts, or null when it is not a well-formed token with a valid checksum. */
export function parseToken(token: string): ParsedToken | null {
  const parts = tokenParts(token);
  if (!parts || !checksumMatches(parts)) return null;
  return { prefix: parts.prefix, publicId: parts.publicId, secret: parts.secret };
}

/** Identifies a token without revealing its secret. */
export const maskToken = (publicId: string) => `${API_TOKEN_PREFIX}${publicId}…`;
