import { initName, MP4_TYPE, objectKey } from '../names.js';
import type { Logger } from '../../core/log.js';
import { Fmp4Splitter, type Fmp4Event } from '../fmp4-splitter.js';
import type { TrackInfo } from '../mp4/init.js';
import type { RenditionSpec } from '../rendition.js';
import { Segmenter, type SegmentReady } from '../segmenter.js';
import type { Storage } from '../storage/storage.js';
import type { RenditionRecord } from './playlists.js';

export interface RenditionWriterOptions {
  spec: RenditionSpec;
  storage: Storage;
  assetId: string;
  segmentSeconds: number;
  maxBoxBytes?: number;
  log?: Logger;
}

/**
 * One rendition's path from fMP4 bytes to stored files: splitter → segmenter →
 * storage. Holds the bytes of the open segment only; each segment is written as soon
 * as the segmenter closes it, and `write` resolves after that, so a slow store slows
 * the producer instead of filling memory.
 */
export class RenditionWriter {
  readonly spec: RenditionSpec;
  readonly #o: RenditionWriterOptions;
  readonly #splitter: Fmp4Splitter;
  readonly #segmenter: Segmenter;
  #track: TrackInfo | null = null;
  #pending: Buffer[] = [];
  #segments: SegmentReady[] = [];
  #samples = 0;

  constructor(o: RenditionWriterOptions) {
    this.spec = o.spec;
    this.#o = o;
    this.#splitter = new Fmp4Splitter(o.maxBoxBytes === undefined ? {} : { maxBoxBytes: o.maxBoxBytes });
    this.#segmenter = new Segmenter({
      rendition: o.spec.name,
      segmentSeconds: o.segmentSeconds,
      kind: o.spec.kind,
    });
  }

  async write(chunk: Buffer): Promise<void> {
    await this.#handle(this.#splitter.push(chunk));
  }

  /** The input ended: store the last segment. */
  async end(): Promise<void> {
    await this.#handle(this.#splitter.end());
    for (const e of this.#segmenter.finish()) if (e.type === 'segment') await this.#store(e);
    if (!this.#track) throw new Error(`rendition ${this.spec.name}: input ended without an init segment`);
    if (this.#segments.length === 0)
      throw new Error(`rendition ${this.spec.name}: input ended without media`);
  }

  /** What a finished rendition produced; valid after `end()` resolved. */
  record(): RenditionRecord {
    if (!this.#track) throw new Error(`rendition ${this.spec.name} has no init segment`);
    return { spec: this.spec, track: this.#track, segments: this.#segments, samples: this.#samples };
  }

  async #handle(events: Fmp4Event[]): Promise<void> {
    for (const ev of events) {
      if (ev.type === 'init') {
        if (ev.info.kind !== this.spec.kind) {
          throw new Error(
            `rendition ${this.spec.name} is ${this.spec.kind} but its input holds a ${ev.info.kind} track`,
          );
        }
        this.#track = ev.info;
        await this.#o.storage.put(objectKey(this.#o.assetId, initName(this.spec.name)), ev.data, MP4_TYPE);
        this.#o.log?.debug({ rendition: this.spec.name, codec: ev.info.codec }, 'init segment stored');
        continue;
      }
      this.#samples += ev.sampleCount;
      const out = this.#segmenter.push({
        decodeTime: ev.decodeTime,
        duration: ev.duration,
        timescale: ev.timescale,
        keyframe: ev.keyframe,
        byteLength: ev.data.length,
      });
      // A cut comes before the new fragment's part event, so the pending bytes are
      // exactly the closed segment's when the segment event is handled.
      for (const e of out) {
        if (e.type === 'segment') await this.#store(e);
        else if (e.type === 'part') this.#pending.push(ev.data);
      }
    }
  }

  async #store(seg: SegmentReady): Promise<void> {
    const body = Buffer.concat(this.#pending);
    this.#pending = [];
    await this.#o.storage.put(objectKey(this.#o.assetId, seg.name), body, MP4_TYPE);
    this.#segments.push(seg);
    this.#o.log?.debug(
      { rendition: this.spec.name, msn: seg.msn, duration: seg.duration, bytes: seg.byteLength },
      'segment stored',
    );
  }
}
