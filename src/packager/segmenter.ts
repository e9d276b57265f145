import { partName, segmentName } from './names.js';

/**
 * Cuts one rendition's fragments into LL-HLS parts and segments. A pure state
 * machine: `push(fragment)` and `finish()` return events and touch nothing else
 * (werift's processor shape), so the VOD writer and the live publisher share it.
 *
 * Every fragment becomes one part. A segment ends before the first independent
 * fragment that crosses into the next slot of the grid `first + k × segmentSeconds` on
 * the media timeline. Because the grid is the same for every rendition, audio (where
 * every fragment is independent) cuts at the same media times as video whose GOPs
 * are aligned to the grid, and the renditions' segments line up.
 */

export interface SegmenterOptions {
  /** Rendition name, used in part and segment names (`720p`, `audio`). */
  rendition: string;
  /** Target segment duration in seconds; the grid the cuts snap to. */
  segmentSeconds: number;
  /** `audio`: every fragment starts with a sync sample whatever its flags say. */
  kind: 'video' | 'audio';
  /** Media sequence number of the first segment. @defaultValue 1 */
  firstMsn?: number;
  /**
   * Where the first cut may come, seconds (a whole number of GOPs); the grid then goes on
   * from there every segmentSeconds. A live run's first segment is cut short at its first
   * GOP so that a complete segment exists early: some players (Shaka) start only once
   * every rendition has one. @defaultValue segmentSeconds
   */
  firstSegmentSeconds?: number;
  /**
   * A segment that reaches this many seconds is cut even without a keyframe, so a
   * stream whose keyframes stop cannot grow one segment (and the memory behind it)
   * without bound. @defaultValue 3 × segmentSeconds
   */
  maxSegmentSeconds?: number;
}

/** What the segmenter needs of a fragment (a subset of FragmentEvent). */
export interface FragmentTimes {
  /** In `timescale` ticks. */
  decodeTime: number;
  duration: number;
  timescale: number;
  keyframe: boolean;
  /** Size of the fragment's bytes, for bit rates and byte ranges. */
  byteLength: number;
}

export interface PartInfo {
  /** 0-based index within its segment. */
  partIndex: number;
  name: string;
  /** Seconds. */
  duration: number;
  /** Starts with a sync sample (EXT-X-PART INDEPENDENT=YES). */
  independent: boolean;
  byteLength: number;
}

/** The fragment just pushed is part `partIndex` of segment `msn`. */
export interface PartReady extends PartInfo {
  type: 'part';
  msn: number;
}

/** Segment `msn` is complete: it is the concatenation of `parts`, in order. */
export interface SegmentReady {
  type: 'segment';
  msn: number;
  name: string;
  /** Media time of its first sample, seconds. */
  startTime: number;
  /** Seconds. */
  duration: number;
  /** Starts with a sync sample. */
  independent: boolean;
  byteLength: number;
  parts: PartInfo[];
}

export interface EndOfStream {
  type: 'end';
  /** Last complete segment's msn, or firstMsn - 1 when there was none. */
  lastMsn: number;
}

export type SegmenterEvent = PartReady | SegmentReady | EndOfStream;

interface OpenSegment {
  msn: number;
  /** Grid slot the segment started in. */
  slot: number;
  startTicks: number;
  ticks: number;
  byteLength: number;
  parts: PartInfo[];
}

export class Segmenter {
  readonly #o: Required<SegmenterOptions>;
  #timescale = 0;
  #nextMsn: number;
  #open: OpenSegment | null = null;
  #finished = false;

