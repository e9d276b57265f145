import { describe, expect, it } from '@jest/globals';
import { RtpHeader, RtpPacket } from 'werift';
import { RetransmitBuffer } from '../../src/live/retransmit-buffer.js';

const packet = (seq: number) =>
  new RtpPacket(new RtpHeader({ sequenceNumber: seq, payloadType: 96, ssrc: 1 }), Buffer.from([seq & 0xff]));

describe('RetransmitBuffer', () => {
  it('takes a power of two only', () => {
    expect(() => new RetransmitBuffer(500)).toThrow(/power of two/);
    expect(() => new RetransmitBuffer(0)).toThrow();
    expect(() => new RetransmitBuffer(8)).not.toThrow();
  });

  it('finds a packet by its sequence number, and nothing for one it never held', () => {
    const b = new RetransmitBuffer(16);
    const p = packet(1234);
    b.push(p);
    expect(b.get(1234)).toBe(p);
    expect(b.get(1235)).toBeUndefined();
    // Same slot (1234 + 16), a different sequence number: not a match.
    expect(b.get(1250)).toBeUndefined();
  });

  it('is bounded: holds the last `size` packets only, across the 2^16 wrap', () => {
    const b = new RetransmitBuffer(64);
    const pushed: RtpPacket[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = packet((65000 + i) & 0xffff);
      pushed.push(p);
      b.push(p);
    }
    const held = pushed.filter((p) => b.get(p.header.sequenceNumber) === p);
    expect(held).toEqual(pushed.slice(-64));
    expect(b.get(pushed[935]!.header.sequenceNumber)).toBeUndefined();
    expect(b.get(pushed[999]!.header.sequenceNumber)).toBe(pushed[999]);
  });

  it('clear() forgets everything (a new publish session)', () => {
    const b = new RetransmitBuffer(8);
    b.push(packet(7));
    b.clear();
    expect(b.get(7)).toBeUndefined();
  });
});
