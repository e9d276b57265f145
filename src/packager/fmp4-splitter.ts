import { MAX_HEADER_BYTES, Mp4ParseError, readBoxHeader, type Box } from './mp4/boxes.js';
import { parseMoof } from './mp4/fragment.js';
import { parseMoov, type TrackInfo } from './mp4/init.js';

/** The init segment: ftyp + moov, written once as `{rendition}_init.mp4`. */
export interface InitEvent {
  type: 'init';
  data: Buffer;
  info: TrackInfo;
}

/** One movie fragment: any styp/prft/emsg before it, the moof and its mdat. */
export interface FragmentEvent {
  type: 'fragment';
  data: Buffer;
  /** In `timescale` ticks. */
  decodeTime: number;
  duration: number;
  timescale: number;
  sampleCount: number;
  /** The first sample is a sync sample: a part that may start playback (INDEPENDENT=YES). */
  keyframe: boolean;
}

export type Fmp4Event = InitEvent | FragmentEvent;

export interface Fmp4SplitterOptions {
  /**
   * Largest box accepted, in bytes; a larger declared size is an error instead of
   * an allocation. Default 64 MiB: one fragment of 4K video at 100 Mb/s for 5 s.
   */
  maxBoxBytes?: number;
}

/** Boxes that ride along in front of a moof and belong in the same segment file. */
const PREFIX_BOXES = new Set(['styp', 'prft', 'emsg']);

/**
 * Splits one rendition's fMP4 byte stream (ffmpeg `-movflags +empty_moov+frag_keyframe`)
 * into its init segment and fragments, whatever the chunk boundaries. Pure: bytes in,
 * events out. Buffers at most one box (plus the moof awaiting its mdat); after an error
 * every call throws that error again.
 */
