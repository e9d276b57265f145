import { describe, expect, it } from '@jest/globals';
import { announceAddresses } from '../../src/ingest/sdp/announce.js';

const ANSWER = [
  'v=0',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:0',
  'a=candidate:1 1 udp 2130706431 172.18.0.5 40012 typ host',
  'a=candidate:2 1 udp 2130706175 127.0.0.1 40013 typ host',
  'a=candidate:3 1 udp 2130705919 fd00::5 40014 typ host',
  'a=candidate:4 1 udp 1694498815 203.0.113.9 40015 typ srflx raddr 172.18.0.5 rport 40012',
  'a=candidate:5 1 tcp 1518280447 172.18.0.5 9 typ host tcptype passive',
  'a=end-of-candidates',
  '',
].join('\r\n');

const candidates = (sdp: string) => sdp.split('\r\n').filter((l) => l.startsWith('a=candidate:'));

describe('announceAddresses (ICE_PUBLIC_ADDRESSES)', () => {
  it('adds each UDP host candidate again at the announced address of its family, same port, lower preference', () => {
    const out = announceAddresses(ANSWER, ['198.51.100.7']);
    const added = candidates(out).filter((l) => l.includes('198.51.100.7'));
    expect(added).toEqual([
      'a=candidate:1a0 1 udp 2130706175 198.51.100.7 40012 typ host',
      'a=candidate:2a1 1 udp 2130705919 198.51.100.7 40013 typ host',
    ]);
    // Each copy right after its original; everything else unchanged and in order.
    const lines = out.split('\r\n');
    expect(lines.indexOf(added[0]!)).toBe(lines.indexOf(candidates(ANSWER)[0]!) + 1);
    expect(out.split('\r\n').filter((l) => !l.includes('198.51.100.7'))).toEqual(ANSWER.split('\r\n'));
  });

  it('matches the IP family: an IPv6 address goes beside IPv6 candidates only', () => {
    const added = candidates(announceAddresses(ANSWER, ['2001:db8::7'])).filter((l) =>
      l.includes('2001:db8::7'),
    );
    expect(added).toEqual(['a=candidate:3a0 1 udp 2130705663 2001:db8::7 40014 typ host']);
  });

  it('adds nothing already there, and nothing without addresses', () => {
    expect(announceAddresses(ANSWER, [])).toBe(ANSWER);
    const once = announceAddresses(ANSWER, ['127.0.0.1']);
    // 127.0.0.1:40013 exists; 127.0.0.1:40012 (the private candidate's port) is new.
    expect(candidates(once).filter((l) => l.includes(' 127.0.0.1 '))).toHaveLength(2);
    expect(announceAddresses(once, ['127.0.0.1'])).toBe(once);
  });

  it('keeps foundations unique', () => {
    const out = announceAddresses(ANSWER, ['198.51.100.7', '198.51.100.8']);
    const foundations = candidates(out).map((l) => l.split(' ')[0]);
    expect(new Set(foundations).size).toBe(foundations.length);
  });
});
