import { describe, expect, it } from '@jest/globals';
import { RtpHeader, RtpPacket, RTCRtpReceiver, type GenericNack } from 'werift';
import { nackPerSsrc } from '../../src/ingest/whip/layer-nack.js';

const packet = (ssrc: number, seq: number) =>
  new RtpPacket(new RtpHeader({ ssrc, sequenceNumber: seq, payloadType: 96 }), Buffer.alloc(10));

/** A werift receiver whose DTLS transport records the RTCP it is given. */
function receiver(): { r: RTCRtpReceiver; sent: unknown[] } {
  const sent: unknown[] = [];
  const r = new RTCRtpReceiver({} as never, 'video', 1234);
  r.setDtlsTransport({ sendRtcp: async (p: unknown[]) => void sent.push(...p), state: 'connected' } as never);
  return { r, sent };
}

/** Feeds packets as werift's receiver does (nack.addPacket per video packet). */
function feed(r: RTCRtpReceiver, packets: RtpPacket[]): void {
  const nack = (r as unknown as { nack: { addPacket(p: RtpPacket): void } }).nack;
  for (const p of packets) nack.addPacket(p);
}

describe('nackPerSsrc: simulcast layers NACKed each on its own', () => {
  it('NACKs only the layer that lost a packet, for its own SSRC', async () => {
    const { r } = receiver();
    nackPerSsrc(r);
    const lost: GenericNack[] = [];
    r.onPacketLost.subscribe((n) => void lost.push(n));
    // Two layers interleaved, as they arrive: A 100..105 without 103, B 5000..5005.
    const a = [100, 101, 102, 104, 105].map((s) => packet(0xaaaa, s));
    const b = [5000, 5001, 5002, 5003, 5004, 5005].map((s) => packet(0xbbbb, s));
    feed(
      r,
      a.flatMap((p, i) => [p, b[i]!]),
    );
    await new Promise((res) => setTimeout(res, 30));
    r.stop();
    expect(lost.length).toBeGreaterThan(0);
    expect(new Set(lost.map((n) => n.mediaSourceSsrc))).toEqual(new Set([0xaaaa]));
    expect(new Set(lost.flatMap((n) => n.lost))).toEqual(new Set([103]));
  });

  it("without it, werift's one handler sees the interleaved layers as loss (why it exists)", async () => {
    const { r } = receiver();
    const lost: GenericNack[] = [];
    r.onPacketLost.subscribe((n) => void lost.push(n));
    feed(r, [packet(0xaaaa, 100), packet(0xbbbb, 5000), packet(0xaaaa, 101), packet(0xbbbb, 5001)]);
    await new Promise((res) => setTimeout(res, 30));
    r.stop();
    expect(lost.flatMap((n) => n.lost).length).toBeGreaterThan(100);
  });
});
