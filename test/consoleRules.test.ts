// The console's own rules, checked without a browser: the roles its wizard offers agree with
// the gateway's minting rule (src/auth/minting.ts), and its words for scopes, times and the
// minting rule's refusals (src/console/src/format.ts).
import type { User } from '../src/generated/prisma/client';
import { assertMayGrant } from '../src/auth/minting';
import type { Principal } from '../src/auth/principal';
import { Reach, type TokenScope } from '../src/auth/reach';
import { ROLES, type Role } from '../src/auth/roles';
import { expiryText, friendlyMessage, fromNow, grantableRoles, lastUsedText, scopeText } from '../src/console/src/format';

const SPACE: TokenScope = { type: 'SPACE', organizationId: 'org', spaceId: 'space' };
const session: Principal = { kind: 'session', user: { id: 'u' } as User, memberships: [], sessionId: 's', expiresAt: new Date(Date.now() + 3_600_000) };

/** What the gateway lets a user whose role in the space is `own` grant there. */
function serverAllows(kind: 'PERSONAL' | 'SERVICE', own: Role, role: Role): boolean {
  const reach = new Reach([{ organizationId: 'org', spaceId: 'space', role: own }]);
  try {
    assertMayGrant(session, reach, { kind, role, scope: SPACE, expiresAt: null, allowedIps: [] });
    return true;
  } catch {
    return false;
  }
}

describe('the wizard offers exactly the roles the minting rule allows', () => {
  test.each(ROLES)('SERVICE tokens, own role %s', (own) => {
    expect(grantableRoles('SERVICE', own)).toEqual(ROLES.filter((role) => serverAllows('SERVICE', own, role)));
  });

  test.each(ROLES)('PERSONAL tokens, own role %s: every cap up to the own role (a higher cap does nothing more)', (own) => {
    const offered = grantableRoles('PERSONAL', own);
    expect(offered).toEqual(ROLES.slice(0, ROLES.indexOf(own) + 1));
    for (const role of offered) expect(serverAllows('PERSONAL', own, role)).toBe(true);
  });

  test('a VIEWER is offered VIEWER only for a personal token, and nothing for a service token', () => {
    expect(grantableRoles('PERSONAL', 'VIEWER')).toEqual(['VIEWER']);
    expect(grantableRoles('SERVICE', 'VIEWER')).toEqual([]);
    expect(grantableRoles('SERVICE', 'AGENT')).toEqual([]);
    expect(grantableRoles('PERSONAL', null)).toEqual([]);
  });
});

describe('words', () => {
  const now = Date.parse('2026-03-10T12:00:00Z');
  const at = (days: number) => new Date(now + days * 86_400_000).toISOString();

  test('times relative to now', () => {
    expect(fromNow(at(-5), now)).toBe('5 days ago');
    expect(fromNow(at(3), now)).toBe('in 3 days');
    expect(fromNow(at(7 - 1 / 86_400), now)).toBe('in 7 days');
    expect(fromNow(new Date(now - 20_000).toISOString(), now)).toBe('just now');
    expect(lastUsedText({ lastUsedAt: null })).toBe('never');
    expect(expiryText({ expiresAt: null }, now)).toBe('never');
    expect(expiryText({ expiresAt: at(-1) }, now)).toBe('expired');
    expect(expiryText({ expiresAt: at(3) }, now)).toBe('in 3 days');
  });

  test('scopes with names', () => {
    const organization = { id: 'o', name: 'Acme' };
    const space = { id: 's', name: 'Engineering' };
    const boards = [1, 2, 3].map((n) => ({ id: `b${n}`, name: `Board ${n}` }));
    expect(scopeText({ scopeType: 'ORGANIZATION', organization, space: null, boards: [] })).toBe('Organization Acme');
    expect(scopeText({ scopeType: 'SPACE', organization, space, boards: [] })).toBe('Space Engineering');
    expect(scopeText({ scopeType: 'BOARDS', organization, space, boards })).toBe('3 boards in Engineering');
    expect(scopeText({ scopeType: 'BOARDS', organization, space, boards: boards.slice(0, 1) })).toBe('Board Board 1 in Engineering');
    expect(scopeText({ scopeType: null, organization: null, space: null, boards: [] })).toBe('Everything you can reach');
  });

  test("the minting rule's refusals say what to do instead; other messages pass unchanged", () => {
    expect(friendlyMessage('You cannot grant OWNER: your role in this scope is EDITOR.')).toBe(
      'You can grant at most EDITOR in this scope (you asked for OWNER). Choose EDITOR or a lower role.',
    );
    expect(friendlyMessage('Minting SERVICE tokens needs EDITOR or OWNER in the whole scope; your role there is VIEWER.')).toMatch(
      /^Service tokens need EDITOR or OWNER in the whole scope, and your role there is VIEWER\. Create a personal token instead/,
    );
    expect(friendlyMessage('ApiToken not found.')).toBe('ApiToken not found.');
    // The gateway's own messages (not copies of them) are the ones rewritten.
    const refusal = (own: Role, kind: 'PERSONAL' | 'SERVICE', role: Role) => {
      try {
        assertMayGrant(session, new Reach([{ organizationId: 'org', spaceId: 'space', role: own }]), { kind, role, scope: SPACE, expiresAt: null, allowedIps: [] });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(friendlyMessage(refusal('EDITOR', 'SERVICE', 'OWNER'))).toMatch(/^You can grant at most EDITOR in this scope/);
    expect(friendlyMessage(refusal('AGENT', 'SERVICE', 'VIEWER'))).toMatch(/^Service tokens need EDITOR or OWNER in the whole scope, and your role there is AGENT/);
  });
});
