import { BitReader } from '../../../core/codecs/bit-reader.js';

/**
 * Frame sizes from VP8 and VP9 key frames, for the track's PixelWidth/PixelHeight.
 * Matroska stores VP8 and VP9 frames as they are; neither needs a CodecPrivate.
 */

export interface FrameSize {
  width: number;
  height: number;
}

/** RFC 6386 9.1: a 3-byte frame tag, the start code 9d 01 2a, then 14-bit width and height. */
export function vp8KeyframeSize(frame: Uint8Array): FrameSize | null {
  if (frame.length < 10 || ((frame[0] ?? 1) & 1) !== 0) return null;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return null;
  const b = Buffer.from(frame.buffer, frame.byteOffset, 10);
  return { width: b.readUInt16LE(6) & 0x3fff, height: b.readUInt16LE(8) & 0x3fff };
}

/** VP9 bitstream spec 6.2: the uncompressed header of a key frame, up to frame_size(). */
export function vp9KeyframeSize(frame: Uint8Array): FrameSize | null {
  try {
    const r = new BitReader(frame);
    if (r.u(2) !== 2) return null; // frame_marker
    const profile = r.u1() + 2 * r.u1();
    if (profile === 3) r.skip(1);
    if (r.u1() === 1) return null; // show_existing_frame
    if (r.u1() !== 0) return null; // frame_type: not a key frame
    r.skip(2); // show_frame, error_resilient_mode
    if (r.u(24) !== 0x498342) return null; // frame_sync_code
    if (profile >= 2) r.skip(1); // ten_or_twelve_bit
    const colorSpace = r.u(3);
    if (colorSpace !== 7) {
      r.skip(1); // color_range
      if (profile === 1 || profile === 3) r.skip(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      r.skip(1);
    }
    return { width: r.u(16) + 1, height: r.u(16) + 1 };
  } catch {
    return null;
  }
}
