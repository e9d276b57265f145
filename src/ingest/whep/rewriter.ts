/**
 * Sequence numbers and timestamps of one viewer track: the publisher's, shifted by
 * offsets chosen at the first packet forwarded from each source (a publish session's SSRC),
 * so the viewer sees one continuous stream across a takeover: the sequence number goes on
 * by one, the timestamp by the wall-clock time since the last packet (at least one tick).
 */
export class TrackRewriter {
  readonly #clockRate: number;
  #source: string | null = null;
  #rebase = true;
  #started = false;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq: number;
  #lastTs: number;
  #lastWallMs = 0;

  constructor(clockRate: number, initialSeq: number, initialTs: number) {
    this.#clockRate = clockRate;
    this.#lastSeq = (initialSeq - 1) & 0xffff;
    this.#lastTs = initialTs >>> 0;
  }

  /** The source changed, or forwarding restarts at a key frame after a gap: rebase at the next packet. */
  rebase(): void {
    this.#rebase = true;
  }

  /** Whether a packet went out yet. */
  get started(): boolean {
    return this.#started;
  }

  /** The viewer's sequence number and timestamp for a packet that is sent now. */
  map(source: string, seq: number, ts: number, nowMs: number): { seq: number; ts: number } {
    if (source !== this.#source) {
      this.#source = source;
      this.#rebase = true;
    }
    if (this.#rebase) {
      this.#rebase = false;
      const step = this.#started
        ? Math.max(1, Math.round(((nowMs - this.#lastWallMs) * this.#clockRate) / 1000))
        : 0;
      this.#seqOffset = (this.#lastSeq + 1 - seq) & 0xffff;
      this.#tsOffset = (this.#lastTs + step - ts) >>> 0;
      this.#started = true;
    }
    const out = { seq: (seq + this.#seqOffset) & 0xffff, ts: (ts + this.#tsOffset) >>> 0 };
    // Only a newer packet moves the end on (a late one keeps its place).
    const ahead = (out.seq - this.#lastSeq) & 0xffff;
    if (ahead !== 0 && ahead < 0x8000) {
      this.#lastSeq = out.seq;
      this.#lastTs = out.ts;
      this.#lastWallMs = nowMs;
    }
    return out;
  }

  /** The source's sequence number behind one the viewer NACKs (current source only). */
  original(viewerSeq: number): number {
    return (viewerSeq - this.#seqOffset) & 0xffff;
  }

  /** Mapped timestamp for a retransmission (same offset as when it was first sent). */
  timestamp(ts: number): number {
    return (ts + this.#tsOffset) >>> 0;
  }

  /** For sender reports: the RTP time of `nowMs` on the viewer's timeline. */
  rtpTimeAt(nowMs: number): number {
    return (this.#lastTs + Math.round(((nowMs - this.#lastWallMs) * this.#clockRate) / 1000)) >>> 0;
  }
}
