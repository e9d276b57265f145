import { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { MediaFrame } from '../../core/media.js';
import type { LiveReader } from '../reader.js';
import type { LiveSource } from '../source.js';
import { RelayMuxer, type DropReason, type RelayTracks } from './muxer.js';

/** What the relay's response headers say about a body, known once its first key frame arrived. */
export interface RelayBodyMeta {
  streamId: string;
  sessionId: string;
  /** Wall clock (epoch ms) of media time 0 of this body: its first key frame. */
  epochMs: number;
  tracks: RelayTracks;
  /** The source's frame rate as ingest measured it so far; null before it knows. */
  fps: number | null;
}

export interface RelayBodyStats {
  frames: number;
  bytes: number;
  dropped: Record<DropReason, number>;
  /** Times the consumer fell more than maxBufferedBytes behind. */
  resyncs: number;
}

export interface RelayBodyOptions {
  streamId: string;
  /** The live stream the body reads: it attaches the body to its current source at once. */
  stream: {
    addReader(reader: LiveReader): () => void;
    /** Frames of `source` since its last key frame, to start with (absent: wait for the next key frame). */
    recentFrames?(source: LiveSource): readonly MediaFrame[];
  };
  log: Logger;
  /** Bytes queued for a slow consumer before frames are dropped up to the next key frame. */
  maxBufferedBytes: number;
  /** How often to ask again for a key frame while waiting for one, ms. */
  keyframeRetryMs: number;
  onClose?: () => void;
}

/**
 * One relay response body, a reader of a live stream: the Matroska stream of one publish
 * session from its next key frame until that session ends or is taken over (the worker
 * then asks again and starts its next run on the new session). Before its first key
 * frame a body follows a takeover instead. Frames are muxed and pushed in the listener
 * that receives them (no timer, no batching), so each reaches the socket in the same tick.
 *
 * `ready` resolves with the header values once the first key frame is in, and rejects
 * with `not_found` if the stream ends first. close() (the client left, or the relay
 * shuts down) is idempotent.
 */
export class RelayBody implements LiveReader {
  readonly body: Readable;
  readonly ready: Promise<RelayBodyMeta>;
  readonly stats: RelayBodyStats = {
    frames: 0,
    bytes: 0,
    dropped: { waiting_for_keyframe: 0, before_start: 0, unknown_track: 0 },
    resyncs: 0,
  };
  readonly #o: RelayBodyOptions;
  #log: Logger;
  #source: LiveSource | null = null;
  #muxer: RelayMuxer | null = null;
  #detach: (() => void)[] = [];
  #leave: () => void = () => undefined;
  #timer: NodeJS.Timeout | null = null;
  #resolve!: (meta: RelayBodyMeta) => void;
  #reject!: (e: Error) => void;
  #started = false;
  #closed = false;
  /** Bytes handed on at once from the stream's cache: the consumer may be that much more behind. */
  #replayed = 0;

  constructor(o: RelayBodyOptions) {
    this.#o = o;
    this.#log = o.log;
    this.ready = new Promise<RelayBodyMeta>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.ready.catch(() => undefined);
    // Pushed to by frames; the consumer's pace shows as readableLength.
    this.body = new Readable({ read: () => undefined, highWaterMark: 64 * 1024 });
    this.body.on('close', () => this.close());
    this.#timer = setInterval(() => {
      if (this.#muxer?.waitingForKeyframe) this.#source?.requestKeyframe();
    }, o.keyframeRetryMs);
    this.#timer.unref();
    this.#leave = o.stream.addReader(this);
  }

  get started(): boolean {
    return this.#started;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leave();
    this.#detachSource();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (!this.#started)
      this.#reject(new AppError('cancelled', 'the relay body was closed before it started'));
    if (!this.body.destroyed && !this.body.readableEnded) this.body.destroy();
    this.#log.debug({ ...this.stats }, 'relay body closed');
    this.#o.onClose?.();
  }

  attach(source: LiveSource, takeover: boolean): void {
    if (this.#closed) return;
    if (this.#started) {
      // This body is one session's media: a takeover ends it, and the worker's next run
      // (its next request) reads the new session.
      this.#log.debug({ next: source.sessionId }, 'session taken over: relay body ends');
      this.#end();
      return;
    }
    if (takeover) this.#log.debug({ next: source.sessionId }, 'taken over before a key frame: following');
    this.#detachSource();
    this.#source = source;
    this.#muxer = new RelayMuxer(source);
    this.#log = this.#o.log.child({ sessionId: source.sessionId });
    // Start from the key frame the stream already has, if recent, rather than the next one.
    const recent = this.#o.stream.recentFrames?.(source) ?? [];
    this.#replayed = recent.reduce((n, f) => n + f.data.length, 0);
    for (const f of recent) this.#onFrame(f);
    if (recent.length > 0)
      this.#log.debug({ frames: recent.length, bytes: this.#replayed }, 'started from the cached key frame');
    this.#detach = [source.onFrame((f) => this.#onFrame(f))];
    if (!this.#started) source.requestKeyframe();
  }

  streamEnded(reason: string): void {
    if (this.#closed) return;
    this.#detachSource();
    if (this.#started) {
      this.#log.debug({ reason }, 'stream ended: relay body ends');
      this.#end();
      return;
    }
    this.#reject(new AppError('not_found', `stream ${this.#o.streamId} ended (${reason})`));
    this.close();
  }

  #detachSource(): void {
    for (const off of this.#detach) off();
    this.#detach = [];
  }

  #onFrame(frame: MediaFrame): void {
    const source = this.#source;
    const muxer = this.#muxer;
    if (this.#closed || !source || !muxer) return;
    if (
      this.#started &&
      this.body.readableLength > this.#o.maxBufferedBytes + this.#replayed &&
      !muxer.waitingForKeyframe
    ) {
      // Decided before muxing: bytes once muxed must be sent, or block times would refer
      // to a cluster the consumer never saw.
      this.stats.resyncs++;
      muxer.resync();
      source.requestKeyframe();
      this.#log.warn(
        { buffered: this.body.readableLength, resyncs: this.stats.resyncs },
        'relay consumer is behind: dropping frames up to the next key frame',
      );
    }
    const out = muxer.push(frame);
    switch (out.type) {
      case 'drop':
        this.stats.dropped[out.reason]++;
        return;
      case 'incompatible':
        this.#log.warn({ reason: out.reason }, 'relay body ends: the stream changed codec');
        this.#end();
        return;
      case 'start': {
        this.#started = true;
        const meta: RelayBodyMeta = {
          streamId: this.#o.streamId,
          sessionId: source.sessionId,
          epochMs: source.epochMs + out.baseUs / 1000,
          tracks: out.tracks,
          fps: measuredFps(source),
        };
        this.#log.debug({ baseUs: out.baseUs, tracks: out.tracks }, 'relay body starts');
        this.#resolve(meta);
        this.#write(out.bytes);
        return;
      }
      case 'data':
        this.#write(out.bytes);
    }
  }

  #write(bytes: Buffer): void {
    this.stats.frames++;
    this.stats.bytes += bytes.length;
    this.body.push(bytes);
  }

  #end(): void {
    this.#detachSource();
    if (!this.body.readableEnded) this.body.push(null);
  }
}

/** Frame rates a camera or encoder sends, to snap a measured rate to. */
const COMMON_FPS = [10, 12, 15, 20, 24, 25, 30, 48, 50, 60];

/** The source's video frame rate as ingest measured it, snapped to a common rate; null when unknown. */
function measuredFps(source: LiveSource): number | null {
  const fps = source.stats().video?.fps ?? 0;
  if (!(fps >= 1)) return null;
  const near = COMMON_FPS.find((f) => Math.abs(f - fps) / f < 0.12);
  return near ?? Math.round(fps);
}
