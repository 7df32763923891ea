// Parsers of option values. Each throws commander's InvalidArgumentError, so a bad value is a
// usage error (exit 2) with a message naming the option, and nothing is sent to the gateway.
import { InvalidArgumentError } from 'commander';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** "90s", "10m", "1h", "7d", "2w" as seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhdw])$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('Expected a duration such as 90s, 10m, 1h, 7d or 2w.');
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2]];
  if (!Number.isSafeInteger(seconds) || seconds > 2_147_483_647) throw new InvalidArgumentError('That duration is too long.');
  return seconds;
}

export type Expiry = { expiresInSeconds: number } | { expiresAt: string } | { never: true };

/**
 * --expires: a duration from now (1h, 7d), a date (2026-12-31, meaning 00:00 UTC that day), a
 * full ISO time, or "never".
 */
export function parseExpires(value: string, now = Date.now()): Expiry {
  const text = value.trim();
  if (text.toLowerCase() === 'never') return { never: true };
  if (/^\d+[smhdw]$/.test(text)) {
    const seconds = parseDuration(text);
    if (seconds < 1) throw new InvalidArgumentError('The expiry must be in the future.');
    return { expiresInSeconds: seconds };
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) {
    const time = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
    if (Number.isNaN(time)) throw new InvalidArgumentError(`Not a valid date: ${text}.`);
    if (time <= now) throw new InvalidArgumentError(`${new Date(time).toISOString()} is in the past.`);
    return { expiresAt: new Date(time).toISOString() };
  }
  throw new InvalidArgumentError('Expected a duration (1h, 7d), a date (2026-12-31), an ISO time, or "never".');
}

export const ROLES = ['VIEWER', 'AGENT', 'EDITOR', 'OWNER'] as const;
export type Role = (typeof ROLES)[number];

export function parseRole(value: string): Role {
  const role = value.trim().toUpperCase();
  if (!(ROLES as readonly string[]).includes(role)) throw new InvalidArgumentError(`Expected one of ${ROLES.join(', ').toLowerCase()}.`);
  return role as Role;
}

export function parseKind(value: string): 'PERSONAL' | 'SERVICE' {
  const kind = value.trim().toUpperCase();
  if (kind !== 'PERSONAL' && kind !== 'SERVICE') throw new InvalidArgumentError('Expected personal or service.');
  return kind;
}

export function parseStatus(value: string): 'ACTIVE' | 'REVOKED' | 'EXPIRED' {
  const status = value.trim().toUpperCase();
  if (status !== 'ACTIVE' && status !== 'REVOKED' && status !== 'EXPIRED') {
    throw new InvalidArgumentError('Expected active, revoked or expired.');
  }
  return status;
}

/** --budget: complexity points per minute; "default" (update only) goes back to the gateway's default. */
export function parseBudget(value: string): number | 'default' {
  if (value.trim().toLowerCase() === 'default') return 'default';
  const budget = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(budget) || budget < 1) {
    throw new InvalidArgumentError('Expected a positive whole number of complexity points per minute.');
  }
  return budget;
}

export function parseIdList(value: string): string[] {
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('Expected one or more ids separated by commas.');
  return ids;
}

/** `--allowed-ips 10.0.0.0/8,2001:db8::/32`: CIDR ranges (the gateway checks each and says which is wrong). */
export function parseCidrList(value: string): string[] {
  const ranges = value
    .split(',')
    .map((range) => range.trim())
    .filter(Boolean);
  if (ranges.length === 0) throw new InvalidArgumentError('Expected one or more CIDR ranges separated by commas, e.g. 10.0.0.0/8,2001:db8::/32.');
  return ranges;
}
