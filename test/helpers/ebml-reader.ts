/**
 * A flat EBML walker for tests: master elements are entered (their children follow in
 * the list), others are returned with their payload. Unknown sizes are fine that way.
 */
export interface FlatElement {
  id: number;
  /** null for unknown size. */
  size: number | null;
  /** Payload of a non-master element; empty for masters. */
  data: Buffer;
  offset: number;
}

const MASTERS = new Set([
  0x1a45dfa3, // EBML
  0x18538067, // Segment
  0x1549a966, // Info
  0x1654ae6b, // Tracks
  0xae, // TrackEntry
  0xe0, // Video
  0xe1, // Audio
  0x1f43b675, // Cluster
]);

function vint(buf: Buffer, pos: number, keepMarker: boolean): { value: number | null; length: number } {
  const first = buf[pos];
  if (first === undefined) throw new RangeError('truncated vint');
  let length = 1;
  while (length <= 8 && (first & (0x80 >> (length - 1))) === 0) length++;
  if (length > 8) throw new RangeError('bad vint');
  let value = keepMarker ? first : first & (0xff >> length);
  let allOnes = value === 0xff >> length;
  for (let i = 1; i < length; i++) {
    const b = buf[pos + i];
    if (b === undefined) throw new RangeError('truncated vint');
    value = value * 256 + b;
    if (b !== 0xff) allOnes = false;
  }
  return { value: !keepMarker && allOnes ? null : value, length };
}

export function readEbml(buf: Buffer): FlatElement[] {
  const out: FlatElement[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const offset = pos;
    const id = vint(buf, pos, true);
    pos += id.length;
    const size = vint(buf, pos, false);
    pos += size.length;
    const idValue = id.value as number;
    if (MASTERS.has(idValue)) {
      out.push({ id: idValue, size: size.value, data: Buffer.alloc(0), offset });
      continue;
    }
    if (size.value === null) throw new RangeError(`unknown size on non-master ${idValue.toString(16)}`);
    out.push({ id: idValue, size: size.value, data: buf.subarray(pos, pos + size.value), offset });
    pos += size.value;
  }
  return out;
}

export function readUint(data: Buffer): number {
  let v = 0;
  for (const b of data) v = v * 256 + b;
  return v;
}
