import type { MediaFrame } from '../core/media.js';

/** A cached group of pictures larger than this is not kept: its reader waits for the next key frame. */
export const MAX_GOP_BYTES = 4 * 1024 * 1024;
/**
 * A reader starts from the cached key frame only if it arrived at most this long ago: a
 * transcode that starts further behind real time would count as falling behind (the lag
 * monitor allows 3 s) and the viewers' latency would start that much higher.
 */
export const MAX_REPLAY_AGE_MS = 2500;

/**
 * One publish session's frames since its last video key frame, so that a reader arriving
 * between key frames starts at once rather than at the next one. A worker takes a stream's
 * job a moment after its first packet, by then past the session's first key frame, and
 * OBS makes the next one only a keyframe interval later (its "auto" is about 8 s) and
 * ignores PLI. Pure: the live stream feeds it every frame of its current source.
 */
export class GopCache {
  readonly #maxBytes: number;
  #frames: MediaFrame[] = [];
  #bytes = 0;

  constructor(maxBytes = MAX_GOP_BYTES) {
    this.#maxBytes = maxBytes;
  }

  push(frame: MediaFrame): void {
    if (frame.kind === 'video' && frame.keyframe) {
      this.#frames = [frame];
      this.#bytes = frame.data.length;
      return;
    }
    // Before the first key frame (or after a GOP grew too big) nothing is kept.
    if (this.#frames.length === 0) return;
    this.#bytes += frame.data.length;
    if (this.#bytes > this.#maxBytes) {
      this.#frames = [];
      this.#bytes = 0;
      return;
    }
    this.#frames.push(frame);
  }

  /** The frames from the last key frame on, if it arrived at most `maxAgeMs` before `nowMs`; else none. */
  since(nowMs: number, maxAgeMs = MAX_REPLAY_AGE_MS): readonly MediaFrame[] {
    const first = this.#frames[0];
    if (!first || nowMs - first.arrivalMs > maxAgeMs) return [];
    return [...this.#frames];
  }

  get bytes(): number {
    return this.#bytes;
  }
}
