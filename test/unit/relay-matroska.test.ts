import { describe, expect, it } from '@jest/globals';
import { nalToRbsp } from '../../src/core/codecs/bit-reader.js';
import { splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { avcDecoderConfig, lengthPrefixed, parseSps } from '../../src/live/relay/matroska/avc.js';
import { idBytes, sizeBytes, uint, UNKNOWN_SIZE } from '../../src/live/relay/matroska/ebml.js';
import { ID } from '../../src/live/relay/matroska/ids.js';
import { opusHead } from '../../src/live/relay/matroska/opus.js';
import { vp8KeyframeSize, vp9KeyframeSize } from '../../src/live/relay/matroska/vpx.js';
import { MatroskaLiveWriter, type MkvTrack } from '../../src/live/relay/matroska/writer.js';
import { readEbml, readUint } from '../helpers/ebml-reader.js';

const hex = (s: string) => Buffer.from(s, 'hex');

// Parameter sets and key frame headers written by ffmpeg 5.1 (libx264, libvpx) from testsrc2.
const SPS_640x360_HIGH = hex('6764001eacd940a02ff970110000030001000003003c0f162d96');
const SPS_1920x1080_HIGH = hex('67640028acd940780227e5c044000003000400000300f03c60c658');
const SPS_640x360_BASELINE = hex('6742c01eda0280bfe5c044000003000400000300f03c58ba80');
const PPS = hex('68ef8fcb');
const VP8_KEY_640x360 = hex('f0c6009d012a80026801000708858588');
const VP9_KEY_640x360 = hex('824983420027f016760438241c184a10');
const VP9_KEY_320x240_444 = hex('a249834200027e01dec0870483830940');

describe('EBML encoding', () => {
  it('writes ids with their marker bits and sizes as the shortest vint', () => {
    expect(idBytes(0x1a45dfa3)).toEqual(hex('1a45dfa3'));
    expect(idBytes(0xa3)).toEqual(hex('a3'));
    expect(idBytes(0x2ad7b1)).toEqual(hex('2ad7b1'));
    expect(sizeBytes(0)).toEqual(hex('80'));
    expect(sizeBytes(126)).toEqual(hex('fe'));
    // 127 would be all ones in one byte, which means "unknown".
    expect(sizeBytes(127)).toEqual(hex('407f'));
    expect(sizeBytes(16382)).toEqual(hex('7ffe'));
    expect(sizeBytes(16383)).toEqual(hex('203fff'));
    expect(UNKNOWN_SIZE).toEqual(hex('01ffffffffffffff'));
    expect(uint(ID.TimestampScale, 1_000_000)).toEqual(hex('2ad7b1830f4240'));
    expect(uint(ID.TrackNumber, 0)).toEqual(hex('d78100'));
    expect(() => sizeBytes(-1)).toThrow(RangeError);
  });
});

describe('H.264 for Matroska', () => {
  it('splits Annex-B on 3- and 4-byte start codes and length-prefixes the units', () => {
    const au = Buffer.concat([
      hex('00000001'),
      SPS_640x360_HIGH,
      hex('000001'),
      PPS,
      hex('00000001'),
      hex('6588'),
    ]);
    const units = splitAnnexB(au);
    expect(units).toEqual([SPS_640x360_HIGH, PPS, hex('6588')]);
    const lp = lengthPrefixed(units);
    expect(lp.readUInt32BE(0)).toBe(SPS_640x360_HIGH.length);
    expect(lp.subarray(4, 4 + SPS_640x360_HIGH.length)).toEqual(SPS_640x360_HIGH);
    expect(lp.length).toBe(units.reduce((n, u) => n + 4 + u.length, 0));
  });

  it('removes emulation prevention bytes', () => {
    expect(nalToRbsp(hex('0000030100000302'))).toEqual(hex('000001000002'));
  });

  it.each([
    ['640x360 High (cropped from 368)', SPS_640x360_HIGH, 100, 640, 360],
    ['1920x1080 High (cropped from 1088)', SPS_1920x1080_HIGH, 100, 1920, 1080],
    ['640x360 Constrained Baseline', SPS_640x360_BASELINE, 66, 640, 360],
  ])('reads the display size from an SPS: %s', (_name, sps, profile, width, height) => {
    const info = parseSps(sps);
    expect(info).toMatchObject({ profileIdc: profile, width, height, chromaFormatIdc: 1, bitDepthLuma: 8 });
  });

  it('builds an avcC with the High-profile extension', () => {
    const avcC = avcDecoderConfig([SPS_640x360_HIGH], [PPS]);
    // version, profile, compatibility, level, 0xfc|3, 0xe0|1 SPS
    expect([...avcC.subarray(0, 6)]).toEqual([1, 100, 0, 30, 0xff, 0xe1]);
    expect(avcC.readUInt16BE(6)).toBe(SPS_640x360_HIGH.length);
    const afterSps = 8 + SPS_640x360_HIGH.length;
    expect(avcC[afterSps]).toBe(1);
    expect(avcC.readUInt16BE(afterSps + 1)).toBe(PPS.length);
    // chroma_format 4:2:0, 8-bit luma and chroma, no SPS extensions.
    expect([...avcC.subarray(-4)]).toEqual([0xfd, 0xf8, 0xf8, 0]);
    expect(avcDecoderConfig([SPS_640x360_BASELINE], [PPS]).length).toBe(
      6 + 2 + SPS_640x360_BASELINE.length + 1 + 2 + PPS.length,
    );
    expect(() => avcDecoderConfig([], [PPS])).toThrow(RangeError);
  });
});

describe('VP8, VP9 and Opus headers', () => {
  it('reads key frame sizes', () => {
    expect(vp8KeyframeSize(VP8_KEY_640x360)).toEqual({ width: 640, height: 360 });
    expect(vp9KeyframeSize(VP9_KEY_640x360)).toEqual({ width: 640, height: 360 });
    expect(vp9KeyframeSize(VP9_KEY_320x240_444)).toEqual({ width: 320, height: 240 });
    // An inter frame (VP8 frame tag bit 0 set) and garbage have no size.
    expect(vp8KeyframeSize(hex('f1c6009d012a80026801'))).toBeNull();
    expect(vp9KeyframeSize(hex('86'))).toBeNull();
    expect(vp9KeyframeSize(hex(''))).toBeNull();
  });

  it('writes OpusHead (RFC 7845 5.1)', () => {
    expect(opusHead(2)).toEqual(hex('4f707573486561640102000080bb0000000000'));
    expect(opusHead(1, 48000, 312)[9]).toBe(1);
    expect(opusHead(1, 48000, 312).readUInt16LE(10)).toBe(312);
  });
});

describe('MatroskaLiveWriter', () => {
  const tracks: MkvTrack[] = [
    { kind: 'video', codecId: 'V_VP8', width: 640, height: 360 },
    { kind: 'audio', codecId: 'A_OPUS', codecPrivate: opusHead(2), sampleRate: 48000, channels: 2 },
  ];

  it('writes a header with a Segment of unknown size and both tracks', () => {
    const els = readEbml(new MatroskaLiveWriter(tracks).header());
    const ids = els.map((e) => e.id);
    expect(ids.slice(0, 8)).toEqual([
      ID.EBML,
      ID.EBMLVersion,
      ID.EBMLReadVersion,
      ID.EBMLMaxIDLength,
      ID.EBMLMaxSizeLength,
      ID.DocType,
      ID.DocTypeVersion,
      ID.DocTypeReadVersion,
    ]);
    expect(els.find((e) => e.id === ID.DocType)?.data.toString()).toBe('matroska');
    expect(els.find((e) => e.id === ID.Segment)?.size).toBeNull();
    expect(readUint(els.find((e) => e.id === ID.TimestampScale)!.data)).toBe(1_000_000);
    expect(els.filter((e) => e.id === ID.TrackEntry)).toHaveLength(2);
    expect(els.filter((e) => e.id === ID.CodecID).map((e) => e.data.toString())).toEqual(['V_VP8', 'A_OPUS']);
    expect(readUint(els.find((e) => e.id === ID.PixelWidth)!.data)).toBe(640);
    expect(readUint(els.find((e) => e.id === ID.PixelHeight)!.data)).toBe(360);
    expect(els.find((e) => e.id === ID.SamplingFrequency)!.data.readDoubleBE(0)).toBe(48000);
    expect(els.find((e) => e.id === ID.CodecPrivate)!.data).toEqual(opusHead(2));
    expect(ids).not.toContain(ID.Cluster);
  });

  it('opens a Cluster at each video key frame and when the 16-bit offset would overflow', () => {
    const w = new MatroskaLiveWriter(tracks);
    const bytes = Buffer.concat([
      w.block(1, 0, true, hex('aa')),
      w.block(2, 0, true, hex('bb')),
      w.block(1, 33, false, hex('cc')),
      w.block(2, 20, true, hex('dd')),
      w.block(1, 1000, true, hex('ee')),
      // Audio a little earlier than the cluster that the key frame opened: a negative offset.
      w.block(2, 990, true, hex('ff')),
      w.block(1, 1000 + 40_000, false, hex('11')),
    ]);
    const els = readEbml(bytes);
    const clusters = els.filter((e) => e.id === ID.Cluster);
    expect(clusters).toHaveLength(3);
    expect(clusters.every((c) => c.size === null)).toBe(true);
    expect(els.filter((e) => e.id === ID.Timestamp).map((e) => readUint(e.data))).toEqual([0, 1000, 41_000]);
    const blocks = els
      .filter((e) => e.id === ID.SimpleBlock)
      .map((e) => ({
        track: (e.data[0] ?? 0) & 0x7f,
        rel: e.data.readInt16BE(1),
        key: ((e.data[3] ?? 0) & 0x80) !== 0,
        payload: e.data.subarray(4).toString('hex'),
      }));
    expect(blocks).toEqual([
      { track: 1, rel: 0, key: true, payload: 'aa' },
      { track: 2, rel: 0, key: true, payload: 'bb' },
      { track: 1, rel: 33, key: false, payload: 'cc' },
      { track: 2, rel: 20, key: true, payload: 'dd' },
      { track: 1, rel: 0, key: true, payload: 'ee' },
      { track: 2, rel: -10, key: true, payload: 'ff' },
      { track: 1, rel: 0, key: false, payload: '11' },
    ]);
  });

  it('refuses unknown tracks and negative times', () => {
    const w = new MatroskaLiveWriter(tracks);
    expect(() => w.block(3, 0, true, hex('00'))).toThrow(RangeError);
    expect(() => w.block(1, -1, true, hex('00'))).toThrow(RangeError);
  });
});
