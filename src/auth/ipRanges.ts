// Token allow-lists (allowedIps): CIDR ranges, IPv4 and IPv6. Ranges are stored in one normal
// form (host bits cleared, IPv6 compressed as RFC 5952 writes it, IPv4-mapped IPv6 written as
// IPv4) so that the same range is always the same string, and compared as numbers.
// node:net decides what is an address (strict: no "10.1", no leading zeros); WHATWG URL parsing
// gives the canonical IPv6 text, which is then read as eight hex groups.
import { isIP } from 'node:net';
import { badInput } from '../errors';

export const MAX_ALLOWED_IPS = 100;

interface IpRange {
  version: 4 | 6;
  network: bigint;
  prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;
const MAPPED_IPV4_PREFIX = 0xffffn << 32n;

function mask(version: 4 | 6, prefix: number): bigint {
  const bits = BITS[version];
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** An address as a number; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as the IPv4 address it is. */
function parseAddress(text: string): { version: 4 | 6; value: bigint } | null {
  // A zone id (fe80::1%eth0) names an interface of one host, not an address range.
  if (text.includes('%')) return null;
  const version = isIP(text);
  if (version === 4) return { version, value: text.split('.').reduce((acc, part) => (acc << 8n) + BigInt(part), 0n) };
  if (version !== 6) return null;
  const canonical = new URL(`http://[${text}]`).hostname.slice(1, -1);
  const [head, tail] = canonical.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const value = groups.reduce((acc, group) => (acc << 16n) + BigInt(`0x${group}`), 0n);
  if (value >> 32n === 0xffffn) return { version: 4, value: value - MAPPED_IPV4_PREFIX };
  return { version, value };
}

function formatAddress(version: 4 | 6, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((shift) => ((value >> shift) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/** "10.1.2.3/8" → 10.0.0.0/8; a bare address is a range of one. Null when it is not a range. */
function parseRange(text: string): IpRange | null {
  const parts = text.trim().split('/');
  if (parts.length > 2) return null;
  const address = parseAddress(parts[0]!);
  if (!address) return null;
  const mapped = address.version === 4 && parts[0]!.includes(':');
  let prefix = BITS[address.version];
  if (parts.length === 2) {
    if (!/^\d{1,3}$/.test(parts[1]!)) return null;
    // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
    prefix = Number(parts[1]) - (mapped ? 96 : 0);
    if (prefix < 0 || prefix > BITS[address.version]) return null;
  }
  return { version: address.version, network: address.value & mask(address.version, prefix), prefix };
}

function formatRange(range: IpRange): string {
  return `${formatAddress(range.version, range.network)}/${range.prefix}`;
}

function contains(outer: IpRange, inner: IpRange): boolean {
  return outer.version === inner.version && outer.prefix <= inner.prefix && (inner.network & mask(outer.version, outer.prefix)) === outer.network;
}

/** The ranges of an allowedIps input in normal form, duplicates removed; BAD_USER_INPUT if any is not a range. */
export function normalizeAllowedIps(input: readonly string[]): string[] {
  if (input.length > MAX_ALLOWED_IPS) {
    throw badInput(`allowedIps takes at most ${MAX_ALLOWED_IPS} ranges; ${input.length} were given.`);
  }
  const normal = new Set<string>();
  for (const text of input) {
    const range = text.length <= 100 ? parseRange(text) : null;
    if (!range) {
      const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
      throw badInput(`allowedIps: ${JSON.stringify(shown)} is not a CIDR range. Write an IPv4 or IPv6 address with an optional prefix length, like 10.0.0.0/8 or 2001:db8::/32.`);
    }
    normal.add(formatRange(range));
  }
  return [...normal];
}

// Stored ranges are already normal; a cached credential keeps the same array between requests.
const parsedRanges = new WeakMap<readonly string[], IpRange[]>();

function rangesOf(allowedIps: readonly string[]): IpRange[] {
  let ranges = parsedRanges.get(allowedIps);
  if (!ranges) {
    ranges = allowedIps.map(parseRange).filter((range): range is IpRange => range != null);
    parsedRanges.set(allowedIps, ranges);
  }
  return ranges;
}

/** Whether a client address may use a token with these allowedIps (empty: any address; an unreadable address: none). */
export function addressAllowed(allowedIps: readonly string[], clientAddress: string): boolean {
  if (allowedIps.length === 0) return true;
  const address = parseAddress(clientAddress);
  if (!address) return false;
  const single: IpRange = { version: address.version, network: address.value, prefix: BITS[address.version] };
  return rangesOf(allowedIps).some((range) => contains(range, single));
}

/** The ranges of `inner` that lie inside none of the ranges of `outer` (each must fit inside one). */
export function rangesOutside(inner: readonly string[], outer: readonly string[]): string[] {
  const outerRanges = rangesOf(outer);
  return inner.filter((text) => {
    const range = parseRange(text);
    return !range || !outerRanges.some((candidate) => contains(candidate, range));
  });
}
