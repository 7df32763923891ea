// A tiny authoritative DNS server on loopback (UDP), for tests that need a public-looking name to
// resolve to an address of their choosing (the gateway asks it through WEBHOOK_DNS_SERVERS).
// It answers A and AAAA questions from a table the test sets; other names: NXDOMAIN.
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface DnsResponder {
  /** "127.0.0.1:<port>", for WEBHOOK_DNS_SERVERS. */
  server: string;
  /** Sets (or replaces) a name's addresses, IPv4 and IPv6 mixed. */
  set(name: string, addresses: string[]): void;
  /** How many questions were asked about `name`. */
  asked(name: string): number;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function ipv6Bytes(address: string): Buffer {
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const [head, tail] = canonical.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

export async function startDnsResponder(): Promise<DnsResponder> {
  const table = new Map<string, string[]>();
  const questions = new Map<string, number>();
  const socket = createSocket('udp4');
  socket.on('message', (query, remote) => {
    if (query.length < 12) return;
    // The question: labels up to a zero byte, then its type and class.
    let offset = 12;
    const labels: string[] = [];
    while (offset < query.length && query[offset] !== 0) {
      const length = query[offset]!;
      labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
      offset += 1 + length;
    }
    const questionEnd = offset + 5;
    if (questionEnd > query.length) return;
    const type = query.readUInt16BE(offset + 1);
    const name = labels.join('.').toLowerCase();
    questions.set(name, (questions.get(name) ?? 0) + 1);
    const addresses = table.get(name);
    const records = (addresses ?? [])
      .filter((address) => (type === TYPE_A ? !address.includes(':') : type === TYPE_AAAA && address.includes(':')))
      .map((address) => (type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address)));
    const header = Buffer.alloc(12);
    query.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(0x8400 | (addresses ? 0 : 3), 2); // a response, authoritative; NXDOMAIN for unknown names
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(records.length, 6);
    const answers = records.map((rdata) => {
      const answer = Buffer.alloc(12);
      answer.writeUInt16BE(0xc00c, 0); // the question's name
      answer.writeUInt16BE(type, 2);
      answer.writeUInt16BE(1, 4); // IN
      answer.writeUInt32BE(0, 6); // TTL 0: nothing is cached
      answer.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([answer, rdata]);
    });
    socket.send(Buffer.concat([header, query.subarray(12, questionEnd), ...answers]), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    server: `127.0.0.1:${port}`,
    set: (name, addresses) => void table.set(name.toLowerCase(), addresses),
    asked: (name) => questions.get(name.toLowerCase()) ?? 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
