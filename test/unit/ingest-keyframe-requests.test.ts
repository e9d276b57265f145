import { describe, expect, it } from '@jest/globals';
import { RtcpPacketConverter, type RTCRtpReceiver, type RtcpPacket } from 'werift';
import { KeyframeRequester } from '../../src/ingest/whip/keyframe-requester.js';

/** The two things KeyframeRequester uses of a werift receiver. */
function fakeReceiver(state = 'connected') {
  const sent: Buffer[] = [];
  const receiver = {
    rtcpSsrc: 0x1111,
    dtlsTransport: {
      state,
      sendRtcp: async (packets: RtcpPacket[]) => {
        for (const p of packets) sent.push(p.serialize());
        return 0;
      },
    },
  } as unknown as RTCRtpReceiver;
  return { receiver, sent };
}

describe('KeyframeRequester', () => {
  it('sends a PLI when nack pli was negotiated, at most once per interval', () => {
    const { receiver, sent } = fakeReceiver();
    const k = new KeyframeRequester(receiver, { nack: true, pli: true, fir: true }, 500);
    expect(k.request(0)).toBe(false); // no media SSRC known yet
    k.mediaSsrc = 0xabcdef;
    expect([0, 200, 499, 500, 999, 1000].map((t) => k.request(t))).toEqual([
      true,
      false,
      false,
      true,
      false,
      true,
    ]);
    expect(k.plisSent).toBe(3);
    const [pli] = RtcpPacketConverter.deSerialize(sent[0]!);
    expect(pli).toMatchObject({ type: 206, feedback: { senderSsrc: 0x1111, mediaSsrc: 0xabcdef } });
  });

  it('sends a FIR (RFC 5104) when only ccm fir was negotiated, with a new sequence number each time', () => {
    const { receiver, sent } = fakeReceiver();
    const k = new KeyframeRequester(receiver, { nack: true, pli: false, fir: true }, 500);
    k.mediaSsrc = 0xabcdef;
    k.request(0);
    k.request(600);
    expect(k.firsSent).toBe(2);
    const firs = sent.map((b) => RtcpPacketConverter.deSerialize(b)[0]);
    expect(firs[0]).toMatchObject({
      type: 206,
      feedback: { mediaSsrc: 0, fir: [{ ssrc: 0xabcdef, sequenceNumber: 0 }] },
    });
    expect(firs[1]).toMatchObject({ feedback: { fir: [{ ssrc: 0xabcdef, sequenceNumber: 1 }] } });
  });

  it('sends nothing without negotiated feedback or before DTLS is up', () => {
    const none = new KeyframeRequester(fakeReceiver().receiver, { nack: true, pli: false, fir: false }, 500);
    none.mediaSsrc = 1;
    expect(none.request(0)).toBe(false);
    const early = new KeyframeRequester(
      fakeReceiver('connecting').receiver,
      { nack: true, pli: true, fir: false },
      500,
    );
    early.mediaSsrc = 1;
    expect(early.request(0)).toBe(false);
  });
});
