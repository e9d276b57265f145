/** Lets an action through at most once per `intervalMs` (keyframe requests). */
export class RateLimiter {
  readonly #intervalMs: number;
  #lastMs = -Infinity;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** True (and the interval starts again) when the action may run at `nowMs`. */
  tryAcquire(nowMs: number): boolean {
    if (nowMs - this.#lastMs < this.#intervalMs) return false;
    this.#lastMs = nowMs;
    return true;
  }
}
