/** One rung a WHEP viewer can be sent. */
/** A rung fits an estimate when it needs at most this share of it (key-frame bursts, RTP overhead). */
export const RUNG_HEADROOM = 0.85;

export interface RungOption {
  name: string;
  /** Peak bits/s of the rung as sent: video + audio. */
  bitrateBps: number;
}

export interface RungChoiceOptions {
  /**
   * A rung fits when bitrateBps <= headroom × estimate; the rest absorbs key-frame bursts,
   * RTP/SRTP overhead and retransmissions. @defaultValue 0.85
   */
  headroom?: number;
  /**
   * How long the next rung up must fit without a break before going up: an estimate that
   * only grazes it would be undone at once, costing two key frames. @defaultValue 4000
   */
  upHoldMs?: number;
  /**
   * How long the current rung must not fit before going down: long enough to ride out one
   * low REMB, short enough that a viewer over its budget stalls for little. @defaultValue 1000
   */
  downHoldMs?: number;
  /** The rung to start at. @defaultValue the highest */
  startRung?: string;
  /**
   * How long a viewer stays on a rung whose next rung up does not fit before it is given
   * that rung on trial: a receive-side estimate (Chromium's REMB) follows what arrives and
   * so never shows room above it on its own. Doubled after each failed trial, up to
   * trialMaxAfterMs; Infinity turns trials off. @defaultValue Infinity
   */
  trialAfterMs?: number;
  /** @defaultValue 120000 */
  trialMaxAfterMs?: number;
  /**
   * How long a trial rung is kept while the estimate does not fall: the estimate needs
   * time to follow the higher rate up. @defaultValue 2 × upHoldMs
   */
  trialWindowMs?: number;
}

/**
 * During a trial, a measured estimate under this share of the one the trial started from
 * has fallen: the link is congested by the higher rung, and the trial ends at once.
 * libwebrtc answers congestion with 0.85 × what arrives, and what arrives is then the link:
 * for a link that takes 1.2 times the old rung, an estimate that stood at 1.5 times the old
 * rung falls to 0.68 of it. A wobble of a loaded receiver's estimate stays above 0.8.
 */
export const TRIAL_FALL = 0.8;

interface Trial {
  from: string;
  startMs: number;
  measuredBps: number;
}

/**
 * Which rung of the ladder one WHEP viewer should get, from its bandwidth estimate. Down
 * is fast and may skip rungs (a viewer over its budget is losing frames); up is slow and
 * one rung at a time (each step costs a key frame and risks overrunning the link), and is
 * barred for 2 × upHoldMs after a down-switch so that an estimate wavering at a boundary
 * cannot make the viewer oscillate. With trialAfterMs, a viewer whose estimate has shown
 * no room above its rung for that long is given the next rung up on trial (see
 * {@link RungChoice.onTrial}): an estimate that follows what arrives only grows once more
 * arrives. A pinned rung overrides all of that. Pure: the estimate
 * and time come in, the wanted rung goes out; the switch itself waits for that rung's next
 * key frame, elsewhere.
 */
export class RungChoice {
  /** Highest bitrate first. */
  #rungs: RungOption[] = [];
  #current: string;
  #pinned: string | null = null;
  readonly #headroom: number;
  readonly #upHoldMs: number;
  readonly #downHoldMs: number;
  /** Since when the current rung has not fitted; null while it fits. */
  #overSinceMs: number | null = null;
  /** Since when the next rung up has fitted without a break; null while it does not. */
  #upFitSinceMs: number | null = null;
  #lastDownMs: number | null = null;
  /** Since when the viewer is on the current rung (set at the first estimate). */
  #rungSinceMs: number | null = null;
  #trial: Trial | null = null;
  readonly #trialBaseMs: number;
  readonly #trialMaxMs: number;
  readonly #trialWindowMs: number;
  #trialAfterMs: number;

