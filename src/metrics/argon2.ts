// argon2id's metrics are the process's: src/auth/password.ts runs every hash and verification
// of every app in this process, so these exist once, outside any registry, and each app's
// registry (./registry.ts) shows them. Observing costs nothing next to an argon2id run.
import { Counter, Histogram } from 'prom-client';

export const argon2Verifications = new Histogram({
  name: 'portcullis_argon2_verification_seconds',
  help: 'argon2id verifications run by this process (token secrets without a cached proof, passwords, refused credentials), by duration; _count is the number run.',
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  registers: [],
});

export const argon2Hashes = new Counter({
  name: 'portcullis_argon2_hashes_total',
  help: 'argon2id hashes computed by this process (signUp, logIn sessions, minted and regenerated tokens).',
  registers: [],
});
