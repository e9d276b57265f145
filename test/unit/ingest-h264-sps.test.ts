import { describe, expect, it } from '@jest/globals';
import { BitReader, BitstreamError, nalToRbsp } from '../../src/core/codecs/bit-reader.js';
import { parseH264Sps } from '../../src/core/codecs/h264-sps.js';

const hex = (s: string) => Buffer.from(s, 'hex');

/** SPS NAL units that libx264 wrote (ffmpeg lavfi testsrc2), with what ffprobe says of each stream. */
const X264 = [
  {
    what: '640x360 High (cropped from 368 rows)',
    sps: '6764001eacd940a02ff970110000030001000003003c0f162d96',
    want: {
      profile: 'High',
      profileIdc: 100,
      levelIdc: 30,
      width: 640,
      height: 360,
      profileLevelId: '64001e',
    },
  },
  {
    what: '1920x1080 Main (cropped from 1088)',
    sps: '674d4028eca03c0113f2e022000003000200000300781e30632c',
    want: { profile: 'Main', levelIdc: 40, width: 1920, height: 1080, profileLevelId: '4d4028' },
  },
  {
    what: '320x240 Constrained Baseline',
    sps: '6742c00dd90141fb0110000003001000000303c0f142a480',
    want: { profile: 'Constrained Baseline', width: 320, height: 240, profileLevelId: '42c00d' },
  },
  {
    what: '1280x720 High 4:4:4 Predictive',
    sps: '67f4001f919b280a00b76022000003000200000300781e30632c',
    want: { profile: 'High 4:4:4 Predictive', chromaFormatIdc: 3, width: 1280, height: 720 },
  },
  {
    what: '854x480 High 4:2:2 (odd crop)',
    sps: '677a001fbcd940d83de6f0110000030001000003003c0f183196',
    want: { profile: 'High 4:2:2', chromaFormatIdc: 2, width: 854, height: 480 },
  },
  {
    what: '720x576 interlaced High 4:2:2',
    sps: '677a0016bcd940b424d808800000030100000300190f8a14cb',
    want: { width: 720, height: 576, frameMbsOnly: false },
  },
];

/** MSB-first bit writer with Exp-Golomb, to build SPSs the encoders at hand do not write. */
class BitWriter {
  bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push((v >> i) & 1);
    return this;
  }
  ue(v: number): this {
    const len = Math.floor(Math.log2(v + 1));
    this.u(len, 0);
    return this.u(len + 1, v + 1);
  }
  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }
  bytes(): Buffer {
    const out = [...this.bits, 1]; // rbsp_stop_one_bit
    while (out.length % 8) out.push(0);
    const b = Buffer.alloc(out.length / 8);
    out.forEach((bit, i) => (b[i >> 3]! |= bit << (7 - (i & 7))));
    return b;
  }
}

describe('parseH264Sps', () => {
  it.each(X264)('reads $what', ({ sps, want }) => {
    expect(parseH264Sps(hex(sps))).toMatchObject(want);
  });

  it('skips scaling matrices (High with seq_scaling_matrix_present_flag)', () => {
    const w = new BitWriter().u(8, 100).u(8, 0).u(8, 31).ue(0); // High, level 3.1, sps id 0
    w.ue(1).ue(0).ue(0).u(1, 0); // 4:2:0, 8-bit, no bypass
    w.u(1, 1); // seq_scaling_matrix_present_flag
    for (let i = 0; i < 8; i++) {
      w.u(1, i % 2); // every other list present
      if (i % 2) for (let j = 0; j < (i < 6 ? 16 : 64); j++) w.se(j === 0 ? 8 : 0);
    }
    w.ue(0).ue(0).ue(2); // log2_max_frame_num_minus4, poc type 0, log2_max_poc_lsb_minus4
    w.ue(4).u(1, 0); // max_num_ref_frames, gaps
    w.ue(79).ue(44); // 1280 x 720
    w.u(1, 1).u(1, 1).u(1, 0); // frame_mbs_only, direct_8x8, no cropping
    w.u(1, 0); // no VUI
    const nal = Buffer.concat([Buffer.from([0x67]), w.bytes()]);
    expect(parseH264Sps(nal)).toMatchObject({
      profile: 'High',
      width: 1280,
      height: 720,
      profileLevelId: '64001f',
    });
  });

  it('reads pic_order_cnt_type 1 cycles', () => {
    const w = new BitWriter().u(8, 77).u(8, 0).u(8, 30).ue(0);
    w.ue(0).ue(1).u(1, 0).se(-2).se(1).ue(2).se(3).se(-3); // poc type 1 with a 2-entry cycle
    w.ue(1).u(1, 0).ue(19).ue(14).u(1, 1).u(1, 1).u(1, 0).u(1, 0); // 320 x 240
    expect(parseH264Sps(Buffer.concat([Buffer.from([0x67]), w.bytes()]))).toMatchObject({
      width: 320,
      height: 240,
    });
  });

  it('refuses what is not an SPS, truncated units and absurd values', () => {
    expect(() => parseH264Sps(hex('68ebe3cb22c0'))).toThrow(BitstreamError); // a PPS
    expect(() => parseH264Sps(hex('6764001eacd9'))).toThrow(BitstreamError);
    const huge = new BitWriter().u(8, 66).u(8, 0).u(8, 30).ue(40); // sps id 40 > 31
    expect(() => parseH264Sps(Buffer.concat([Buffer.from([0x67]), huge.bytes()]))).toThrow(
      /seq_parameter_set_id/,
    );
  });
});

describe('bit reading', () => {
  it('removes emulation prevention bytes', () => {
    expect([...nalToRbsp(hex('0000030100000302'))]).toEqual([0, 0, 1, 0, 0, 2]);
    const plain = hex('0102030405');
    expect(nalToRbsp(plain)).toBe(plain);
  });

  it('reads Exp-Golomb codes', () => {
    // 1 | 010 | 011 | 00100 | 00101 → ue 0, 1, 2, 3, 4
    const r = new BitReader(Buffer.from([0b10100110, 0b01000010, 0b10000000]));
    expect([r.ue(), r.ue(), r.ue(), r.ue(), r.ue()]).toEqual([0, 1, 2, 3, 4]);
    const s = new BitReader(Buffer.from([0b01001100, 0b10000000])); // se: 010 → 1, 011 → -1, 00100 → 2
    expect([s.se(), s.se(), s.se()]).toEqual([1, -1, 2]);
    expect(() => new BitReader(Buffer.from([0])).ue()).toThrow(BitstreamError);
  });
});