  constructor(rungs: RungOption[], o: RungChoiceOptions = {}) {
    this.#headroom = o.headroom ?? RUNG_HEADROOM;
    this.#upHoldMs = o.upHoldMs ?? 4000;
    this.#downHoldMs = o.downHoldMs ?? 1000;
    this.#trialBaseMs = o.trialAfterMs ?? Infinity;
    this.#trialMaxMs = Math.max(o.trialMaxAfterMs ?? 120_000, this.#trialBaseMs);
    this.#trialWindowMs = o.trialWindowMs ?? 2 * this.#upHoldMs;
    this.#trialAfterMs = this.#trialBaseMs;
    if (!(this.#headroom > 0)) throw new RangeError(`'headroom' must be positive, got ${this.#headroom}`);
    this.#rungs = sortedLadder(rungs);
    const start = o.startRung ?? this.#rungs[0]!.name;
    if (this.#index(start) < 0) throw new RangeError(`'startRung' ${start} is not in the ladder`);
    this.#current = start;
  }

  /** The rung this viewer should get now. */
  get wanted(): string {
    return this.#pinned ?? this.#current;
  }

  /**
   * Takes the estimate at `nowMs` (bits/s; null when nothing is known, which keeps the
   * current rung) and returns the wanted rung. `measuredBps` is the estimate as the viewer
   * measured it, before the caller read more into it (followedEstimate): what a trial
   * watches for a fall.
   */
  update(estimateBps: number | null, nowMs: number, measuredBps: number | null = estimateBps): string {
    if (this.#pinned !== null || estimateBps === null) {
      // No evidence, or none that counts: the holds start over from the next estimate.
      this.#overSinceMs = null;
      this.#upFitSinceMs = null;
      return this.wanted;
    }
    this.#rungSinceMs ??= nowMs;
    const budget = this.#headroom * estimateBps;
    const fits = (r: RungOption): boolean => r.bitrateBps <= budget;
    const measured = measuredBps ?? estimateBps;
    if (this.#trial !== null) return this.#followTrial(this.#trial, measured, fits, nowMs);
    const i = this.#index(this.#current);

    if (!fits(this.#rungs[i]!)) {
      this.#upFitSinceMs = null;
      this.#overSinceMs ??= nowMs;
      if (nowMs - this.#overSinceMs >= this.#downHoldMs) {
        const down = (this.#rungs.find(fits) ?? this.#rungs[this.#rungs.length - 1]!).name;
        if (down !== this.#current) this.#lastDownMs = nowMs;
        this.#switchTo(down, nowMs);
      }
      return this.#current;
    }
    this.#overSinceMs = null;

    const up = this.#rungs[i - 1];
    if (up === undefined) {
      this.#upFitSinceMs = null;
      return this.#current;
    }
    if (!fits(up)) {
      this.#upFitSinceMs = null;
      const quiet = nowMs - Math.max(this.#rungSinceMs, this.#lastDownMs ?? -Infinity);
      if (quiet >= this.#trialAfterMs) {
        this.#trial = { from: this.#current, startMs: nowMs, measuredBps: measured };
        this.#switchTo(up.name, nowMs);
      }
      return this.#current;
    }
    this.#upFitSinceMs ??= nowMs;
    const held = nowMs - this.#upFitSinceMs >= this.#upHoldMs;
    const settled = this.#lastDownMs === null || nowMs - this.#lastDownMs >= 2 * this.#upHoldMs;
    if (held && settled) {
      this.#switchTo(up.name, nowMs);
      // The next step up has to fit for a whole hold of its own, counted from this one.
      this.#upFitSinceMs = nowMs;
    }
    return this.#current;
  }

  /** Whether the current rung is on trial (the estimate has not yet shown room for it). */
  get onTrial(): boolean {
    return this.#trial !== null && this.#pinned === null;
  }

  /**
   * A trial rung is kept for its window unless the estimate falls; then it stays if it
   * fits. A failed trial goes back to the rung it came from, and the next one waits twice
   * as long; a trial that holds makes the next one wait the least again.
   */
  #followTrial(t: Trial, measuredBps: number, fits: (r: RungOption) => boolean, nowMs: number): string {
    const fell = measuredBps < TRIAL_FALL * t.measuredBps;
    if (!fell && nowMs - t.startMs < this.#trialWindowMs) return this.#current;
    this.#trial = null;
    if (!fell && fits(this.#rungs[this.#index(this.#current)]!)) {
      this.#trialAfterMs = this.#trialBaseMs;
      return this.#current;
    }
    this.#trialAfterMs = Math.min(2 * this.#trialAfterMs, this.#trialMaxMs);
    this.#switchTo(t.from, nowMs);
    this.#lastDownMs = nowMs;
    return this.#current;
  }

  /** A rung change (a repeat of the current one is none: its time on the rung goes on). */
  #switchTo(name: string, nowMs: number): void {
    this.#overSinceMs = null;
    if (name === this.#current) return;
    this.#current = name;
    this.#rungSinceMs = nowMs;
  }

  /**
   * Pins a rung (it wins over any estimate), or unpins with null; once unpinned the viewer
   * continues from the pinned rung.
   */
  pin(name: string | null): void {
    if (name !== null && this.#index(name) < 0) throw new RangeError(`rung ${name} is not in the ladder`);
    if (this.#pinned !== null) this.#current = this.#pinned;
    else if (this.#trial !== null) this.#current = this.#trial.from;
    this.#pinned = name;
    this.#trial = null;
    this.#overSinceMs = null;
    this.#upFitSinceMs = null;
  }

  /**
   * The ladder changed: keeps the current rung if it is still there, else takes the one
   * nearest in bitrate. A pin whose rung is gone is dropped.
   */
  setRungs(rungs: RungOption[]): void {
    const bpsOf = (name: string): number => this.#rungs[this.#index(name)]!.bitrateBps;
    const pinnedBps = this.#pinned === null ? null : bpsOf(this.#pinned);
    const currentBps = bpsOf(this.#current);
    const sameNames = rungs.length === this.#rungs.length && rungs.every((r) => this.#index(r.name) >= 0);
    this.#rungs = sortedLadder(rungs);
    // The same rungs with newly measured bit rates: the holds go on.
    if (sameNames) return;
    if (this.#pinned !== null && this.#index(this.#pinned) < 0) {
      // As on unpinning, the viewer goes on from where the pin held it.
      this.#pinned = null;
      this.#current = nearest(this.#rungs, pinnedBps!).name;
    } else if (this.#index(this.#current) < 0) {
      this.#current = nearest(this.#rungs, currentBps).name;
    }
    if (this.#trial !== null && this.#index(this.#trial.from) < 0) this.#trial = null;
    this.#overSinceMs = null;
    this.#upFitSinceMs = null;
  }

  #index(name: string): number {
    return this.#rungs.findIndex((r) => r.name === name);
  }
}

function sortedLadder(rungs: RungOption[]): RungOption[] {
  if (rungs.length === 0) throw new RangeError('the ladder has no rungs');
  const names = new Set(rungs.map((r) => r.name));
  if (names.size !== rungs.length) throw new RangeError('the ladder repeats a rung name');
  return [...rungs].sort((a, b) => b.bitrateBps - a.bitrateBps);
}

/** The rung nearest `bps`, the lower on a tie: the estimate was sized for the old one. */
function nearest(ladder: RungOption[], bps: number): RungOption {
  let best = ladder[0]!;
  for (const r of ladder) {
    const d = Math.abs(r.bitrateBps - bps) - Math.abs(best.bitrateBps - bps);
    if (d < 0 || (d === 0 && r.bitrateBps < best.bitrateBps)) best = r;
  }
  return best;
}
