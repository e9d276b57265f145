import { senderTimeMs, type SenderReport } from './sender-report.js';

/** Sender reports kept per session: a layer's SSRC each, and a few more for SSRCs that restart. */
const MAX_REPORTED_SSRCS = 16;

/**
 * One clock for every track of a session. Media time 0 is the arrival of the session's
 * first frame (any track). Until a track's SSRC has an RTCP sender report, it is anchored
 * at the arrival of its own first frame and then follows its RTP timestamps, so jitter in
 * arrival does not reach frame times; from its first report on, its RTP timestamps are
 * mapped through the report's NTP/RTP pair to the sender's wall clock, and from there by
 * one offset (the same for every track of the session) to media time: tracks whose
 * packets take different paths or delays (an audio queue 150 ms longer than the video's)
 * are then stamped as the sender captured them, in sync.
 */
export class MediaEpoch {
  #epochMs: number | null = null;
  /** Local wall clock (epoch ms) minus the sender's NTP clock (ms since 1900); null before the first report is used. */
  #ntpOffsetMs: number | null = null;
  readonly #reports = new Map<number, SenderReport>();

  /** Wall clock (epoch ms) of media time 0; null before the first frame. */
  get epochMs(): number | null {
    return this.#epochMs;
  }

  /** Media time 0 for a track whose first frame arrives at `arrivalMs`. */
  anchor(arrivalMs: number): number {
    if (this.#epochMs === null) this.#epochMs = arrivalMs;
    return this.#epochMs;
  }

  /** Takes an RTCP sender report: the latest of each SSRC counts. */
  senderReport(sr: SenderReport): void {
    this.#reports.delete(sr.ssrc);
    this.#reports.set(sr.ssrc, sr);
    // A publisher cycling SSRCs cannot grow this: the oldest reported goes first.
    if (this.#reports.size > MAX_REPORTED_SSRCS) {
      const oldest = this.#reports.keys().next().value;
      if (oldest !== undefined) this.#reports.delete(oldest);
    }
  }

  /** The latest sender report of `ssrc`. */
  reportFor(ssrc: number): SenderReport | undefined {
    return this.#reports.get(ssrc);
  }

  /**
   * Media time (µs) of an instant of the sender's clock; null until a track has fixed
   * the offset (see atLeastUs). Valid once anchored.
   */
  senderUs(senderMs: number): number | null {
    if (this.#ntpOffsetMs === null || this.#epochMs === null) return null;
    return Math.round((senderMs + this.#ntpOffsetMs - this.#epochMs) * 1000);
  }

  /**
   * Moves the session onto sender time so that `senderMs` maps to `minUs` or later, and
   * returns what it maps to. The first track to switch fixes the offset (its frame keeps
   * the time it had); a later one whose frames would map earlier than they were stamped
   * raises it, which moves every track already on sender time forward by the same step.
   * The offset only ever grows: frame times never go backwards, and the tracks stay in
   * sync with each other. We step rather than slew: a step of the size of the delay
   * difference (once per session, in its first seconds, when the last track's first
   * report comes) costs the worker one repeated video frame or a little silence
   * (fps and aresample fill it), while slewing would keep the tracks out of sync for as
   * long as it takes. The caller bounds the step (REANCHOR_AFTER_MS).
   */
  atLeastUs(senderMs: number, minUs: number): number {
    const epochMs = this.#epochMs ?? 0;
    if (this.#ntpOffsetMs === null) {
      this.#ntpOffsetMs = epochMs + minUs / 1000 - senderMs;
      return minUs;
    }
    const us = this.senderUs(senderMs) ?? minUs;
    if (us < minUs) this.#ntpOffsetMs += (minUs - us) / 1000;
    return Math.max(us, minUs);
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
 * that restarted its timestamps, or a stall longer than this), and how far a sender
 * report may move a track: a report further off than this is not believed.
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
  /** The SSRC whose reports this track is on sender time with; null while on arrival time. */
  #reportedSsrc: number | null = null;

  constructor(clockRate: number, epoch: MediaEpoch) {
    this.#clockRate = clockRate;
    this.#epoch = epoch;
  }

  /** True once this track's frames are stamped through its sender reports. */
  get onSenderTime(): boolean {
    return this.#reportedSsrc !== null;
  }

  /**
   * Media time of a frame with this RTP timestamp (of SSRC `ssrc`) whose last packet
   * arrived at `arrivalMs`. Never goes backwards.
   */
  timeUs(rtpTimestamp: number, arrivalMs: number, ssrc?: number): number {
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
    const sender = ssrc === undefined ? null : this.#senderUs(rtpTimestamp, ssrc, us, arrivalUs);
    if (sender !== null) {
      // Re-based on every frame, so a track whose reports stop (a new SSRC) goes on from here.
      us = sender;
      this.#baseTs = ext;
      this.#baseUs = us;
    }
    if (us <= this.#lastUs) us = this.#lastUs + 1;
    this.#lastUs = us;
    return us;
  }

  /**
   * The frame's time through its SSRC's latest sender report, or null to stay on arrival
   * time (no report yet, or one that would move the track further than REANCHOR_AFTER_MS).
   * `us` is the time it would have without reports.
   */
  #senderUs(rtpTimestamp: number, ssrc: number, us: number, arrivalUs: number): number | null {
    if (this.#reportedSsrc !== null && this.#reportedSsrc !== ssrc) this.#reportedSsrc = null;
    const sr = this.#epoch.reportFor(ssrc);
    if (!sr) return null;
    const senderMs = senderTimeMs(sr, rtpTimestamp, this.#clockRate);
    const limitUs = REANCHOR_AFTER_MS * 1000;
    if (this.#reportedSsrc === null) {
      // Switching from arrival time: only forward (see MediaEpoch.atLeastUs).
      const mapped = this.#epoch.senderUs(senderMs);
      if (mapped !== null && Math.abs(mapped - us) > limitUs) return null;
      this.#reportedSsrc = ssrc;
      return this.#epoch.atLeastUs(senderMs, us);
    }
    const mapped = this.#epoch.senderUs(senderMs);
    if (mapped === null || Math.abs(mapped - arrivalUs) > limitUs) return null;
    return mapped;
  }
}
