/** The bitstream ended before a field was complete, or a field is out of its range. */
export class BitstreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BitstreamError';
  }
}

/**
 * MSB-first reader over a byte buffer, with the Exp-Golomb codes of H.264 (ITU-T H.264
 * 9.1). Reading past the end throws a BitstreamError; nothing here allocates per bit.
 */
export class BitReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** Bits left to read. */
  get remaining(): number {
    return this.#buf.length * 8 - this.#pos;
  }

  u1(): number {
    const byte = this.#buf[this.#pos >> 3];
    if (byte === undefined) throw new BitstreamError('read past the end of the bitstream');
    const bit = (byte >> (7 - (this.#pos & 7))) & 1;
    this.#pos++;
    return bit;
  }

  /** u(n), n up to 32. */
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.u1();
    return v;
  }

  skip(n: number): void {
    if (n > this.remaining) throw new BitstreamError('read past the end of the bitstream');
    this.#pos += n;
  }

  /** ue(v): unsigned Exp-Golomb, up to 2^32 - 2. */
  ue(): number {
    let zeros = 0;
    while (this.u1() === 0) {
      if (++zeros > 31) throw new BitstreamError('Exp-Golomb code longer than 32 bits');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v): signed Exp-Golomb. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }

  /** ue(v) that must lie in [min, max] (ranges from the spec's semantics). */
  ueIn(min: number, max: number, name: string): number {
    const v = this.ue();
    if (v < min || v > max) throw new BitstreamError(`${name} ${v} is outside ${min}..${max}`);
    return v;
  }
}

/**
 * The RBSP of a NAL unit: its payload with emulation-prevention bytes removed (every
 * `00 00 03` becomes `00 00`, ITU-T H.264 7.4.1).
 */
export function nalToRbsp(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let found = false;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      found = true;
      break;
    }
    zeros = b === 0 ? zeros + 1 : 0;
  }
  if (!found) return nal;
  const out = new Uint8Array(nal.length);
  let n = 0;
  zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
