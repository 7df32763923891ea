// argon2id for passwords and token secrets (@node-rs/argon2 defaults: m=19 MiB, t=2, p=1,
// the OWASP baseline). verify() compares in constant time.
import { type Algorithm, hash, verify } from '@node-rs/argon2';
import { argon2Hashes, argon2Verifications } from '../metrics/argon2';

// Algorithm.Argon2id is an ambient const enum, which isolated modules cannot read: its value is 2.
const ARGON2ID = 2 as Algorithm.Argon2id;
const OPTIONS = { algorithm: ARGON2ID };

// How many argon2 operations this process ran (read by the benchmark, bench/server.ts).
const counters = { hashes: 0, verifications: 0 };
export const argon2Counters = (): { hashes: number; verifications: number } => ({ ...counters });

export const hashSecret = (secret: string) => {
  counters.hashes++;
  argon2Hashes.inc();
  return hash(secret, OPTIONS);
};

export async function verifySecret(secretHash: string, secret: string): Promise<boolean> {
  counters.verifications++;
  const done = argon2Verifications.startTimer();
  try {
    return await verify(secretHash, secret, OPTIONS);
  } catch {
    return false; // a malformed stored hash is a mismatch, never a crash
  } finally {
    done();
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
