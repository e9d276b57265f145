import { describe, expect, it } from '@jest/globals';
import { joinAnnexB, splitAnnexB } from '../../src/core/codecs/h264-access-unit.js';
import { H265ParameterSetCache, h265NalType } from '../../src/core/codecs/h265-access-unit.js';
import { h265LevelName, parseH265Sps } from '../../src/core/codecs/h265-sps.js';
import { startsKeyframe } from '../../src/core/codecs/keyframe.js';
import { depacketizeH265 } from '../../src/ingest/rtp/h265-depacketizer.js';
import { hevcDecoderConfig } from '../../src/live/relay/matroska/hevc.js';

// x265 3.5 (ffmpeg 5.1, -preset ultrafast, repeat-headers=1) on testsrc2 640x360.
const hex = (s: string) => Buffer.from(s, 'hex');
const VPS = hex('40010c01ffff01600000030090000003000003003f959409');
const SPS = hex('42010101600000030090000003000003003fa005020171f2e595952930bc05a020000003002000000303c1');
const PPS = hex('4401c073c189');
const AUD = hex('460110');
const IDR = hex('2601af1e11223344'); // IDR_W_RADL (19), slice data made up
const TRAIL = hex('0201d0aabbcc'); // TRAIL_R (1)
const types = (au: Buffer) => splitAnnexB(au).map(h265NalType);

describe('H.265 SPS (ITU-T H.265 7.3.2.2)', () => {
  it('reads profile, tier, level and the size after the conformance window', () => {
    expect(parseH265Sps(SPS)).toMatchObject({
      profileIdc: 1,
      profile: 'Main',
      tier: 'Main',
      levelIdc: 63,
      level: '2.1',
      width: 640,
      height: 360,
      chromaFormatIdc: 1,
      bitDepthLuma: 8,
    });
  });

  it('names levels as A.4 does (30 x the level number)', () => {
    expect([30, 63, 93, 120, 153, 186].map(h265LevelName)).toEqual(['1', '2.1', '3.1', '4', '5.1', '6.2']);
  });

  it('refuses what is not an SPS, or is cut short', () => {
    expect(() => parseH265Sps(PPS)).toThrow(/not an SPS/);
    expect(() => parseH265Sps(SPS.subarray(0, 12))).toThrow();
  });
});

describe('H265ParameterSetCache', () => {
  it('passes an IRAP picture with its sets through and reads the SPS', () => {
    const au = joinAnnexB([AUD, VPS, SPS, PPS, IDR]);
    const f = new H265ParameterSetCache().process(au);
    expect(f).toMatchObject({ keyframe: true, decodable: true });
    expect(f.data).toBe(au);
    expect(f.sps).toMatchObject({ width: 640, height: 360 });
  });

  it('puts the sets in front of an IRAP picture without them (after the AUD), seeded from sprop-*', () => {
    const cache = new H265ParameterSetCache([VPS, SPS, PPS]);
    expect(types(cache.process(joinAnnexB([AUD, IDR])).data)).toEqual([35, 32, 33, 34, 19]);
    expect(cache.process(joinAnnexB([TRAIL]))).toMatchObject({ keyframe: false, decodable: true });
  });

  it('drops pictures until the sets are known', () => {
    const cache = new H265ParameterSetCache();
    expect(cache.process(joinAnnexB([IDR]))).toMatchObject({ keyframe: false, decodable: false });
    expect(cache.process(joinAnnexB([TRAIL]))).toMatchObject({ decodable: false });
  });
});

/** RFC 7798 packets built by hand: single NAL, aggregation packet (48), fragmentation units (49). */
function ap(...nals: Buffer[]): Buffer {
  const parts: Buffer[] = [hex('6001')];
  for (const n of nals) parts.push(Buffer.from([n.length >> 8, n.length & 0xff]), Buffer.from(n));
  return Buffer.concat(parts);
}
function fus(nal: Buffer, size: number): Buffer[] {
  const type = h265NalType(nal);
  const header = Buffer.from([(nal[0]! & 0x81) | (49 << 1), nal[1]!]);
  const body = nal.subarray(2);
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) {
    const s = i === 0 ? 0x80 : 0;
    const e = i + size >= body.length ? 0x40 : 0;
    out.push(Buffer.concat([header, Buffer.from([s | e | type]), body.subarray(i, i + size)]));
  }
  return out;
}

describe('RFC 7798 depacketizer', () => {
  const bigIdr = Buffer.concat([hex('2601'), Buffer.alloc(3000, 0xab)]);

  it('joins single NAL units, aggregation packets and fragmentation units into Annex-B', () => {
    const au = depacketizeH265([ap(VPS, SPS, PPS), ...fus(bigIdr, 1000), TRAIL]);
    expect(splitAnnexB(au)).toEqual([VPS, SPS, PPS, bigIdr, TRAIL]);
  });

  it('refuses a fragment whose start was lost, an unfinished one, and S with E', () => {
    const parts = fus(bigIdr, 1000);
    expect(() => depacketizeH265(parts.slice(1))).toThrow(/without its start/);
    expect(() => depacketizeH265(parts.slice(0, 2))).toThrow(/no end/);
    expect(() => depacketizeH265([Buffer.from([0x62, 0x01, 0xd3, 1])])).toThrow(/both S and E/);
    expect(() => depacketizeH265([hex('6001ffff00')])).toThrow(/out of range/);
    expect(() => depacketizeH265([hex('6401aabb')])).toThrow(/not supported/); // PACI
  });

  it('tells key frame starts from the first bytes of a packet', () => {
    expect(startsKeyframe('h265', ap(VPS, SPS, PPS))).toBe(true);
    expect(startsKeyframe('h265', fus(bigIdr, 1000)[0]!)).toBe(true);
    expect(startsKeyframe('h265', fus(bigIdr, 1000)[1]!)).toBe(false);
    expect(startsKeyframe('h265', TRAIL)).toBe(false);
  });
});

describe('hvcC (ISO/IEC 14496-15 8.3.3.1)', () => {
  it('copies profile, level and format from the SPS and holds the three arrays', () => {
    const c = hevcDecoderConfig([VPS, SPS, PPS]);
    expect(c[0]).toBe(1);
    expect(c[1]! & 0x1f).toBe(1); // general_profile_idc Main
    expect(c[12]).toBe(63); // general_level_idc
    expect(c[16]! & 0x03).toBe(1); // 4:2:0
    expect(c[21]! & 0x03).toBe(3); // lengthSizeMinusOne
    expect(c[22]).toBe(3);
    expect(c.subarray(23, 26)).toEqual(Buffer.from([0x80 | 32, 0, 1]));
    expect(c.length).toBe(23 + 3 * 5 + VPS.length + SPS.length + PPS.length);
    expect(() => hevcDecoderConfig([SPS, PPS])).toThrow(/VPS/);
  });
});
