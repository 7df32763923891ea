// Webhook signing secrets and signatures (tokens-v2.md, "Webhooks").
//
// A delivery carries `Portcullis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`,
// keyed with the signing secret string's UTF-8 bytes, as createWebhook returned it (once).
// The gateway must compute that HMAC for every attempt, so it keeps the secret itself, not a
// hash of it: sealed with AES-256-GCM under WEBHOOK_SECRET_KEY when that is set (whoever reads
// the database without the key cannot sign), or as it is when no key is set (see SECURITY.md).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
const SEALED = 'aes256gcm';
const UNSEALED = 'plain';

/** 32 random bytes, base64url, after a prefix that says what it is (for secret scanners too). */
export const newSigningSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64url');

/** The Portcullis-Signature header's value for one attempt. */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** What the Webhook row stores: `aes256gcm:<iv>:<tag>:<ciphertext>` (base64url), or `plain:<secret>` without a key. */
export function sealSecret(secret: string, key: Buffer | undefined): string {
  if (!key) return `${UNSEALED}:${secret}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return [SEALED, iv, cipher.getAuthTag(), ciphertext].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join(':');
}

/** Why a stored secret cannot be used (the attempt records this; it holds nothing secret). */
export class UnreadableSecret extends Error {}

export function unsealSecret(stored: string, key: Buffer | undefined): string {
  const [kind, ...parts] = stored.split(':');
  if (kind === UNSEALED) return parts.join(':');
  if (kind !== SEALED || parts.length !== 3) throw new UnreadableSecret('The signing secret is stored in an unknown form.');
  if (!key) throw new UnreadableSecret('The signing secret is sealed and WEBHOOK_SECRET_KEY is not set.');
  const [iv, tag, ciphertext] = parts.map((part) => Buffer.from(part, 'base64url')) as [Buffer, Buffer, Buffer];
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
  } catch {
    throw new UnreadableSecret('The signing secret cannot be unsealed with this WEBHOOK_SECRET_KEY.');
  }
}
