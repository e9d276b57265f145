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
}

/**
 * Which rung of the ladder one WHEP viewer should get, from its bandwidth estimate. Down
 * is fast and may skip rungs (a viewer over its budget is losing frames); up is slow and
 * one rung at a time (each step costs a key frame and risks overrunning the link), and is
 * barred for 2 × upHoldMs after a down-switch so that an estimate wavering at a boundary
 * cannot make the viewer oscillate. A pinned rung overrides all of that. Pure: the estimate
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

  constructor(rungs: RungOption[], o: RungChoiceOptions = {}) {
    this.#headroom = o.headroom ?? RUNG_HEADROOM;
    this.#upHoldMs = o.upHoldMs ?? 4000;
    this.#downHoldMs = o.downHoldMs ?? 1000;
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
   * current rung) and returns the wanted rung.
   */
  update(estimateBps: number | null, nowMs: number): string {
    if (this.#pinned !== null || estimateBps === null) {
      // No evidence, or none that counts: the holds start over from the next estimate.
      this.#overSinceMs = null;
      this.#upFitSinceMs = null;
      return this.wanted;
    }
    const budget = this.#headroom * estimateBps;
    const fits = (r: RungOption): boolean => r.bitrateBps <= budget;
    const i = this.#index(this.#current);

    if (!fits(this.#rungs[i]!)) {
      this.#upFitSinceMs = null;
      this.#overSinceMs ??= nowMs;
      if (nowMs - this.#overSinceMs >= this.#downHoldMs) {
        this.#current = (this.#rungs.find(fits) ?? this.#rungs[this.#rungs.length - 1]!).name;
        this.#overSinceMs = null;
        this.#lastDownMs = nowMs;
      }
      return this.#current;
    }
    this.#overSinceMs = null;

    const up = this.#rungs[i - 1];
    if (up === undefined || !fits(up)) {
      this.#upFitSinceMs = null;
      return this.#current;
    }
    this.#upFitSinceMs ??= nowMs;
    const held = nowMs - this.#upFitSinceMs >= this.#upHoldMs;
    const settled = this.#lastDownMs === null || nowMs - this.#lastDownMs >= 2 * this.#upHoldMs;
    if (held && settled) {
      this.#current = up.name;
      // The next step up has to fit for a whole hold of its own, counted from this one.
      this.#upFitSinceMs = nowMs;
    }
    return this.#current;
  }

  /**
   * Pins a rung (it wins over any estimate), or unpins with null; once unpinned the viewer
   * continues from the pinned rung.
   */
  pin(name: string | null): void {
    if (name !== null && this.#index(name) < 0) throw new RangeError(`rung ${name} is not in the ladder`);
    if (this.#pinned !== null) this.#current = this.#pinned;
    this.#pinned = name;
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
