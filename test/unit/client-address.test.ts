import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from '@jest/globals';
import { clientKey, clientResolver } from '../../src/core/client-address.js';
import { loadConfig } from '../../src/core/config.js';

/** A request as node hands it over: the socket's peer and the headers. */
const req = (peer: string, xff?: string): IncomingMessage =>
  ({
    socket: { remoteAddress: peer },
    headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
  }) as unknown as IncomingMessage;

const trust = (v?: string) =>
  clientResolver(loadConfig(v === undefined ? {} : { TRUST_PROXY: v }).trustProxy);

describe('who a client is', () => {
  it('is the socket peer without TRUST_PROXY, whatever X-Forwarded-For claims', () => {
    const of = trust();
    expect(of(req('203.0.113.7'))).toBe('203.0.113.7');
    expect(of(req('203.0.113.7', '198.51.100.1'))).toBe('203.0.113.7');
    expect(of(req('::ffff:127.0.0.1'))).toBe('127.0.0.1');
  });

  it('with TRUST_PROXY=N believes the last N entries, so a forged prefix changes nothing', () => {
    const one = trust('1');
    expect(one(req('10.0.0.2', '198.51.100.1'))).toBe('198.51.100.1');
    // The client wrote "1.1.1.1" itself; our one proxy appended what it saw.
    expect(one(req('10.0.0.2', '1.1.1.1, 198.51.100.1'))).toBe('198.51.100.1');
    expect(one(req('10.0.0.2'))).toBe('10.0.0.2');
    const two = trust('2');
    expect(two(req('10.0.0.2', '1.1.1.1, 198.51.100.1, 10.0.0.9'))).toBe('198.51.100.1');
    // Garbage in the chain ends what is believed.
    expect(two(req('10.0.0.2', '198.51.100.1, not-an-ip'))).toBe('10.0.0.2');
  });

  it('with TRUST_PROXY=addresses walks back while the hop is one of the proxies', () => {
    const of = trust('10.0.0.2, 10.0.0.3');
    expect(of(req('10.0.0.2', '198.51.100.1, 10.0.0.3'))).toBe('198.51.100.1');
    expect(of(req('10.0.0.2', '1.1.1.1, 198.51.100.1'))).toBe('198.51.100.1');
    // Not from a proxy: the header is the client's own word, and ignored.
    expect(of(req('203.0.113.7', '1.1.1.1'))).toBe('203.0.113.7');
  });

  it('counts an IPv6 client by its /64', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1');
  });
});
