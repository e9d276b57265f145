import { BitstreamError } from './bit-reader.js';

/** obu_type values (AV1 bitstream specification 6.2.2). */
export const AV1_OBU = {
  sequenceHeader: 1,
  temporalDelimiter: 2,
  frameHeader: 3,
  tileGroup: 4,
  metadata: 5,
  frame: 6,
  redundantFrameHeader: 7,
  tileList: 8,
  padding: 15,
} as const;

/** One OBU: its type, its extension byte (temporal and spatial id) if it has one, its payload. */
export interface Av1Obu {
  type: number;
  extension: number | null;
  payload: Buffer;
}

/** leb128() (AV1 4.10.5): at most 8 bytes; the value must fit 32 bits. */
export function readLeb128(buf: Uint8Array, offset: number): { value: number; bytes: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[offset + i];
    if (b === undefined) throw new BitstreamError('leb128 runs past the end');
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) throw new BitstreamError('leb128 value over 2^32 - 1');
      return { value, bytes: i + 1 };
    }
  }
  throw new BitstreamError('leb128 longer than 8 bytes');
}

export function writeLeb128(value: number): Buffer {
  const out: number[] = [];
  let v = value;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

/**
 * Parses one OBU at `offset` (obu_header(), 5.3): an OBU without obu_has_size_field
 * runs to `end`. Throws a BitstreamError on a set forbidden bit or a size past the end.
 */
export function readObu(buf: Buffer, offset: number, end = buf.length): { obu: Av1Obu; next: number } {
  const header = buf[offset];
  if (header === undefined || offset >= end) throw new BitstreamError('empty OBU');
  if ((header & 0x80) !== 0) throw new BitstreamError('obu_forbidden_bit is set');
  const type = (header >> 3) & 0x0f;
  let at = offset + 1;
  let extension: number | null = null;
  if ((header & 0x04) !== 0) {
    if (at >= end) throw new BitstreamError('OBU extension header missing');
    extension = buf[at++]!;
  }
  let size = end - at;
  if ((header & 0x02) !== 0) {
    const leb = readLeb128(buf, at);
    at += leb.bytes;
    size = leb.value;
    if (at + size > end) throw new BitstreamError('obu_size runs past the end');
  }
  return { obu: { type, extension, payload: buf.subarray(at, at + size) }, next: at + size };
}

/** The OBUs of a temporal unit in the low-overhead bitstream format (5.2). */
export function splitObus(data: Buffer): Av1Obu[] {
  const obus: Av1Obu[] = [];
  let at = 0;
  while (at < data.length) {
    const { obu, next } = readObu(data, at);
    obus.push(obu);
    at = next;
  }
  return obus;
}

/** One OBU with obu_has_size_field = 1 (what Matroska and ISOBMFF store). */
export function writeObu(obu: Av1Obu): Buffer {
  const header = (obu.type << 3) | (obu.extension === null ? 0 : 0x04) | 0x02;
  const ext = obu.extension === null ? [] : [obu.extension];
  return Buffer.concat([Buffer.from([header, ...ext]), writeLeb128(obu.payload.length), obu.payload]);
}

export function joinObus(obus: readonly Av1Obu[]): Buffer {
  return Buffer.concat(obus.map(writeObu));
}
