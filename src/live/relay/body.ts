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
  /** Media times of the video frames seen before the start (one layer's), for the frame rate. */
  readonly #frameTimes: number[] = [];
  #timedRid: string | null | undefined = undefined;
  #replaying = false;
  /** A started body whose headers wait for the frame rate (see #timeFrame). */
  #pendingMeta: RelayBodyMeta | null = null;

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
    this.#announcePending();
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
    // The cached GOP's times give the frame rate its start (its first frame) reports.
    for (const f of recent) if (f.kind === 'video') this.#timeFrame(f, null);
    this.#replaying = true;
    for (const f of recent) this.#onFrame(f, null);
    this.#replaying = false;
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
    if ((!this.#started || this.#pendingMeta) && !this.#replaying && frame.kind === 'video')
      this.#timeFrame(frame, rid);
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

  #timeFrame(frame: MediaFrame, rid: string | null): void {
    if (this.#timedRid === undefined) this.#timedRid = rid;
    if (rid !== this.#timedRid) return;
    this.#frameTimes.push(frame.timeUs);
    if (this.#frameTimes.length > FRAME_RATE_FRAMES) this.#frameTimes.shift();
    const meta = this.#pendingMeta;
    const fps = meta ? frameRateOf(this.#frameTimes) : null;
    if (meta && fps !== null) this.#announce({ ...meta, fps });
  }

  /** Headers still waiting for the frame rate go out with ingest's figure (null when it has none). */
  #announcePending(): void {
    const meta = this.#pendingMeta;
    if (meta) this.#announce({ ...meta, fps: this.#source ? measuredFps(this.#source) : null });
  }

  #announce(meta: RelayBodyMeta): void {
    this.#pendingMeta = null;
    this.#resolve(meta);
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
          fps: frameRateOf(this.#frameTimes),
        };
        if (out.layers) meta.layers = out.layers.map((l) => ({ ...l, ...layerFigures(source, l.rid) }));
        this.#log.debug({ baseUs: out.baseUs, tracks: out.tracks }, 'relay body starts');
        this.#write(out.bytes);
        if (meta.fps !== null || out.tracks.video === null) {
          this.#resolve(meta);
          return;
        }
        // A stream just gone live: the worker plans its ladder at the source's frame rate,
        // which two more frame intervals tell (RATE_WAIT_MS at most); the bytes queue meanwhile.
        this.#pendingMeta = meta;
        setTimeout(() => {
          if (this.#pendingMeta === meta) this.#announcePending();
        }, RATE_WAIT_MS).unref();
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
    this.#announcePending();
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

/** Frames whose media times give a body's frame rate at its start. */
const FRAME_RATE_FRAMES = 16;
/** How long a new stream's first body waits for its frame rate before it answers without. */
const RATE_WAIT_MS = 300;

/**
 * The frame rate from frames' media times (RTP timestamps: exact, where ingest's figure
 * counts arrivals over 3 s and is not there yet when a worker asks for a new stream from
 * its cached GOP), snapped to a common rate; null under three frames. The median interval,
 * so a dropped frame or two do not count.
 */
export function frameRateOf(timesUs: readonly number[]): number | null {
  if (timesUs.length < 3) return null;
  const gaps = timesUs
    .slice(1)
    .map((t, i) => t - timesUs[i]!)
    .filter((d) => d > 0)
    .sort((a, b) => a - b);
  const median = gaps[Math.floor(gaps.length / 2)];
  return median === undefined ? null : snapFps(1e6 / median);
}

/** The source's video frame rate as ingest measured it, snapped to a common rate; null when unknown. */
function measuredFps(source: LiveSource): number | null {
  const fps = source.stats().video?.fps ?? 0;
  return fps >= 1 ? snapFps(fps) : null;
}

export function snapFps(fps: number): number {
  // The nearest common rate (25 is 4% from 24 and 0% from 25), if one is within 12%.
  let best: number | null = null;
  for (const f of COMMON_FPS) {
    const off = Math.abs(f - fps) / f;
    if (off < 0.12 && (best === null || off < Math.abs(best - fps) / best)) best = f;
  }
  return best ?? Math.round(fps);
}
