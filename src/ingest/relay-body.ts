import { Readable } from 'node:stream';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { FrameSource, MediaFrame } from '../core/media.js';
import { RelayMuxer, type DropReason, type RelayTracks } from './relay-muxer.js';

/** What the relay's response headers say about a body, known once its first key frame arrived. */
export interface RelayBodyMeta {
  streamId: string;
  sessionId: string;
  /** Wall clock (epoch ms) of media time 0 of this body: its first key frame. */
  epochMs: number;
  tracks: RelayTracks;
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
  source: FrameSource;
  /** The stream's current session now: followed when `source` ends before the body started. */
  current: () => FrameSource | null;
  log: Logger;
  /** Bytes queued for a slow consumer before frames are dropped up to the next key frame. */
  maxBufferedBytes: number;
  /** How often to ask again for a key frame while waiting for one, ms. */
  keyframeRetryMs: number;
  onClose?: () => void;
}

/**
 * One relay response body: the Matroska stream of one publish session from its next
 * key frame until the session ends. Frames are muxed and pushed in the listener that
 * receives them (no timer, no batching), so each reaches the socket in the same tick.
 *
 * `ready` resolves with the header values once the first key frame is in, and rejects
 * with `not_found` if the session ends first and no other session took over. close()
 * (the client left, or the relay shuts down) is idempotent.
 */
export class RelayBody {
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
  #source: FrameSource;
  #muxer: RelayMuxer;
  #detach: (() => void)[] = [];
  #timer: NodeJS.Timeout | null = null;
  #resolve!: (meta: RelayBodyMeta) => void;
  #reject!: (e: Error) => void;
  #started = false;
  #closed = false;

  constructor(o: RelayBodyOptions) {
    this.#o = o;
    this.#source = o.source;
    this.#log = o.log;
    this.#muxer = new RelayMuxer(o.source);
    this.ready = new Promise<RelayBodyMeta>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.ready.catch(() => undefined);
    // Pushed to by frames; the consumer's pace shows as readableLength.
    this.body = new Readable({ read: () => undefined, highWaterMark: 64 * 1024 });
    this.body.on('close', () => this.close());
    this.#timer = setInterval(() => {
      if (this.#muxer.waitingForKeyframe) this.#source.requestKeyframe();
    }, o.keyframeRetryMs);
    this.#timer.unref();
    this.#attach(o.source);
  }

  get started(): boolean {
    return this.#started;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#detachSource();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    if (!this.#started)
      this.#reject(new AppError('cancelled', 'the relay body was closed before it started'));
    if (!this.body.destroyed && !this.body.readableEnded) this.body.destroy();
    this.#log.debug({ ...this.stats }, 'relay body closed');
    this.#o.onClose?.();
  }

  #attach(source: FrameSource): void {
    this.#source = source;
    this.#muxer = new RelayMuxer(source);
    this.#log = this.#o.log.child({ sessionId: source.sessionId });
    this.#detach = [source.onFrame((f) => this.#onFrame(f)), source.onEnd((r) => this.#onEnd(r))];
    if (source.ended) {
      this.#onEnd('ended before the relay subscribed');
      return;
    }
    source.requestKeyframe();
  }

  #detachSource(): void {
    for (const off of this.#detach) off();
    this.#detach = [];
  }

  #onFrame(frame: MediaFrame): void {
    if (this.#closed) return;
    if (
      this.#started &&
      this.body.readableLength > this.#o.maxBufferedBytes &&
      !this.#muxer.waitingForKeyframe
    ) {
      // Decided before muxing: bytes once muxed must be sent, or block times would refer
      // to a cluster the consumer never saw.
      this.stats.resyncs++;
      this.#muxer.resync();
      this.#source.requestKeyframe();
      this.#log.warn(
        { buffered: this.body.readableLength, resyncs: this.stats.resyncs },
        'relay consumer is behind: dropping frames up to the next key frame',
      );
    }
    const out = this.#muxer.push(frame);
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
          sessionId: this.#source.sessionId,
          epochMs: this.#source.epochMs + out.baseUs / 1000,
          tracks: out.tracks,
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

  #onEnd(reason: string): void {
    if (this.#closed) return;
    this.#detachSource();
    if (this.#started) {
      this.#log.debug({ reason }, 'session ended: relay body ends');
      this.#end();
      return;
    }
    const next = this.#o.current();
    if (next !== null && next !== this.#source && !next.ended) {
      this.#log.debug(
        { reason, next: next.sessionId },
        'session ended before a key frame: following its successor',
      );
      this.#attach(next);
      return;
    }
    this.#reject(new AppError('not_found', `stream ${this.#o.streamId} ended (${reason})`));
    this.close();
  }

  #end(): void {
    this.#detachSource();
    if (!this.body.readableEnded) this.body.push(null);
  }
}
