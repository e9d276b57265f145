import { describe, expect, it } from '@jest/globals';
import { startsKeyframe } from '../../src/core/codecs/keyframe.js';

const b = (...bytes: number[]) => Buffer.from(bytes);
/** A STAP-A (type 24) holding the given NAL units. */
const stapA = (...nals: Buffer[]) =>
  Buffer.concat([b(0x78), ...nals.flatMap((n) => [b(n.length >> 8, n.length & 0xff), n])]);

describe('startsKeyframe: H.264 (RFC 6184)', () => {
  it('single NAL units: IDR and SPS start one, others do not', () => {
    expect(startsKeyframe('h264', b(0x65, 0x88, 0x84))).toBe(true); // IDR slice
    expect(startsKeyframe('h264', b(0x67, 0x64, 0x00))).toBe(true); // SPS
    expect(startsKeyframe('h264', b(0x41, 0x9a, 0x00))).toBe(false); // non-IDR slice
    expect(startsKeyframe('h264', b(0x68, 0xee))).toBe(false); // PPS alone
    expect(startsKeyframe('h264', b(0x06, 0x05))).toBe(false); // SEI
    expect(startsKeyframe('h264', b(0x65))).toBe(false); // too short to tell
  });

  it('STAP-A: a key frame when it carries an SPS or an IDR slice', () => {
    expect(startsKeyframe('h264', stapA(b(0x67, 0x64, 0x00, 0x1f), b(0x68, 0xee, 0x3c, 0x80)))).toBe(true);
    expect(startsKeyframe('h264', stapA(b(0x09, 0xf0), b(0x65, 0x88)))).toBe(true);
    expect(startsKeyframe('h264', stapA(b(0x09, 0xf0), b(0x41, 0x9a)))).toBe(false);
    // A size running past the end, or zero: not trusted.
    expect(startsKeyframe('h264', b(0x78, 0x00, 0x09, 0x65, 0x88))).toBe(false);
    expect(startsKeyframe('h264', b(0x78, 0x00, 0x00, 0x65, 0x88))).toBe(false);
  });

  it('FU-A: only the first fragment of an IDR slice', () => {
    expect(startsKeyframe('h264', b(0x7c, 0x85, 0x88, 0x84))).toBe(true); // S=1, type 5
    expect(startsKeyframe('h264', b(0x7c, 0x05, 0x88))).toBe(false); // middle fragment
    expect(startsKeyframe('h264', b(0x7c, 0x45, 0x88))).toBe(false); // end fragment
    expect(startsKeyframe('h264', b(0x5c, 0x81, 0x9a))).toBe(false); // S=1, non-IDR
  });
});

describe('startsKeyframe: VP8 (RFC 7741)', () => {
  it('the start of partition 0 of a key frame (P bit 0)', () => {
    expect(startsKeyframe('vp8', b(0x10, 0x00, 0x9d, 0x01, 0x2a))).toBe(true);
    expect(startsKeyframe('vp8', b(0x10, 0x01, 0x00))).toBe(false); // inter frame
    expect(startsKeyframe('vp8', b(0x00, 0x00, 0x9d))).toBe(false); // not the start (S=0)
    expect(startsKeyframe('vp8', b(0x11, 0x00))).toBe(false); // partition 1
  });

  it('skips the extended descriptor (15-bit PictureID, TL0PICIDX, TID/KEYIDX)', () => {
    expect(startsKeyframe('vp8', b(0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x00, 0x9d))).toBe(true);
    expect(startsKeyframe('vp8', b(0x90, 0xe0, 0x81, 0x23, 0x05, 0x40, 0x01, 0x9d))).toBe(false);
    expect(startsKeyframe('vp8', b(0x90, 0x80, 0x12, 0x00))).toBe(true); // 7-bit PictureID
    expect(startsKeyframe('vp8', b(0x90, 0x80, 0x92))).toBe(false); // descriptor only, no header
  });
});

describe('startsKeyframe: VP9 (RFC 9628)', () => {
  it('the beginning of a frame that is not inter-predicted', () => {
    expect(startsKeyframe('vp9', b(0x08, 0x00))).toBe(true); // B=1, P=0
    expect(startsKeyframe('vp9', b(0x48, 0x00))).toBe(false); // P=1
    expect(startsKeyframe('vp9', b(0x00, 0x00))).toBe(false); // not the beginning
  });
});
