// How the console says things: times relative to now, scopes with names, roles in one line.
import type { ApiToken, Role, TokenKind } from './queries';

export const ROLES: Role[] = ['VIEWER', 'AGENT', 'EDITOR', 'OWNER'];

export const ROLE_SUMMARY: Record<Role, string> = {
  VIEWER: 'Reads boards, items and their updates; changes nothing.',
  AGENT: 'Viewer, plus creates items and posts updates (CI results, bots).',
  EDITOR: 'Agent, plus edits and deletes items, manages boards and spaces, mints service tokens.',
  OWNER: 'Everything, including members, the organization’s tokens and its audit log.',
};

export const roleAtLeast = (role: Role | null | undefined, required: Role) => role != null && ROLES.indexOf(role) >= ROLES.indexOf(required);

/**
 * The roles the wizard offers for a token of this kind where the user's own role is `own` (the
 * API's viewerRole there), after the minting rule (src/auth/minting.ts): a SERVICE token needs
 * EDITOR or OWNER and gets at most the user's role. A PERSONAL token's cap may be set higher but
 * never does more than the user can, so only the caps that mean something are offered.
 */
export function grantableRoles(kind: TokenKind, own: Role | null | undefined): Role[] {
  if (!own) return [];
  if (kind === 'SERVICE' && !roleAtLeast(own, 'EDITOR')) return [];
  return ROLES.filter((role) => roleAtLeast(own, role));
}

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 86400],
  ['month', 30 * 86400],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
];

/** "5 days ago", "in 3 days", "just now". */
export function fromNow(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, size] of UNITS) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return 'just now';
}

export const fullDate = (iso: string) => new Date(iso).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
export const shortDate = (iso: string) => new Date(iso).toLocaleDateString('en', { dateStyle: 'medium' });

export const lastUsedText = (token: Pick<ApiToken, 'lastUsedAt'>) => (token.lastUsedAt ? fromNow(token.lastUsedAt) : 'never');

export function expiryText(token: Pick<ApiToken, 'expiresAt'>, now = Date.now()): string {
  if (!token.expiresAt) return 'never';
  return new Date(token.expiresAt).getTime() <= now ? 'expired' : fromNow(token.expiresAt, now);
}

export const statusText = (token: Pick<ApiToken, 'status'>) => token.status.toLowerCase();

export const kindText = (token: Pick<ApiToken, 'kind'>) => (token.kind === 'PERSONAL' ? 'personal' : 'service');

export function roleText(token: Pick<ApiToken, 'role' | 'kind'>): string {
  if (token.role) return token.role;
  return 'your own role';
}

/** "Organization Acme", "Space Engineering", "3 boards in Engineering", "Board Roadmap in Engineering". */
export function scopeText(token: Pick<ApiToken, 'scopeType' | 'organization' | 'space' | 'boards'>): string {
  switch (token.scopeType) {
    case 'ORGANIZATION':
      return `Organization ${token.organization?.name ?? '(hidden)'}`;
    case 'SPACE':
      return `Space ${token.space?.name ?? '(hidden)'}`;
    case 'BOARDS': {
      const where = token.space?.name ?? 'a space';
      if (token.boards.length === 1) return `Board ${token.boards[0].name} in ${where}`;
      return `${token.boards.length} boards in ${where}`;
    }
    default:
      return 'Everything you can reach';
  }
}

/** An action from the audit log ("token.created") in words. */
export function actionText(action: string): string {
  return action.replace(/[._]/g, ' ');
}

/** The minting rule's refusals, said as what the person can do instead. */
export function friendlyMessage(message: string): string {
  const grant = /^You cannot grant (\w+): your role in this scope is (\w+)\.$/.exec(message);
  if (grant) return `You can grant at most ${grant[2]} in this scope (you asked for ${grant[1]}). Choose ${grant[2]} or a lower role.`;
  const service = /^Minting SERVICE tokens needs (\w+) or OWNER in the whole scope; your role there is (\w+)\.$/.exec(message);
  if (service) {
    return `Service tokens need ${service[1]} or OWNER in the whole scope, and your role there is ${service[2] === 'none' ? 'nothing' : service[2]}. Create a personal token instead, or ask an owner.`;
  }
  return message;
}
