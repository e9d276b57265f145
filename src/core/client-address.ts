import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { TrustProxy } from './config.js';

/**
 * Who sent a request, for the per-client limits (held requests, WHIP and WHEP sessions,
 * failed authentications): a key, not an identity. Without TRUST_PROXY it is the socket's
 * peer; a client can write any `X-Forwarded-For` it likes, so the header counts only as far
 * as TRUST_PROXY says proxies we run wrote it. IPv6 clients are keyed by their /64: one
 * host usually holds a whole /64, and counting each address apart would let it take as
 * many slots as it has addresses.
 */
export type ClientOf = (req: IncomingMessage) => string;

const MAPPED_V4 = '::ffff:';

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) as the IPv4 address it is. */
function plain(address: string): string {
  return address.startsWith(MAPPED_V4) && isIP(address.slice(MAPPED_V4.length)) === 4
    ? address.slice(MAPPED_V4.length)
    : address;
}

/** The first four groups of an IPv6 address, `::` expanded: its /64. */
function prefix64(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // An embedded IPv4 tail (`::1.2.3.4`) takes two groups; it sits past the /64 anyway.
  const width = right.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups =
    tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - width)).fill('0')];
  const four = [...groups, '0', '0', '0', '0'].slice(0, 4);
  return `${four.map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** The key a client address is counted under: IPv4 as it is, IPv6 by its /64. */
export function clientKey(address: string): string {
  const a = plain(address.trim());
  return isIP(a) === 6 ? prefix64(a) : a;
}

/**
 * The addresses a request passed through, nearest first: the socket's peer, then
 * `X-Forwarded-For` from its right end (each proxy appends the address it received from).
 * Stops at the first entry that is not an address.
 */
function hopsOf(req: IncomingMessage): string[] {
  const peer = plain(req.socket.remoteAddress ?? '');
  const header = req.headers['x-forwarded-for'];
  if (header === undefined) return [peer];
  const listed = (Array.isArray(header) ? header.join(',') : header).split(',');
  const out = [peer];
  for (let i = listed.length - 1; i >= 0; i--) {
    const a = plain((listed[i] ?? '').trim());
    if (isIP(a) === 0) break;
    out.push(a);
  }
  return out;
}

/**
 * The client of a request per TRUST_PROXY: `{hops: n}` believes the last n entries of
 * `X-Forwarded-For` (n proxies in front, each appending); `{proxies}` walks back from the
 * socket's peer while the address is one of the proxies. Either way the first address not
 * vouched for is the client, so a forged prefix of the header changes nothing.
 */
export function clientResolver(trust: TrustProxy): ClientOf {
  if (trust === null) return (req) => clientKey(req.socket.remoteAddress ?? '');
  if ('hops' in trust) {
    const hops = trust.hops;
    return (req) => {
      const chain = hopsOf(req);
      return clientKey(chain[Math.min(hops, chain.length - 1)] ?? '');
    };
  }
  const proxies = new Set(trust.proxies.map(plain));
  return (req) => {
    const chain = hopsOf(req);
    let i = 0;
    while (i < chain.length - 1 && proxies.has(chain[i] ?? '')) i++;
    return clientKey(chain[i] ?? '');
  };
}
