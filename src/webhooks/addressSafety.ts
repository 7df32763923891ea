// Where a webhook may be delivered (tokens-v2.md, "Webhooks": no SSRF). Only https URLs whose
// every address is public: a webhook must never be a way to reach the gateway's own network
// (databases, admin ports, the cloud metadata service at 169.254.169.254). Checked when the
// webhook is created and again before each attempt, after DNS; the attempt then connects to the
// address that was checked (src/webhooks/delivery.ts pins it), so a DNS answer that changes
// between the check and the connection cannot send it elsewhere.
//
// Public means: IPv4 outside every special-purpose range of the IANA registry, IPv6 inside
// global unicast (2000::/3) and outside its special-purpose ranges. IPv4-mapped IPv6
// (::ffff:a.b.c.d) is judged as the IPv4 address it is. With WEBHOOK_ALLOW_LOOPBACK=true (tests,
// development) loopback addresses are accepted too, over plain http as well.
import { Resolver, promises as dns } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { badInput } from '../errors';

export const MAX_WEBHOOK_URL_LENGTH = 2_000;

/** Non-public IPv4 ranges, each with the name a refusal gives it. */
const IPV4_RANGES: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (or broadcast)'],
];

/** Special-purpose ranges inside IPv6 global unicast (2000::/3). */
const IPV6_GLOBAL_SPECIAL: [string, number, string][] = [
  ['2001::', 23, 'IETF protocol assignment (Teredo, benchmarking, ORCHID)'],
  ['2001:db8::', 32, 'documentation'],
  ['2002::', 16, '6to4'],
  ['3fff::', 20, 'documentation'],
];

/** What lies outside 2000::/3, for the refusal's wording. */
const IPV6_NAMED: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b::', 96, 'NAT64'],
  ['64:ff9b:1::', 48, 'NAT64'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

function rangeNames(ranges: [string, number, string][], family: 'ipv4' | 'ipv6') {
  return ranges.map(([network, prefix, name]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, name };
  });
}

const ipv4Special = rangeNames(IPV4_RANGES, 'ipv4');
const ipv6GlobalSpecial = rangeNames(IPV6_GLOBAL_SPECIAL, 'ipv6');
const ipv6Named = rangeNames(IPV6_NAMED, 'ipv6');
const ipv6GlobalUnicast = new BlockList();
ipv6GlobalUnicast.addSubnet('2000::', 3, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (any valid spelling). */
function ipv6Groups(address: string): number[] {
  // WHATWG URL parsing writes it in one canonical, compressed form.
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head, tail] = canonical.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  return groups.map((group) => parseInt(group, 16));
}

/** ::ffff:a.b.c.d as a.b.c.d; null for any other IPv6 address. */
function mappedIpv4(address: string): string | null {
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return null;
  return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
}

/**
 * Why an address is not public ("private", "loopback", ...), or null when it is public. A string
 * that is not an IP address is "not an IP address".
 */
export function nonPublicReason(address: string): string | null {
  const version = address.includes('%') ? 0 : isIP(address);
  if (version === 0) return 'not an IP address';
  if (version === 6) {
    const mapped = mappedIpv4(address);
    if (mapped) return nonPublicReason(mapped);
    if (!ipv6GlobalUnicast.check(address, 'ipv6')) {
      return ipv6Named.find(({ list }) => list.check(address, 'ipv6'))?.name ?? 'reserved (outside global unicast)';
    }
    return ipv6GlobalSpecial.find(({ list }) => list.check(address, 'ipv6'))?.name ?? null;
  }
  return ipv4Special.find(({ list }) => list.check(address, 'ipv4'))?.name ?? null;
}

export const isLoopback = (address: string): boolean => nonPublicReason(address) === 'loopback';

export interface AddressPolicy {
  /** Loopback addresses (and plain http to them) are accepted: WEBHOOK_ALLOW_LOOPBACK. */
  allowLoopback: boolean;
  /** DNS servers to ask instead of the system's resolver (WEBHOOK_DNS_SERVERS). */
  dnsServers: string[];
}

/** A URL a webhook may be registered with: parsed, and its host as DNS or a literal address. */
export interface WebhookTarget {
  url: URL;
  /** The host without IPv6 brackets. */
  host: string;
}

/** Why a URL cannot be a webhook's, as the user reads it. */
export class UnsafeWebhookUrl extends Error {}

/** The URL's form alone (no DNS): https (or http, for loopback only), no credentials in it. */
export function parseWebhookUrl(text: string, policy: Pick<AddressPolicy, 'allowLoopback'>): WebhookTarget {
  if (text.length > MAX_WEBHOOK_URL_LENGTH) throw new UnsafeWebhookUrl(`The URL must be at most ${MAX_WEBHOOK_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsafeWebhookUrl('Not a valid URL: write an absolute https:// URL.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowLoopback)) {
    throw new UnsafeWebhookUrl(`Webhook URLs must use https (not ${url.protocol.slice(0, 20)}).`);
  }
  if (url.username || url.password) throw new UnsafeWebhookUrl('Webhook URLs must not contain a user name or password.');
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new UnsafeWebhookUrl('The URL has no host.');
  return { url, host };
}

async function resolveHost(host: string, dnsServers: string[]): Promise<string[]> {
  if (isIP(host)) return [host];
  if (dnsServers.length === 0) return (await dns.lookup(host, { all: true, verbatim: true })).map((entry) => entry.address);
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers(dnsServers);
  const answers = await Promise.allSettled([
    new Promise<string[]>((resolve, reject) => resolver.resolve4(host, (error, addresses) => (error ? reject(error) : resolve(addresses)))),
    new Promise<string[]>((resolve, reject) => resolver.resolve6(host, (error, addresses) => (error ? reject(error) : resolve(addresses)))),
  ]);
  const addresses = answers.flatMap((answer) => (answer.status === 'fulfilled' ? answer.value : []));
  if (addresses.length === 0) throw new Error('no address');
  return addresses;
}

/**
 * The addresses the URL's host has now, every one of them allowed; throws UnsafeWebhookUrl
 * naming the first address that is not (or when the name does not resolve).
 */
export async function checkedAddresses(target: WebhookTarget, policy: AddressPolicy): Promise<string[]> {
  let addresses: string[];
  try {
    addresses = await resolveHost(target.host, policy.dnsServers);
  } catch {
    throw new UnsafeWebhookUrl(`The host ${target.host.slice(0, 255)} cannot be resolved.`);
  }
  for (const address of addresses) {
    const reason = nonPublicReason(address);
    if (reason === null) continue;
    if (reason === 'loopback' && policy.allowLoopback) continue;
    const via = address === target.host ? '' : `${target.host.slice(0, 255)} resolves to `;
    throw new UnsafeWebhookUrl(`${via}${address} (${reason}): webhooks are delivered to public addresses only.`);
  }
  // Plain http only where loopback is allowed and the host is loopback, nowhere else.
  if (target.url.protocol === 'http:' && !addresses.every(isLoopback)) {
    throw new UnsafeWebhookUrl('Webhook URLs must use https (plain http only to loopback, with WEBHOOK_ALLOW_LOOPBACK).');
  }
  return addresses;
}

/** createWebhook's check: the URL, normalised, or BAD_USER_INPUT saying why not. */
export async function checkNewWebhookUrl(text: string, policy: AddressPolicy): Promise<string> {
  try {
    const target = parseWebhookUrl(text.trim(), policy);
    await checkedAddresses(target, policy);
    return target.url.href;
  } catch (error) {
    if (error instanceof UnsafeWebhookUrl) throw badInput(`url: ${error.message}`);
    throw error;
  }
}
