import { partName, segmentName } from '../names.js';
import type { LiveOpenSegment, LivePart, LiveRenditionState, LiveSegment } from './state.js';
import { fitsPartTarget, raisedPartTarget } from './targets.js';

/**
 * One live rendition's playlist window as a pure state machine: runs begin, parts are
 * added, segments close, the window slides, the stream ends. Every call returns what
 * changed outside the model (storage names to delete); the caller does the I/O. Media
 * Sequence Numbers only grow: across runs (a discontinuity), across workers (a resumed
 * state) and across sessions of the same stream id, so an immutable part or segment
 * name never names two different things.
 */

export interface LiveTimelineOptions {
  rendition: string;
  /** EXT-X-TARGETDURATION (fixed). */
  targetDuration: number;
  /** Initial PART-TARGET; raised if a longer part ever comes. */
  partTarget: number;
  /**
   * Complete segments the playlist lists. Also the grace period: a segment that left the
   * window is deleted only once a whole window more has passed, since playlists that
   * still list it may sit in a CDN or a player. @defaultValue 10
   */
  windowSegments?: number;
  /**
   * Parts are listed for segments that end less than this far from the end of the
   * playlist. RFC 8216bis 6.2.2: "Partial Segments ... older than three Target Durations
   * from the end of the Playlist" may be removed. @defaultValue 3 × targetDuration
   */
  partWindowSeconds?: number;
  /** Clock for `updatedMs` (Last-Modified). @defaultValue Date.now */
  now?: () => number;
}

/** Least window: RFC 8216bis 6.2.2 wants at least three target durations; Apple's LL-HLS guidance asks for six segments. */
export const MIN_WINDOW_SEGMENTS = 6;
export const DEFAULT_WINDOW_SEGMENTS = 10;

export interface RunStart {
  /** Init segment name of the run (EXT-X-MAP URI). */
  map: string;
  /** Wall clock of the run's media time 0, epoch ms. */
  epochMs: number;
  /**
   * msn of the run's first segment, the same for every rendition of the stream. Above
   * this rendition's next msn, the msns between become EXT-X-GAP segments, so the
   * renditions stay aligned (a rendition ended its last run a segment early).
   */
  firstMsn: number;
  /** Duration of the gap segment `msn` (taken from a rendition that has that segment). */
  gapDuration?: (msn: number) => number | undefined;
}

export interface NewPart {
  msn: number;
  partIndex: number;
  name: string;
  duration: number;
  independent: boolean;
  byteLength: number;
  /** Media time of the part's first sample within its run, seconds. */
  startTime: number;
  /** The segmenter expects the next part to start a new segment (see Segmenter.nextStartsSegment). */
  lastOfSegment?: boolean;
}

export interface ClosedSegment {
  msn: number;
  name: string;
  duration: number;
  byteLength: number;
}

/** What a change asks of the caller. */
export interface TimelineEffects {
  /** Storage names to delete (segments, parts and init segments past the grace period). */
  deletions: string[];
  /** Set when a part longer than PART-TARGET raised it. */
  partTargetRaisedTo?: number;
}

interface Retired {
  msn: number;
  names: string[];
  map: string;
}

export class LiveTimeline {
  readonly #window: number;
  readonly #partWindow: number;
  readonly #now: () => number;
  readonly #s: LiveRenditionState;
  /** Segments that left the window, oldest first, awaiting deletion. */
  #retired: Retired[] = [];
  #run: { map: string; epochMs: number; discontinuity: boolean } | null = null;
  /** Any media before (a resumed stream, or an earlier run): the next run starts with a discontinuity. */
  #history: boolean;

