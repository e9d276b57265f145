/**
 * ISO BMFF (ISO/IEC 14496-12) box reading: just enough structure to walk an fMP4
 * stream. Everything here works on complete byte ranges; the incremental part
 * lives in fmp4-splitter.ts.
 */

export type Mp4ErrorCode =
  /** A box header that cannot be right: size below its own header, non-ASCII type. */
  | 'bad_box'
  /** A box larger than the configured cap (a corrupt size or a hostile stream). */
  | 'box_too_large'
  /** A box in a place the fMP4 layout does not allow (moof before moov, mdat without moof). */
  | 'unexpected_box'
  /** A required box or field is absent (no trak in moov, no traf for the track). */
  | 'missing_box'
  /** Input ended inside a box or between moof and mdat. */
  | 'truncated'
  /** Something the packager deliberately does not handle (several tracks in one stream). */
  | 'unsupported';

export class Mp4ParseError extends Error {
  readonly code: Mp4ErrorCode;

  constructor(code: Mp4ErrorCode, message: string) {
    super(message);
    this.name = 'Mp4ParseError';
    this.code = code;
  }
}

export interface BoxHeader {
  type: string;
  /** Whole box, header included. 0 means "to the end of the input" (ISO 14496-12 4.2). */
  size: number;
  headerSize: number;
}

export interface Box {
  type: string;
  /** Offset of the box's first header byte in `buf`. */
  start: number;
  /** Offset just past the box. */
  end: number;
  /** Offset of the payload (after size, type and any largesize). */
  payload: number;
  buf: Uint8Array;
}

/** 8 for a plain header, 16 with a 64-bit largesize; `uuid` boxes add 16 more, which we never need. */
export const MAX_HEADER_BYTES = 16;

function isPrintableType(buf: Uint8Array, at: number): boolean {
  for (let i = at; i < at + 4; i++) {
    const c = buf[i] ?? 0;
    // Registered four-character codes are printable ASCII; '©' (0xA9) appears only inside udta.
    if ((c < 0x20 || c > 0x7e) && c !== 0xa9) return false;
  }
  return true;
}

/**
 * Reads the header at `at`; null when fewer than the header's bytes are available.
 * Throws Mp4ParseError for headers no valid file can contain.
 */
export function readBoxHeader(buf: Uint8Array, at: number, end = buf.length): BoxHeader | null {
  if (end - at < 8) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const size32 = view.getUint32(at);
  if (!isPrintableType(buf, at + 4)) {
    throw new Mp4ParseError('bad_box', `box at offset ${at} has a non-ASCII type: not an MP4 box stream`);
  }
  const type = String.fromCharCode(buf[at + 4]!, buf[at + 5]!, buf[at + 6]!, buf[at + 7]!);
  if (size32 === 1) {
    if (end - at < 16) return null;
    const large = view.getBigUint64(at + 8);
    if (large > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Mp4ParseError('box_too_large', `box ${type} declares ${large} bytes`);
    }
    const size = Number(large);
    if (size < 16) throw new Mp4ParseError('bad_box', `box ${type} has largesize ${size}, below its header`);
    return { type, size, headerSize: 16 };
  }
  if (size32 !== 0 && size32 < 8) {
    throw new Mp4ParseError('bad_box', `box ${type} has size ${size32}, below its header`);
  }
  return { type, size: size32, headerSize: 8 };
}

/** The boxes laid end to end in `buf[start, end)`; a box overrunning `end` is an error. */
export function* boxes(buf: Uint8Array, start = 0, end = buf.length): Generator<Box> {
  let at = start;
  while (at < end) {
    const h = readBoxHeader(buf, at, end);
    if (!h) throw new Mp4ParseError('truncated', `${end - at} stray bytes at offset ${at}`);
    const boxEnd = h.size === 0 ? end : at + h.size;
    if (boxEnd > end) {
      throw new Mp4ParseError('truncated', `box ${h.type} at offset ${at} overruns its parent`);
    }
    yield { type: h.type, start: at, end: boxEnd, payload: at + h.headerSize, buf };
    at = boxEnd;
  }
}

export function children(box: Box, skip = 0): Generator<Box> {
  return boxes(box.buf, box.payload + skip, box.end);
}

export function findChild(box: Box, type: string, skip = 0): Box | undefined {
  for (const c of children(box, skip)) if (c.type === type) return c;
  return undefined;
}

export function findChildren(box: Box, type: string): Box[] {
  return [...children(box)].filter((c) => c.type === type);
}

/** Follows a path of child types (`['mdia', 'minf', 'stbl']`); throws when one is missing. */
export function requirePath(box: Box, path: readonly string[]): Box {
  let cur = box;
  for (const t of path) {
    const next = findChild(cur, t);
    if (!next) throw new Mp4ParseError('missing_box', `${cur.type} has no ${t}`);
    cur = next;
  }
  return cur;
}

/**
 * Bounds-checked big-endian reads over one box's payload: a field past the box's
 * end is a parse error, never a read of the neighbouring box.
 */
export class BoxCursor {
  readonly #view: DataView;
  readonly #end: number;
  readonly #type: string;
  pos: number;

  constructor(box: Box, offset = 0) {
    this.#view = new DataView(box.buf.buffer, box.buf.byteOffset, box.buf.byteLength);
    this.#end = box.end;
    this.#type = box.type;
    this.pos = box.payload + offset;
  }

  #need(n: number): number {
    const at = this.pos;
    if (at + n > this.#end) throw new Mp4ParseError('truncated', `${this.#type} is too short`);
    this.pos += n;
    return at;
  }

  get remaining(): number {
    return this.#end - this.pos;
  }

  skip(n: number): void {
    this.#need(n);
  }

  u8(): number {
    return this.#view.getUint8(this.#need(1));
  }

  u16(): number {
    return this.#view.getUint16(this.#need(2));
  }

  u24(): number {
    const at = this.#need(3);
    return (this.#view.getUint8(at) << 16) | this.#view.getUint16(at + 1);
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }

  i32(): number {
    return this.#view.getInt32(this.#need(4));
  }

  /** 64-bit values above 2^53 (no real timeline gets there) are an error rather than a silent rounding. */
  u64(): number {
    const v = this.#view.getBigUint64(this.#need(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Mp4ParseError('unsupported', `${this.#type} holds a 64-bit value beyond 2^53`);
    }
    return Number(v);
  }

  /** A FullBox's version and flags. */
  fullHeader(): { version: number; flags: number } {
    const v = this.u32();
    return { version: v >>> 24, flags: v & 0xffffff };
  }
}