  constructor(options: SegmenterOptions) {
    if (!(options.segmentSeconds > 0)) throw new RangeError('segmentSeconds must be positive');
    if (options.firstSegmentSeconds !== undefined && !(options.firstSegmentSeconds > 0)) {
      throw new RangeError('firstSegmentSeconds must be positive');
    }
    this.#o = {
      firstMsn: 1,
      maxSegmentSeconds: options.segmentSeconds * 3,
      firstSegmentSeconds: options.segmentSeconds,
      ...options,
    };
    this.#nextMsn = this.#o.firstMsn;
  }

  push(f: FragmentTimes): SegmenterEvent[] {
    if (this.#finished) throw new Error(`segmenter ${this.#o.rendition}: push() after finish()`);
    if (this.#timescale === 0) this.#timescale = f.timescale;
    else if (f.timescale !== this.#timescale) {
      throw new Error(
        `segmenter ${this.#o.rendition}: timescale changed from ${this.#timescale} to ${f.timescale}`,
      );
    }
    const independent = this.#o.kind === 'audio' || f.keyframe;
    const slot = this.#slot(f);
    const events: SegmenterEvent[] = [];
    const open = this.#open;
    if (open) {
      const crossed = independent && slot > open.slot;
      const tooLong = (open.ticks + f.duration) / f.timescale > this.#o.maxSegmentSeconds;
      if (crossed || tooLong) {
        events.push(this.#close(open));
        this.#open = null;
      }
    }
    const seg = (this.#open ??= {
      msn: this.#nextMsn++,
      slot,
      startTicks: f.decodeTime,
      ticks: 0,
      byteLength: 0,
      parts: [],
    });
    const part: PartInfo = {
      partIndex: seg.parts.length,
      name: partName(this.#o.rendition, seg.msn, seg.parts.length),
      duration: f.duration / f.timescale,
      independent,
      byteLength: f.byteLength,
    };
    seg.parts.push(part);
    seg.ticks += f.duration;
    seg.byteLength += f.byteLength;
    events.push({ type: 'part', msn: seg.msn, ...part });
    return events;
  }

  /**
   * Whether an independent fragment of `durationTicks` that starts where the open
   * segment ends would start a new segment. Live playlists name the next part in a
   * preload hint before it exists; when a segment is about to end, that part is the
   * next segment's first (video GOPs are aligned to the segment grid).
   */
  nextStartsSegment(durationTicks: number): boolean {
    const open = this.#open;
    if (!open || this.#timescale === 0) return false;
    const next: FragmentTimes = {
      decodeTime: open.startTicks + open.ticks,
      duration: durationTicks,
      timescale: this.#timescale,
      keyframe: true,
      byteLength: 0,
    };
    return (
      this.#slot(next) > open.slot ||
      (open.ticks + durationTicks) / this.#timescale > this.#o.maxSegmentSeconds
    );
  }

  /** End of stream: the open segment (if any) is complete. Idempotent. */
  finish(): SegmenterEvent[] {
    if (this.#finished) return [];
    this.#finished = true;
    const events: SegmenterEvent[] = [];
    if (this.#open) events.push(this.#close(this.#open));
    this.#open = null;
    events.push({ type: 'end', lastMsn: this.#nextMsn - 1 });
    return events;
  }

  /**
   * The grid slot of the fragment's midpoint: a fragment straddling a boundary goes
   * to the side holding most of it, so the cut lands on the fragment edge nearest
   * the boundary (audio fragments rarely start exactly on it). Slot 0 ends at
   * firstSegmentSeconds, each later one segmentSeconds after the one before.
   */
  #slot(f: FragmentTimes): number {
    const mid = (f.decodeTime + f.duration / 2) / f.timescale;
    const first = this.#o.firstSegmentSeconds;
    if (mid < first - 1e-9) return 0;
    return 1 + Math.floor((mid - first) / this.#o.segmentSeconds + 1e-9);
  }

  #close(seg: OpenSegment): SegmentReady {
    return {
      type: 'segment',
      msn: seg.msn,
      name: segmentName(this.#o.rendition, seg.msn),
      startTime: seg.startTicks / this.#timescale,
      duration: seg.ticks / this.#timescale,
      independent: seg.parts[0]?.independent ?? false,
      byteLength: seg.byteLength,
      parts: seg.parts,
    };
  }
}