  constructor(o: LiveTimelineOptions, resumed?: { state: LiveRenditionState; retired?: Retired[] }) {
    this.#window = o.windowSegments ?? DEFAULT_WINDOW_SEGMENTS;
    if (!Number.isInteger(this.#window) || this.#window < MIN_WINDOW_SEGMENTS) {
      throw new RangeError(`windowSegments must be a whole number >= ${MIN_WINDOW_SEGMENTS}`);
    }
    this.#partWindow = o.partWindowSeconds ?? 3 * o.targetDuration;
    this.#now = o.now ?? Date.now;
    if (resumed) {
      this.#s = structuredClone(resumed.state);
      this.#retired = resumed.retired ? [...resumed.retired] : [];
      // An open segment (parts of a run that died) must be closed or dropped before the next run or the end.
      this.#s.ended = false;
    } else {
      this.#s = {
        rendition: o.rendition,
        targetDuration: o.targetDuration,
        partTarget: o.partTarget,
        mediaSequence: 1,
        discontinuitySequence: 0,
        segments: [],
        open: null,
        nextMsn: 1,
        ended: false,
        version: 0,
        updatedMs: 0,
      };
    }
    this.#history = this.#s.nextMsn > 1 || this.#s.segments.length > 0;
  }

  /** The current state; the caller must not change it (serialize or clone it to keep it). */
  get state(): Readonly<LiveRenditionState> {
    return this.#s;
  }

  get nextMsn(): number {
    return this.#s.open ? this.#s.open.msn + 1 : this.#s.nextMsn;
  }

  /** Segment `msn` if the window holds it. */
  segment(msn: number): LiveSegment | undefined {
    const i = msn - this.#s.mediaSequence;
    const seg = this.#s.segments[i];
    return seg?.msn === msn ? seg : undefined;
  }

  /** Ends the previous run's media (which must have closed its open segment) and starts a new one. */
  beginRun(r: RunStart): TimelineEffects {
    const s = this.#s;
    if (s.open) throw new Error(`${s.rendition}: a run begins while segment ${s.open.msn} is open`);
    if (s.ended) throw new Error(`${s.rendition}: a run begins after the end`);
    const fx: TimelineEffects = { deletions: [] };
    if (r.firstMsn < s.nextMsn) {
      throw new Error(`${s.rendition}: run starts at msn ${r.firstMsn}, before the next msn ${s.nextMsn}`);
    }
    if (r.firstMsn > s.nextMsn) {
      if (s.segments.length === 0 || r.firstMsn - s.nextMsn >= this.#window) {
        // Nothing listed to stay aligned with, or a whole window of gaps: the window
        // restarts at firstMsn (removing segments only moves EXT-X-MEDIA-SEQUENCE on).
        this.#retireAll(fx);
        s.mediaSequence = r.firstMsn;
        s.nextMsn = r.firstMsn;
      } else {
        while (s.nextMsn < r.firstMsn) this.#addGap(r.gapDuration?.(s.nextMsn), fx);
      }
    }
    this.#run = { map: r.map, epochMs: r.epochMs, discontinuity: this.#history };
    this.#history = true;
    this.#touch();
    return fx;
  }

  addPart(p: NewPart): TimelineEffects {
    const s = this.#s;
    const run = this.#run;
    if (!run) throw new Error(`${s.rendition}: a part before its run began`);
    const fx: TimelineEffects = { deletions: [] };
    if (!fitsPartTarget(p.duration, s.partTarget)) {
      s.partTarget = raisedPartTarget(s.partTarget, p.duration);
      fx.partTargetRaisedTo = s.partTarget;
    }
    let open = s.open;
    if (!open) {
      if (p.msn !== s.nextMsn || p.partIndex !== 0) {
        throw new Error(`${s.rendition}: part ${p.msn}.${p.partIndex} where ${s.nextMsn}.0 was next`);
      }
      open = {
        msn: p.msn,
        pdtMs: run.epochMs + p.startTime * 1000,
        map: run.map,
        parts: [],
        byteLength: 0,
      };
      if (run.discontinuity) open.discontinuity = true;
      run.discontinuity = false;
      s.open = open;
      if (s.segments.length === 0) s.mediaSequence = p.msn;
    } else if (p.msn !== open.msn || p.partIndex !== open.parts.length) {
      throw new Error(
        `${s.rendition}: part ${p.msn}.${p.partIndex} where ${open.msn}.${open.parts.length} was next`,
      );
    }
    const part: LivePart = { uri: p.name, duration: p.duration };
    if (p.independent) part.independent = true;
    open.parts.push(part);
    open.byteLength += p.byteLength;
    if (p.lastOfSegment) open.endsAfterThisPart = true;
    else delete open.endsAfterThisPart;
    this.#trimParts();
    this.#touch();
    return fx;
  }

