/**
 * One clock for every track of a session: media time 0 is the arrival of the session's
 * first frame (any track); each track is anchored at the arrival of its own first frame
 * and then follows its RTP timestamps, so jitter in arrival does not reach frame times.
 */
export class MediaEpoch {
  #epochMs: number | null = null;

  /** Wall clock (epoch ms) of media time 0; null before the first frame. */
  get epochMs(): number | null {
    return this.#epochMs;
  }

  /** Media time 0 for a track whose first frame arrives at `arrivalMs`. */
  anchor(arrivalMs: number): number {
    if (this.#epochMs === null) this.#epochMs = arrivalMs;
    return this.#epochMs;
  }
}

/** Extends 32-bit RTP timestamps across wrap-around (about 13 h at 90 kHz). */
export class RtpTimestampUnwrapper {
  #last: number | null = null;
  #ext = 0;

  unwrap(ts: number): number {
    const t = ts >>> 0;
    if (this.#last === null) {
      this.#last = t;
      this.#ext = t;
      return t;
    }
    let delta = (t - this.#last) >>> 0;
    if (delta >= 0x80000000) delta -= 0x100000000;
    this.#ext += delta;
    this.#last = t;
    return this.#ext;
  }
}

/**
 * How far RTP time may stray from arrival time before a track is re-anchored (a sender
 * that restarted its timestamps, or a stall longer than this).
 */
export const REANCHOR_AFTER_MS = 5000;

/** Maps one track's RTP timestamps to microseconds on the session's clock. */
export class TrackClock {
  readonly #clockRate: number;
  readonly #epoch: MediaEpoch;
  readonly #unwrapper = new RtpTimestampUnwrapper();
  #baseTs = 0;
  #baseUs = 0;
  #lastUs = -1;
  #anchored = false;

  constructor(clockRate: number, epoch: MediaEpoch) {
    this.#clockRate = clockRate;
    this.#epoch = epoch;
  }

  /** Media time of a frame with this RTP timestamp whose last packet arrived at `arrivalMs`. Never goes backwards. */
  timeUs(rtpTimestamp: number, arrivalMs: number): number {
    const ext = this.#unwrapper.unwrap(rtpTimestamp);
    const epochMs = this.#epoch.anchor(arrivalMs);
    const arrivalUs = Math.round((arrivalMs - epochMs) * 1000);
    if (!this.#anchored) {
      this.#anchored = true;
      this.#baseTs = ext;
      this.#baseUs = Math.max(0, arrivalUs);
    }
    let us = this.#baseUs + Math.round(((ext - this.#baseTs) * 1e6) / this.#clockRate);
    if (Math.abs(us - arrivalUs) > REANCHOR_AFTER_MS * 1000) {
      this.#baseTs = ext;
      this.#baseUs = Math.max(this.#lastUs + 1, arrivalUs);
      us = this.#baseUs;
    }
    if (us <= this.#lastUs) us = this.#lastUs + 1;
    this.#lastUs = us;
    return us;
  }
}
