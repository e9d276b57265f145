/**
 * Which simulcast layer one WHEP viewer is sent: the one it asked for (`?layer=`) while
 * that layer is being sent, else the publisher's highest (the default). A viewer is only
 * ever switched at a key frame of the layer it switches to, so its decoder never gets a
 * frame that refers to one it did not get; the track's rewriter then continues sequence
 * numbers and timestamps (the new layer has another SSRC, which is a new source for it).
 * Pure: packets and time come in, decisions go out.
 */
export class LayerFollower {
  readonly #requested: string | null;
  readonly #staleMs: number;
  readonly #lastSeenMs = new Map<string, number>();
  /** The layer being sent; null before the first key frame (or after a takeover). */
  current: string | null = null;

  /**
   * `requested`: the viewer's `?layer=`; null for the default, the highest. It counts as
   * being sent from `nowMs` on, so a new viewer waits up to `staleMs` for its key frame
   * before it falls back to the highest.
   */
  constructor(requested: string | null, nowMs: number, staleMs = 1000) {
    this.#requested = requested;
    this.#staleMs = staleMs;
    if (requested !== null) this.#lastSeenMs.set(requested, nowMs);
  }

  /**
   * Whether one video packet of layer `rid` is sent. `keyStart`: it starts a key frame;
   * `top`: the publisher's highest layer now.
   */
  accept(rid: string, keyStart: boolean, nowMs: number, top: string | null): boolean {
    this.#lastSeenMs.set(rid, nowMs);
    if (rid === this.current) return true;
    if (!keyStart || rid !== this.target(nowMs, top)) return false;
    this.current = rid;
    return true;
  }

  /** The layer this viewer should get now. */
  target(nowMs: number, top: string | null): string | null {
    const r = this.#requested;
    if (r !== null && nowMs - (this.#lastSeenMs.get(r) ?? -Infinity) <= this.#staleMs) return r;
    return top ?? this.current;
  }

  /** The layer a key frame is wanted from (to join, or to switch); null when none is. */
  wanted(nowMs: number, top: string | null): string | null {
    const target = this.target(nowMs, top);
    return target !== this.current ? target : null;
  }

  /** The publisher changed: wait for a key frame again, whichever layer comes first. */
  reset(): void {
    this.current = null;
    this.#lastSeenMs.clear();
  }
}
