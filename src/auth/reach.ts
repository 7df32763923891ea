// What one request may reach: a list of grants computed once per request from the
// principal (a user's current memberships, narrowed by a PERSONAL token's scope and cap;
// or a SERVICE token's role and scope). Every check and every list filter derives from it.
import { higherRole, lowerRole, type Role } from './roles';

/** A role over a whole organization, one space of it, or chosen boards of one space. */
export interface Grant {
  organizationId: string;
  spaceId?: string;
  boardIds?: readonly string[];
  role: Role;
}

/** Where something lives: an organization, a space in it, or a board in that space. */
export interface Place {
  organizationId: string;
  spaceId?: string;
  boardId?: string;
}

export type TokenScope =
  | { type: 'ORGANIZATION'; organizationId: string }
  | { type: 'SPACE'; organizationId: string; spaceId: string }
  | { type: 'BOARDS'; organizationId: string; spaceId: string; boardIds: readonly string[] };

export interface MembershipGrantSource {
  organizationId: string;
  spaceId: string | null;
  role: Role;
}

export function grantsFromMemberships(memberships: readonly MembershipGrantSource[]): Grant[] {
  return memberships.map((m) =>
    m.spaceId == null
      ? { organizationId: m.organizationId, role: m.role }
      : { organizationId: m.organizationId, spaceId: m.spaceId, role: m.role },
  );
}

/** A SERVICE token: exactly its role within its scope (nothing once all its boards are deleted). */
export function grantsFromScope(scope: TokenScope, role: Role): Grant[] {
  switch (scope.type) {
    case 'ORGANIZATION':
      return [{ organizationId: scope.organizationId, role }];
    case 'SPACE':
      return [{ organizationId: scope.organizationId, spaceId: scope.spaceId, role }];
    case 'BOARDS':
      return scope.boardIds.length
        ? [{ organizationId: scope.organizationId, spaceId: scope.spaceId, boardIds: scope.boardIds, role }]
        : [];
  }
}

/** Narrow a user's grants to a PERSONAL token's scope and role cap (either may be absent). */
export function narrowGrants(grants: readonly Grant[], scope: TokenScope | null, cap: Role | null): Grant[] {
  const narrowed: Grant[] = [];
  for (const grant of grants) {
    const inside = scope ? intersect(grant, scope) : grant;
    if (inside) narrowed.push({ ...inside, role: lowerRole(inside.role, cap) });
  }
  return narrowed;
}

function intersect(grant: Grant, scope: TokenScope): Grant | null {
  if (grant.organizationId !== scope.organizationId) return null;
  if (scope.type === 'ORGANIZATION') return grant;
  if (grant.spaceId != null && grant.spaceId !== scope.spaceId) return null;
  if (scope.type === 'SPACE') return { ...grant, spaceId: scope.spaceId };
  const boardIds = grant.boardIds ? scope.boardIds.filter((b) => grant.boardIds!.includes(b)) : scope.boardIds;
  return boardIds.length ? { ...grant, spaceId: scope.spaceId, boardIds } : null;
}

function covers(grant: Grant, place: Place): boolean {
  if (grant.organizationId !== place.organizationId) return false;
  if (grant.spaceId != null && grant.spaceId !== place.spaceId) return false;
  if (grant.boardIds != null && (place.boardId == null || !grant.boardIds.includes(place.boardId))) return false;
  return true;
}

/** One empty map for every Reach without blocked organizations, not a new one per request. */
const NONE_BLOCKED: ReadonlyMap<string, string> = new Map();

export class Reach {
  private grants: readonly Grant[];

  /**
   * `blocked`: organizations whose token policy the caller's token breaks (auth/tokenPolicy.ts),
   * with the refusal's message. Their grants are dropped: inside them nothing is reachable.
   */
  constructor(
    grants: readonly Grant[],
    private readonly blocked: ReadonlyMap<string, string> = NONE_BLOCKED,
  ) {
    this.grants = blocked.size ? grants.filter((g) => !blocked.has(g.organizationId)) : grants;
  }

  /** Why the caller's token may not be used in this organization (its token policy), if it may not. */
  blockedIn(organizationId: string): string | undefined {
    return this.blocked.get(organizationId);
  }

  /** A grant created during this request (the creator of an organization becomes its OWNER). */
  add(grant: Grant) {
    this.grants = [...this.grants, grant];
  }

  /** The caller's role over the whole of `place` (null when it covers none or only part of it). */
  roleAt(place: Place): Role | null {
    let role: Role | null = null;
    for (const grant of this.grants) if (covers(grant, place)) role = higherRole(role, grant.role);
    return role;
  }

  /** The lowest role among the caller's grants (null without any): its role over all it reaches. */
  roleEverywhere(): Role | null {
    if (!this.grants.length) return null;
    return this.grants.map((g) => g.role).reduce((a, b) => lowerRole(a, b) as Role);
  }

  /** Visible: inside a grant, or the parent (organization, space) of something inside one. */
  canSee(place: Place): boolean {
    return this.grants.some(
      (g) =>
        covers(g, place) ||
        (g.organizationId === place.organizationId &&
          place.boardId == null &&
          (place.spaceId == null || g.spaceId === place.spaceId)),
    );
  }

  /** canSee for each value's place, checked once per run of equal places (a page is usually one board's). */
  canSeeEach<T>(values: readonly T[], placeOf: (value: T) => Place): boolean {
    let seen: Place | undefined;
    for (const value of values) {
      const place = placeOf(value);
      if (seen && samePlace(seen, place)) continue;
      if (!this.canSee(place)) return false;
      seen = place;
    }
    return true;
  }

  organizationIds(): string[] {
    return unique(this.grants.map((g) => g.organizationId));
  }

  /**
   * Visible spaces, as a filter that needs no parent: all spaces of an organization granted
   * whole, plus the spaces named by narrower grants (including parents of granted boards).
   */
  spaceFilter(): { organizationIds: string[]; spaceIds: string[] } {
    return {
      organizationIds: unique(this.grants.filter((g) => g.spaceId == null).map((g) => g.organizationId)),
      spaceIds: unique(this.grants.flatMap((g) => (g.spaceId != null ? [g.spaceId] : []))),
    };
  }

  /** Visible boards: of whole organizations, of whole spaces, and boards granted one by one. */
  boardFilter(): { organizationIds: string[]; spaceIds: string[]; boardIds: string[] } {
    return {
      organizationIds: unique(this.grants.filter((g) => g.spaceId == null).map((g) => g.organizationId)),
      spaceIds: unique(this.grants.flatMap((g) => (g.spaceId != null && g.boardIds == null ? [g.spaceId] : []))),
      boardIds: unique(this.grants.flatMap((g) => g.boardIds ?? [])),
    };
  }
}

const unique = (values: string[]) => [...new Set(values)];

const samePlace = (a: Place, b: Place) => a.organizationId === b.organizationId && a.spaceId === b.spaceId && a.boardId === b.boardId;
