// exchangeFederatedToken: a verified CI ID token matching exactly one policy becomes a
// short-lived SERVICE token with the policy's role and scope. Nothing is written unless all
// of it succeeds; the token, its `jti` (refused ever after, on every instance sharing the
// database) and the audit event are written in one transaction.
import { issueToken } from '../auth/issueToken';
import { roleEverywhereIn } from '../auth/minting';
import type { TokenWithBoards } from '../auth/principal';
import { Reach, grantsFromMemberships, type TokenScope } from '../auth/reach';
import { requiredRole, roleAtLeast } from '../auth/roles';
import { rememberSecret } from '../auth/reuseDetection';
import { markIssuedToRequest } from '../auth/tokenAccess';
import { assertMeetsPolicies } from '../auth/tokenPolicy';
import { API_TOKEN_PREFIX } from '../auth/tokenFormat';
import { recordAudit } from '../audit';
import type { Context } from '../context';
import { badInput, forbidden, unauthenticated } from '../errors';
import type { FederationPolicy, PrismaClient } from '../generated/prisma/client';
import { CLOCK_LEEWAY_SECONDS, shown, verifyIdToken, type VerifiedIdToken } from './idToken';
import { issuerKeysFor } from './issuerKeys';
import { claimConditions, policyMatches } from './policies';

const withBoards = { boards: { select: { boardId: true } } } as const;

export async function exchangeFederatedToken(ctx: Context, idToken: string, policyId: string | null): Promise<{ apiToken: TokenWithBoards; secret: string }> {
  // Exchanges count against the address's anonymous rate (a request with a credential is
  // otherwise counted against that credential).
  if (ctx.principal.kind !== 'anonymous') await ctx.limiter?.admitRequest(ctx.limiter.callerOf({ kind: 'anonymous' }, ctx.clientAddress));
  const federation = ctx.config.federation;
  const token = await verifyIdToken(idToken, federation, issuerKeysFor(federation));

  const candidates = await ctx.prisma.federationPolicy.findMany({
    where: { issuer: token.issuer, ...(policyId != null && { id: policyId }) },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
  });
  const matching = candidates.filter((policy) => policyMatches({ ...policy, claims: claimConditions(policy.claims) }, token));
  if (matching.length === 0) {
    throw forbidden(
      `No federation policy${policyId != null ? ' with that policyId' : ''} accepts this ID token ` +
        `(iss ${shown(token.issuer)}, aud ${shown(token.audiences.join(' '))}, sub ${shown(token.subject)}).`,
    );
  }
  if (matching.length > 1) {
    throw badInput(`${matching.length} federation policies accept this ID token: name the one to use with policyId.`);
  }
  const policy = matching[0];
  const scope = await policyScope(ctx.prisma, policy);
  await assertCreatorMayStillIssue(ctx.prisma, policy, scope);

  const now = Date.now();
  const expiresAt = new Date(now + policy.tokenLifetimeSeconds * 1000);
  // The organization's token policy holds for federated tokens too (a maximum lifetime shorter
  // than the federation policy's tokenLifetimeSeconds refuses the exchange, naming the rule).
  await assertMeetsPolicies(ctx.prisma, [scope.organizationId], { kind: 'SERVICE', expiresAt }, new Date(now));
  const issued = await issueToken(API_TOKEN_PREFIX);
  try {
    const apiToken = await ctx.prisma.$transaction(async (tx) => {
      // The jti, kept until the ID token would have expired (leeway included): a second use is
      // refused by the key, whichever instance it reaches. Expired ones are dropped here.
      await tx.federatedTokenUse.deleteMany({ where: { expiresAt: { lt: new Date(now) } } });
      await tx.federatedTokenUse.create({
        data: { key: `${token.issuer} ${token.jti}`, expiresAt: new Date((token.expiresAt + CLOCK_LEEWAY_SECONDS) * 1000) },
      });
      const created = await tx.apiToken.create({
        data: {
          publicId: issued.publicId,
          secretHash: issued.secretHash,
          name: policy.name,
          description: `Issued by federation to ${token.subject ?? 'a workload'} (${token.issuer}).`.slice(0, 1000),
          kind: 'SERVICE',
          role: policy.role,
          scopeType: scope.type,
          organizationId: scope.organizationId,
          spaceId: scope.type === 'ORGANIZATION' ? null : scope.spaceId,
          boards: scope.type === 'BOARDS' ? { create: scope.boardIds.map((boardId) => ({ boardId })) } : undefined,
          expiresAt,
          federationPolicyId: policy.id,
        },
        include: withBoards,
      });
      // Its secret's digest, so that reuse detection knows it once an OWNER regenerates it.
      await rememberSecret(tx, created.id, issued.secretDigest);
      await recordAudit(tx, { kind: 'system', name: federatedActorName(token, policy) }, {
        action: 'token.federated',
        organizationId: scope.organizationId,
        targetId: created.id,
        // For webhook receivers: who the workload was, as the policy matched it (never the ID token).
        data: { issuer: token.issuer, subject: token.subject ?? null, policyId: policy.id, claims: claimConditions(policy.claims) },
      });
      return created;
    });
    // The request holds the secret: it may read the token it was given (CreateApiTokenPayload.apiToken).
    markIssuedToRequest(ctx.request, apiToken.id);
    return { apiToken, secret: issued.token };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'P2002') throw unauthenticated(`The ID token was refused: it was used already (jti ${shown(token.jti)}); each ID token is exchanged once.`);
    // The policy was deleted meanwhile (its row is referenced by the new token).
    if (code === 'P2003') throw forbidden('The federation policy that accepts this ID token was just deleted.');
    throw error;
  }
}

