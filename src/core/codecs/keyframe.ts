import type { VideoCodec } from '../media.js';

/**
 * Whether an RTP payload starts a key frame a decoder can begin at: H.264 (RFC 6184) an
 * SPS or the start of an IDR slice, as a single NAL unit, inside a STAP-A, or in the first
 * fragment of an FU-A; H.265 (RFC 7798) likewise a VPS, SPS or IRAP slice, single, in an
 * aggregation packet or starting a fragmentation unit; AV1 (AV1 RTP payload format 4.4)
 * the N bit (first packet of a coded video sequence), or a first element that is a whole
 * sequence header OBU; VP8 (RFC 7741) the start of a partition-0 key frame; VP9 (RFC
 * 9628) the start of a frame that is not inter-predicted. Looks at a few bytes only.
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
    case 'h265':
      return h265StartsKeyframe(payload);
    case 'av1':
      return av1StartsKeyframe(payload);
  }
}

/** VPS, SPS, or an IRAP slice (types 16 to 23). */
const isH265KeyNal = (type: number) => type === 32 || type === 33 || (type >= 16 && type <= 23);

function h265StartsKeyframe(p: Buffer): boolean {
  if (p.length < 3) return false;
  const type = (p[0]! >> 1) & 0x3f;
  if (type === 48) {
    // Aggregation packet: 16-bit sizes, each followed by a NAL unit.
    let i = 2;
    while (i + 3 < p.length) {
      const size = p.readUInt16BE(i);
      if (size < 2 || i + 2 + size > p.length) return false;
      if (isH265KeyNal((p[i + 2]! >> 1) & 0x3f)) return true;
      i += 2 + size;
    }
    return false;
  }
  if (type === 49) {
    // Fragmentation unit: the start bit and the fragmented NAL unit's type.
    return (p[2]! & 0x80) !== 0 && isH265KeyNal(p[2]! & 0x3f);
  }
  return isH265KeyNal(type);
}

function av1StartsKeyframe(p: Buffer): boolean {
  const header = p[0]!;
  if ((header & 0x08) !== 0) return true; // N
  if ((header & 0x80) !== 0) return false; // Z: continues an OBU
  // The first element: a length (unless W = 1), then the OBU header.
  let i = 1;
  if (((header >> 4) & 0x03) !== 1) {
    while (i < p.length && (p[i]! & 0x80) !== 0) i++;
    i++;
  }
  const obu = p[i];
  return obu !== undefined && ((obu >> 3) & 0x0f) === 1;
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