  /** The open segment is complete (the segmenter closed it). */
  closeSegment(c: ClosedSegment): TimelineEffects {
    const s = this.#s;
    const open = s.open;
    if (!open || open.msn !== c.msn)
      throw new Error(`${s.rendition}: closing segment ${c.msn}, which is not open`);
    const seg: LiveSegment = {
      msn: open.msn,
      uri: c.name,
      duration: c.duration,
      pdtMs: open.pdtMs,
      map: open.map,
      partCount: open.parts.length,
      parts: open.parts,
      byteLength: c.byteLength,
    };
    if (open.discontinuity) seg.discontinuity = true;
    s.open = null;
    s.nextMsn = open.msn + 1;
    const fx: TimelineEffects = { deletions: [] };
    this.#push(seg, fx);
    this.#trimParts();
    this.#touch();
    return fx;
  }

  /**
   * A new session of a stream whose playlist had ended: the old window leaves (deleted
   * after the grace period), numbering goes on, and the targets may be chosen afresh.
   */
  restartWindow(targets: { targetDuration: number; partTarget?: number }): TimelineEffects {
    const s = this.#s;
    if (s.open) throw new Error(`${s.rendition}: restartWindow() while segment ${s.open.msn} is open`);
    const fx: TimelineEffects = { deletions: [] };
    this.#retireAll(fx);
    s.mediaSequence = s.nextMsn;
    s.targetDuration = targets.targetDuration;
    if (targets.partTarget !== undefined) s.partTarget = targets.partTarget;
    s.ended = false;
    this.#touch();
    return fx;
  }

  /** EXT-X-ENDLIST. The open segment must have been closed (or given up with dropOpen). */
  end(): void {
    if (this.#s.open)
      throw new Error(`${this.#s.rendition}: end() while segment ${this.#s.open.msn} is open`);
    if (this.#s.ended) return;
    this.#s.ended = true;
    this.#run = null;
    this.#touch();
  }

  /**
   * Gives up an open segment whose file cannot be written: it stays in the playlist as
   * an EXT-X-GAP segment (its msn cannot be reused or left out: segments are numbered by
   * position) and its parts are deleted with it later.
   */
  dropOpen(): TimelineEffects {
    const s = this.#s;
    const open = s.open;
    const fx: TimelineEffects = { deletions: [] };
    if (!open) return fx;
    const duration = open.parts.reduce((a, p) => a + p.duration, 0);
    const seg: LiveSegment = {
      msn: open.msn,
      uri: segmentName(s.rendition, open.msn),
      duration: duration > 0 ? duration : 0.001,
      pdtMs: open.pdtMs,
      map: open.map,
      gap: true,
      partCount: open.parts.length,
      byteLength: 0,
    };
    if (open.discontinuity) seg.discontinuity = true;
    s.open = null;
    s.nextMsn = open.msn + 1;
    this.#push(seg, fx);
    this.#touch();
    return fx;
  }

  /**
   * Segment `msn` of the run was cut but could not be stored (storage failing): it is
   * listed as EXT-X-GAP, so numbering, the other renditions' alignment and the media
   * timeline go on; players skip it.
   */
  gapSegment(msn: number, duration: number): TimelineEffects {
    const s = this.#s;
    const run = this.#run;
    if (!run) throw new Error(`${s.rendition}: a gap segment before its run began`);
    if (s.open) throw new Error(`${s.rendition}: a gap segment while segment ${s.open.msn} is open`);
    if (msn !== s.nextMsn) throw new Error(`${s.rendition}: gap segment ${msn} where ${s.nextMsn} was next`);
    const prev = s.segments[s.segments.length - 1];
    const seg: LiveSegment = {
      msn,
      uri: segmentName(s.rendition, msn),
      duration: duration > 0 ? duration : 0.001,
      pdtMs: prev && !run.discontinuity ? prev.pdtMs + prev.duration * 1000 : run.epochMs,
      map: run.map,
      gap: true,
      partCount: 0,
      byteLength: 0,
    };
    if (run.discontinuity) seg.discontinuity = true;
    run.discontinuity = false;
    const fx: TimelineEffects = { deletions: [] };
    s.nextMsn = msn + 1;
    this.#push(seg, fx);
    this.#touch();
    return fx;
  }

  /** The gap segment `msn` (the last one listed) lasts `duration` after all: its cut came later. */
  stretchGap(msn: number, duration: number): void {
    const last = this.#s.segments[this.#s.segments.length - 1];
    if (!last || last.msn !== msn || !last.gap || duration <= last.duration) return;
    last.duration = duration;
    this.#touch();
  }

  #addGap(duration: number | undefined, fx: TimelineEffects): void {
    const s = this.#s;
    const prev = s.segments[s.segments.length - 1]!;
    const d = Math.min(duration ?? s.targetDuration, s.targetDuration);
    this.#push(
      {
        msn: s.nextMsn,
        uri: segmentName(s.rendition, s.nextMsn),
        duration: d > 0 ? d : s.targetDuration,
        pdtMs: prev.pdtMs + prev.duration * 1000,
        map: prev.map,
        gap: true,
        partCount: 0,
        byteLength: 0,
      },
      fx,
    );
    s.nextMsn++;
  }

