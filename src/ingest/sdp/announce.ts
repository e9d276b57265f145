import { isIP } from 'node:net';

/**
 * Adds, for every UDP host candidate of an answer, the same candidate at each announced
 * address (ICE_PUBLIC_ADDRESSES) of its IP family: behind 1:1 NAT or Docker's published
 * ports the server only knows its private addresses, and a publisher elsewhere (OBS never
 * trickles and has no STUN here) could reach none of them. The announced candidates keep
 * the port (the NAT or the port mapping forwards it unchanged), get a foundation of their
 * own, and one step lower local preference, so a client on the same network still pairs
 * with the private address first. Pure: text in, text out; lines are CRLF-separated.
 */
export function announceAddresses(sdp: string, addresses: readonly string[]): string {
  if (addresses.length === 0) return sdp;
  const lines = sdp.split('\r\n');
  const out: string[] = [];
  const present = new Set(
    lines.filter((l) => l.startsWith('a=candidate:')).map((l) => candidateKey(parseCandidate(l))),
  );
  let extra = 0;
  for (const line of lines) {
    out.push(line);
    if (!line.startsWith('a=candidate:')) continue;
    const c = parseCandidate(line);
    if (!c || c.protocol !== 'udp' || c.type !== 'host') continue;
    const family = isIP(c.address);
    for (const address of addresses) {
      if (isIP(address) !== family) continue;
      const copy = { ...c, address, foundation: `${c.foundation}a${extra}` };
      const key = candidateKey(copy);
      if (present.has(key)) continue;
      present.add(key);
      extra++;
      // One step lower local preference (bits 8-23 of the priority), never below zero.
      const priority = Math.max(0, c.priority - 256);
      out.push(
        [
          'a=candidate:' + copy.foundation,
          c.component,
          c.transport,
          priority,
          address,
          c.port,
          ...c.rest,
        ].join(' '),
      );
    }
  }
  return out.join('\r\n');
}

interface Candidate {
  foundation: string;
  component: string;
  /** As written (`udp`, `UDP`). */
  transport: string;
  protocol: string;
  priority: number;
  address: string;
  port: string;
  type: string;
  /** `typ host` and what follows. */
  rest: string[];
}

function parseCandidate(line: string): Candidate | null {
  const f = line.slice('a=candidate:'.length).split(' ');
  if (f.length < 8 || f[6] !== 'typ') return null;
  const [foundation, component, transport, priority, address, port] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    foundation,
    component,
    transport,
    protocol: transport.toLowerCase(),
    priority: Number(priority),
    address,
    port,
    type: f[7] ?? '',
    rest: f.slice(6),
  };
}

function candidateKey(c: Candidate | null): string {
  return c ? `${c.component} ${c.protocol} ${c.address} ${c.port}` : '';
}
