// Federation policies: what one must pin, and whether a verified ID token matches one.
import type { FederationConfig } from '../env';
import { badInput } from '../errors';
import type { VerifiedIdToken } from './idToken';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 900;
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
export const MAX_CLAIM_CONDITIONS = 20;

/** Checked by verification itself, or meaningless to pin (they differ for every token). */
const UNPINNABLE_CLAIMS = new Set(['iss', 'aud', 'exp', 'nbf', 'iat', 'jti']);

export interface ClaimCondition {
  claim: string;
  equals: string;
}

export interface PolicyRules {
  issuer: string;
  subject: string | null;
  claims: ClaimCondition[];
}

/** Throws BAD_USER_INPUT unless the policy names a trusted issuer and pins immutable identifiers. */
export function assertPolicyRules(policy: PolicyRules, config: FederationConfig): void {
  if (!config.issuers.includes(policy.issuer)) {
    throw badInput(`issuer ${JSON.stringify(policy.issuer.slice(0, 200))} is not one this gateway trusts; FEDERATION_ISSUERS allows: ${config.issuers.join(', ') || 'none'}.`);
  }
  const names = policy.claims.map((c) => c.claim);
  const unpinnable = names.filter((name) => UNPINNABLE_CLAIMS.has(name));
  if (unpinnable.length) throw badInput(`claims cannot pin ${unpinnable.join(', ')}: those are checked by verification (audience: give audience).`);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated) throw badInput(`claims names ${repeated} twice: give each claim once.`);
  if (policy.subject == null && policy.claims.length === 0) {
    throw badInput('A policy must pin the workload: give subject or at least one claim condition (e.g. repository_owner_id and repository_id).');
  }
  // GitHub: names (owner/repository) can be registered again by someone else once freed; the
  // numeric ids cannot. An owner id also keeps a subject written for one owner from matching another's.
  if (policy.issuer === GITHUB_ACTIONS_ISSUER && !names.includes('repository_owner_id')) {
    throw badInput('A GitHub Actions policy must pin repository_owner_id (the numeric id: names can be re-registered), and should pin repository_id.');
  }
}

/** A claim's value as a condition compares it: strings, numbers and booleans as text; nothing else matches. */
function claimText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

export function policyMatches(policy: PolicyRules & { audience: string }, token: VerifiedIdToken): boolean {
  if (policy.issuer !== token.issuer) return false;
  if (!token.audiences.includes(policy.audience)) return false;
  if (policy.subject != null && policy.subject !== token.subject) return false;
  // Own claims only: a condition on "constructor" must not read the object's prototype.
  return policy.claims.every((c) => Object.hasOwn(token.claims, c.claim) && claimText(token.claims[c.claim]) === c.equals);
}

/** The stored claims column as conditions (written by createFederationPolicy only). */
export function claimConditions(stored: unknown): ClaimCondition[] {
  return Array.isArray(stored) ? (stored as ClaimCondition[]) : [];
}
