// Roles, their order, and which operation needs which role: data, in one place.
// Resolvers and scope-auth rules ask this table; they never compare roles themselves.

export const ROLES = ['VIEWER', 'AGENT', 'EDITOR', 'OWNER'] as const;
export type Role = (typeof ROLES)[number];

export const roleRank = (role: Role): number => ROLES.indexOf(role);

/** True when `role` is at least `required` (a missing role is below every role). */
export function roleAtLeast(role: Role | null | undefined, required: Role): boolean {
  return role != null && roleRank(role) >= roleRank(required);
}

export function lowerRole(a: Role, b: Role | null | undefined): Role {
  return b != null && roleRank(b) < roleRank(a) ? b : a;
}

export function higherRole(a: Role | null, b: Role | null): Role | null {
  if (a == null) return b;
  if (b == null) return a;
  return roleRank(a) >= roleRank(b) ? a : b;
}

/**
 * Where an operation's role is checked: on the resource itself (a board, an item's board,
 * a space), or on the whole organization.
 */
export type OperationLevel = 'resource' | 'organization';

export const OPERATIONS = {
  read: { role: 'VIEWER', level: 'resource' },
  createItem: { role: 'AGENT', level: 'resource' },
  postItemUpdate: { role: 'AGENT', level: 'resource' },
  updateItem: { role: 'EDITOR', level: 'resource' },
  deleteItem: { role: 'EDITOR', level: 'resource' },
  createBoard: { role: 'EDITOR', level: 'resource' },
  updateBoard: { role: 'EDITOR', level: 'resource' },
  deleteBoard: { role: 'EDITOR', level: 'resource' },
  updateSpace: { role: 'EDITOR', level: 'resource' },
  createSpace: { role: 'EDITOR', level: 'organization' },
  deleteSpace: { role: 'OWNER', level: 'resource' },
  // Membership of a space needs OWNER in that space; organization-wide, OWNER of the organization.
  addMember: { role: 'OWNER', level: 'resource' },
  removeMember: { role: 'OWNER', level: 'resource' },
  readMembers: { role: 'OWNER', level: 'organization' },
  readOrganizationApiTokens: { role: 'OWNER', level: 'organization' },
  readAuditEvents: { role: 'OWNER', level: 'organization' },
  manageOthersTokens: { role: 'OWNER', level: 'organization' },
  // Reading and setting the organization's token policy (auth/tokenPolicy.ts).
  manageTokenPolicy: { role: 'OWNER', level: 'organization' },
  // Webhooks: reading, creating and deleting them (they receive the whole audit log).
  manageWebhooks: { role: 'OWNER', level: 'organization' },
  // Minting SERVICE tokens: EDITOR or OWNER in the whole scope (and never above the caller).
  mintServiceToken: { role: 'EDITOR', level: 'resource' },
  // Federation policies mint SERVICE tokens for whoever matches them: OWNER of the whole scope.
  manageFederationPolicies: { role: 'OWNER', level: 'resource' },
  readFederationPolicies: { role: 'OWNER', level: 'organization' },
} as const satisfies Record<string, { role: Role; level: OperationLevel }>;

export type Operation = keyof typeof OPERATIONS;

export const requiredRole = (operation: Operation): Role => OPERATIONS[operation].role;
