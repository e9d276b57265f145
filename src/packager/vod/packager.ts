import { MULTIVARIANT_NAME, playlistName, PLAYLIST_TYPE, objectKey } from '../names.js';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { AppError } from '../../core/errors.js';
import { isStreamId } from '../../core/ids.js';
import type { Logger } from '../../core/log.js';
import { renderMediaPlaylist } from '../playlist/media.js';
import { renderMultivariantPlaylist } from '../playlist/multivariant.js';
import { checkRenditions, type RenditionSpec } from '../rendition.js';
import { RenditionWriter } from './rendition-writer.js';
import type { Storage } from '../storage/storage.js';
import {
  summarize,
  vodMediaPlaylist,
  vodMultivariantPlaylist,
  type MultivariantOptions,
  type RenditionSummary,
} from './playlists.js';

export type { RenditionSpec } from '../rendition.js';
export type { RenditionSummary } from './playlists.js';

export interface VodPackagerOptions extends MultivariantOptions {
  storage: Storage;
  /** Storage folder and URL id (`/hls/{assetId}/`); a STREAM_ID. */
  assetId: string;
  renditions: RenditionSpec[];
  /** Target segment duration, seconds; the preset's segmentSeconds. */
  segmentSeconds: number;
  log?: Logger;
  /** Cap on one MP4 box, bytes (see Fmp4SplitterOptions). */
  maxBoxBytes?: number;
}

export interface VodResult {
  assetId: string;
  playlist: typeof MULTIVARIANT_NAME;
  /** Longest rendition (sum of its segment durations), milliseconds. */
  durationMs: number;
  renditions: RenditionSummary[];
  /** As listed in index.m3u8, highest first; bits/s. */
  variants: { uri: string; bandwidth: number; averageBandwidth: number }[];
}

interface Input {
  writer: RenditionWriter;
  stream: Writable | null;
  done: Promise<void> | null;
}

/**
 * Packages one VOD transcode: the worker pipes each rendition's fMP4 output into
 * `writable(name)`; segments are stored as they complete; `finish()` then writes the
 * media playlists and, last, index.m3u8.
 */
export class VodPackager {
  readonly #o: VodPackagerOptions;
  readonly #inputs = new Map<string, Input>();
  readonly #log: Logger | undefined;
  #failure: Error | null = null;
  #finishing: Promise<VodResult> | null = null;

  constructor(o: VodPackagerOptions) {
    if (!isStreamId(o.assetId)) throw new RangeError(`asset id ${JSON.stringify(o.assetId)} is not allowed`);
    if (!(o.segmentSeconds > 0 && o.segmentSeconds <= 60))
      throw new RangeError('segmentSeconds must be in (0, 60]');
    checkRenditions(o.renditions);
    this.#o = o;
    this.#log = o.log?.child({ assetId: o.assetId, component: 'vod-packager' });
    for (const spec of o.renditions) {
      const writer = new RenditionWriter({
        spec,
        storage: o.storage,
        assetId: o.assetId,
        segmentSeconds: o.segmentSeconds,
        ...(o.maxBoxBytes === undefined ? {} : { maxBoxBytes: o.maxBoxBytes }),
        ...(this.#log ? { log: this.#log } : {}),
      });
      this.#inputs.set(spec.name, { writer, stream: null, done: null });
    }
  }

  /**
   * The sink for rendition `name`'s fMP4 bytes (one per rendition). Its write
   * callback waits for storage, so `pipe`/`pipeline` apply backpressure to ffmpeg.
   */
  writable(name: string): Writable {
    if (this.#failure) throw this.#failure;
    const input = this.#inputs.get(name);
    if (!input) throw new RangeError(`no rendition named ${JSON.stringify(name)}`);
    if (input.stream) throw new Error(`rendition ${name} already has its writable`);
    const { writer } = input;
    const stream = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        writer.write(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        writer.end().then(() => cb(), cb);
      },
    });
    input.stream = stream;
    input.done = finished(stream).catch((e: unknown) => {
      // Not instanceof: stream errors may come from another realm (vm contexts).
      const err = typeof e === 'object' && e !== null ? (e as Error) : new Error(String(e));
      this.#fail(err);
      throw err;
    });
    // Observed through finish(); without this an early failure would be an unhandled rejection.
    input.done.catch(() => undefined);
    return stream;
  }

  /** After every input ended: media playlists, then index.m3u8. Same promise on repeat calls. */
  finish(): Promise<VodResult> {
    this.#finishing ??= this.#finish();
    return this.#finishing;
  }

  /** Stop accepting input; finish() rejects and index.m3u8 is never written. Idempotent. */
  abort(reason?: Error): void {
    this.#fail(reason ?? new AppError('cancelled', `packaging of ${this.#o.assetId} was aborted`));
  }

  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#log?.warn({ err }, 'packaging failed');
    for (const input of this.#inputs.values()) {
      if (input.stream && !input.stream.writableFinished) input.stream.destroy(err);
    }
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
  }

  async #finish(): Promise<VodResult> {
    const inputs = [...this.#inputs.values()];
    const missing = inputs.filter((i) => !i.done).map((i) => i.writer.spec.name);
    if (missing.length > 0) {
      this.#fail(new Error(`finish() before a writable was taken for ${missing.join(', ')}`));
    }
    await Promise.allSettled(inputs.map((i) => i.done));
    this.#check();
    const records = inputs.map((i) => i.writer.record());
    const { storage, assetId } = this.#o;
    await Promise.all(
      records.map((r) =>
        storage.put(
          objectKey(assetId, playlistName(r.spec.name)),
          Buffer.from(renderMediaPlaylist(vodMediaPlaylist(r))),
          PLAYLIST_TYPE,
        ),
      ),
    );
    this.#check();
    const multivariant = vodMultivariantPlaylist(records, this.#o);
    await storage.put(
      objectKey(assetId, MULTIVARIANT_NAME),
      Buffer.from(renderMultivariantPlaylist(multivariant)),
      PLAYLIST_TYPE,
    );
    const renditions = records.map(summarize);
    const result: VodResult = {
      assetId,
      playlist: MULTIVARIANT_NAME,
      durationMs: Math.round(Math.max(...renditions.map((r) => r.durationSeconds)) * 1000),
      renditions,
      variants: multivariant.variants.map((v) => ({
        uri: v.uri,
        bandwidth: v.bandwidth,
        averageBandwidth: v.averageBandwidth ?? v.bandwidth,
      })),
    };
    this.#log?.info({ durationMs: result.durationMs, variants: result.variants.length }, 'vod packaged');
    return result;
  }
}
