import { describe, expect, it } from '@jest/globals';
import {
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSrPacket,
} from 'werift';
import {
  LOSS_RECOVERY_PER_S,
  REMB_MAX_AGE_MS,
  ViewerBandwidth,
  followedEstimate,
  fractionLostOf,
  rembBitrate,
  rembPacket,
} from '../../src/ingest/whep/bandwidth-estimate.js';

/** RFC 3550's fixed point: the fraction lost of `p` (0..1) as a report block carries it. */
const fraction = (p: number): number => Math.floor(p * 256);

describe('ViewerBandwidth: REMB', () => {
  it('knows nothing until told', () => {
    const bw = new ViewerBandwidth();
    expect(bw.estimateBps).toBeNull();
    expect(bw.lossFraction).toBe(0);
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(0, 0);
    expect(bw.estimateBps).toBeNull(); // a clear link is no limit
  });

  it('follows the latest REMB, down and up', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(3_000_000, 0);
    expect(bw.estimateBps).toBe(3_000_000);
    bw.onRemb(900_000, 1000);
    expect(bw.estimateBps).toBe(900_000);
    bw.onRemb(4_000_000, 2000);
    expect(bw.estimateBps).toBe(4_000_000);
  });

  it('ages a REMB out 5 s after the last one', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(1_000_000, 10_000);
    bw.advance(10_000 + REMB_MAX_AGE_MS - 1);
    expect(bw.estimateBps).toBe(1_000_000);
    bw.onSent(796_000, 10_000 + REMB_MAX_AGE_MS);
    expect(bw.estimateBps).toBeNull();
    bw.onRemb(2_000_000, 20_000);
    expect(bw.estimateBps).toBe(2_000_000);
  });

  it('ignores time going backwards', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(1_000_000, 10_000);
    bw.advance(12_000);
    bw.advance(0);
    bw.advance(14_999);
    expect(bw.estimateBps).toBe(1_000_000);
  });
});

describe('ViewerBandwidth: loss (libwebrtc’s classic rule)', () => {
  it('cuts a 20% loss to sendRate × (1 − loss / 2), under the REMB', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(5_000_000, 0);
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(fraction(0.2), 500);
    expect(bw.lossFraction).toBeCloseTo(51 / 256, 6);
    expect(bw.estimateBps).toBeCloseTo(2_596_000 * (1 - 51 / 256 / 2), 0);
    expect(bw.estimateBps!).toBeLessThan(2_596_000);
  });

  it('does not compound reports of the same loss at the same send rate', () => {
    const bw = new ViewerBandwidth();
    bw.onSent(2_596_000, 0);
    for (let t = 0; t < 5000; t += 1000) bw.onReceiverReport(fraction(0.2), t);
    expect(bw.estimateBps).toBeCloseTo(2_596_000 * (1 - 51 / 256 / 2), 0);
  });

  it('cuts from the lower send rate once the server has stepped down', () => {
    const bw = new ViewerBandwidth();
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(fraction(0.3), 0);
    bw.onSent(1_296_000, 1000);
    bw.onReceiverReport(fraction(0.3), 1000);
    expect(bw.estimateBps).toBeCloseTo(1_296_000 * (1 - 76 / 256 / 2), 0);
  });

  it('cuts from the REMB when the send rate is not known', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(2_000_000, 0);
    bw.onReceiverReport(fraction(0.2), 0);
    expect(bw.estimateBps).toBeCloseTo(2_000_000 * (1 - 51 / 256 / 2), 0);
  });

  it('holds between 2% and 10%', () => {
    const bw = new ViewerBandwidth();
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(fraction(0.2), 0);
    const cut = bw.estimateBps;
    // Smoothing brings 20% down into the hold band, towards the 5% the reports say.
    for (let t = 1000; t <= 10_000; t += 1000) bw.onReceiverReport(fraction(0.05), t);
    expect(bw.lossFraction).toBeGreaterThan(0.02);
    expect(bw.lossFraction).toBeLessThanOrEqual(0.1);
    expect(bw.estimateBps).toBe(cut);
  });

  it('recovers by 8% a second once loss stays under 2%, up to the REMB', () => {
    const bw = new ViewerBandwidth();
    bw.onRemb(3_000_000, 0);
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(fraction(0.2), 0);
    const cut = bw.estimateBps!;
    // Smoothed: 10%, 5%, 2.5%, then 1.2%: clear from the fourth clean report on.
    let t = 0;
    while (bw.lossFraction >= 0.02) bw.onReceiverReport(0, (t += 1000));
    expect(t).toBe(4000);
    expect(bw.estimateBps).toBe(cut);
    bw.onRemb(3_000_000, 5000);
    expect(bw.estimateBps).toBeCloseTo(cut * LOSS_RECOVERY_PER_S, 0);
    bw.onReceiverReport(0, 7000);
    expect(bw.estimateBps).toBeCloseTo(cut * LOSS_RECOVERY_PER_S ** 3, 0);
    for (let s = 8000; s <= 20_000; s += 1000) {
      bw.onRemb(3_000_000, s);
      bw.onReceiverReport(0, s);
    }
    expect(bw.estimateBps).toBe(3_000_000);
  });

  it('stops recovering when loss comes back', () => {
    const bw = new ViewerBandwidth();
    bw.onSent(1_000_000, 0);
    bw.onReceiverReport(fraction(0.5), 0);
    for (let t = 1000; t <= 5000; t += 1000) bw.onReceiverReport(0, t); // clear at 5 s
    bw.onReceiverReport(fraction(0.1), 6000); // smoothed back into the hold band
    const held = bw.estimateBps;
    expect(held).toBeCloseTo(750_000 * LOSS_RECOVERY_PER_S, 0);
    bw.advance(60_000);
    expect(bw.estimateBps).toBe(held);
  });
});

