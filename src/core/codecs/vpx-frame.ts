import { BitReader } from './bit-reader.js';

/** What ingest reads from the start of a VP8 or VP9 frame. */
export interface VpxFrameInfo {
  keyframe: boolean;
  /** Key frames only. */
  width: number | null;
  height: number | null;
}

/**
 * VP8 (RFC 6386 9.1): a 3-byte frame tag whose bit 0 is 0 on key frames; a key frame then
 * has the start code 9d 01 2a and two 14-bit sizes (plus 2-bit scaling) little-endian.
 * Returns null when the bytes are not a VP8 frame.
 */
export function parseVp8Frame(data: Uint8Array): VpxFrameInfo | null {
  if (data.length < 3) return null;
  const keyframe = ((data[0] ?? 1) & 0x01) === 0;
  if (!keyframe) return { keyframe: false, width: null, height: null };
  if (data.length < 10 || data[3] !== 0x9d || data[4] !== 0x01 || data[5] !== 0x2a) return null;
  const width = ((data[6] ?? 0) | ((data[7] ?? 0) << 8)) & 0x3fff;
  const height = ((data[8] ?? 0) | ((data[9] ?? 0) << 8)) & 0x3fff;
  if (width === 0 || height === 0) return null;
  return { keyframe: true, width, height };
}

const VP9_CS_RGB = 7;

/**
 * VP9 (VP9 bitstream spec 6.2, uncompressed_header): frame_marker, profile,
 * show_existing_frame, frame_type (0 = key frame); a key frame carries the sync code
 * 49 83 42, the colour config and frame_width_minus_1 / frame_height_minus_1 (16 bits each).
 * Returns null when the bytes are not a VP9 frame.
 */
export function parseVp9Frame(data: Uint8Array): VpxFrameInfo | null {
  try {
    const r = new BitReader(data);
    if (r.u(2) !== 2) return null; // frame_marker
    const profile = r.u1() | (r.u1() << 1);
    if (profile === 3) r.u1(); // reserved_zero
    if (r.u1() === 1) return { keyframe: false, width: null, height: null }; // show_existing_frame
    const frameType = r.u1();
    r.u1(); // show_frame
    r.u1(); // error_resilient_mode
    if (frameType !== 0) return { keyframe: false, width: null, height: null };
    if (r.u(8) !== 0x49 || r.u(8) !== 0x83 || r.u(8) !== 0x42) return null;
    if (profile >= 2) r.u1(); // ten_or_twelve_bit
    const colorSpace = r.u(3);
    if (colorSpace !== VP9_CS_RGB) {
      r.u1(); // color_range
      if (profile === 1 || profile === 3) r.u(3); // subsampling_x, subsampling_y, reserved_zero
    } else if (profile === 1 || profile === 3) {
      r.u1(); // reserved_zero
    }
    const width = r.u(16) + 1;
    const height = r.u(16) + 1;
    return { keyframe: true, width, height };
  } catch {
    return null;
  }
}
