import { describe, expect, it } from '@jest/globals';
import { dePacketizeRtpPackets, RtpHeader, RtpPacket } from 'werift';
import { AV1_OBU, splitObus, writeLeb128 } from '../../src/core/codecs/av1-obu.js';
import { parseAv1SequenceHeader } from '../../src/core/codecs/av1-sequence-header.js';
import { Av1SequenceHeaderCache } from '../../src/core/codecs/av1-temporal-unit.js';
import { startsKeyframe } from '../../src/core/codecs/keyframe.js';
import { depacketizeAv1 } from '../../src/ingest/rtp/av1-depacketizer.js';
import { av1DecoderConfig } from '../../src/live/relay/matroska/av1.js';

const hex = (s: string) => Buffer.from(s, 'hex');
// libaom (ffmpeg 5.1, -usage realtime) on testsrc2 640x360: the sequence header's payload.
const SEQ = hex('0000000cc4ff6736be4010');
/** An OBU as RTP carries it: no size field (the AV1 RTP spec's SHOULD), optional extension byte. */
const obu = (type: number, payload: Buffer, ext?: number) =>
  Buffer.concat([Buffer.from(ext === undefined ? [type << 3] : [(type << 3) | 4, ext]), payload]);
const SEQ_OBU = obu(AV1_OBU.sequenceHeader, SEQ);
const KEY = obu(AV1_OBU.frame, Buffer.concat([hex('10'), Buffer.alloc(2500, 0x5a)])); // frame_type KEY (0), shown
const INTER = obu(AV1_OBU.frame, hex('30aabbcc')); // show_existing 0, frame_type INTER (1)
const TD = obu(AV1_OBU.temporalDelimiter, Buffer.alloc(0));

/** Aggregation header Z Y W N, then elements (each with a leb128 length unless it is the W-th). */
function packet(h: { z?: boolean; y?: boolean; w: number; n?: boolean }, ...elements: Buffer[]): Buffer {
  const head = (h.z ? 0x80 : 0) | (h.y ? 0x40 : 0) | (h.w << 4) | (h.n ? 0x08 : 0);
  const parts: Buffer[] = [Buffer.from([head])];
  elements.forEach((e, i) => {
    if (h.w === 0 || i < h.w - 1) parts.push(writeLeb128(e.length));
    parts.push(e);
  });
  return Buffer.concat(parts);
}

describe('AV1 sequence header (AV1 5.5)', () => {
  it('reads profile, level, colour config and the largest frame size', () => {
    expect(parseAv1SequenceHeader(SEQ)).toMatchObject({
      seqProfile: 0,
      profile: 'Main',
      levelIdx: 1,
      level: '2.1',
      tier: 0,
      highBitdepth: false,
      monochrome: false,
      subsamplingX: 1,
      subsamplingY: 1,
      width: 640,
      height: 360,
    });
  });
});