/** The policy's scope now: a BOARDS policy reaches the boards of its space that still exist. */
async function policyScope(prisma: PrismaClient, policy: FederationPolicy): Promise<TokenScope> {
  if (policy.scopeType === 'ORGANIZATION') return { type: 'ORGANIZATION', organizationId: policy.organizationId };
  const spaceId = policy.spaceId!;
  if (policy.scopeType === 'SPACE') return { type: 'SPACE', organizationId: policy.organizationId, spaceId };
  const boards = await prisma.board.findMany({ where: { id: { in: policy.boardIds }, spaceId }, select: { id: true } });
  if (boards.length === 0) throw forbidden(`The boards of federation policy ${shown(policy.name)} no longer exist: it issues nothing.`);
  return { type: 'BOARDS', organizationId: policy.organizationId, spaceId, boardIds: boards.map((b) => b.id) };
}

/**
 * The minting rule, at every exchange: the policy's creator must still be an OWNER of its whole
 * scope with a role no lower than the policy's, as the roles table says today. A creator who
 * left or was demoted leaves the policy issuing nothing until an OWNER creates it again.
 */
async function assertCreatorMayStillIssue(prisma: PrismaClient, policy: FederationPolicy, scope: TokenScope): Promise<void> {
  const memberships = policy.createdByUserId
    ? await prisma.membership.findMany({
        where: { userId: policy.createdByUserId, organizationId: policy.organizationId, acceptedAt: { not: null } },
        select: { organizationId: true, spaceId: true, role: true },
      })
    : [];
  const role = roleEverywhereIn(new Reach(grantsFromMemberships(memberships)), scope);
  if (!roleAtLeast(role, requiredRole('manageFederationPolicies')) || !roleAtLeast(role, policy.role)) {
    throw forbidden(`Federation policy ${shown(policy.name)} issues nothing: its creator is no longer an OWNER of its scope. An OWNER must create it again.`);
  }
}

/** Who the audit event says acted: the workload, by issuer, subject and the claim values the policy matched. */
function federatedActorName(token: VerifiedIdToken, policy: FederationPolicy): string {
  const matched = claimConditions(policy.claims).map((c) => `${c.claim}=${c.equals}`);
  return [`federation: iss=${token.issuer}`, `sub=${token.subject ?? '-'}`, ...matched].join(' ').slice(0, 1000);
}
