import { Readable } from 'node:stream';
import { AppError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import type { MediaFrame } from '../../core/media.js';
import type { LiveReader } from '../reader.js';
import type { LiveSource } from '../source.js';
import { LayeredMuxer } from './layered-muxer.js';
import {
  RelayMuxer,
  type DropReason,
  type RelayLayerTrack,
  type RelayMuxOutput,
  type RelayTracks,
} from './muxer.js';

/** What the relay's response headers say about a body, known once its first key frame arrived. */
export interface RelayBodyMeta {
  streamId: string;
  sessionId: string;
  /** Wall clock (epoch ms) of media time 0 of this body: its first key frame. */
  epochMs: number;
  tracks: RelayTracks;
  /** The source's frame rate as ingest measured it so far; null before it knows. */
  fps: number | null;
  /** Passthrough bodies: each layer's track (largest first) with what ingest measured of it. */
  layers?: RelayBodyLayer[];
}

export interface RelayBodyLayer extends RelayLayerTrack {
  /** Frame rate and bit rate as ingest measured them over the last seconds; null when unknown. */
  fps: number | null;
  bitrateKbps: number | null;
}

/** What both muxers offer the body. */
interface BodyMuxer {
  readonly waitingForKeyframe: boolean;
  resync(): void;
  push(frame: MediaFrame, rid: string | null): RelayMuxOutput;
  tick?(nowMs: number): RelayMuxOutput | null;
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
  /**
   * Passthrough: every simulcast layer (or the one encoding) as its own track, started
   * at key frames aligned across the layers (LayeredMuxer); `ready` rejects `conflict`
   * with the reason when the layers cannot be passed through.
   */
  layers?: boolean;
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
  #muxer: BodyMuxer | null = null;
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
      const out = this.#muxer?.tick?.(Date.now());
      if (out) this.#handle(out);
    }, o.keyframeRetryMs);
    this.#timer.unref();
    this.#leave = o.stream.addReader(this);
    // attach() may have refused the body already (a passthrough body of a stream without video).
    if (this.#closed) this.#leave();
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
    this.#log = this.#o.log.child({ sessionId: source.sessionId });
    if (this.#o.layers) {
      if (source.video === null) {
        this.#refuse('the stream has no video to pass through');
        return;
      }
      this.#muxer = new LayeredMuxer({ video: source.video, audio: source.audio });
      // Layers from the layer tap, audio from the session's frames. No key frame request:
      // the publisher's own GOP is what keeps its layers aligned.
      this.#detach = [
        source.onLayerFrame((rid, f) => this.#onFrame(f, rid)),
        source.onFrame((f) => {
          if (f.kind === 'audio') this.#onFrame(f, null);
        }),
      ];
      return;
    }
    this.#muxer = new RelayMuxer(source);
    // Start from the key frame the stream already has, if recent, rather than the next one.
    const recent = this.#o.stream.recentFrames?.(source) ?? [];
    this.#replayed = recent.reduce((n, f) => n + f.data.length, 0);
    for (const f of recent) this.#onFrame(f, null);
    if (recent.length > 0)
      this.#log.debug({ frames: recent.length, bytes: this.#replayed }, 'started from the cached key frame');
    this.#detach = [source.onFrame((f) => this.#onFrame(f, null))];
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

  #onFrame(frame: MediaFrame, rid: string | null): void {
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
      if (!this.#o.layers) source.requestKeyframe();
      this.#log.warn(
        { buffered: this.body.readableLength, resyncs: this.stats.resyncs },
        'relay consumer is behind: dropping frames up to the next key frame',
      );
    }
    this.#handle(muxer.push(frame, rid));
  }

  #handle(out: RelayMuxOutput): void {
    const source = this.#source;
    if (this.#closed || !source) return;
    switch (out.type) {
      case 'drop':
        this.stats.dropped[out.reason]++;
        return;
      case 'incompatible':
        this.#log.warn({ reason: out.reason }, 'relay body ends: the stream changed');
        this.#end();
        return;
      case 'refuse':
        this.#refuse(out.reason);
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
        if (out.layers) meta.layers = out.layers.map((l) => ({ ...l, ...layerFigures(source, l.rid) }));
        this.#log.debug({ baseUs: out.baseUs, tracks: out.tracks }, 'relay body starts');
        this.#resolve(meta);
        this.#write(out.bytes);
        return;
      }
      case 'data':
        this.#write(out.bytes);
    }
  }

  /** Before the start: the body cannot be made (passthrough), so `ready` rejects with the reason. */
  #refuse(reason: string): void {
    this.#log.info({ reason }, 'passthrough relay body refused');
    this.#detachSource();
    this.#reject(new AppError('conflict', reason));
    this.close();
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

/** A layer's frame rate and bit rate as ingest measures them (the one encoding's: the stream's). */
function layerFigures(
  source: LiveSource,
  rid: string | null,
): { fps: number | null; bitrateKbps: number | null } {
  const video = source.stats().video;
  const s = rid === null ? video : video?.layers?.find((l) => l.rid === rid);
  return {
    fps: s && s.fps >= 1 ? snapFps(s.fps) : null,
    bitrateKbps: s && s.bitrateKbps > 0 ? s.bitrateKbps : null,
  };
}

/** Frame rates a camera or encoder sends, to snap a measured rate to. */
const COMMON_FPS = [10, 12, 15, 20, 24, 25, 30, 48, 50, 60];

/** The source's video frame rate as ingest measured it, snapped to a common rate; null when unknown. */
function measuredFps(source: LiveSource): number | null {
  const fps = source.stats().video?.fps ?? 0;
  return fps >= 1 ? snapFps(fps) : null;
}

function snapFps(fps: number): number {
  const near = COMMON_FPS.find((f) => Math.abs(f - fps) / f < 0.12);
  return near ?? Math.round(fps);
}
