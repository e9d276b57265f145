/**
 * When to try again after a failure (ffmpeg died, the relay connection broke) and when
 * to give up: exponential backoff from baseDelayMs, capped at maxDelayMs, and a limit
 * of maxFailures within windowMs. Pure: the caller passes the clock.
 */
export interface RestartPolicyOptions {
  /** @defaultValue 200 */
  baseDelayMs?: number;
  /** @defaultValue 3000 */
  maxDelayMs?: number;
  /** This many failures within windowMs and fail() answers null: stop. @defaultValue 5 */
  maxFailures?: number;
  /** @defaultValue 60_000 */
  windowMs?: number;
}

export class RestartPolicy {
  readonly #base: number;
  readonly #max: number;
  readonly #maxFailures: number;
  readonly #windowMs: number;
  #failures: number[] = [];
  #consecutive = 0;

  constructor(o: RestartPolicyOptions = {}) {
    this.#base = o.baseDelayMs ?? 200;
    this.#max = o.maxDelayMs ?? 3000;
    this.#maxFailures = o.maxFailures ?? 5;
    this.#windowMs = o.windowMs ?? 60_000;
    if (!(this.#base > 0 && this.#max >= this.#base && this.#maxFailures >= 1 && this.#windowMs > 0)) {
      throw new RangeError(
        'RestartPolicy: need 0 < baseDelayMs <= maxDelayMs, maxFailures >= 1, windowMs > 0',
      );
    }
  }

  /** A failure at `nowMs`: the delay (ms) before the next try, or null to give up. */
  fail(nowMs: number): number | null {
    this.#failures = this.#failures.filter((t) => nowMs - t < this.#windowMs);
    this.#failures.push(nowMs);
    if (this.#failures.length >= this.#maxFailures) return null;
    const delay = Math.min(this.#max, this.#base * 2 ** this.#consecutive);
    this.#consecutive++;
    return delay;
  }

  /** Things went well again: the next failure waits baseDelayMs (the window still counts). */
  succeed(): void {
    this.#consecutive = 0;
  }

  /** Failures within the window as of the last fail(). */
  get recentFailures(): number {
    return this.#failures.length;
  }
}
