import { describe, expect, it } from '@jest/globals';
import {
  H264ParameterSetCache,
  h264NalType,
  joinAnnexB,
  splitAnnexB,
} from '../../src/core/codecs/h264-access-unit.js';
import { parseVp8Frame, parseVp9Frame } from '../../src/core/codecs/vpx-frame.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const SPS = hex('6764001eacd940a02ff970110000030001000003003c0f162d96');
const PPS = hex('68ebe3cb22c0');
const AUD = hex('0910');
const IDR = hex('65888400ffee');
const SLICE = hex('419a2438');
const types = (au: Buffer) => splitAnnexB(au).map(h264NalType);

describe('Annex-B', () => {
  it('splits on 3- and 4-byte start codes and joins with 4-byte ones', () => {
    const data = Buffer.concat([hex('00000001'), SPS, hex('000001'), PPS, hex('00000001'), IDR]);
    expect(splitAnnexB(data)).toEqual([SPS, PPS, IDR]);
    expect(splitAnnexB(joinAnnexB([SPS, PPS, IDR]))).toEqual([SPS, PPS, IDR]);
    expect(splitAnnexB(Buffer.alloc(0))).toEqual([]);
  });
});

describe('H264ParameterSetCache', () => {
  it('passes an IDR that carries its parameter sets through, reading the SPS', () => {
    const cache = new H264ParameterSetCache();
    const au = joinAnnexB([AUD, SPS, PPS, IDR]);
    const f = cache.process(au);
    expect(f).toMatchObject({ keyframe: true, decodable: true });
    expect(f.data).toBe(au);
    expect(f.sps).toMatchObject({ width: 640, height: 360, profile: 'High' });
  });

  it('puts the last SPS and PPS in front of an IDR that came without them (after an AUD)', () => {
    const cache = new H264ParameterSetCache();
    cache.process(joinAnnexB([SPS, PPS, IDR]));
    expect(types(cache.process(joinAnnexB([SLICE])).data)).toEqual([1]);
    const bare = cache.process(joinAnnexB([AUD, IDR]));
    expect(bare.keyframe).toBe(true);
    expect(types(bare.data)).toEqual([9, 7, 8, 5]);
    const ppsOnly = cache.process(joinAnnexB([PPS, IDR]));
    expect(types(ppsOnly.data)).toEqual([7, 8, 5]);
  });

  it('says an IDR is undecodable until parameter sets were seen', () => {
    const cache = new H264ParameterSetCache();
    expect(cache.process(joinAnnexB([IDR]))).toMatchObject({ keyframe: false, decodable: false });
    expect(cache.process(joinAnnexB([SLICE]))).toMatchObject({ keyframe: false, decodable: false });
    cache.process(joinAnnexB([SPS, PPS]));
    expect(cache.process(joinAnnexB([SLICE]))).toMatchObject({ keyframe: false, decodable: true });
  });

  it('keeps an SPS it cannot parse (a decoder may)', () => {
    const cache = new H264ParameterSetCache();
    const f = cache.process(joinAnnexB([hex('6764'), PPS, IDR]));
    expect(f).toMatchObject({ keyframe: true, sps: null });
  });
});

describe('VP8 and VP9 frame headers', () => {
  // The first bytes of frames libvpx wrote (ffmpeg testsrc2).
  const VP8_KEY = hex('f0c6009d012a8002680100070885858885848802021be7bf');
  const VP8_INTER = hex('9116000f11fc0018094d584fd0eaebd38b00016c2350cda0');
  const VP9_KEY = hex('824983420013f00b360438241c184a0009507fddfa3c7718');
  const VP9_INTER = hex('86004092f0e14000004c7fd4d5f7dae3e3ce694207d27c1a');

  it('reads VP8 key frame sizes', () => {
    expect(parseVp8Frame(VP8_KEY)).toEqual({ keyframe: true, width: 640, height: 360 });
    expect(parseVp8Frame(VP8_INTER)).toEqual({ keyframe: false, width: null, height: null });
    expect(parseVp8Frame(hex('f0c6009d01'))).toBeNull(); // key frame cut short
    expect(parseVp8Frame(hex('f0c600ffffff8002680100'))).toBeNull(); // no start code
  });

  it('reads VP9 key frame sizes', () => {
    expect(parseVp9Frame(VP9_KEY)).toEqual({ keyframe: true, width: 320, height: 180 });
    expect(parseVp9Frame(VP9_INTER)).toEqual({ keyframe: false, width: null, height: null });
    expect(parseVp9Frame(hex('0249834200'))).toBeNull(); // bad frame marker
    expect(parseVp9Frame(hex('82498342'))).toBeNull(); // truncated
  });
});
