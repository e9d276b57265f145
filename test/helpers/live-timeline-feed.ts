import type { LiveBus } from '../../src/packager/live/bus.js';
import { partName, segmentName } from '../../src/packager/names.js';
import type { Storage } from '../../src/packager/storage/storage.js';
import {
  LiveTimeline,
  type LiveTimelineOptions,
  type TimelineEffects,
} from '../../src/packager/live/timeline.js';

/**
 * Drives a LiveTimeline the way the packager does, with synthetic parts: `partsPerSegment`
 * parts of `partSeconds` each make one segment; the first part of a segment is
 * independent (a keyframe). Collects every deletion.
 */
export class TimelineFeed {
  readonly t: LiveTimeline;
  readonly deleted: string[] = [];
  readonly partSeconds: number;
  readonly partsPerSegment: number;
  #time = 0;
  #run = 0;

  constructor(o: Partial<LiveTimelineOptions> & { partsPerSegment?: number; partSeconds?: number } = {}) {
    this.partSeconds = o.partSeconds ?? 0.25;
    this.partsPerSegment = o.partsPerSegment ?? 4;
    this.t = new LiveTimeline({
      rendition: o.rendition ?? 'v',
      targetDuration: o.targetDuration ?? 1,
      partTarget: o.partTarget ?? this.partSeconds,
      windowSegments: o.windowSegments ?? 6,
      now: () => 1_000_000,
      ...(o.partWindowSeconds === undefined ? {} : { partWindowSeconds: o.partWindowSeconds }),
    });
  }

  #fx(fx: TimelineEffects): TimelineEffects {
    this.deleted.push(...fx.deletions);
    return fx;
  }

  beginRun(firstMsn = this.t.nextMsn, epochMs = 1_700_000_000_000, gap?: (msn: number) => number): void {
    this.#run++;
    this.#time = 0;
    this.#fx(
      this.t.beginRun({
        map: `${this.t.state.rendition}_init_${this.#run}.mp4`,
        epochMs,
        firstMsn,
        ...(gap ? { gapDuration: gap } : {}),
      }),
    );
  }

  /** Adds `n` parts, closing a segment every partsPerSegment parts (when the next part starts). */
  parts(n: number, duration = this.partSeconds): void {
    const r = this.t.state.rendition;
    for (let i = 0; i < n; i++) {
      const open = this.t.state.open;
      if (open && open.parts.length >= this.partsPerSegment) this.close();
      const o2 = this.t.state.open;
      const msn = o2 ? o2.msn : this.t.nextMsn;
      const idx = o2 ? o2.parts.length : 0;
      this.#fx(
        this.t.addPart({
          msn,
          partIndex: idx,
          name: partName(r, msn, idx),
          duration,
          independent: idx === 0,
          byteLength: 1000,
          startTime: this.#time,
        }),
      );
      this.#time += duration;
    }
  }

  /** Closes the open segment (end of run). */
  close(): void {
    const open = this.t.state.open;
    if (!open) return;
    const r = this.t.state.rendition;
    this.#fx(
      this.t.closeSegment({
        msn: open.msn,
        name: segmentName(r, open.msn),
        duration: open.parts.reduce((a, p) => a + p.duration, 0),
        byteLength: open.byteLength,
      }),
    );
  }

  /** Whole segments: parts for `n` segments, the last one closed. */
  segments(n: number): void {
    this.parts(n * this.partsPerSegment);
    this.close();
  }
}

/**
 * Adds `n` parts to a feed's rendition of stream `streamId` as the packager does: the
 * part's bytes to storage first, then its event on the bus (with the bytes when
 * `withBody`). Resolves once the event's listeners ran.
 */
export async function publishParts(
  o: { feed: TimelineFeed; storage: Storage; bus: LiveBus; streamId: string; withBody?: boolean },
  n: number,
): Promise<void> {
  const { feed: f } = o;
  for (let i = 0; i < n; i++) {
    const s = f.t.state;
    const full = s.open && s.open.parts.length >= f.partsPerSegment;
    const msn = !s.open || full ? f.t.nextMsn : s.open.msn;
    const idx = !s.open || full ? 0 : s.open.parts.length;
    const name = partName(s.rendition, msn, idx);
    const body = Buffer.from(`bytes of ${name}`);
    await o.storage.put(`${o.streamId}/${name}`, body, 'video/mp4');
    f.parts(1);
    await o.bus.publish({
      v: 1,
      streamId: o.streamId,
      rendition: s.rendition,
      state: f.t.state,
      part: { msn, part: idx, uri: name },
      at: Date.now(),
      ...(o.withBody ? { partBody: body } : {}),
    });
  }
  await new Promise((r) => setImmediate(r));
}
