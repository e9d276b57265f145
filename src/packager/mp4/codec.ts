import { BoxCursor, Mp4ParseError, findChild, type Box } from './boxes.js';

/**
 * RFC 6381 codec strings for the CODECS attribute, built from a sample entry's
 * configuration box. HLS clients pick variants by these strings, so a wrong one
 * makes a player skip a variant it could have played.
 */

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

/** `avc1.PPCCLL` (ISO/IEC 14496-15 / RFC 6381 3.3): profile, constraint flags, level from avcC. */
export function avcCodec(entryType: string, avcC: Box): string {
  const c = new BoxCursor(avcC);
  c.u8(); // configurationVersion
  const profile = c.u8();
  const compat = c.u8();
  const level = c.u8();
  return `${entryType}.${hex2(profile)}${hex2(compat)}${hex2(level)}`.toLowerCase();
}

function reverseBits32(x: number): number {
  let r = 0;
  for (let i = 0; i < 32; i++) r = (r << 1) | ((x >>> i) & 1);
  return r >>> 0;
}

/**
 * `hvc1.[A-C]P.C.TLL.B0...` (ISO/IEC 14496-15 Annex E.3): profile space and idc,
 * compatibility flags in reverse bit order, tier and level, then the constraint bytes
 * with trailing zero bytes left out.
 */
export function hevcCodec(entryType: string, hvcC: Box): string {
  const c = new BoxCursor(hvcC);
  c.u8(); // configurationVersion
  const b = c.u8();
  const space = b >> 6;
  const tier = (b >> 5) & 1;
  const profileIdc = b & 0x1f;
  const compat = c.u32();
  const constraints: number[] = [];
  for (let i = 0; i < 6; i++) constraints.push(c.u8());
  const level = c.u8();
  while (constraints.length > 0 && constraints[constraints.length - 1] === 0) constraints.pop();
  const spaceLetter = ['', 'A', 'B', 'C'][space] ?? '';
  const parts = [
    entryType,
    `${spaceLetter}${profileIdc}`,
    reverseBits32(compat).toString(16).toUpperCase(),
    `${tier ? 'H' : 'L'}${level}`,
    ...constraints.map((x) => x.toString(16).toUpperCase()),
  ];
  return parts.join('.');
}

/** `av01.P.LLT.DD` (AV1 Codec ISO Media File Format Binding, "Codecs Parameter String"). */
export function av1Codec(av1C: Box): string {
  const c = new BoxCursor(av1C);
  c.u8(); // marker + version
  const b1 = c.u8();
  const b2 = c.u8();
  const profile = b1 >> 5;
  const level = b1 & 0x1f;
  const tier = (b2 >> 7) & 1;
  const highBitdepth = (b2 >> 6) & 1;
  const twelveBit = (b2 >> 5) & 1;
  const depth = highBitdepth ? (twelveBit ? 12 : 10) : 8;
  return `av01.${profile}.${String(level).padStart(2, '0')}${tier ? 'H' : 'M'}.${String(depth).padStart(2, '0')}`;
}

/** MPEG-4 descriptor length: 1 to 4 bytes, 7 bits each, high bit = more follows. */
function descriptorLength(c: BoxCursor): number {
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8();
    len = (len << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) break;
  }
  return len;
}

/**
 * `mp4a.OO[.A]` (RFC 6381 3.3): the DecoderConfigDescriptor's objectTypeIndication and,
 * for MPEG-4 audio (0x40), the AudioSpecificConfig's audioObjectType (2 = AAC-LC).
 */
export function mp4aCodec(esds: Box): string {
  const c = new BoxCursor(esds);
  c.fullHeader();
  if (c.u8() !== 0x03) throw new Mp4ParseError('bad_box', 'esds does not start with an ES_Descriptor');
  descriptorLength(c);
  c.u16(); // ES_ID
  const flags = c.u8();
  if (flags & 0x80) c.skip(2); // dependsOn_ES_ID
  if (flags & 0x40) c.skip(c.u8()); // URL
  if (flags & 0x20) c.skip(2); // OCR_ES_Id
  if (c.u8() !== 0x04) throw new Mp4ParseError('bad_box', 'esds has no DecoderConfigDescriptor');
  descriptorLength(c);
  const oti = c.u8();
  c.skip(12); // streamType/bufferSizeDB/maxBitrate/avgBitrate
  const otiHex = hex2(oti);
  if (oti !== 0x40) return `mp4a.${otiHex}`;
  if (c.remaining < 2 || c.u8() !== 0x05) return 'mp4a.40.2';
  descriptorLength(c);
  const first = c.u8();
  let aot = first >> 3;
  if (aot === 31) {
    // Escape value: the real type is 32 + the next 6 bits.
    const second = c.u8();
    aot = 32 + (((first & 0x07) << 3) | (second >> 5));
  }
  return `mp4a.40.${aot}`;
}

/** The codec string of a sample entry; unknown entries yield their four-character code. */
export function codecString(entry: Box, childSkip: number): string {
  const t = entry.type;
  const child = (type: string): Box => {
    const b = findChild(entry, type, childSkip);
    if (!b) throw new Mp4ParseError('missing_box', `${t} sample entry has no ${type}`);
    return b;
  };
  switch (t) {
    case 'avc1':
    case 'avc3':
      return avcCodec(t, child('avcC'));
    case 'hvc1':
    case 'hev1':
      return hevcCodec(t, child('hvcC'));
    case 'av01':
      return av1Codec(child('av1C'));
    case 'mp4a':
      return mp4aCodec(child('esds'));
    case 'Opus':
      return 'opus';
    case 'fLaC':
      return 'fLaC';
    case 'ac-3':
    case 'ec-3':
      return t;
    default:
      return t;
  }
}
