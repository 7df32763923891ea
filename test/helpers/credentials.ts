// The ways a caller can hold a role, as Credentials for requiresRole: SERVICE tokens at each
// scope type, users through organization-wide and space memberships (and both at once: the
// higher counts), and PERSONAL tokens with a role cap, scoped or not. Everything is built
// through the real API by the organization's owner and cached, so a credential for a given
// role and place is made once per test file.
import type { Role } from '../../src/auth/roles';
import { addMember, mintToken, signUp, type TestUser } from './factories';
import type { Credential, GrantPlace, Level } from './requiresRole';
import type { TestApp } from './testApp';

export interface CredentialEnv {
  t: TestApp;
  /** An organization-wide OWNER (session) of the organizations the places are in. */
  owner: TestUser;
}

type Scope = 'ORGANIZATION' | 'SPACE' | 'BOARDS';

const scopeLevel: Record<Scope, Level> = { ORGANIZATION: 'organization', SPACE: 'space', BOARDS: 'board' };

/** The scope fields of createApiToken for a scope type at a place. */
export function scopeInput(scope: Scope, place: GrantPlace) {
  switch (scope) {
    case 'ORGANIZATION':
      return { organizationId: place.organizationId };
    case 'SPACE':
      return { spaceId: place.spaceId };
    case 'BOARDS':
      return { boardIds: place.boardIds };
  }
}

/** Memoises an async factory by key (failed attempts are not remembered). */
function cached<T>() {
  const values = new Map<string, Promise<T>>();
  return (key: string, make: () => Promise<T>): Promise<T> => {
    let value = values.get(key);
    if (!value) {
      value = make();
      values.set(key, value);
      value.catch(() => values.delete(key));
    }
    return value;
  };
}

export function credentials(env: () => CredentialEnv) {
  const tokens = cached<string>();
  const users = cached<TestUser>();
  const memberships = cached<unknown>();

  const user = (key: string, name: string) => users(key, () => signUp(env().t, name));
  const member = async (u: TestUser, role: Role, organizationId: string, spaceId?: string) => {
    await memberships(`${u.id}:${organizationId}:${spaceId ?? '-'}`, () =>
      addMember(env().t, env().owner.token, { organizationId, email: u.email, role, ...(spaceId && { spaceId }) }),
    );
    return u;
  };
  /** One user per role with an organization-wide membership of that role. */
  const organizationMember = async (role: Role, place: GrantPlace) =>
    member(await user(`org-member:${role}`, `Org ${role}`), role, place.organizationId);
  /** An organization-wide OWNER (not the owner fixture) who mints PERSONAL tokens for themselves. */
  const personalOwner = async (place: GrantPlace) =>
    member(await user('personal-owner', 'Personal owner'), 'OWNER', place.organizationId);

  const service = (scope: Scope): Credential => ({
    name: `SERVICE token, scope ${scope}`,
    reaches: scopeLevel[scope],
    token: (role, place) =>
      tokens(`service:${scope}:${role}:${JSON.stringify(scopeInput(scope, place))}`, async () => {
        const minted = await mintToken(env().t, env().owner.token, { kind: 'SERVICE', role, ...scopeInput(scope, place) });
        return minted.secret;
      }),
  });

  const organizationMembership: Credential = {
    name: 'user, organization-wide membership',
    reaches: 'organization',
    token: async (role, place) => (await organizationMember(role, place)).token,
  };

  const spaceMembership: Credential = {
    name: 'user, membership of the space',
    reaches: 'space',
    token: async (role, place) => (await member(await user(`space-member:${role}`, `Space ${role}`), role, place.organizationId, place.spaceId)).token,
  };

  // Both memberships at once: the higher one is the role in the space.
  const organizationRoleOverSpaceViewer: Credential = {
    name: 'user, organization-wide membership with the role + VIEWER membership of the space',
    reaches: 'organization',
    token: async (role, place) => {
      const u = await user(`org-role+space-viewer:${role}`, `Org ${role} space VIEWER`);
      await member(u, role, place.organizationId);
      return (await member(u, 'VIEWER', place.organizationId, place.spaceId)).token;
    },
  };

  const spaceRoleOverOrganizationViewer: Credential = {
    name: 'user, organization-wide VIEWER + membership of the space with the role',
    reaches: 'space',
    token: async (role, place) => {
      const u = await user(`org-viewer+space-role:${role}`, `Org VIEWER space ${role}`);
      await member(u, 'VIEWER', place.organizationId);
      return (await member(u, role, place.organizationId, place.spaceId)).token;
    },
  };

  /** A PERSONAL token of an organization OWNER, capped at the role, optionally scoped. */
  const personalCapped = (scope: Scope | null): Credential => ({
    name: `PERSONAL token of an organization OWNER, capped at the role, ${scope ? `scope ${scope}` : 'no scope'}`,
    reaches: scope ? scopeLevel[scope] : 'organization',
    token: async (role, place) => {
      const owner = await personalOwner(place);
      const scoped = scope ? scopeInput(scope, place) : {};
      return tokens(`personal:${scope}:${role}:${JSON.stringify(scoped)}`, async () => {
        const minted = await mintToken(env().t, owner.token, { kind: 'PERSONAL', role, ...scoped });
        return minted.secret;
      });
    },
  });

  /** A PERSONAL token capped at OWNER of a user whose membership has the role: the cap never raises it. */
  const personalOfMember: Credential = {
    name: 'PERSONAL token capped at OWNER, of an organization member with the role',
    reaches: 'organization',
    token: async (role, place) => {
      const u = await organizationMember(role, place);
      return tokens(`personal-of-member:${role}:${place.organizationId}`, async () => {
        const minted = await mintToken(env().t, u.token, { kind: 'PERSONAL', role: 'OWNER' });
        return minted.secret;
      });
    },
  };

  return {
    service: [service('ORGANIZATION'), service('SPACE'), service('BOARDS')],
    memberships: [organizationMembership, spaceMembership, organizationRoleOverSpaceViewer, spaceRoleOverOrganizationViewer],
    // (Scope ORGANIZATION reaches what no scope reaches for a member of one organization.)
    personal: [personalCapped(null), personalCapped('SPACE'), personalCapped('BOARDS'), personalOfMember],
  };
}
