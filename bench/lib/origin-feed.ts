/**
 * A fake live packager for bench/origin: the same LiveTimeline the real packager drives,
 * one per rendition of a ladder, fed with synthetic parts of a given size. Like the real
 * one it writes a part's bytes to storage first, then announces the rendition's new state
 * on the live bus (one event per change: a closed segment, a part), and deletes what left
 * the window. No ffmpeg, no fMP4 parsing: the origin only sees storage and the bus.
 */
import { partName, segmentName, MP4_TYPE, PLAYLIST_TYPE } from '../../src/packager/names.js';
import { randomBytes } from 'node:crypto';
import type { LiveBus } from '../../src/packager/live/bus.js';
import { nextPartUri } from '../../src/packager/live/playlist.js';
import { LiveTimeline, type TimelineEffects } from '../../src/packager/live/timeline.js';
import type { Storage } from '../../src/packager/storage/storage.js';

export interface FeedRendition {
  name: string;
  /** Bytes of one part (e.g. 0.2 s at 2.5 Mb/s ≈ 62,500). */
  partBytes: number;
}

export interface FeedOptions {
  streamId: string;
  renditions: FeedRendition[];
  storage: Storage;
  bus: LiveBus;
  partSeconds: number;
  partsPerSegment: number;
  /** EXT-X-TARGETDURATION, whole seconds. */
  targetDuration: number;
}

interface Track {
  spec: FeedRendition;
  t: LiveTimeline;
  /** A few distinct payloads, reused round-robin (random bytes: nothing compresses them). */
  payloads: Buffer[];
}

/** The part the next publish adds: what a blocking reload for the preload hint names. */
export interface NextPart {
  msn: number;
  part: number;
  uri: string;
}

export class LiveFeed {
  readonly #o: FeedOptions;
  readonly #tracks: Track[];
  #time = 0;
  #n = 0;

  constructor(o: FeedOptions) {
    this.#o = o;
    this.#tracks = o.renditions.map((spec) => ({
      spec,
      t: new LiveTimeline({
        rendition: spec.name,
        targetDuration: o.targetDuration,
        partTarget: o.partSeconds,
      }),
      payloads: Array.from({ length: 4 }, () => randomBytes(spec.partBytes)),
    }));
  }

  /** Starts the run: init segments and the multivariant playlist in storage. */
  async begin(epochMs = Date.now()): Promise<void> {
    const { storage, streamId } = this.#o;
    for (const tr of this.#tracks) {
      const map = `${tr.spec.name}_init_1.mp4`;
      await storage.put(`${streamId}/${map}`, randomBytes(800), MP4_TYPE);
      tr.t.beginRun({ map, epochMs, firstMsn: 1 });
    }
    const lines = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-INDEPENDENT-SEGMENTS'];
    for (const tr of this.#tracks) {
      const bw = Math.round((tr.spec.partBytes * 8) / this.#o.partSeconds);
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bw}`, `${tr.spec.name}.m3u8`);
    }
    await storage.put(`${streamId}/index.m3u8`, Buffer.from(`${lines.join('\n')}\n`), PLAYLIST_TYPE);
  }

  /** The next part of `rendition` (its preload hint). */
  next(rendition: string): NextPart {
    const s = this.#track(rendition).t.state;
    const uri = nextPartUri(s)!;
    const m = /_(\d+)\.(\d+)\.m4s$/.exec(uri)!;
    return { msn: Number(m[1]), part: Number(m[2]), uri };
  }

  /** The parts the playlist of `rendition` lists now (the recent ones: what viewers fetch). */
  listedParts(rendition: string): string[] {
    const s = this.#track(rendition).t.state;
    const out: string[] = [];
    for (const seg of s.segments) for (const p of seg.parts ?? []) out.push(p.uri);
    for (const p of s.open?.parts ?? []) out.push(p.uri);
    return out;
  }

  /**
   * Adds the next part to every rendition: bytes to storage, then the events. `last` is
   * published after the others; returns when its event was handed to the bus (and when
   * that call began: the publish time a held request is measured from).
   */
  async publish(last: string): Promise<{ publishedMs: number }> {
    const ordered = [...this.#tracks].sort(
      (a, b) => Number(a.spec.name === last) - Number(b.spec.name === last),
    );
    const i = this.#n++;
    const idx = i % this.#o.partsPerSegment;
    let publishedMs = 0;
    const deletions: string[] = [];
    const fx = (_tr: Track, f: TimelineEffects) => deletions.push(...f.deletions);
    for (const tr of ordered) {
      const s = tr.t.state;
      const { storage, streamId, bus } = this.#o;
      if (idx === 0 && s.open) {
        const open = s.open;
        fx(
          tr,
          tr.t.closeSegment({
            msn: open.msn,
            name: segmentName(tr.spec.name, open.msn),
            duration: open.parts.reduce((a, p) => a + p.duration, 0),
            byteLength: open.byteLength,
          }),
        );
        await bus.publish({
          v: 1,
          streamId,
          rendition: tr.spec.name,
          state: tr.t.state,
          part: null,
          at: Date.now(),
        });
      }
      const msn = tr.t.state.open ? tr.t.state.open.msn : tr.t.nextMsn;
      const name = partName(tr.spec.name, msn, idx);
      const bytes = tr.payloads[i % tr.payloads.length]!;
      await storage.put(`${streamId}/${name}`, bytes, MP4_TYPE);
      fx(
        tr,
        tr.t.addPart({
          msn,
          partIndex: idx,
          name,
          duration: this.#o.partSeconds,
          independent: idx === 0,
          byteLength: bytes.length,
          startTime: this.#time,
          lastOfSegment: idx === this.#o.partsPerSegment - 1,
        }),
      );
      const event = {
        v: 1 as const,
        streamId,
        rendition: tr.spec.name,
        state: tr.t.state,
        part: { msn, part: idx, uri: name },
        at: Date.now(),
      };
      if (tr.spec.name === last) publishedMs = performance.timeOrigin + performance.now();
      await bus.publish(event);
    }
    this.#time += this.#o.partSeconds;
    for (const name of deletions) await this.#o.storage.delete(`${this.#o.streamId}/${name}`);
    return { publishedMs };
  }

  #track(name: string): Track {
    const tr = this.#tracks.find((x) => x.spec.name === name);
    if (!tr) throw new RangeError(`no rendition ${name}`);
    return tr;
  }
}
