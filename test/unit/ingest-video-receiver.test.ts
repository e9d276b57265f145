import { describe, expect, it } from '@jest/globals';
import { RtpHeader, RtpPacket } from 'werift';
import type { MediaFrame } from '../../src/core/media.js';
import { h264NalType, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { AudioReceiver } from '../../src/ingest/rtp/audio-receiver.js';
import { MediaEpoch } from '../../src/ingest/rtp/media-clock.js';
import { VideoReceiver, type KeyframeReason } from '../../src/ingest/rtp/video-receiver.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const SPS = hex('6764001eacd940a02ff970110000030001000003003c0f162d96');
const PPS = hex('68ebe3cb22c0');
const idr = (n: number) => Buffer.concat([Buffer.from([0x65]), Buffer.alloc(n, 0xab)]);
const slice = (n: number) => Buffer.concat([Buffer.from([0x41]), Buffer.alloc(n, 0xcd)]);

/** RFC 6184 packetization-mode 1, as a sender does it: STAP-A for small units, FU-A for big ones. */
function packetize(nals: Buffer[], mtu = 1000): Buffer[] {
  const out: Buffer[] = [];
  const small = nals.filter((n) => n.length < 100);
  if (small.length > 1) {
    out.push(
      Buffer.concat([
        Buffer.from([24]),
        ...small.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 255]), n]),
      ]),
    );
  } else out.push(...small);
  for (const n of nals.filter((x) => x.length >= 100)) {
    const body = n.subarray(1);
    for (let off = 0; off < body.length; off += mtu) {
      const start = off === 0 ? 0x80 : 0;
      const end = off + mtu >= body.length ? 0x40 : 0;
      out.push(
        Buffer.concat([
          Buffer.from([(n[0]! & 0xe0) | 28, start | end | (n[0]! & 0x1f)]),
          body.subarray(off, off + mtu),
        ]),
      );
    }
  }
  return out;
}

class Sender {
  seq = 40_000;
  frames = 0;
  /** RTP packets of the next frame (33 ms apart at 90 kHz). */
  frame(nals: Buffer[]): RtpPacket[] {
    const ts = (123_456 + this.frames++ * 3000) >>> 0;
    const payloads = packetize(nals);
    return payloads.map(
      (payload, i) =>
        new RtpPacket(
          new RtpHeader({
            sequenceNumber: this.seq++ & 0xffff,
            timestamp: ts,
            payloadType: 96,
            marker: i === payloads.length - 1,
            ssrc: 1,
          }),
          payload,
        ),
    );
  }
}

function setup() {
  const frames: MediaFrame[] = [];
  const wants: KeyframeReason[] = [];
  const rx = new VideoReceiver({
    codec: 'h264',
    epoch: new MediaEpoch(),
    reorderDelayMs: 100,
    onFrame: (f) => frames.push(f),
    onKeyframeNeeded: (r) => wants.push(r),
  });
  return { rx, frames, wants, tx: new Sender() };
}

describe('VideoReceiver (H.264)', () => {
  it('delivers access units from STAP-A and FU-A packets, key frame first, on the session clock', () => {
    const { rx, frames, wants, tx } = setup();
    const gop = [[SPS, PPS, idr(3000)], [slice(1500)], [slice(200)]];
    gop.forEach((nals, i) => tx.frame(nals).forEach((p) => rx.push(p, 1000 + i * 33)));
    expect(frames.map((f) => f.keyframe)).toEqual([true, false, false]);
    expect(splitAnnexB(frames[0]!.data)).toEqual([SPS, PPS, idr(3000)]);
    expect(frames.map((f) => f.timeUs)).toEqual([0, 33_333, 66_667]);
    expect(rx.stats(1100)).toMatchObject({
      width: 640,
      height: 360,
      profile: 'High',
      frames: 3,
      keyframes: 1,
    });
    expect(wants).toEqual(['start']);
  });

  it('puts reordered packets back together', () => {
    const { rx, frames, tx } = setup();
    const packets = tx.frame([SPS, PPS, idr(5000)]);
    // The first packet opens the sequence; the rest arrive in any order.
    const shuffled = [
      packets[0]!,
      packets[3]!,
      packets[5]!,
      packets[1]!,
      packets[2]!,
      ...packets.slice(4, 5),
      ...packets.slice(6),
    ];
    shuffled.forEach((p) => rx.push(p, 1000));
    expect(frames).toHaveLength(1);
    expect(splitAnnexB(frames[0]!.data)).toEqual([SPS, PPS, idr(5000)]);
  });

  it('drops frames before the first key frame and asks for one', () => {
    const { rx, frames, wants, tx } = setup();
    tx.frame([slice(300)]).forEach((p) => rx.push(p, 1000));
    tx.frame([slice(300)]).forEach((p) => rx.push(p, 1033));
    expect(frames).toHaveLength(0);
    expect(wants).toEqual(['start', 'undecodable', 'undecodable']); // no parameter sets seen yet
    tx.frame([SPS, PPS, idr(500)]).forEach((p) => rx.push(p, 1066));
    expect(frames.map((f) => f.keyframe)).toEqual([true]);
    expect(rx.stats(1100).framesDropped).toBe(2);
  });

  it('after a loss drops frames until the next key frame, asking for it', () => {
    const { rx, frames, wants, tx } = setup();
    let t = 1000;
    const send = (nals: Buffer[], lose?: number) =>
      tx.frame(nals).forEach((p, i) => {
        if (i !== lose) rx.push(p, t);
      });
    send([SPS, PPS, idr(2000)]);
    t += 33;
    send([slice(2500)], 1); // its middle packet never comes
    for (let i = 0; i < 5; i++) {
      t += 33;
      send([slice(300)]);
    }
    expect(frames).toHaveLength(1); // the gap is still being waited for
    rx.poll(t + 200);
    expect(wants).toContain('loss');
    t += 250;
    send([slice(300)]);
    expect(frames).toHaveLength(1); // no key frame yet
    t += 33;
    send([idr(800)]); // without its parameter sets: the cached ones go in front
    expect(frames).toHaveLength(2);
    expect(splitAnnexB(frames[1]!.data).map(h264NalType)).toEqual([7, 8, 5]);
    expect(rx.stats(t).packetsLost).toBe(1);
  });
});

describe('AudioReceiver', () => {
  it('hands each Opus packet on as a frame, in order, with gaps left to the decoder', () => {
    const frames: MediaFrame[] = [];
    const rx = new AudioReceiver({
      epoch: new MediaEpoch(),
      reorderDelayMs: 60,
      onFrame: (f) => frames.push(f),
    });
    const pkt = (seq: number) =>
      new RtpPacket(
        new RtpHeader({ sequenceNumber: seq, timestamp: seq * 960, payloadType: 111, ssrc: 2 }),
        Buffer.from([0xfc, seq]),
      );
    for (const [seq, at] of [
      [1, 0],
      [3, 40],
      [2, 41],
      [5, 80],
      [6, 150],
    ] as const)
      rx.push(pkt(seq), at);
    expect(frames.map((f) => f.data[1])).toEqual([1, 2, 3, 5, 6]);
    expect(frames.map((f) => f.timeUs)).toEqual([0, 20_000, 40_000, 80_000, 100_000]);
    expect(frames.every((f) => f.keyframe && f.codec === 'opus')).toBe(true);
    expect(rx.stats(150)).toMatchObject({ packetsReceived: 5, packetsLost: 1, frames: 5 });
  });
});