export class Fmp4Splitter {
  readonly #maxBoxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes the box being waited for needs; lets small pushes return without re-reading its header. */
  #waitingFor = 0;
  #ftyp: Buffer | null = null;
  #track: TrackInfo | null = null;
  #prefix: Buffer[] = [];
  #prefixBytes = 0;
  #moof: {
    data: Buffer;
    decodeTime: number;
    duration: number;
    sampleCount: number;
    keyframe: boolean;
  } | null = null;
  #nextDecodeTime = 0;
  #failed: Mp4ParseError | null = null;
  #ended = false;

  constructor(options: Fmp4SplitterOptions = {}) {
    this.#maxBoxBytes = options.maxBoxBytes ?? 64 * 1024 * 1024;
  }

  /** The track, once the init segment has been seen. */
  get track(): TrackInfo | null {
    return this.#track;
  }

  push(chunk: Uint8Array): Fmp4Event[] {
    this.#check();
    if (this.#ended) this.#fail(new Mp4ParseError('unexpected_box', 'push() after end()'));
    if (chunk.length > 0) {
      this.#chunks.push(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
      );
      this.#buffered += chunk.length;
    }
    return this.#buffered < this.#waitingFor ? [] : this.#drain(false);
  }

  /** Input is over: the remaining bytes must be whole boxes, and no moof may wait for its mdat. */
  end(): Fmp4Event[] {
    this.#check();
    if (this.#ended) return [];
    const events = this.#drain(true);
    this.#ended = true;
    if (this.#buffered > 0) {
      this.#fail(new Mp4ParseError('truncated', `input ended inside a box (${this.#buffered} bytes left)`));
    }
    if (this.#moof) this.#fail(new Mp4ParseError('truncated', 'input ended between a moof and its mdat'));
    return events;
  }

  #check(): void {
    if (this.#failed) throw this.#failed;
  }

  #fail(e: Mp4ParseError): never {
    this.#failed = e;
    this.#chunks = [];
    this.#buffered = 0;
    throw e;
  }

  #drain(atEnd: boolean): Fmp4Event[] {
    const events: Fmp4Event[] = [];
    try {
      for (;;) {
        const head = this.#peek(Math.min(MAX_HEADER_BYTES, this.#buffered));
        const h = readBoxHeader(head, 0);
        if (!h) break;
        // size 0: the box runs to the end of the input, known only at end().
        const size = h.size === 0 ? (atEnd ? this.#buffered : Infinity) : h.size;
        if (size > this.#maxBoxBytes || (h.size === 0 && this.#buffered > this.#maxBoxBytes)) {
          throw new Mp4ParseError('box_too_large', `box ${h.type} exceeds ${this.#maxBoxBytes} bytes`);
        }
        if (this.#buffered < size) {
          if (Number.isFinite(size)) this.#waitingFor = size;
          break;
        }
        this.#waitingFor = 0;
        const ev = this.#onBox(h.type, this.#take(size), h.headerSize);
        if (ev) events.push(ev);
      }
    } catch (e) {
      if (e instanceof Mp4ParseError) this.#fail(e);
      throw e;
    }
    return events;
  }

  #onBox(type: string, data: Buffer, headerSize: number): Fmp4Event | null {
    const box: Box = { type, start: 0, end: data.length, payload: headerSize, buf: data };
    if (!this.#track) {
      if (type === 'ftyp') this.#ftyp = data;
      else if (type === 'moov') {
        this.#track = parseMoov(box);
        const init = this.#ftyp ? Buffer.concat([this.#ftyp, data]) : data;
        return { type: 'init', data: init, info: this.#track };
      } else if (type === 'moof' || type === 'mdat' || PREFIX_BOXES.has(type)) {
        throw new Mp4ParseError('unexpected_box', `${type} before the moov`);
      }
      return null;
    }
    switch (type) {
      case 'ftyp':
      case 'moov':
        throw new Mp4ParseError('unexpected_box', `a second ${type}: one init segment per stream`);
      case 'moof': {
        if (this.#moof) throw new Mp4ParseError('unexpected_box', 'moof followed by another moof, no mdat');
        const t = parseMoof(box, this.#track);
        const decodeTime = t.decodeTime ?? this.#nextDecodeTime;
        this.#moof = {
          data,
          decodeTime,
          duration: t.duration,
          sampleCount: t.sampleCount,
          keyframe: t.keyframe,
        };
        return null;
      }
      case 'mdat': {
        const moof = this.#moof;
        if (!moof) throw new Mp4ParseError('unexpected_box', 'mdat without a moof');
        this.#moof = null;
        const parts = [...this.#prefix, moof.data, data];
        this.#prefix = [];
        this.#prefixBytes = 0;
        this.#nextDecodeTime = moof.decodeTime + moof.duration;
        return {
          type: 'fragment',
          data: Buffer.concat(parts),
          decodeTime: moof.decodeTime,
          duration: moof.duration,
          timescale: this.#track.timescale,
          sampleCount: moof.sampleCount,
          keyframe: moof.keyframe,
        };
      }
      default:
        if (PREFIX_BOXES.has(type)) {
          if (this.#moof) throw new Mp4ParseError('unexpected_box', `${type} between a moof and its mdat`);
          this.#prefixBytes += data.length;
          if (this.#prefixBytes > this.#maxBoxBytes) {
            throw new Mp4ParseError('box_too_large', `${this.#prefixBytes} bytes of ${type} without a moof`);
          }
          this.#prefix.push(data);
        }
        // Everything else (mfra, sidx, free, udta) indexes or pads the whole file and
        // would be wrong inside a segment.
        return null;
    }
  }

  /** The first `n` buffered bytes, copying only when they span chunks. */
  #peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (!first) return Buffer.alloc(0);
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.alloc(n);
    let filled = 0;
    for (const c of this.#chunks) {
      filled += c.copy(out, filled, 0, Math.min(c.length, n - filled));
      if (filled === n) break;
    }
    return out;
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      let used = 0;
      while (filled < n) {
        const c = this.#chunks[used]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) used++;
        else this.#chunks[used] = c.subarray(k);
      }
      // One splice, not a shift per chunk: 1-byte writes would otherwise go quadratic.
      this.#chunks.splice(0, used);
    }
    this.#buffered -= n;
    return out;
  }
}
