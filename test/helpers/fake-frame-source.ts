import type {
  AudioTrackInfo,
  FrameSource,
  FrameSources,
  MediaFrame,
  VideoTrackInfo,
} from '../../src/core/media.js';

let sessions = 0;

/** A publish session whose frames a test pushes (or plays in real time); the ingest's stand-in. */
export class FakeFrameSource implements FrameSource {
  readonly streamId: string;
  readonly sessionId: string;
  readonly epochMs: number;
  readonly video: VideoTrackInfo | null;
  readonly audio: AudioTrackInfo | null;
  keyframeRequests = 0;
  #ended = false;
  readonly #frames = new Set<(f: MediaFrame) => void>();
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

  onEnd(listener: (reason: string) => void): () => void {
    this.#ends.add(listener);
    return () => this.#ends.delete(listener);
  }

  requestKeyframe(): void {
    this.keyframeRequests++;
  }

  emit(frame: MediaFrame): void {
    if (this.#ended) return;
    for (const l of [...this.#frames]) l({ ...frame, arrivalMs: Date.now() });
  }

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
    frames: readonly MediaFrame[],
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

/** The ingest's session registry, reduced to what the relay reads. */
export class FakeFrameSources implements FrameSources {
  readonly #current = new Map<string, FakeFrameSource>();
  readonly #listeners = new Set<(s: FrameSource) => void>();

  current(streamId: string): FrameSource | null {
    return this.#current.get(streamId) ?? null;
  }

  onSession(listener: (source: FrameSource) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Makes `source` the stream's current session; the one it replaces ends (a takeover). */
  publish(source: FakeFrameSource): void {
    const old = this.#current.get(source.streamId);
    this.#current.set(source.streamId, source);
    for (const l of this.#listeners) l(source);
    old?.end('takeover');
  }

  /** The stream's session ends and nothing replaces it (DELETE, timeout). */
  unpublish(streamId: string, reason = 'deleted'): void {
    const old = this.#current.get(streamId);
    this.#current.delete(streamId);
    old?.end(reason);
  }

  closeAll(): void {
    for (const s of this.#current.values()) s.end('test over');
    this.#current.clear();
  }
}