  #push(seg: LiveSegment, fx: TimelineEffects): void {
    const s = this.#s;
    s.segments.push(seg);
    s.mediaSequence = s.segments[0]!.msn;
    while (s.segments.length > this.#window) this.#retire(s.segments.shift()!);
    s.mediaSequence = s.segments[0]?.msn ?? s.nextMsn;
    this.#collect(fx);
  }

  #retire(seg: LiveSegment): void {
    const s = this.#s;
    // RFC 8216bis 6.2.2: "If the server removes a Media Segment with an EXT-X-DISCONTINUITY
    // tag, it MUST increment the value of the EXT-X-DISCONTINUITY-SEQUENCE tag".
    if (seg.discontinuity) s.discontinuitySequence++;
    const names = seg.gap ? [] : [seg.uri];
    for (let i = 0; i < seg.partCount; i++) names.push(partName(s.rendition, seg.msn, i));
    this.#retired.push({ msn: seg.msn, names, map: seg.map });
  }

  #retireAll(fx: TimelineEffects): void {
    for (const seg of this.#s.segments) this.#retire(seg);
    this.#s.segments = [];
    this.#collect(fx);
  }

  /** Deletes what left the window more than a window ago, and init segments nothing uses any more. */
  #collect(fx: TimelineEffects): void {
    const s = this.#s;
    const horizon = s.mediaSequence - this.#window;
    const maps = new Set<string>();
    while (this.#retired.length > 0 && this.#retired[0]!.msn < horizon) {
      const r = this.#retired.shift()!;
      fx.deletions.push(...r.names);
      maps.add(r.map);
    }
    if (maps.size === 0) return;
    const inUse = new Set<string>(this.#retired.map((r) => r.map));
    for (const seg of s.segments) inUse.add(seg.map);
    if (s.open) inUse.add(s.open.map);
    if (this.#run) inUse.add(this.#run.map);
    for (const m of maps) if (!inUse.has(m)) fx.deletions.push(m);
  }

  /** Parts stay listed for segments that end less than partWindowSeconds from the end. */
  #trimParts(): void {
    const s = this.#s;
    let after = (s.open?.parts ?? []).reduce((a, p) => a + p.duration, 0);
    for (let i = s.segments.length - 1; i >= 0; i--) {
      const seg = s.segments[i]!;
      if (after >= this.#partWindow && seg.parts) delete seg.parts;
      after += seg.duration;
    }
  }

  #touch(): void {
    this.#s.version++;
    this.#s.updatedMs = this.#now();
  }

  /** For tests and resume: what awaits deletion. */
  get retired(): readonly Readonly<Retired>[] {
    return this.#retired;
  }
}

export type { Retired as RetiredSegment };
export type { LiveOpenSegment };
