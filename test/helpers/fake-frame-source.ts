import type { AudioTrackInfo, MediaFrame, VideoTrackInfo } from '../../src/core/media.js';
import type { IngestStats } from '../../src/core/streams.js';
import { createLogger } from '../../src/core/log.js';
import {
  LiveStreams,
  type LayerFrameListener,
  type LiveSource,
  type RtpListener,
} from '../../src/live/index.js';

let sessions = 0;

/** A publish session whose frames a test pushes (or plays in real time); the ingest's stand-in. */
export class FakeFrameSource implements LiveSource {
  readonly streamId: string;
  readonly sessionId: string;
  readonly epochMs: number;
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  keyframeRequests = 0;
  #ended = false;
  readonly #frames = new Set<(f: MediaFrame) => void>();
  readonly #layerFrames = new Set<LayerFrameListener>();
  readonly #ends = new Set<(reason: string) => void>();
  #player: NodeJS.Timeout | null = null;

  constructor(o: {
    streamId: string;
    video: VideoTrackInfo | null;
    audio: AudioTrackInfo | null;
    epochMs?: number;
  }) {
    this.streamId = o.streamId;
    this.sessionId = `sess-${++sessions}`;
    this.epochMs = o.epochMs ?? Date.now();
    this.video = o.video;
    this.audio = o.audio;
  }

  get ended(): boolean {
    return this.#ended;
  }

  get listeners(): number {
    return this.#frames.size;
  }

  onFrame(listener: (frame: MediaFrame) => void): () => void {
    this.#frames.add(listener);
    return () => this.#frames.delete(listener);
  }

  onLayerFrame(listener: LayerFrameListener): () => void {
    this.#layerFrames.add(listener);
    return () => this.#layerFrames.delete(listener);
  }

  onEnd(listener: (reason: string) => void): () => void {
    this.#ends.add(listener);
    return () => this.#ends.delete(listener);
  }

  requestKeyframe(): void {
    this.keyframeRequests++;
  }

  onRtp(_listener: RtpListener): () => void {
    return () => undefined;
  }

  stats(): IngestStats {
    return {
      sessionId: this.sessionId,
      startedAt: new Date(this.epochMs).toISOString(),
      connectionState: 'connected',
      video: null,
      audio: null,
    };
  }

  close(reason: 'takeover'): Promise<void> {
    this.end(reason);
    return Promise.resolve();
  }

  /**
   * A frame as ingest hands it on. A video frame with `rid` is simulcast layer `rid`'s: it
   * reaches layer listeners only, and frame listeners too when `rid` is `topLayer`. A
   * video frame without one is the one encoding's (both listeners, rid null).
   */
  emit(frame: MediaFrame & { rid?: string }): void {
    if (this.#ended) return;
    const { rid, ...f } = frame;
    const stamped: MediaFrame = { ...f, arrivalMs: f.arrivalMs > 0 ? f.arrivalMs : Date.now() };
    if (f.kind === 'video') {
      for (const l of [...this.#layerFrames]) l(rid ?? null, stamped);
      if (rid !== undefined && rid !== this.topLayer) return;
    }
    for (const l of [...this.#frames]) l(stamped);
  }

  /** Simulcast: the layer whose frames onFrame hands on. */
  topLayer: string | undefined;

  end(reason = 'test'): void {
    if (this.#ended) return;
    this.stop();
    this.#ended = true;
    for (const l of [...this.#ends]) l(reason);
  }

  /**
   * Emits `frames` (sorted by timeUs, first at 0) at their media times from now on,
   * looping with shifted timestamps while `loop` is set. `onEmit` sees each frame and
   * the performance.now() of its emission. Stops at end() or stop().
   */
  play(
    frames: readonly (MediaFrame & { rid?: string })[],
    o: { loop?: boolean; loopUs?: number; onEmit?: (f: MediaFrame, at: number) => void } = {},
  ): void {
    this.stop();
    const start = performance.now();
    const loopUs = o.loopUs ?? (frames.at(-1)?.timeUs ?? 0) + 20_000;
    let i = 0;
    let round = 0;
    const tick = () => {
      const nowUs = (performance.now() - start) * 1000;
      for (;;) {
        if (i >= frames.length) {
          if (!o.loop) {
            this.stop();
            return;
          }
          i = 0;
          round++;
        }
        const f = frames[i]!;
        const t = f.timeUs + round * loopUs;
        if (t > nowUs) break;
        const frame = { ...f, timeUs: t };
        this.emit(frame);
        o.onEmit?.(frame, performance.now());
        i++;
      }
      this.#player = setTimeout(tick, 2);
    };
    tick();
  }

  stop(): void {
    if (this.#player) clearTimeout(this.#player);
    this.#player = null;
  }
}

/** Live streams whose sources a test publishes: the real LiveStreams, fed fake sessions. */
export class FakeFrameSources {
  readonly streams = new LiveStreams({ takeover: 'takeover', log: createLogger('silent') });

  /** Makes `source` the stream's current session; the one it replaces ends (a takeover). */
  publish(source: FakeFrameSource): void {
    this.streams.reserve(source.streamId).publish(source, undefined);
  }

  /** The stream's session ends and nothing replaces it (DELETE, timeout). */
  unpublish(streamId: string, reason = 'deleted'): void {
    const s = this.streams.get(streamId)?.source;
    if (s instanceof FakeFrameSource) s.end(reason);
  }

  closeAll(): void {
    for (const s of this.streams.live()) if (s.source instanceof FakeFrameSource) s.source.end('test over');
  }
}
