/**
 * EBML (RFC 8794) element encoding: just what a live Matroska writer needs. Element IDs
 * are given with their length-marker bits (`0x1a45dfa3`), as the Matroska spec lists them.
 */

/** The reserved "unknown" size (all value bits set, 8 bytes): the element runs until its parent's next sibling. */
export const UNKNOWN_SIZE = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Largest size a vint of 8 bytes can carry (2^56 - 2; all-ones means unknown). */
const MAX_SIZE = 2 ** 56 - 2;

/** An element ID's bytes: 1 to 4, the marker bit already part of the number. */
export function idBytes(id: number): Buffer {
  if (!Number.isInteger(id) || id < 0x80 || id > 0xfffffffe) throw new RangeError(`bad EBML id ${id}`);
  const len = id >= 0x1000000 ? 4 : id >= 0x10000 ? 3 : id >= 0x100 ? 2 : 1;
  const out = Buffer.alloc(len);
  out.writeUIntBE(id, 0, len);
  return out;
}

/** A data size as the shortest vint (1 to 8 bytes) that can hold it. */
export function sizeBytes(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_SIZE)
    throw new RangeError(`bad EBML size ${size}`);
  let len = 1;
  // A vint of n bytes carries 7n value bits; all of them set is reserved for "unknown".
  while (size >= 2 ** (7 * len) - 1) len++;
  const out = Buffer.alloc(len);
  let v = size;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0] = (out[0] ?? 0) | (0x80 >> (len - 1));
  return out;
}

export function element(id: number, payload: Buffer): Buffer {
  return Buffer.concat([idBytes(id), sizeBytes(payload.length), payload]);
}

export function master(id: number, children: readonly Buffer[]): Buffer {
  return element(id, Buffer.concat(children));
}

/** A master element of unknown size: only its header; children follow as the stream goes on. */
export function unknownSizeHeader(id: number): Buffer {
  return Buffer.concat([idBytes(id), UNKNOWN_SIZE]);
}

/** Unsigned integer, big-endian, in as few bytes as it needs (at least one). */
export function uint(id: number, value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`bad EBML uint ${value}`);
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return element(id, Buffer.from(bytes));
}

/** 64-bit IEEE float. */
export function float(id: number, value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(value);
  return element(id, b);
}

/** ASCII or UTF-8 string, no terminator. */
export function string(id: number, value: string): Buffer {
  return element(id, Buffer.from(value, 'utf8'));
}