describe('AV1 RTP depacketizer', () => {
  it('joins elements, W = 0 lengths and fragments across packets, dropping the temporal delimiter', () => {
    const tu = depacketizeAv1([
      packet({ y: true, w: 0, n: true }, TD, SEQ_OBU, KEY.subarray(0, 1000)),
      packet({ z: true, y: true, w: 1 }, KEY.subarray(1000, 2000)),
      packet({ z: true, w: 1 }, KEY.subarray(2000)),
    ]);
    const obus = splitObus(tu);
    expect(obus.map((o) => o.type)).toEqual([AV1_OBU.sequenceHeader, AV1_OBU.frame]);
    expect(obus[1]!.payload).toEqual(KEY.subarray(1));
  });

  it('keeps the extension byte before the size field, and two fragments that meet apart', () => {
    const a = obu(AV1_OBU.frame, Buffer.alloc(30, 1), 0x28);
    const b = obu(AV1_OBU.metadata, Buffer.alloc(20, 2));
    const tu = depacketizeAv1([
      packet({ y: true, w: 1 }, a.subarray(0, 10)),
      packet({ z: true, y: true, w: 2 }, a.subarray(10), b.subarray(0, 5)),
      packet({ z: true, w: 1 }, b.subarray(5)),
    ]);
    expect(tu.subarray(0, 3)).toEqual(Buffer.from([(AV1_OBU.frame << 3) | 6, 0x28, 30]));
    expect(splitObus(tu).map((o) => [o.type, o.extension, o.payload.length])).toEqual([
      [AV1_OBU.frame, 0x28, 30],
      [AV1_OBU.metadata, null, 20],
    ]);
  });

  it('refuses a continuation whose start was lost and an OBU left open', () => {
    expect(() => depacketizeAv1([packet({ z: true, w: 1 }, KEY.subarray(5))])).toThrow(/start/);
    expect(() => depacketizeAv1([packet({ y: true, w: 1 }, KEY.subarray(0, 5))])).toThrow(/continues/);
    expect(() => depacketizeAv1([hex('88aa')])).toThrow(/N and Z/);
  });

  it('is right where werift 0.24.4 is not (the reason it is ours)', () => {
    const rtp = (payload: Buffer, seq: number) =>
      new RtpPacket(new RtpHeader({ sequenceNumber: seq, timestamp: 1, marker: true }), payload);
    // W = 0, as libwebrtc sends a packet of more than three elements.
    const w0 = packet({ w: 0 }, SEQ_OBU, INTER);
    expect(() => dePacketizeRtpPackets('AV1', [rtp(w0, 1)])).toThrow();
    expect(splitObus(depacketizeAv1([w0])).map((o) => o.type)).toEqual([
      AV1_OBU.sequenceHeader,
      AV1_OBU.frame,
    ]);
    // An extension byte: werift writes the size before it.
    const ext = packet({ w: 1 }, obu(AV1_OBU.frame, hex('30aa'), 0x28));
    expect(dePacketizeRtpPackets('AV1', [rtp(ext, 1)]).data).not.toEqual(depacketizeAv1([ext]));
    expect(depacketizeAv1([ext])).toEqual(Buffer.from([(AV1_OBU.frame << 3) | 6, 0x28, 2, 0x30, 0xaa]));
  });

  it('tells key frame starts: the N bit, or a sequence header first', () => {
    expect(startsKeyframe('av1', packet({ w: 1, n: true }, KEY))).toBe(true);
    expect(startsKeyframe('av1', packet({ w: 2 }, SEQ_OBU, KEY))).toBe(true);
    expect(startsKeyframe('av1', packet({ w: 0 }, SEQ_OBU, KEY))).toBe(true);
    expect(startsKeyframe('av1', packet({ w: 1 }, INTER))).toBe(false);
    expect(startsKeyframe('av1', packet({ z: true, w: 1 }, SEQ_OBU))).toBe(false);
  });
});

describe('Av1SequenceHeaderCache', () => {
  it('marks key frames, and puts the last sequence header in front of one without it', () => {
    const cache = new Av1SequenceHeaderCache();
    expect(cache.process(depacketizeAv1([packet({ w: 1 }, INTER)]))).toMatchObject({ decodable: false });
    const first = cache.process(depacketizeAv1([packet({ w: 2 }, SEQ_OBU, KEY)]));
    expect(first).toMatchObject({ keyframe: true, decodable: true, sequenceHeader: { width: 640 } });
    expect(cache.process(depacketizeAv1([packet({ w: 1 }, INTER)]))).toMatchObject({
      keyframe: false,
      decodable: true,
    });
    const again = cache.process(depacketizeAv1([packet({ w: 1 }, KEY)]));
    expect(splitObus(again.data).map((o) => o.type)).toEqual([AV1_OBU.sequenceHeader, AV1_OBU.frame]);
  });
});

describe('av1C (AV1 ISOBMFF binding 2.3.3)', () => {
  it('copies profile, level and colour config and holds the sequence header', () => {
    const tu = depacketizeAv1([packet({ w: 2 }, SEQ_OBU, KEY)]);
    const c = av1DecoderConfig(tu)!;
    expect(c).toMatchObject({ width: 640, height: 360 });
    expect([...c.codecPrivate.subarray(0, 4)]).toEqual([0x81, 0x01, 0x0c, 0]);
    expect(splitObus(c.codecPrivate.subarray(4))[0]).toMatchObject({ type: 1, payload: SEQ });
    expect(av1DecoderConfig(depacketizeAv1([packet({ w: 1 }, INTER)]))).toBeNull();
  });
});
