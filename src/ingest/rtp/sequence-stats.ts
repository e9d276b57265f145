import { ReorderBuffer } from './reorder-buffer.js';

/** RFC 3550 A.3 receive counts for one RTP stream: packets received, and cumulative loss. */
export class SequenceStats {
  #base: number | null = null;
  #max = 0;
  #unique = 0;
  readonly #seen = new Set<number>();
  /** Every packet that arrived, retransmissions and duplicates included. */
  received = 0;

  record(sequenceNumber: number): void {
    this.received++;
    const seq = sequenceNumber & 0xffff;
    if (this.#base === null) {
      this.#base = seq + 0x10000;
      this.#max = this.#base;
      this.#unique = 1;
      this.#seen.add(this.#base);
      return;
    }
    const ext = ReorderBuffer.extend(seq, this.#max);
    if (this.#seen.has(ext)) return;
    this.#seen.add(ext);
    this.#unique++;
    if (ext > this.#max) this.#max = ext;
    // Remember only the recent past: a duplicate older than this counts again (harmless).
    if (this.#seen.size > 4096) {
      for (const s of this.#seen) {
        if (s < this.#max - 2048) this.#seen.delete(s);
      }
    }
  }

  /** Expected minus received (never negative). */
  get lost(): number {
    if (this.#base === null) return 0;
    return Math.max(0, this.#max - this.#base + 1 - this.#unique);
  }
}
