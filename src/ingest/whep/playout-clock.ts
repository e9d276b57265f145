/** A part that came this much earlier than its slot lets the delay shrink, by DECAY_MS a part. */
const EARLY_MS = 20;
const DECAY_MS = 1;

/**
 * When to send a ladder sample to WHEP viewers: at its media time plus one delay, the
 * same for every rendition of a run, so rungs and audio stay in step and a viewer's
 * jitter buffer sees frames a frame apart, not a part's worth at once. The delay is the
 * lateness of the latest part seen (a part that arrives after its slot pushes every later
 * sample back by as much) and shrinks slowly while parts arrive early. A new run (the
 * worker's ffmpeg restarted: media time starts again at 0) starts a new delay. Pure:
 * times are passed in (performance.now() milliseconds).
 */
export class PlayoutClock {
  #run = Number.NaN;
  /** now − media time of a sample sent on time. */
  #offsetMs = 0;

  /** A part of run `run` whose first sample is at `mediaSeconds` arrived at `nowMs`. */
  arrived(run: number, mediaSeconds: number, nowMs: number): void {
    const slot = this.#offsetMs + mediaSeconds * 1000;
    if (run !== this.#run) {
      this.#run = run;
      this.#offsetMs = nowMs - mediaSeconds * 1000;
      return;
    }
    const late = nowMs - slot;
    if (late > 0) this.#offsetMs += late;
    else if (late < -EARLY_MS) this.#offsetMs -= DECAY_MS;
  }

  /** When (performance.now() ms) the sample at `mediaSeconds` of run `run` goes out; now or earlier: at once. */
  sendAt(run: number, mediaSeconds: number): number {
    if (run !== this.#run) return 0;
    return this.#offsetMs + mediaSeconds * 1000;
  }

  /** The delay added to media time now (diagnostics). */
  get offsetMs(): number {
    return this.#offsetMs;
  }
}
