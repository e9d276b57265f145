import type { VideoCodec } from '../media.js';

/**
 * Whether an RTP payload starts a key frame a decoder can begin at: H.264 (RFC 6184) an
 * SPS or the start of an IDR slice, as a single NAL unit, inside a STAP-A, or in the first
 * fragment of an FU-A; VP8 (RFC 7741) the start of a partition-0 key frame; VP9 (RFC 9628)
 * the start of a frame that is not inter-predicted. Looks at a few bytes only.
 */
export function startsKeyframe(codec: VideoCodec, payload: Buffer): boolean {
  if (payload.length < 2) return false;
  switch (codec) {
    case 'h264':
      return h264StartsKeyframe(payload);
    case 'vp8':
      return vp8StartsKeyframe(payload);
    case 'vp9':
      return vp9StartsKeyframe(payload);
  }
}

const isKeyNal = (type: number) => type === 5 || type === 7;

function h264StartsKeyframe(p: Buffer): boolean {
  const type = p[0]! & 0x1f;
  if (type >= 1 && type <= 23) return isKeyNal(type);
  if (type === 24) {
    // STAP-A: 16-bit sizes, each followed by a NAL unit.
    let i = 1;
    while (i + 2 < p.length) {
      const size = p.readUInt16BE(i);
      if (size === 0 || i + 2 + size > p.length) return false;
      if (isKeyNal(p[i + 2]! & 0x1f)) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 28) {
    // FU-A: the start bit and the fragmented NAL unit's type.
    const header = p[1]!;
    return (header & 0x80) !== 0 && isKeyNal(header & 0x1f);
  }
  return false;
}

function vp8StartsKeyframe(p: Buffer): boolean {
  const first = p[0]!;
  const start = (first & 0x10) !== 0;
  const partition = first & 0x07;
  if (!start || partition !== 0) return false;
  let i = 1;
  if (first & 0x80) {
    const ext = p[i++] ?? 0;
    if (ext & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1; // PictureID, 7 or 15 bits
    if (ext & 0x40) i += 1; // TL0PICIDX
    if (ext & 0x30) i += 1; // TID / KEYIDX
  }
  if (i >= p.length) return false;
  return (p[i]! & 0x01) === 0; // P bit of the VP8 frame header: 0 is a key frame
}

function vp9StartsKeyframe(p: Buffer): boolean {
  const first = p[0]!;
  const interPredicted = (first & 0x40) !== 0;
  const begins = (first & 0x08) !== 0;
  return begins && !interPredicted;
}
