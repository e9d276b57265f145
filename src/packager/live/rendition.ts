import { initName, MP4_TYPE, objectKey, playlistName, segmentName, stateName } from '../names.js';
import { AppError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { peakBitrate, type SizedSegment } from '../bandwidth.js';
import { Fmp4Splitter, type Fmp4Event, type FragmentEvent } from '../fmp4-splitter.js';
import type { LivePublishedPart } from './bus.js';
import { decodeSnapshot, type RenditionSnapshot } from './state-store.js';
import { encodedPartTargetFor, liveTargetDuration, maxSegmentSecondsFor, partTargetFor } from './targets.js';
import { LiveTimeline, type TimelineEffects } from './timeline.js';
import { Mp4ParseError } from '../mp4/boxes.js';
import type { TrackInfo } from '../mp4/init.js';
import type { RenditionSpec } from '../rendition.js';
import { Segmenter, type PartReady, type SegmentReady } from '../segmenter.js';
import type { Storage } from '../storage/storage.js';

/** One ffmpeg run as every rendition of the stream sees it. */
export interface RunContext {
  /** 1, 2, ... within this packager; runs are sequential. */
  readonly seq: number;
  /** Wall clock of the run's media time 0, epoch ms. */
  readonly epochMs: number;
  /** Suffix of the run's init segment names (`{rendition}_init_{n}.mp4`); set once the run is ready. */
  initIndex: number;
  /** msn of the run's first segment, the same for every rendition; set once the run is ready. */
  firstMsn: number;
}

export interface LiveRenditionOptions {
  streamId: string;
  spec: RenditionSpec;
  storage: Storage;
  log: Logger;
  partSeconds: number;
  segmentSeconds: number;
  /** Length of a run's first segment (one GOP). @defaultValue segmentSeconds */
  firstSegmentSeconds?: number;
  /** See LivePackagerArgs.gopSeconds. */
  gopSeconds?: number;
  windowSegments: number;
  maxBoxBytes?: number;
  /** Duration of segment `msn` in another rendition, for gap segments. */
  gapDuration(msn: number): number | undefined;
  /** After every change of the playlist: publish it. `part` is the part just stored, `body` its bytes. */
  changed(r: LiveRendition, part: LivePublishedPart | null, body?: Buffer): void;
  /** Storage names that left the grace period. */
  deleteLater(names: string[]): void;
}

interface Input {
  run: RunContext;
  splitter: Fmp4Splitter;
  /** Created at the first fragment, when PART-TARGET is known. */
  segmenter: Segmenter | null;
  initName: string | null;
  /** Bytes of the open segment's parts, in order. */
  pending: Buffer[];
  failed: boolean;
  /** Storage refused a write: media is dropped (listed as gaps) until a segment's first part is stored. */
  storageDown: { since: number; lostSegments: number } | null;
}

/** How long storing a run's init segment is retried before the run fails, ms. */
const INIT_RETRY_MS = 30_000;

/** Runs `op` until it succeeds, backing off from 100 ms to 2 s, for at most `forMs`; then throws its last error. */
async function retried(
  op: () => Promise<void>,
  forMs: number,
  onRetry: (err: unknown, leftMs: number) => void,
): Promise<void> {
  const until = Date.now() + forMs;
  for (let delay = 100; ; delay = Math.min(delay * 2, 2000)) {
    try {
      return await op();
    } catch (err) {
      const left = until - Date.now();
      if (left <= 0) throw err;
      onRetry(err, left);
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
    }
  }
}

/**
 * One rendition of a live stream: fMP4 bytes of each run → Fmp4Splitter → Segmenter →
 * parts and segments in storage → the LiveTimeline → `changed`. All work for the
 * rendition goes through one queue (`enqueue`), so runs, the end and resumption never
 * interleave. Memory: the open segment's bytes (a segment is its parts concatenated,
 * written when its last part is known).
 */
export class LiveRendition {
  /** What the worker plans for this rendition; a run with a new plan updates it. */
  spec: RenditionSpec;
  readonly #o: LiveRenditionOptions;
  readonly #log: Logger;
  timeline: LiveTimeline | null = null;
  /** The current run's track (init segment), once seen. */
  track: TrackInfo | null = null;
  /** Sample duration of the current run's first fragment, seconds. */
  frameSeconds: number | undefined;
  /** The current run's complete segments, for measured bit rates. */
  runSegments: SizedSegment[] = [];
  /**
   * The highest peak segment bit rate measured in any run (bits/s): BANDWIDTH is raised to
   * it and never lowered again.
   */
  measuredPeakBps = 0;
  /** Parts stored in the current run. */
  partsThisRun = 0;
  /** Highest init segment index written so far, by this worker or the ones before it. */
  initIndex = 0;
  #resumedEnded = false;
  #queue: Promise<unknown> = Promise.resolve();
  #input: Input | null = null;
  /** Runs up to this seq are over for this rendition: late writes for them are dropped. */
  #finishedSeq = 0;

  constructor(o: LiveRenditionOptions) {
    this.spec = o.spec;
    this.#o = o;
    this.#log = o.log.child({ rendition: o.spec.name });
  }

  /** Runs `fn` after everything enqueued before it; a failure rejects this call only. */
  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(fn);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  /** Resolves when the queue is empty. */
  async drain(): Promise<void> {
    await this.#queue;
  }

  /** msn the next run's first segment needs at least. */
  get nextMsn(): number {
    return this.timeline?.nextMsn ?? 1;
  }

  /**
   * Picks up where a previous worker or session left the rendition, from the state it
   * stored beside the playlist (state-store.ts), if any.
   */
  async load(): Promise<void> {
    const key = objectKey(this.#o.streamId, stateName(this.spec.name));
    const obj = await this.#o.storage.get(key);
    const playlistKey = objectKey(this.#o.streamId, playlistName(this.spec.name));
    // Never package over what we cannot read: segment names would be reused.
    const refuse = (why: string, cause?: unknown): AppError =>
      new AppError(
        'conflict',
        `${playlistKey} is not a live playlist this packager can continue (a VOD asset with this id?): ${why}`,
        { cause },
      );
    if (!obj) {
      if (await this.#o.storage.get(playlistKey)) throw refuse('it has no stored state');
      return;
    }
    let resumed: RenditionSnapshot;
    try {
      resumed = decodeSnapshot(obj.body.toString('utf8'), this.spec.name);
    } catch (e) {
      throw refuse(errorMessage(e), e);
    }
    this.initIndex = resumed.initIndex;
    this.timeline = new LiveTimeline(
      {
        rendition: this.spec.name,
        targetDuration: resumed.state.targetDuration,
        partTarget: resumed.state.partTarget,
        windowSegments: this.#o.windowSegments,
      },
      resumed,
    );
    this.#resumedEnded = resumed.state.ended;
    this.#log.info(
      {
        lastMsn: resumed.state.nextMsn - 1,
        ended: resumed.state.ended,
        openParts: resumed.state.open?.parts.length ?? 0,
      },
      'resuming from the stored state',
    );
    if (resumed.state.open) await this.#closeResumedOpen();
  }

  /** What the next worker resumes from (state-store.ts); null before the first run. */
  snapshot(): RenditionSnapshot | null {
    const t = this.timeline;
    if (!t) return null;
    return { v: 1, state: t.state, retired: [...t.retired], initIndex: this.initIndex };
  }

  /** A chunk of the run's fMP4 output. */
  async push(run: RunContext, chunk: Buffer): Promise<void> {
    if (run.seq <= this.#finishedSeq) return;
    let input = this.#input;
    if (!input || input.run !== run) {
      if (input) await this.#finishInput(input);
      input = this.#input = {
        run,
        splitter: new Fmp4Splitter(
          this.#o.maxBoxBytes === undefined ? {} : { maxBoxBytes: this.#o.maxBoxBytes },
        ),
        segmenter: null,
        initName: null,
        pending: [],
        failed: false,
        storageDown: null,
      };
      this.track = null;
      this.runSegments = [];
      this.partsThisRun = 0;
    }
    if (input.failed) return;
    try {
      for (const ev of input.splitter.push(chunk)) await this.#onEvent(input, ev);
    } catch (e) {
      input.failed = true;
      throw e;
    }
  }

  /** The run's input for this rendition ended (or was aborted): its open segment is complete. */
  async finish(run: RunContext): Promise<void> {
    if (run.seq > this.#finishedSeq) this.#finishedSeq = run.seq;
    if (this.#input && this.#input.run.seq <= run.seq) await this.#finishInput(this.#input);
  }

  /** EXT-X-ENDLIST (after the current input, if any, is finished). Input of runs up to `lastRunSeq` arriving later is dropped. */
  async end(lastRunSeq: number): Promise<void> {
    if (this.#input) await this.finish(this.#input.run);
    this.#finishedSeq = Math.max(this.#finishedSeq, lastRunSeq);
    const t = this.timeline;
    if (!t || this.#resumedEnded) return;
    if (t.state.open) t.dropOpen();
    t.end();
    this.#o.changed(this, null);
  }

  async #onEvent(input: Input, ev: Fmp4Event): Promise<void> {
    if (ev.type === 'init') {
      if (ev.info.kind !== this.spec.kind) {
        throw new Error(
          `rendition ${this.spec.name} is ${this.spec.kind} but its input holds a ${ev.info.kind} track`,
        );
      }
      this.track = ev.info;
      input.initName = initName(this.spec.name, input.run.initIndex);
      this.initIndex = Math.max(this.initIndex, input.run.initIndex);
      const key = objectKey(this.#o.streamId, input.initName);
      await retried(
        () => this.#o.storage.put(key, ev.data, MP4_TYPE),
        INIT_RETRY_MS,
        (err, left) => this.#log.warn({ err, retryForMs: left }, 'storing the init segment failed: retrying'),
      );
      this.#log.debug({ codec: ev.info.codec, init: input.initName }, 'init segment stored');
      return;
    }
    const segmenter = input.segmenter ?? this.#startRun(input, ev);
    const out = segmenter.push({
      decodeTime: ev.decodeTime,
      duration: ev.duration,
      timescale: ev.timescale,
      keyframe: ev.keyframe,
      byteLength: ev.data.length,
    });
    let closed: SegmentReady | null = null;
    let part: PartReady | null = null;
    for (const e of out) {
      if (e.type === 'segment') closed = e;
      else if (e.type === 'part') part = e;
    }
    const t = this.timeline!;
    if (input.storageDown) {
      if (!this.#whileDown(input, t, closed, part)) return;
      closed = null;
    }
    const writes: Promise<void>[] = [];
    if (closed) writes.push(this.#putSegment(input, closed));
    if (part) {
      input.pending.push(ev.data);
      writes.push(this.#o.storage.put(objectKey(this.#o.streamId, part.name), ev.data, MP4_TYPE));
    }
    // The segment and the part that follows it are stored together; both are
    // published only once both exist.
    const stored = await Promise.allSettled(writes);
    const failed = stored.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.#storageFailed(input, t, failed.reason);
      return;
    }
    if (input.storageDown) this.#storageBack(input);
    if (closed) this.#closed(closed);
    if (part) {
      this.#effects(
        t.addPart({
          msn: part.msn,
          partIndex: part.partIndex,
          name: part.name,
          duration: part.duration,
          independent: part.independent,
          byteLength: part.byteLength,
          startTime: ev.decodeTime / ev.timescale,
          lastOfSegment: segmenter.nextStartsSegment(ev.duration),
        }),
      );
      this.partsThisRun++;
      this.#o.changed(this, { msn: part.msn, part: part.partIndex, uri: part.name }, ev.data);
    } else if (closed) {
      this.#o.changed(this, null);
    }
  }

  /**
   * Storage refused a write. Nothing is published that storage does not hold, and a live
   * stream does not stop for its disk: the open segment becomes a gap, and media is
   * dropped (listed as gaps, numbering and the timeline going on) until storage takes a
   * segment's first part again (#whileDown). ffmpeg keeps running in real time, so no
   * backlog builds up behind the outage.
   */
  #storageFailed(input: Input, t: LiveTimeline, err: unknown): void {
    input.pending = [];
    if (t.state.open) {
      this.#effects(t.dropOpen());
      this.#o.changed(this, null);
    }
    if (!input.storageDown) {
      input.storageDown = { since: Date.now(), lostSegments: 0 };
      this.#log.warn(
        { err: errorMessage(err) },
        'storage refuses writes: dropping media (listed as gaps) until it takes them again',
      );
    }
  }

  #storageBack(input: Input): void {
    const down = input.storageDown!;
    input.storageDown = null;
    this.#log.warn(
      { outageMs: Date.now() - down.since, segmentsLost: down.lostSegments },
      'storage takes writes again: publishing',
    );
  }

  /**
   * A fragment while storage is down: segments it closes are listed as gaps, and a
   * segment's first part is the probe that may end the outage. True: try storing `part`.
   */
  #whileDown(input: Input, t: LiveTimeline, closed: SegmentReady | null, part: PartReady | null): boolean {
    const down = input.storageDown!;
    if (closed) {
      if (closed.msn === t.nextMsn - 1) t.stretchGap(closed.msn, closed.duration);
      else if (closed.msn === t.nextMsn) this.#effects(t.gapSegment(closed.msn, closed.duration));
      down.lostSegments++;
      this.#o.changed(this, null);
    }
    return part !== null && part.partIndex === 0 && part.independent && part.msn === t.nextMsn;
  }

  /** First fragment of a run: targets are known, the run begins in the timeline. */
  #startRun(input: Input, ev: FragmentEvent): Segmenter {
    if (!input.initName) throw new Error(`rendition ${this.spec.name}: a fragment before the init segment`);
    this.frameSeconds = ev.sampleCount > 0 ? ev.duration / ev.sampleCount / ev.timescale : undefined;
    const targetDuration = liveTargetDuration(this.#o.segmentSeconds);
    const partTarget =
      this.spec.kind === 'video' && this.#o.gopSeconds !== undefined && this.frameSeconds !== undefined
        ? encodedPartTargetFor(this.#o.partSeconds, this.frameSeconds, this.#o.gopSeconds)
        : partTargetFor(this.#o.partSeconds, this.frameSeconds ?? this.#o.partSeconds);
    let t = this.timeline;
    if (!t) {
      t = this.timeline = new LiveTimeline({
        rendition: this.spec.name,
        targetDuration,
        partTarget,
        windowSegments: this.#o.windowSegments,
      });
    } else if (this.#resumedEnded) {
      // A new session of an ended stream: a fresh window, targets from this preset.
      this.#effects(t.restartWindow({ targetDuration, partTarget }));
      this.#resumedEnded = false;
    } else if (targetDuration > t.state.targetDuration) {
      this.#log.warn(
        { targetDuration: t.state.targetDuration, wanted: targetDuration },
        'EXT-X-TARGETDURATION cannot change mid-stream: longer segments will be cut without a keyframe',
      );
    }
    this.#effects(
      t.beginRun({
        map: input.initName,
        epochMs: input.run.epochMs,
        firstMsn: Math.max(input.run.firstMsn, t.nextMsn),
        gapDuration: (msn) => this.#o.gapDuration(msn),
      }),
    );
    input.segmenter = new Segmenter({
      rendition: this.spec.name,
      segmentSeconds: this.#o.segmentSeconds,
      // A run's first segment ends at its first GOP: a complete segment exists early.
      firstSegmentSeconds: this.#o.firstSegmentSeconds ?? this.#o.segmentSeconds,
      kind: this.spec.kind,
      firstMsn: t.nextMsn,
      maxSegmentSeconds: maxSegmentSecondsFor(t.state.targetDuration),
    });
    return input.segmenter;
  }

  async #putSegment(input: Input, e: SegmentReady): Promise<void> {
    const body = Buffer.concat(input.pending);
    input.pending = [];
    if (!e.independent && this.spec.kind === 'video') {
      this.#log.warn(
        { msn: e.msn },
        'segment does not start with a keyframe (a GOP overran the target duration)',
      );
    }
    await this.#o.storage.put(objectKey(this.#o.streamId, e.name), body, MP4_TYPE);
  }

  #closed(e: SegmentReady): void {
    this.#effects(
      this.timeline!.closeSegment({
        msn: e.msn,
        name: e.name,
        duration: e.duration,
        byteLength: e.byteLength,
      }),
    );
    this.runSegments.push({ duration: e.duration, byteLength: e.byteLength });
    // Sets ending at this segment (RFC 8216bis 4.4.6.2: up to 1.5 target durations long).
    const recent = this.runSegments.slice(-8);
    const t = this.timeline;
    if (t) this.measuredPeakBps = Math.max(this.measuredPeakBps, peakBitrate(recent, t.state.targetDuration));
  }

  async #finishInput(input: Input): Promise<void> {
    if (this.#input !== input) return;
    this.#input = null;
    if (input.run.seq > this.#finishedSeq) this.#finishedSeq = input.run.seq;
    if (!input.failed) {
      try {
        // push() drained every whole box; what end() finds is a box cut short by a crash.
        for (const ev of input.splitter.end()) await this.#onEvent(input, ev);
      } catch (e) {
        if (!(e instanceof Mp4ParseError)) throw e;
        this.#log.info({ reason: e.message }, 'dropped the unfinished end of the run');
      }
    }
    const t = this.timeline;
    if (!input.segmenter || !t?.state.open) return;
    if (input.failed) {
      this.#effects(t.dropOpen());
      this.#o.changed(this, null);
      return;
    }
    for (const e of input.segmenter.finish()) {
      if (e.type !== 'segment') continue;
      try {
        await this.#putSegment(input, e);
      } catch (err) {
        this.#effects(t.dropOpen());
        this.#o.changed(this, null);
        throw err;
      }
      this.#closed(e);
      this.#o.changed(this, null);
    }
  }

  /** The stored playlist ended with parts of an unfinished segment: they become that segment. */
  async #closeResumedOpen(): Promise<void> {
    const t = this.timeline!;
    const open = t.state.open!;
    const bodies: Buffer[] = [];
    for (const p of open.parts) {
      const obj = await this.#o.storage.get(objectKey(this.#o.streamId, p.uri));
      if (!obj) break;
      bodies.push(obj.body);
    }
    if (bodies.length === open.parts.length) {
      const name = segmentName(this.spec.name, open.msn);
      const body = Buffer.concat(bodies);
      await this.#o.storage.put(objectKey(this.#o.streamId, name), body, MP4_TYPE);
      this.#effects(
        t.closeSegment({
          msn: open.msn,
          name,
          duration: open.parts.reduce((a, p) => a + p.duration, 0),
          byteLength: body.length,
        }),
      );
    } else {
      this.#log.warn({ msn: open.msn }, 'parts of the unfinished segment are missing: it becomes a gap');
      this.#effects(t.dropOpen());
    }
    this.#o.changed(this, null);
  }

  #effects(fx: TimelineEffects): void {
    if (fx.partTargetRaisedTo !== undefined) {
      this.#log.warn({ partTarget: fx.partTargetRaisedTo }, 'a part was longer than PART-TARGET: raised it');
    }
    if (fx.deletions.length > 0) this.#o.deleteLater(fx.deletions);
  }
}
