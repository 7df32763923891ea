// Organization token policies (tokens-v2.md, "Organization token policy"; GitHub's organization
// token policy): an organization's OWNERs set a maximum lifetime, require an expiry, or refuse
// PERSONAL tokens. The rules live here, once; they are applied
// - when a token is created or updated (BAD_USER_INPUT naming the rule: nothing is written), and
// - when a token is used (credentialLookup.ts brings the policies with the credential, so the
//   check costs no statement): a token that breaks the policy of an organization it reaches is
//   refused inside that organization (HTTP 403 naming the rule) but not revoked, and works again
//   once it is changed or the policy is. A policy change empties every instance's credential
//   cache (a trigger), so it applies from the next request on.
import { badInput } from '../errors';
import { GraphQLError } from 'graphql';
import type { PrismaClient } from '../generated/prisma/client';

export interface TokenPolicy {
  /** Longest a token may still be valid for, from now (null: no maximum). */
  maxLifetimeSeconds: number | null;
  requireExpiry: boolean;
  allowPersonalTokens: boolean;
}

export interface OrganizationPolicy extends TokenPolicy {
  organizationId: string;
}

/** The policy of an organization that has not set one. */
export const NO_POLICY: TokenPolicy = { maxLifetimeSeconds: null, requireExpiry: false, allowPersonalTokens: true };

/** What the rules look at. */
export interface PolicyToken {
  kind: 'PERSONAL' | 'SERVICE';
  expiresAt: Date | null;
}

/**
 * The first rule the token breaks, as a sentence naming it, or null. The maximum lifetime counts
 * from now: a token is as dangerous as the time it still has, so a new token may live at most
 * that long, and an existing one is blocked while its expiry is further away than that.
 */
export function policyViolation(policy: TokenPolicy, token: PolicyToken, now: Date): string | null {
  if (!policy.allowPersonalTokens && token.kind === 'PERSONAL') {
    return 'PERSONAL tokens are not allowed (allowPersonalTokens is false): use a SERVICE token.';
  }
  if (policy.requireExpiry && !token.expiresAt) {
    return 'tokens must expire (requireExpiry): give the token an expiry.';
  }
  const max = policy.maxLifetimeSeconds;
  if (max != null && (!token.expiresAt || token.expiresAt.getTime() - now.getTime() > max * 1000)) {
    return `tokens may be valid for at most ${describeSeconds(max)} (maxLifetimeSeconds ${max}): give the token an expiry within that.`;
  }
  return null;
}

/** For a new or updated token: BAD_USER_INPUT naming the organization and the rule. */
export function assertCompliesWith(policies: readonly (OrganizationPolicy & { organizationName: string })[], token: PolicyToken, now: Date): void {
  for (const policy of policies) {
    const violation = policyViolation(policy, token, now);
    if (violation) throw badInput(`The token policy of organization "${policy.organizationName}" says ${violation}`);
  }
}

/**
 * The organizations whose policy the token breaks, each with the refusal's message. Checked at
 * every request (the lifetime rule depends on the time), from policies read with the credential.
 */
export function blockingPolicies(policies: readonly OrganizationPolicy[], token: PolicyToken, now: Date): Map<string, string> {
  const blocked = new Map<string, string>();
  for (const policy of policies) {
    const violation = policyViolation(policy, token, now);
    if (violation) blocked.set(policy.organizationId, `This token is blocked in organization ${policy.organizationId} by its token policy: ${violation}`);
  }
  return blocked;
}

/** A token used inside an organization whose policy it breaks: HTTP 403, FORBIDDEN, naming the rule. */
export const blockedByPolicy = (message: string) => new GraphQLError(message, { extensions: { code: 'FORBIDDEN', http: { status: 403 } } });

function describeSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} day${seconds === 86_400 ? '' : 's'}`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} hour${seconds === 3_600 ? '' : 's'}`;
  return `${seconds} seconds`;
}

/** A new or updated token must meet the policies of the organizations it reaches (BAD_USER_INPUT otherwise). */
export async function assertMeetsPolicies(db: Pick<PrismaClient, 'organizationTokenPolicy'>, organizationIds: string[], token: PolicyToken, now: Date): Promise<void> {
  if (organizationIds.length === 0) return;
  const policies = await db.organizationTokenPolicy.findMany({
    where: { organizationId: { in: organizationIds } },
    include: { organization: { select: { name: true } } },
  });
  assertCompliesWith(policies.map((p) => ({ ...p, organizationName: p.organization.name })), token, now);
}
