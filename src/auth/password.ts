// argon2id for passwords and token secrets (@node-rs/argon2 defaults: m=19 MiB, t=2, p=1,
// the OWASP baseline). verify() compares in constant time.
import { Algorithm, hash, verify } from '@node-rs/argon2';

const OPTIONS = { algorithm: Algorithm.Argon2id } as const;

export const hashSecret = (secret: string) => hash(secret, OPTIONS);

export async function verifySecret(secretHash: string, secret: string): Promise<boolean> {
  try {
    return await verify(secretHash, secret, OPTIONS);
  } catch {
    return false; // a malformed stored hash is a mismatch, never a crash
  }
}

let dummyHash: Promise<string> | undefined;
/**
 * Spend the same time as a real verification, for unknown ids and malformed tokens,
 * so that timing tells nothing about which tokens or accounts exist.
 */
export async function verifyAgainstDummy(secret: string): Promise<false> {
  dummyHash ??= hashSecret('portcullis-timing-equaliser');
  await verifySecret(await dummyHash, secret);
  return false;
}

export const MIN_PASSWORD_LENGTH = 8;