describe('REMB and receiver reports through werift', () => {
  /** Serializes through werift and parses back as its DTLS transport does for inbound SRTCP. */
  const roundTrip = (packets: { serialize(): Buffer }[]) =>
    RtcpPacketConverter.deSerialize(Buffer.concat(packets.map((p) => p.serialize())));

  it('reads the bitrate of a REMB built from werift’s classes', () => {
    // 1 000 000 = 250 000 × 2^2: an 18-bit mantissa and a 6-bit exponent.
    const remb = new RtcpPayloadSpecificFeedback({
      feedback: new ReceiverEstimatedMaxBitrate({
        senderSsrc: 1,
        mediaSsrc: 0,
        ssrcNum: 1,
        brExp: 2,
        brMantissa: 250_000,
        ssrcFeedbacks: [0x12345678],
      }),
    });
    const [p] = roundTrip([remb]);
    expect(p).toBeInstanceOf(RtcpPayloadSpecificFeedback);
    expect(rembBitrate(p as RtcpPayloadSpecificFeedback)).toBe(1_000_000);
  });

  it('reads a REMB as a browser puts it on the wire', () => {
    // draft-alvestrand-rmcat-remb §2.2: V=2 FMT=15 PT=206 len=5, sender, media 0, "REMB",
    // Num SSRC=1, BR Exp=2, BR Mantissa=250 000, then the SSRC.
    const wire = Buffer.from('8fce0005000000010000000052454d42010bd09012345678', 'hex');
    const [p] = RtcpPacketConverter.deSerialize(wire);
    expect(rembBitrate(p as RtcpPayloadSpecificFeedback)).toBe(1_000_000);
  });

  it('builds REMBs that werift reads back, with the mantissa’s precision', () => {
    for (const bps of [0, 64_000, 262_143, 796_000, 2_596_000, 50_000_000]) {
      const [p] = roundTrip([rembPacket(bps, 1, [0xaabbccdd, 0x11223344])]);
      const psfb = p as RtcpPayloadSpecificFeedback;
      const got = rembBitrate(psfb)!;
      expect(got).toBeLessThanOrEqual(bps);
      expect(bps - got).toBeLessThan(Math.max(1, bps / 2 ** 17));
      // werift's router gives a REMB to the sender of its first SSRC.
      expect((psfb.feedback as ReceiverEstimatedMaxBitrate).ssrcFeedbacks.slice(0, 2)).toEqual([
        0xaabbccdd, 0x11223344,
      ]);
    }
  });

  it('reads no bitrate from other payload-specific feedback', () => {
    const pli = new RtcpPayloadSpecificFeedback({
      feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 2 }),
    });
    const [p] = roundTrip([pli]);
    expect(rembBitrate(p as RtcpPayloadSpecificFeedback)).toBeNull();
  });

  it('reads the fraction lost for one SSRC from an RR, and from an SR’s report blocks', () => {
    const block = (ssrc: number, fractionLost: number) =>
      new RtcpReceiverInfo({
        ssrc,
        fractionLost,
        packetsLost: 10,
        highestSequence: 1000,
        jitter: 5,
        lsr: 0,
        dlsr: 0,
      });
    const rr = new RtcpRrPacket({ ssrc: 7, reports: [block(0x1111, 0), block(0x2222, 51)] });
    const sr = new RtcpSrPacket({
      ssrc: 8,
      senderInfo: new RtcpSenderInfo({ ntpTimestamp: 0n, rtpTimestamp: 0, packetCount: 0, octetCount: 0 }),
      reports: [block(0x2222, 128)],
    });
    // A compound packet, as a browser sends RR and REMB together.
    const [p1, p2, p3] = roundTrip([rr, sr, rembPacket(1_000_000, 7, [0x2222])]);
    expect(fractionLostOf(p1!, 0x2222)).toBe(51);
    expect(fractionLostOf(p1!, 0x1111)).toBe(0);
    expect(fractionLostOf(p1!, 0x3333)).toBeNull();
    expect(fractionLostOf(p2!, 0x2222)).toBe(128);
    expect(fractionLostOf(p3!, 0x2222)).toBeNull();
    expect(rembBitrate(p3 as RtcpPayloadSpecificFeedback)).toBe(1_000_000);

    const bw = new ViewerBandwidth();
    bw.onSent(2_596_000, 0);
    bw.onReceiverReport(fractionLostOf(p1!, 0x2222)!, 0);
    expect(bw.lossFraction).toBeCloseTo(51 / 256, 6);
  });
});

describe('followedEstimate: a receive-side estimate tells congestion, not room', () => {
  it('takes an estimate under 85 % of the video sent as it is (the link is congested)', () => {
    expect(followedEstimate(500_000, 700_000, 800_000)).toBe(500_000);
  });
  it('takes one near the video sent as at least everything sent (Chromium: 700 kb/s for 744)', () => {
    expect(followedEstimate(700_000, 744_000, 850_000)).toBeCloseTo(850_000 / 0.85);
  });
  it('keeps a higher one, and no estimate, as they are', () => {
    expect(followedEstimate(5_000_000, 744_000, 850_000)).toBe(5_000_000);
    expect(followedEstimate(null, 744_000, 850_000)).toBeNull();
    expect(followedEstimate(400_000, 0, 0)).toBe(400_000);
  });
});
