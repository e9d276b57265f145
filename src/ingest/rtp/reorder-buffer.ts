/** The part of an RTP packet the reorder buffer reads. */
export interface SequencedPacket {
  header: { sequenceNumber: number };
}

/**
 * What the buffer releases, in order: packets, and gaps of sequence numbers it gave up
 * on (they did not arrive within `maxDelayMs`, or the buffer was full). A gap means the
 * frame it fell in is broken.
 */
export type ReorderItem<P> = { packet: P; lost?: undefined } | { packet?: undefined; lost: number };

export interface ReorderOutput<P> {
  items: ReorderItem<P>[];
  /** The sequence jumped too far to be reordering (a new sender): state was reset. */
  reset: boolean;
}

export interface ReorderBufferOptions {
  /** How long a gap is waited for (retransmission or late arrival) before it is skipped. */
  maxDelayMs: number;
  /** More packets waiting than this skips the gap at once. @defaultValue 1024 */
  maxPackets?: number;
  /** A jump of more sequence numbers than this resets the buffer. @defaultValue 3000 */
  maxJump?: number;
}

interface Waiting<P> {
  packet: P;
  arrivalMs: number;
}

/**
 * A jitter buffer for one RTP stream: puts packets back in sequence order, waits up to
 * `maxDelayMs` (measured on arrival times) for a missing one to be retransmitted (NACK)
 * or to arrive late, then skips it and says how many were given up on. Duplicates and
 * packets that arrive after their place was skipped are dropped. Pure: time comes in with
 * each call, so it is tested without clocks.
 *
 * Not werift's JitterBufferBase: that one drops the packets between a timed-out gap and
 * the packet that revealed it (about 9 in 100 packets lost at 1% loss, measured), and
 * measures waiting in RTP time, which stands still while a sender is stalled.
 */
export class ReorderBuffer<P extends SequencedPacket> {
  readonly #maxDelayMs: number;
  readonly #maxPackets: number;
  readonly #maxJump: number;
  /** Extended sequence number expected next; null before the first packet. */
  #next: number | null = null;
  readonly #waiting = new Map<number, Waiting<P>>();
  /** Packets dropped: copies of one still waiting, and ones whose place was already released or skipped. */
  duplicates = 0;
  late = 0;

  constructor(opts: ReorderBufferOptions) {
    this.#maxDelayMs = opts.maxDelayMs;
    this.#maxPackets = opts.maxPackets ?? 1024;
    this.#maxJump = opts.maxJump ?? 3000;
  }

  /** Packets held back, waiting for a gap before them. */
  get size(): number {
    return this.#waiting.size;
  }

  /** The extended form of a 16-bit sequence number: the one nearest to `ref`. */
  static extend(seq: number, ref: number): number {
    let ext = ref - (ref & 0xffff) + seq;
    if (ext - ref > 0x8000) ext -= 0x10000;
    else if (ref - ext > 0x8000) ext += 0x10000;
    return ext;
  }

  push(packet: P, arrivalMs: number): ReorderOutput<P> {
    const out: ReorderOutput<P> = { items: [], reset: false };
    const seq = packet.header.sequenceNumber & 0xffff;
    if (this.#next === null) this.#next = seq + 0x10000; // room to go below the first one
    const ext = ReorderBuffer.extend(seq, this.#next);
    if (Math.abs(ext - this.#next) > this.#maxJump) {
      // Not reordering: a restarted sender. Whatever waited is from the old run.
      out.reset = true;
      this.#waiting.clear();
      this.#next = ext;
    }
    if (ext < this.#next) {
      this.late++;
      return out;
    }
    if (this.#waiting.has(ext)) {
      this.duplicates++;
      return out;
    }
    this.#waiting.set(ext, { packet, arrivalMs });
    this.#release(arrivalMs, out);
    return out;
  }

  /** Skips gaps that waited too long; call it now and then when no packets arrive. */
  poll(nowMs: number): ReorderOutput<P> {
    const out: ReorderOutput<P> = { items: [], reset: false };
    this.#release(nowMs, out);
    return out;
  }

  #release(nowMs: number, out: ReorderOutput<P>): void {
    for (;;) {
      this.#drainInOrder(out);
      if (this.#waiting.size === 0 || this.#next === null) return;
      let oldest = Infinity;
      let first = Infinity;
      for (const [ext, w] of this.#waiting) {
        if (w.arrivalMs < oldest) oldest = w.arrivalMs;
        if (ext < first) first = ext;
      }
      if (nowMs - oldest < this.#maxDelayMs && this.#waiting.size <= this.#maxPackets) return;
      // Give up on the gap before the first waiting packet.
      out.items.push({ lost: first - this.#next });
      this.#next = first;
    }
  }

  #drainInOrder(out: ReorderOutput<P>): void {
    if (this.#next === null) return;
    for (;;) {
      const w = this.#waiting.get(this.#next);
      if (!w) return;
      this.#waiting.delete(this.#next);
      out.items.push({ packet: w.packet });
      this.#next++;
    }
  }
}
